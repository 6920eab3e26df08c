/**
 * The Streamable HTTP front (MCP 2025-11-25 transport), written here rather than on the SDK's
 * StreamableHTTPServerTransport: the relay's messages are already serialized lines (a large result is the
 * backend's bytes, never parsed), and the SDK transport wants objects it validates and serializes again. POST carries
 * one message; GET opens the session's stream (or resumes one by Last-Event-ID); DELETE ends the session.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { ListenSpec } from '../../streams/config/listen.js';
import { classify, ErrorCode, failure, type JsonRpcFailure, type JsonRpcId } from '../../streams/core/jsonrpc.js';
import { isSupportedProtocolVersion, negotiateProtocolVersion } from '../../streams/core/protocol.js';
import { ALL_PROTOCOL_VERSIONS, ModernErrorCode, MODERN_PROTOCOL_VERSION, requestEra, type RequestEra } from '../../streams/core/era.js';
import { modernRefusal } from '../../streams/session/modern-requests.js';
import { headerMismatch } from './modern-headers.js';
import { session } from '../../streams/session.js';
import type { ClientMessage } from '../../streams/session/in-flight.js';
import type { Principal } from '../../streams/access/access.js';
import { metadataPaths, protectedResourceMetadata } from '../auth/resource-metadata.js';
import { allowedOrigins, boundUrl, DRAINING_RETRY_AFTER_S, checkExposure, listenOn, newAdmission, originAllowed, remoteOf, sessionDeps, type FrontContext, type RunningFront } from './front.js';
import type { Grant } from '../auth/authenticator.js';
import { authenticateRequest, takeSeat } from './gate.js';
import { HttpSession } from './http-session.js';
import type { Seat } from './principals.js';
import { createFrontServer } from './tls-server.js';
import type { Admission } from '../../streams/access/admission.js';

/** what the front keeps beside a session: who owns it, its connection seat, its request limits */
interface Owned {
  session: HttpSession;
  principal: Principal;
  grant: Grant;
  seat: Seat;
  admission: Admission;
}

/** notifications that only end or report on work: never refused for the rate */
const UNMETERED = new Set(['notifications/cancelled', 'notifications/progress', 'notifications/initialized']);

const samePrincipal = (a: Principal, b: Principal): boolean => a.kind === b.kind && a.name === b.name;

/** the MCP SDK's code for an unknown session */
const SESSION_NOT_FOUND = -32001;
const RESUME_BUFFER_BYTES = 64 * 1024 * 1024;

/** An HTTP error with a JSON-RPC error body, so an MCP client shows the reason. */
function reject(response: ServerResponse, status: number, code: number, message: string, id: JsonRpcId | null = null, headers: Record<string, string> = {}): void {
  if (response.headersSent) return void response.end();
  const body = JSON.stringify(failure(id, code, message));
  response.writeHead(status, { 'content-type': 'application/json', ...headers });
  response.end(body);
}

/** an error with its data (the 2026-07-28 errors carry the facts there), at the HTTP status the revision asks for */
function answerError(response: ServerResponse, status: number, answer: JsonRpcFailure): void {
  if (response.headersSent) return void response.end();
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(answer));
}

function accepts(request: IncomingMessage): { json: boolean; sse: boolean } {
  const accept = (request.headers.accept ?? '').toLowerCase();
  const any = accept === '' || accept.includes('*/*');
  return { json: any || accept.includes('application/json'), sse: any || accept.includes('text/event-stream') };
}

/** The body, up to the limit: null when over it (the rest is not read). */
function readBody(request: IncomingMessage, limit: number): Promise<string | null> {
  return new Promise((resolve, fail) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    request.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > limit) {
        resolve(null);
        request.pause();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', fail);
  });
}

