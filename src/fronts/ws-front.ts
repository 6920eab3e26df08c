/**
 * The WebSocket front: one JSON-RPC message per text frame, a session per connection. The upgrade is checked before
 * anything else happens: its path, its Origin (a browser page), its token (Authorization, or a browser's
 * `bearer.<token>` subprotocol beside `mcp`), the listener's and the principal's connection limits. Subprotocol `mcp`
 * is echoed when offered, never the token; a binary frame closes the socket with 1003; a frame over the message
 * limit with 1009 (ws does it); a client that stops answering pings is terminated; one that does not read what it
 * is sent (its unsent bytes over limits.maxUnsentBytes) is closed with 1008.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { Observable } from 'rxjs';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { ListenSpec } from '../../streams/config/listen.js';
import type { Principal } from '../../streams/access/access.js';
import { parseMessage, type ClientLine } from '../../streams/core/jsonrpc.js';
import { session } from '../../streams/session.js';
import type { ClientMessage } from '../../streams/session/in-flight.js';
import { tcpOf, turnBatching } from '../turn-batching.js';
import { allowedOrigins, boundUrl, DRAINING_RETRY_AFTER_S, checkExposure, listenOn, originAllowed, remoteOf, sessionDeps, type FrontContext, type RunningFront } from './front.js';
import type { Grant } from '../auth/authenticator.js';
import { authenticateRequest, takeSeat } from './gate.js';
import type { Seat } from './principals.js';
import { createFrontServer } from './tls-server.js';

const UNSUPPORTED_DATA = 1003;
const GOING_AWAY = 1001;
const INTERNAL_ERROR = 1011;
const POLICY_VIOLATION = 1008;
/** a client closed for not reading gets this long to take the close frame before its socket is cut */
const SLOW_CLOSE_GRACE_MS = 2_000;

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 429: 'Too Many Requests', 500: 'Internal Server Error', 503: 'Service Unavailable' };

/** Refuses an upgrade with an HTTP status and a reason a person can act on; nothing unchecked becomes a WebSocket. */
function refuse(socket: Duplex, status: number, reason: string, headers: Record<string, string> = {}): void {
  const body = `${reason}\n`;
  const extra = Object.entries(headers)
    .map(([name, value]) => `${name}: ${value.replace(/[\r\n]/g, ' ')}\r\n`)
    .join('');
  socket.end(`HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Bad Request'}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}Connection: close\r\n\r\n${body}`);
}

/** false when the client has more unsent than it may: it is not reading */
function send(socket: WebSocket, line: ClientLine, beforeSend: () => void, maxUnsent: number): boolean {
  if (socket.readyState !== socket.OPEN) return true;
  beforeSend();
  if (typeof line === 'string') socket.send(line);
  else socket.send(Buffer.concat(line.map((part) => (typeof part === 'string' ? Buffer.from(part) : part))), { binary: false });
  return socket.bufferedAmount <= maxUnsent;
}

interface Connection {
  principal: Principal;
  grant: Grant;
  seat: Seat;
}

