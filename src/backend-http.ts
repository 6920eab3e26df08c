/**
 * The Streamable HTTP transport to a backend (MCP 2025-03-26 and later): one POST per message, answered with
 * JSON or an SSE stream; Mcp-Session-Id and MCP-Protocol-Version once initialize told them; an optional GET
 * stream for server-initiated messages; DELETE when the link closes.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Observable, Subject } from 'rxjs';
import { Agent, fetch, Headers, type Response } from 'undici';
import { ConnectionClosedError, errorMessage } from '../streams/core/errors.js';
import { classify, ErrorCode, failure, parseMessage, type Classified, type JsonRpcId } from '../streams/core/jsonrpc.js';
import type { BackendLink, OpenLink } from '../streams/rpc/link.js';
import type { BackendEntry } from '../streams/config/schema.js';
import { SseEventTooLargeError, sseParser } from './sse.js';

/**
 * Node's global fetch cuts a response whose headers or body take over 300 s (undici's defaults), whatever the
 * backend's timeoutMs says: a long tool answering with plain JSON after five minutes was lost. This client has no
 * such limits, so the relay's own deadlines (timeoutMs, progress restarting it; connectWaitMs; keep-alive) are the only ones.
 */
const dispatcher = new Agent({ headersTimeout: 0, bodyTimeout: 0 });

/** before reopening a stream that ended, unless the server said otherwise (`retry:`) */
const REOPEN_DELAY_MS = 1_000;
/** resumes in a row that bring no new event before a request's stream is given up */
const MAX_IDLE_RESUMES = 3;
/** DELETE is a courtesy: a server that does not answer quickly expires the session on its own */
const DELETE_TIMEOUT_MS = 2_000;
const EXCERPT_BYTES = 1_024;
const EXCERPT_CHARS = 200;
/** WebSocket close codes for the same events, so a dropped HTTP backend reads like a dropped ws one */
const ABNORMAL_CLOSURE = 1006;
const MESSAGE_TOO_BIG = 1009;
const SESSION_GONE = 404;

/** What the link needs to know about a message it sends: the id only for a request (which expects an answer). */
interface Outgoing {
  method: string | undefined;
  id: JsonRpcId | undefined;
  /** a notifications/cancelled: the id of the request it ends */
  cancels?: JsonRpcId;
}

/** Where an SSE stream got to, to resume it with Last-Event-ID (2025-11-25 servers may end a stream early). */
interface Cursor {
  lastEventId?: string;
  retryMs?: number;
}

function outgoing(frame: string): Outgoing {
  const parsed = parseMessage(frame);
  if (parsed.kind === 'request') return { method: parsed.message.method, id: parsed.message.id };
  if (parsed.kind === 'notification') {
    const requestId = parsed.message.params?.['requestId'];
    const cancels = parsed.message.method === 'notifications/cancelled' && (typeof requestId === 'string' || typeof requestId === 'number') ? requestId : undefined;
    return cancels === undefined ? { method: parsed.message.method, id: undefined } : { method: parsed.message.method, id: undefined, cancels };
  }
  return { method: undefined, id: undefined };
}

const isEventStream = (response: Response): boolean => (response.headers.get('content-type') ?? '').toLowerCase().startsWith('text/event-stream');
const isJson = (response: Response): boolean => (response.headers.get('content-type') ?? '').toLowerCase().startsWith('application/json');

/** Reads a body as text, stopping (and cancelling the rest) once it is over limitBytes. */
async function readUpTo(response: Response, limitBytes: number): Promise<{ text: string; complete: boolean }> {
  const decoder = new TextDecoder();
  let text = '';
  let bytes = 0;
  if (!response.body) return { text, complete: true };
  for await (const chunk of response.body) {
    bytes += chunk.byteLength;
    text += decoder.decode(chunk, { stream: true });
    if (bytes > limitBytes) return { text, complete: false };
  }
  return { text: text + decoder.decode(), complete: true };
}

async function excerpt(response: Response): Promise<string> {
  const { text } = await readUpTo(response, EXCERPT_BYTES).catch(() => ({ text: '' }));
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > EXCERPT_CHARS ? `${line.slice(0, EXCERPT_CHARS)}...` : line;
}

/** errors of the connect phase: the request's bytes never left this process */
const CONNECT_ERRORS: ReadonlySet<string> = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

/** whether the error, or one of its causes (fetch wraps what happened), has one of these codes */
function causedBy(error: unknown, codes: ReadonlySet<string>): boolean {
  for (let current: unknown = error; current instanceof Error; current = current.cause) {
    if (codes.has((current as NodeJS.ErrnoException).code ?? '')) return true;
  }
  return false;
}

/** fetch says only "fetch failed"; the reason (ECONNREFUSED, other side closed) is in its cause */
const networkReason = (error: unknown): string =>
  error instanceof Error && error.cause instanceof Error ? `${error.message}: ${error.cause.message}` : errorMessage(error);