export async function openHttpFront(spec: ListenSpec, context: FrontContext): Promise<RunningFront> {
  checkExposure(spec, context);
  const sessions = new Map<string, Owned>();
  let port = spec.port;

  const endSession = (httpSession: HttpSession, reason: string) => {
    const owned = sessions.get(httpSession.id);
    if (!owned || owned.session !== httpSession) return;
    sessions.delete(httpSession.id);
    owned.seat.release();
    httpSession.end(reason);
    context.emit({ event: 'http.session.end', session: httpSession.id, reason, level: 'info' });
  };

  // idle sessions expire; one with a stream open is not idle
  const sweeper = setInterval(() => {
    const idleMs = context.settings().http.sessionIdleMs;
    const now = Date.now();
    for (const { session: httpSession } of sessions.values()) if (httpSession.openStreams === 0 && now - httpSession.lastSeen > idleMs) endSession(httpSession, `idle for over ${idleMs} ms`);
  }, 1_000);
  sweeper.unref();

  const { server, close: stopTls } = await createFrontServer(spec, context.settings().tls, context.emit, (request, response) => {
    handle(request, response).catch((error: unknown) => {
      // a client that went away mid-body is the client's end, not a relay failure
      if (request.destroyed || (error as NodeJS.ErrnoException).code === 'ECONNRESET' || (error instanceof Error && error.message === 'aborted')) {
        context.emit({ event: 'http.aborted', front: 'http', remote: remoteOf(request.socket), reason: 'the client closed the connection before its request was read', level: 'info' });
        return;
      }
      context.emit({ event: 'http.error', error: error instanceof Error ? error.message : String(error), level: 'error' });
      reject(response, 500, ErrorCode.InternalError, 'mcp-relay failed on this request');
    });
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = new URL(request.url ?? '/', 'http://relay').pathname;
    // RFC 9728: where a client finds the authorization server for this resource (served when JWTs are accepted)
    const jwt = context.security.authenticator().settings?.jwt;
    if (jwt && request.method === 'GET' && metadataPaths(spec.path, jwt).includes(path)) {
      response.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=300' });
      response.end(JSON.stringify(protectedResourceMetadata(jwt, { secure: spec.tls, host: request.headers.host, endpointPath: spec.path })));
      return;
    }
    if (path !== spec.path) return reject(response, 404, ErrorCode.InvalidRequest, `no MCP endpoint at ${path}: this relay's endpoint is ${spec.path}`);
    const settings = context.settings();
    const origin = request.headers.origin;
    if (origin !== undefined && !originAllowed(origin, allowedOrigins(settings.http, port))) {
      context.emit({ event: 'front.refused', front: 'http', remote: remoteOf(request.socket), reason: `origin ${origin} is not allowed`, level: 'warn' });
      return reject(response, 403, ErrorCode.InvalidRequest, `Forbidden: origin ${origin} may not use this relay; add it to http.allowedOrigins in backends.yaml`);
    }
    // every request brings its token: a session id alone is no credential
    const pending = authenticateRequest(request, 'http', spec, context);
    const authenticated = pending instanceof Promise ? await pending : pending;
    if (!authenticated.ok) return reject(response, authenticated.status, ErrorCode.InvalidRequest, `${authenticated.status === 403 ? 'Forbidden' : 'Unauthorized'}: ${authenticated.reason}`, null, authenticated.headers);
    const principal = authenticated.principal;
    const version = request.headers['mcp-protocol-version'];
    if (typeof version === 'string' && !isSupportedProtocolVersion(version) && version !== MODERN_PROTOCOL_VERSION) {
      // the 2026-07-28 revision's error for it, with the list: a 2025 client reads the 400 and the message
      return answerError(response, 400, failure(null, ModernErrorCode.UnsupportedProtocolVersion, `Bad Request: unsupported MCP-Protocol-Version ${version} (supported: ${ALL_PROTOCOL_VERSIONS.join(', ')})`, { supported: ALL_PROTOCOL_VERSIONS, requested: version }));
    }
    // GET and DELETE belong to a 2025 session: without one there is nothing to open or end (2026-07-28 is POST only)
    if ((request.method === 'GET' || request.method === 'DELETE') && request.headers['mcp-session-id'] === undefined) {
      response.writeHead(405, { allow: 'POST', 'content-type': 'application/json' });
      response.end(JSON.stringify(failure(null, ErrorCode.InvalidRequest, `Method Not Allowed: ${request.method} needs the Mcp-Session-Id of a 2025 session (POST initialize first); a 2026-07-28 client only POSTs`)));
      return;
    }
    switch (request.method) {
      case 'POST':
        return post(request, response, settings.maxClientMessageBytes, principal, authenticated.grant);
      case 'GET':
        if (context.hub.drain.draining) return reject(response, 503, ErrorCode.ShuttingDown, 'Service Unavailable: mcp-relay is shutting down; reconnect shortly', null, { 'retry-after': String(DRAINING_RETRY_AFTER_S) });
        return get(request, response, principal);
      case 'DELETE': {
        const owned = known(request, response, principal);
        if (!owned) return;
        endSession(owned.session, 'DELETE from the client');
        response.writeHead(200).end();
        return;
      }
      default:
        response.writeHead(405, { allow: 'GET, POST, DELETE', 'content-type': 'text/plain' }).end(`${request.method} is not part of the MCP Streamable HTTP transport\n`);
    }
  }

  /** the session the request names; answered 400 (no id) or 404 (unknown or ended) when there is none */
  function known(request: IncomingMessage, response: ServerResponse, principal: Principal, id: JsonRpcId | null = null): Owned | null {
    const sessionId = request.headers['mcp-session-id'];
    if (typeof sessionId !== 'string' || sessionId === '') {
      reject(response, 400, ErrorCode.InvalidRequest, 'Bad Request: the Mcp-Session-Id header is required after initialize', id);
      return null;
    }
    const owned = sessions.get(sessionId);
    if (!owned) {
      reject(response, 404, SESSION_NOT_FOUND, 'Session not found: it ended (DELETE, idle expiry, or a relay restart); initialize a new session', id);
      return null;
    }
    // the same principal with the same access: a down-scoped token of one name does not ride a session begun with more
    if (!samePrincipal(owned.principal, principal) || owned.principal.access !== principal.access) {
      context.emit({ event: 'auth.rejected', front: 'http', remote: remoteOf(request.socket), status: 403, reason: `principal '${principal.name}' used a session of another principal`, level: 'warn' });
      reject(response, 403, ErrorCode.InvalidRequest, 'Forbidden: this session belongs to another principal, or was begun with other access; initialize a session of your own', id);
      return null;
    }
    owned.session.lastSeen = Date.now();
    return owned;
  }

  async function post(request: IncomingMessage, response: ServerResponse, limit: number, principal: Principal, grant: Grant): Promise<void> {
    const contentType = (request.headers['content-type'] ?? '').toLowerCase();
    if (!contentType.startsWith('application/json')) return reject(response, 415, ErrorCode.InvalidRequest, 'Unsupported Media Type: POST a JSON-RPC message as application/json');
    const accept = accepts(request);
    if (!accept.json && !accept.sse) return reject(response, 406, ErrorCode.InvalidRequest, 'Not Acceptable: the client must accept application/json and text/event-stream');
    const body = await readBody(request, limit);
    if (body === null) return reject(response, 413, ErrorCode.InvalidRequest, `Payload Too Large: one message may be at most ${limit} bytes (maxClientMessageBytes)`, null, { connection: 'close' });
    let value: unknown;
    try {
      value = JSON.parse(body);
    } catch (error: unknown) {
      return reject(response, 400, ErrorCode.ParseError, `Parse error: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (Array.isArray(value)) return reject(response, 400, ErrorCode.InvalidRequest, 'Invalid Request: JSON-RPC batches are not supported (MCP 2025-06-18 and later); send one message per POST');
    const message = classify(value, body) as ClientMessage;
    if (message.kind === 'invalid') return reject(response, 400, ErrorCode.InvalidRequest, `Invalid Request: ${message.reason}`, message.id);
    // draining: what completes a call in flight (an answer to a backend's request, a cancel) still comes in; no new request
    if (message.kind === 'request' && context.hub.drain.draining) {
      return reject(response, 503, ErrorCode.ShuttingDown, 'Service Unavailable: mcp-relay is shutting down and takes no new requests; retry shortly (another replica, or this one once restarted)', message.message.id, { 'retry-after': String(DRAINING_RETRY_AFTER_S) });
    }
    // a request with the 2026-07-28 envelope needs no session: it is served on its own, whatever Mcp-Session-Id says
    const era = message.kind === 'request' ? requestEra(message.message) : null;
    if (message.kind === 'request' && era !== null && era.era !== 'legacy') return stateless(request, response, message, era, accept, principal);
    if (message.kind === 'request' && message.message.method === 'initialize') return initialize(request, response, message, accept, principal, grant);
    const owned = known(request, response, principal, message.kind === 'request' ? message.message.id : null);
    if (!owned) return;
    const httpSession = owned.session;
    // what the relay acts on counts against the rate (a cancel, progress or an answer to a backend never does)
    const metered = message.kind === 'request' || (message.kind === 'notification' && !UNMETERED.has(message.message.method));
    const refusal = metered ? owned.admission.admit() : null;
    if (refusal) {
      context.emit({ event: 'client.limited', front: 'http', principal: principal.name, limit: refusal.limit, retryAfterMs: refusal.retryAfterMs, refused: 1, level: 'warn' });
      const id = message.kind === 'request' ? message.message.id : null;
      const body = JSON.stringify(failure(id, ErrorCode.RateLimited, refusal.message, { limit: refusal.limit, retryAfterMs: refusal.retryAfterMs }));
      response.writeHead(429, { 'content-type': 'application/json', 'retry-after': String(Math.max(1, Math.ceil(refusal.retryAfterMs / 1_000))) });
      response.end(body);
      return;
    }
    if (message.kind !== 'request') {
      httpSession.notify(message);
      response.writeHead(202).end();
      return;
    }
    if (httpSession.hasRequestInFlight(message.message.id)) {
      return reject(response, 400, ErrorCode.InvalidRequest, `Invalid request: id ${JSON.stringify(message.message.id)} is already used by a request in flight`, message.message.id);
    }
    httpSession.request(message, response, accept);
  }

  /**
   * One 2026-07-28 request: its headers checked against its body, then served by a session of its own that lives as
   * long as the POST. The answer (and the progress before it) goes on the POST's response, with no session id; the
   * client closing the response ends that session, which cancels the call on its backend.
   */
  function stateless(request: IncomingMessage, response: ServerResponse, message: ClientMessage & { kind: 'request' }, era: Exclude<RequestEra, { era: 'legacy' }>, accept: { json: boolean; sse: boolean }, principal: Principal): void {
    if (era.era === 'refused') return answerError(response, 400, era.answer);
    const mismatch = headerMismatch(request.headers, message.message, era.envelope.protocolVersion);
    if (mismatch !== null) return answerError(response, 400, failure(message.message.id, ModernErrorCode.HeaderMismatch, mismatch));
    // a method the revision removed is an unknown one: 404 with -32601
    const removed = modernRefusal(era.request);
    if (removed !== null) return answerError(response, 404, removed);
    const remote = remoteOf(request.socket);
    const seated = takeSeat(principal, sessions.size, 'http', remote, context);
    if (!seated.ok) return reject(response, seated.status, ErrorCode.InvalidRequest, seated.reason, message.message.id, seated.headers);
    const { limits } = context.settings();
    const oneRequest = new HttpSession(
      randomUUID(),
      { resumeBufferEvents: 0, resumeBufferBytes: 0, maxUnsentBytes: limits.maxUnsentBytes, onSlowReader: (unsent) => context.emit({ event: 'client.slow', front: 'http', principal: principal.name, unsentBytes: unsent, limit: limits.maxUnsentBytes, level: 'warn' }) },
      true,
    );
    const deps = sessionDeps(context, 'http', remote, principal, seated.seat.bucket, false);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      seated.seat.release();
    };
    oneRequest.attach(session(context.hub, oneRequest.messages$, deps), release);
    // the answer sent, or the client gone: the session ends (a call still in flight is cancelled on its backend)
    response.once('close', () => {
      oneRequest.end('the request is over');
      release();
    });
    oneRequest.request(message, response, accept);
  }

  function initialize(request: IncomingMessage, response: ServerResponse, message: ClientMessage & { kind: 'request' }, accept: { json: boolean; sse: boolean }, principal: Principal, grant: Grant): void {
    if (typeof request.headers['mcp-session-id'] === 'string' && sessions.has(request.headers['mcp-session-id'])) {
      return reject(response, 400, ErrorCode.InvalidRequest, 'Bad Request: this session is already initialized; POST initialize without Mcp-Session-Id to start a new one', message.message.id);
    }
    const remote = remoteOf(request.socket);
    const seated = takeSeat(principal, sessions.size, 'http', remote, context);
    if (!seated.ok) return reject(response, seated.status, ErrorCode.InvalidRequest, seated.reason, message.message.id, seated.headers);
    const { http: settings, limits } = context.settings();
    const httpSession = new HttpSession(randomUUID(), {
      resumeBufferEvents: settings.resumeBufferEvents,
      resumeBufferBytes: RESUME_BUFFER_BYTES,
      maxUnsentBytes: limits.maxUnsentBytes,
      onSlowReader: (unsent) => context.emit({ event: 'client.slow', front: 'http', session: httpSession.id, principal: principal.name, unsentBytes: unsent, limit: limits.maxUnsentBytes, level: 'warn' }),
    });
    httpSession.protocolVersion = negotiateProtocolVersion(message.message.params?.['protocolVersion']);
    sessions.set(httpSession.id, { session: httpSession, principal, grant, seat: seated.seat, admission: newAdmission(context, seated.seat.bucket) });
    const deps = sessionDeps(context, 'http', remote, principal, seated.seat.bucket, false);
    httpSession.attach(session(context.hub, httpSession.messages$, deps), () => endSession(httpSession, 'the session ended'));
    context.emit({ event: 'http.session.start', session: httpSession.id, client: deps.identity.id, level: 'info' });
    httpSession.request(message, response, accept);
  }

  function get(request: IncomingMessage, response: ServerResponse, principal: Principal): void {
    if (!accepts(request).sse || !(request.headers.accept ?? '').toLowerCase().includes('text/event-stream')) {
      return reject(response, 406, ErrorCode.InvalidRequest, 'Not Acceptable: a GET opens an SSE stream; send Accept: text/event-stream');
    }
    const owned = known(request, response, principal);
    if (!owned) return;
    const httpSession = owned.session;
    const lastEventId = request.headers['last-event-id'];
    const opened = httpSession.open(response, typeof lastEventId === 'string' ? lastEventId : undefined);
    if (opened === 'conflict') return reject(response, 409, ErrorCode.InvalidRequest, 'Conflict: this session already has its GET stream open');
    if (opened === 'unknown-event') return reject(response, 404, ErrorCode.InvalidRequest, `Last-Event-ID ${String(lastEventId)} names no stream this session can still resume (its events left the resume buffer, or it was answered as JSON)`);
  }

  port = await listenOn(server, spec).catch((error: unknown) => {
    stopTls();
    throw error;
  });
  return {
    spec,
    url: boundUrl(spec, port),
    sessions: () => sessions.size,
    recheck: () => {
      const authenticator = context.security.authenticator();
      for (const owned of [...sessions.values()]) {
        if (authenticator.stillValid(owned.grant)) continue;
        context.emit({ event: 'client.revoked', front: 'http', session: owned.session.id, principal: owned.principal.name, level: 'warn' });
        endSession(owned.session, 'its token was revoked or its access changed');
      }
    },
    close: (reason) =>
      new Promise<void>((resolve) => {
        clearInterval(sweeper);
        for (const { session: httpSession } of [...sessions.values()]) endSession(httpSession, reason);
        stopTls();
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 1_000).unref();
      }),
  };
}