/** The client's frames as messages; completes when the socket closes. */
function messagesOf(socket: WebSocket, onFault: (fault: string) => void): Observable<ClientMessage> {
  return new Observable<ClientMessage>((subscriber) => {
    const onMessage = (data: RawData, isBinary: boolean) => {
      if (isBinary) {
        onFault('binary frame');
        socket.close(UNSUPPORTED_DATA, 'binary frames are not MCP: send each JSON-RPC message as a text frame');
        return;
      }
      subscriber.next(parseMessage(Array.isArray(data) ? Buffer.concat(data).toString() : data.toString()));
    };
    const onClose = () => subscriber.complete();
    socket.on('message', onMessage);
    socket.on('close', onClose);
    // an error (a frame over maxPayload, a protocol violation) is followed by close: the session ends there
    socket.on('error', (error: Error & { code?: string }) => onFault(error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' ? 'frame over the message limit' : error.message));
    return () => {
      socket.off('message', onMessage);
      socket.off('close', onClose);
    };
  });
}

export async function openWsFront(spec: ListenSpec, context: FrontContext): Promise<RunningFront> {
  checkExposure(spec, context);
  const { server, close: stopTls } = await createFrontServer(spec, context.settings().tls, context.emit, (_request, response) => {
    response.writeHead(426, { 'content-type': 'text/plain; charset=utf-8', upgrade: 'websocket' });
    response.end(`This is mcp-relay's WebSocket MCP endpoint: connect with a WebSocket client to ${spec.tls ? 'wss' : 'ws'}://${spec.host}:<port>${spec.path}\n`);
  });
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: context.settings().maxClientMessageBytes,
    // `mcp` when offered, alone or among others (a browser's bearer.<token> beside it is never echoed); none is fine too
    handleProtocols: (protocols) => (protocols.has('mcp') ? 'mcp' : false),
  });
  const sockets = new Map<WebSocket, Connection>();
  let port = spec.port;

  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (context.hub.drain.draining) return refuse(socket, 503, 'mcp-relay is shutting down; reconnect shortly', { 'retry-after': String(DRAINING_RETRY_AFTER_S) });
    const path = new URL(request.url ?? '/', 'http://relay').pathname;
    if (path !== spec.path) return refuse(socket, 404, `no MCP endpoint at ${path}: this relay's WebSocket endpoint is ${spec.path}`);
    const origin = request.headers.origin;
    if (origin !== undefined && !originAllowed(origin, allowedOrigins(context.settings().http, port))) {
      context.emit({ event: 'front.refused', front: 'ws', remote: remoteOf(request.socket), reason: `origin ${origin} is not allowed`, level: 'warn' });
      return refuse(socket, 403, `origin ${origin} may not connect: add it to http.allowedOrigins in backends.yaml`);
    }
    void admit(request, socket, head).catch((error: unknown) => {
      context.emit({ event: 'front.error', front: 'ws', error: error instanceof Error ? error.message : String(error), level: 'error' });
      refuse(socket, 500, 'mcp-relay failed on this upgrade');
    });
  });

  async function admit(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const authenticated = await authenticateRequest(request, 'ws', spec, context);
    if (!authenticated.ok) return refuse(socket, authenticated.status, authenticated.reason, authenticated.headers);
    if (socket.destroyed) return;
    const seated = takeSeat(authenticated.principal, sockets.size, 'ws', remoteOf(request.socket), context);
    if (!seated.ok) return refuse(socket, seated.status, seated.reason, seated.headers);
    // the limit in force now, for this connection (ws reads options.maxPayload at each upgrade): a reload applies to
    // the clients that connect after it
    wss.options.maxPayload = context.settings().maxClientMessageBytes;
    // ws refuses a malformed handshake itself (400) without calling back: the seat goes back when the socket closes
    let accepted = false;
    socket.once('close', () => {
      if (!accepted) seated.seat.release();
    });
    wss.handleUpgrade(request, socket, head, (ws) => {
      accepted = true;
      accept(ws, request, { principal: authenticated.principal, grant: authenticated.grant, seat: seated.seat });
    });
  }

  function accept(socket: WebSocket, request: IncomingMessage, connection: Connection): void {
    sockets.set(socket, connection);
    const deps = sessionDeps(context, 'ws', remoteOf(request.socket), connection.principal, connection.seat.bucket, true);
    const fault = (kind: string) => context.emit({ event: 'client.refused', client: deps.identity.id, front: 'ws', principal: connection.principal.name, reason: kind, level: 'warn' });
    const { pingIntervalMs, pongTimeoutMs } = context.settings().websocket;
    // ping on an interval; a pong that does not come back in time means the client is gone (ws README heartbeat)
    let pongDeadline: NodeJS.Timeout | null = null;
    const heartbeat = setInterval(() => {
      if (pongDeadline !== null) return;
      pongDeadline = setTimeout(() => {
        context.emit({ event: 'client.unresponsive', client: deps.identity.id, front: 'ws', pongTimeoutMs, level: 'warn' });
        socket.terminate();
      }, pongTimeoutMs);
      socket.ping();
    }, pingIntervalMs);
    socket.on('pong', () => {
      if (pongDeadline !== null) clearTimeout(pongDeadline);
      pongDeadline = null;
    });
    // a busy client's messages of one event-loop turn leave in one write
    const beforeSend = turnBatching(tcpOf(socket));
    const { maxUnsentBytes } = context.settings().limits;
    let slow = false;
    const subscription = session(context.hub, messagesOf(socket, fault), deps).subscribe({
      next: (output) => {
        if (slow || send(socket, output.line, beforeSend, maxUnsentBytes)) return;
        slow = true;
        context.emit({ event: 'client.slow', client: deps.identity.id, front: 'ws', principal: connection.principal.name, unsentBytes: socket.bufferedAmount, limit: maxUnsentBytes, level: 'warn' });
        socket.close(POLICY_VIOLATION, `not reading: over ${maxUnsentBytes} bytes unsent`);
        setTimeout(() => socket.terminate(), SLOW_CLOSE_GRACE_MS).unref();
      },
      error: () => socket.close(INTERNAL_ERROR, 'mcp-relay ended this session after an internal error; reconnect'),
      complete: () => socket.close(1000),
    });
    // a JWT's connection lasts as long as the token: then the client reconnects with a fresh one
    const expiry =
      connection.grant.kind === 'jwt'
        ? setTimeout(
            () => {
              context.emit({ event: 'client.expired', front: 'ws', principal: connection.principal.name, level: 'info' });
              socket.close(POLICY_VIOLATION, 'token expired: reconnect with a fresh token');
            },
            Math.min(Math.max(0, connection.grant.expiresAt - Date.now()), 2 ** 31 - 1),
          )
        : null;
    socket.once('close', () => {
      if (expiry !== null) clearTimeout(expiry);
      clearInterval(heartbeat);
      if (pongDeadline !== null) clearTimeout(pongDeadline);
      sockets.delete(socket);
      connection.seat.release();
      subscription.unsubscribe();
    });
  }

  port = await listenOn(server, spec).catch((error: unknown) => {
    stopTls();
    throw error;
  });
  const url = boundUrl(spec, port);
  return {
    spec,
    url,
    sessions: () => sockets.size,
    recheck: () => {
      const authenticator = context.security.authenticator();
      for (const [socket, connection] of sockets) {
        if (authenticator.stillValid(connection.grant)) continue;
        context.emit({ event: 'client.revoked', front: 'ws', principal: connection.principal.name, level: 'warn' });
        socket.close(POLICY_VIOLATION, 'token revoked or its access changed: reconnect');
      }
    },
    close: (reason) =>
      new Promise<void>((resolve) => {
        for (const socket of sockets.keys()) socket.close(GOING_AWAY, reason.slice(0, 120));
        wss.close();
        stopTls();
        server.close(() => resolve());
        // sockets that do not finish their closing handshake are cut, so close() never hangs
        setTimeout(() => {
          for (const socket of sockets.keys()) socket.terminate();
          server.closeAllConnections();
        }, 1_000).unref();
      }),
  };
}