class HttpSession {
  private sessionId: string | null = null;
  private protocolVersion: string | null = null;
  private listening = false;
  private ended = false;
  /** requests wait for notifications/initialized to be accepted: some servers refuse requests before it */
  private initialized: Promise<unknown> = Promise.resolve();
  private readonly aborter = new AbortController();
  /** each request's own POST, by id: a cancel (or the relay's timeout) ends it */
  private readonly requests = new Map<JsonRpcId, AbortController>();
  private readonly frames = new Subject<string>();

  readonly link: BackendLink = {
    frames$: this.frames.asObservable(),
    send: (frame) => this.send(frame),
  };

  constructor(private readonly entry: BackendEntry) {}

  close(): void {
    this.ended = true;
    this.aborter.abort();
    if (this.sessionId === null) return;
    fetch(this.entry.url, { method: 'DELETE', headers: this.headers({}), signal: AbortSignal.timeout(DELETE_TIMEOUT_MS), dispatcher })
      .then((response) => response.body?.cancel())
      .catch(() => undefined);
  }

  private send(frame: string): boolean {
    if (this.ended) return false;
    const message = outgoing(frame);
    // a request the relay gave up on (its timeout, the client's cancel): its POST and socket end now. With no
    // undici timeouts, nothing else would ever end a POST whose backend never answers
    if (message.cancels !== undefined) this.requests.get(message.cancels)?.abort();
    const posted = this.initialized.then(() => this.post(frame, message));
    if (message.method === 'notifications/initialized') this.initialized = posted.catch(() => undefined);
    posted.catch((error: unknown) => this.onPostError(error, message));
    return true;
  }

  private async post(frame: string, message: Outgoing): Promise<void> {
    if (message.id === undefined) return this.exchange(frame, message, this.aborter.signal);
    const own = new AbortController();
    this.requests.set(message.id, own);
    try {
      await this.exchange(frame, message, AbortSignal.any([this.aborter.signal, own.signal]));
    } catch (error: unknown) {
      // cancelled on purpose: the channel already answered the call
      if (!own.signal.aborted) throw error;
    } finally {
      if (this.requests.get(message.id) === own) this.requests.delete(message.id);
    }
  }

  private async exchange(frame: string, message: Outgoing, signal: AbortSignal): Promise<void> {
    const response = await fetch(this.entry.url, {
      method: 'POST',
      headers: this.headers({ 'content-type': 'application/json', accept: 'application/json, text/event-stream' }),
      body: frame,
      signal,
      dispatcher,
    });
    if (message.method === 'initialize') this.sessionId = response.headers.get('mcp-session-id') ?? this.sessionId;
    await this.checkSession(response);
    if (!response.ok) {
      const body = await excerpt(response);
      this.answer(message, `the backend answered HTTP ${response.status}${body === '' ? '' : `: ${body}`}`);
      return;
    }
    if (message.method === 'notifications/initialized') this.listen();
    if (response.status === 202 || response.status === 204 || !(isJson(response) || isEventStream(response))) {
      await response.body?.cancel();
      this.answer(message, `the backend answered HTTP ${response.status} (${response.headers.get('content-type') ?? 'no content type'}) with no response`);
      return;
    }
    const answered = isJson(response) ? await this.readJson(response, message) : await this.readAnswerStream(response, message, signal);
    if (signal.aborted) return;
    if (!answered) this.answer(message, 'the backend ended its response stream without answering this request');
  }

  private onPostError(error: unknown, message: Outgoing): void {
    if (this.aborter.signal.aborted) return; // the link was closed: every request was aborted on purpose
    if (error instanceof ConnectionClosedError) this.fail(error);
    else {
      // send() said "written" before the POST was tried: a POST that never connected did not reach the backend
      const unsent = message.id !== undefined && causedBy(error, CONNECT_ERRORS) ? new Set([message.id]) : undefined;
      this.fail(new ConnectionClosedError(this.entry.name, ABNORMAL_CLOSURE, networkReason(error), unsent));
    }
  }

  /** The optional stream of server-initiated messages; reopened whenever it ends, while the link lives. */
  private listen(): void {
    if (this.listening) return;
    this.listening = true;
    this.listenUntilClosed().catch((error: unknown) => {
      if (this.aborter.signal.aborted) return;
      this.fail(error instanceof ConnectionClosedError ? error : new ConnectionClosedError(this.entry.name, ABNORMAL_CLOSURE, networkReason(error)));
    });
  }

  private async listenUntilClosed(): Promise<void> {
    const cursor: Cursor = {};
    for (;;) {
      const response = await this.get(cursor);
      if (!response.ok || !isEventStream(response)) {
        await response.body?.cancel(); // 405: this server offers no such stream, and that is fine
        return;
      }
      try {
        await this.readEvents(response, null, cursor);
      } catch (error: unknown) {
        // a stream cut mid-way (a proxy, undici's body timeout) is reopened; an oversized message is not
        if (error instanceof ConnectionClosedError || this.aborter.signal.aborted) throw error;
      }
      await sleep(cursor.retryMs ?? REOPEN_DELAY_MS, undefined, { signal: this.aborter.signal });
    }
  }

  /** A request's SSE answer; a stream that ends before the response is resumed while it still brings events. */
  private async readAnswerStream(first: Response, message: Outgoing, signal: AbortSignal): Promise<boolean> {
    const cursor: Cursor = {};
    let response = first;
    for (let idle = 0; idle < MAX_IDLE_RESUMES; ) {
      const before = cursor.lastEventId;
      if (await this.readEvents(response, message, cursor)) return true;
      if (message.id === undefined || cursor.lastEventId === undefined || signal.aborted) return false;
      idle = cursor.lastEventId === before ? idle + 1 : 0;
      await sleep(cursor.retryMs ?? REOPEN_DELAY_MS, undefined, { signal });
      response = await this.get(cursor, signal);
      if (!response.ok || !isEventStream(response)) {
        await response.body?.cancel();
        return false;
      }
    }
    return false;
  }

  private async get(cursor: Cursor, signal: AbortSignal = this.aborter.signal): Promise<Response> {
    const headers = this.headers({ accept: 'text/event-stream' });
    if (cursor.lastEventId !== undefined) headers.set('last-event-id', cursor.lastEventId);
    const response = await fetch(this.entry.url, { method: 'GET', headers, signal, dispatcher });
    await this.checkSession(response);
    return response;
  }

  /** A 404 on a request that carried a session id: the server forgot the session, so this link is over. */
  private async checkSession(response: Response): Promise<void> {
    if (response.status !== SESSION_GONE || this.sessionId === null) return;
    await response.body?.cancel();
    throw new ConnectionClosedError(this.entry.name, SESSION_GONE, 'the backend no longer knows this session (HTTP 404): it expired or the backend restarted');
  }

  private async readJson(response: Response, message: Outgoing): Promise<boolean> {
    const { text, complete } = await readUpTo(response, this.entry.settings.maxMessageBytes);
    if (!complete) throw this.tooLarge();
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return this.deliver(text, parseMessage(text), message); // the channel reports it as a protocol violation
    }
    if (!Array.isArray(value)) return this.deliver(text.trim(), classify(value), message);
    return value.map((item) => this.deliver(JSON.stringify(item), classify(item), message)).includes(true);
  }

  /** Emits each event's message until the stream ends; true when one was the response to `message`. */
  private async readEvents(response: Response, message: Outgoing | null, cursor: Cursor): Promise<boolean> {
    const parse = sseParser({ maxEventBytes: this.entry.settings.maxMessageBytes });
    const decoder = new TextDecoder();
    let answered = false;
    if (!response.body) return false;
    try {
      for await (const chunk of response.body) {
        for (const event of parse(decoder.decode(chunk, { stream: true }))) {
          cursor.lastEventId = event.id ?? cursor.lastEventId;
          cursor.retryMs = event.retry ?? cursor.retryMs;
          // a priming event (id, no message) only moves the cursor
          if (event.data === '' || (event.event !== '' && event.event !== 'message')) continue;
          answered = this.deliver(event.data, parseMessage(event.data), message) || answered;
        }
      }
    } catch (error: unknown) {
      throw error instanceof SseEventTooLargeError ? this.tooLarge() : error;
    }
    return answered;
  }

  /** Emits one inbound frame; true when it is the response to `message`. */
  private deliver(frame: string, parsed: Classified | { kind: 'parse-error' }, message: Outgoing | null): boolean {
    const isAnswer = message !== null && message.id !== undefined && parsed.kind === 'response' && parsed.message.id === message.id;
    if (isAnswer && message.method === 'initialize' && 'result' in parsed.message) {
      const version: unknown = parsed.message.result['protocolVersion'];
      // set before emitting: the handshake sends notifications/initialized from inside next()
      if (typeof version === 'string') this.protocolVersion = version;
    }
    if (!this.ended) this.frames.next(frame);
    return isAnswer;
  }

  /** A request that got no JSON-RPC answer over HTTP gets one here, so its caller is not left waiting. */
  private answer(message: Outgoing, reason: string): void {
    if (message.id === undefined || this.ended) return;
    this.frames.next(JSON.stringify(failure(message.id, ErrorCode.InternalError, `${reason} (backend '${this.entry.name}', ${message.method})`)));
  }

  private fail(error: ConnectionClosedError): void {
    if (this.ended) return;
    this.ended = true;
    this.frames.error(error);
  }

  private tooLarge(): ConnectionClosedError {
    return new ConnectionClosedError(this.entry.name, MESSAGE_TOO_BIG, `a message from the backend was larger than maxMessageBytes (${this.entry.settings.maxMessageBytes} bytes)`);
  }

  private headers(own: Record<string, string>): Headers {
    const headers = new Headers(this.entry.headers);
    for (const [name, value] of Object.entries(own)) headers.set(name, value);
    if (this.sessionId !== null) headers.set('mcp-session-id', this.sessionId);
    if (this.protocolVersion !== null) headers.set('mcp-protocol-version', this.protocolVersion);
    return headers;
  }
}

/** Nothing to open: the link is emitted at once, and the initialize POST is the real reachability check. */
export const openHttpLink: OpenLink = (entry) =>
  new Observable<BackendLink>((subscriber) => {
    const session = new HttpSession(entry);
    subscriber.next(session.link);
    return () => session.close();
  });
