/**
 * One Streamable HTTP session (MCP 2025-11-25 transport): the session's messages go to the POST stream of the request
 * they belong to, or to the GET stream. A POST is answered with JSON when its first message is the response, with
 * SSE when progress or a backend's request comes first (or the client takes only SSE). Every SSE event has an id and
 * is kept in a bounded buffer, so a client whose stream dropped resumes it with Last-Event-ID: a dropped stream is
 * not a cancel, and the call's answer waits there.
 */
import type { ServerResponse } from 'node:http';
import { Observable, type Subscriber, type Subscription } from 'rxjs';
import { ErrorCode, failure, type ClientLine, type JsonRpcId } from '../../streams/core/jsonrpc.js';
import type { SessionOutput } from '../../streams/session.js';
import type { ClientMessage } from '../../streams/session/in-flight.js';

/** the GET stream's number; POST streams count up from 1 */
const STANDALONE = 0;
/** SSE comment lines on a quiet stream, so proxies and clients do not take it for dead */
const KEEPALIVE_MS = 15_000;

interface BufferedEvent {
  stream: number;
  seq: number;
  line: ClientLine;
  bytes: number;
}

/** A POST's response (or a GET's) while the client holds it; null once it dropped or ended. */
interface Stream {
  readonly id: number;
  response: ServerResponse | null;
  mode: 'pending' | 'json' | 'sse';
  /** the request whose answer ends it (none for the GET stream) */
  readonly requestId: JsonRpcId | null;
  acceptsJson: boolean;
  nextSeq: number;
  /** the last event written to the client: the GET stream's next one starts after it */
  written: number;
  done: boolean;
  /** its events still in the resume buffer: a done stream with none left is forgotten */
  buffered: number;
}

export interface HttpSessionLimits {
  resumeBufferEvents: number;
  resumeBufferBytes: number;
  /** a stream with more than this written but not taken by the client is cut (its events stay resumable) */
  maxUnsentBytes: number;
  /** told when a stream is cut for that */
  onSlowReader?: (unsent: number) => void;
}

const key = (id: JsonRpcId): string => `${typeof id}:${id}`;

const lineBytes = (line: ClientLine): number => (typeof line === 'string' ? line.length : line.reduce((sum, part) => sum + part.length, 0));

export class HttpSession {
  protocolVersion: string | null = null;
  /** wall-clock ms of the last request: idle sessions expire */
  lastSeen = Date.now();
  private input: Subscriber<ClientMessage> | null = null;
  private output: Subscription | null = null;
  private nextStream = 1;
  private readonly streams = new Map<number, Stream>();
  private readonly byRequest = new Map<string, Stream>();
  private standalone: Stream = this.newStream(STANDALONE, null, false);
  private readonly buffer: BufferedEvent[] = [];
  private bufferedBytes = 0;
  private ended = false;
  private readonly keepAlive: NodeJS.Timeout;

  /** the session id on every answer; none for a 2026-07-28 request's one-request session (that era has no sessions) */
  private readonly idHeader: Record<string, string>;

  constructor(
    readonly id: string,
    private readonly limits: HttpSessionLimits,
    stateless = false,
  ) {
    this.idHeader = stateless ? {} : { 'mcp-session-id': id };
    this.keepAlive = setInterval(() => this.ping(), KEEPALIVE_MS);
    this.keepAlive.unref();
  }

  /** The session's input as the relay's session() reads it; subscribed once. */
  readonly messages$ = new Observable<ClientMessage>((subscriber) => {
    this.input = subscriber;
    return () => {
      this.input = null;
    };
  });

  /** Wires the relay's session output to the streams; its end (or crash) ends this session. */
  attach(output$: Observable<SessionOutput>, onEnd: () => void): void {
    this.output = output$.subscribe({ next: (output) => this.route(output), error: () => onEnd(), complete: () => onEnd() });
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /** streams a client is holding open now */
  get openStreams(): number {
    let open = 0;
    for (const stream of this.streams.values()) if (stream.response !== null) open++;
    return open;
  }

  hasRequestInFlight(id: JsonRpcId): boolean {
    return this.byRequest.has(key(id));
  }

  /** A client request: its answer (and whatever comes during it) goes to this POST's response. */
  request(message: ClientMessage & { kind: 'request' }, response: ServerResponse, accepts: { json: boolean; sse: boolean }): void {
    const stream = this.newStream(this.nextStream++, message.message.id, accepts.json);
    stream.response = response;
    this.byRequest.set(key(message.message.id), stream);
    response.once('close', () => this.dropped(stream, response));
    // SSE from the start where it will be SSE anyway: a progress token means progress, and an id to resume from
    const meta = message.message.params?.['_meta'];
    if (!accepts.json || (accepts.sse && meta !== null && typeof meta === 'object' && 'progressToken' in meta)) this.startSse(stream);
    this.input?.next(message);
  }

  /** A notification or a response from the client: nothing comes back on its POST (202). */
  notify(message: ClientMessage): void {
    this.input?.next(message);
    // a cancelled request gets no answer (the relay stopped it): its POST is closed here, and its id is free again
    if (message.kind === 'notification' && message.message.method === 'notifications/cancelled') {
      const requestId = message.message.params?.['requestId'];
      const stream = typeof requestId === 'string' || typeof requestId === 'number' ? this.byRequest.get(key(requestId)) : undefined;
      if (stream) this.cancelled(stream);
    }
  }

  private cancelled(stream: Stream): void {
    const { response } = stream;
    if (response !== null && !response.headersSent) response.writeHead(202, this.idHeader);
    this.finish(stream);
  }

  /**
   * A GET: the session's own stream, or (with Last-Event-ID) the rest of a stream that dropped. False when the event
   * id names no stream this session still knows.
   */
  open(response: ServerResponse, lastEventId: string | undefined): 'opened' | 'unknown-event' | 'conflict' {
    if (lastEventId !== undefined) return this.resume(response, lastEventId);
    if (this.standalone.response !== null) return 'conflict';
    const { standalone } = this;
    const from = standalone.written;
    standalone.response = response;
    response.once('close', () => this.dropped(standalone, response));
    this.startSse(standalone);
    // what came while no GET stream was open is still in the buffer (as far as it holds)
    for (const event of this.buffer) if (event.stream === STANDALONE && event.seq > from) this.write(standalone, event);
    return 'opened';
  }

  /** DELETE, expiry or shutdown: the input ends (the relay cancels the calls in flight), every stream closes. */
  end(reason: string): void {
    if (this.ended) return;
    this.ended = true;
    clearInterval(this.keepAlive);
    this.input?.complete();
    this.output?.unsubscribe();
    // a request still open hears why it will not be answered, instead of a stream that just stops
    for (const stream of this.streams.values()) {
      if (stream.response === null || stream.done) continue;
      if (stream.requestId === null) {
        stream.response.end();
        continue;
      }
      const line = JSON.stringify(failure(stream.requestId, ErrorCode.InternalError, `the session ended (${reason}) before this request was answered; mcp-relay cancelled it on its backend`));
      if (stream.mode === 'pending') this.answerJson(stream, line);
      else {
        this.write(stream, { stream: stream.id, seq: stream.nextSeq++, line, bytes: line.length });
        stream.response.end();
      }
    }
    this.streams.clear();
    this.byRequest.clear();
    this.buffer.length = 0;
    this.bufferedBytes = 0;
  }

  private newStream(id: number, requestId: JsonRpcId | null, acceptsJson: boolean): Stream {
    const stream: Stream = { id, response: null, mode: id === STANDALONE ? 'sse' : 'pending', requestId, acceptsJson, nextSeq: 1, written: 0, done: false, buffered: 0 };
    this.streams.set(id, stream);
    return stream;
  }

  private route(output: SessionOutput): void {
    const stream = output.requestId === undefined ? undefined : this.byRequest.get(key(output.requestId));
    if (!stream) return this.toStandalone(output.line);
    if (stream.mode === 'pending') {
      if (output.final && stream.acceptsJson) return this.answerJson(stream, output.line);
      this.startSse(stream);
    }
    this.write(stream, this.remember(stream, output.line));
    if (output.final) this.finish(stream);
  }

  private toStandalone(line: ClientLine): void {
    // with no GET stream open it waits in the buffer for the next one
    this.write(this.standalone, this.remember(this.standalone, line));
  }

  private answerJson(stream: Stream, line: ClientLine): void {
    stream.mode = 'json';
    const { response } = stream;
    if (response !== null) {
      // with its length: one write of head and body, not chunked framing around it
      const bytes = typeof line === 'string' ? Buffer.byteLength(line) : line.reduce((sum, part) => sum + (typeof part === 'string' ? Buffer.byteLength(part) : part.length), 0);
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': bytes, ...this.idHeader });
      if (typeof line === 'string') response.end(line);
      else {
        for (const part of line) response.write(part);
        response.end();
      }
    }
    this.finish(stream);
  }

  private startSse(stream: Stream): void {
    if (stream.mode === 'sse' && stream.id !== STANDALONE) return;
    stream.mode = 'sse';
    const { response } = stream;
    if (response === null || response.headersSent) return;
    response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache, no-transform', connection: 'keep-alive', ...this.idHeader });
    // a priming event: an id to resume from before the first message (2025-11-25 transport)
    const primer = this.remember(stream, '');
    response.write(`id: ${stream.id}-${primer.seq}\ndata: \n\n`);
  }

  /** every SSE event is kept, within the bounds, for a resume */
  private remember(stream: Stream, line: ClientLine): BufferedEvent {
    const event: BufferedEvent = { stream: stream.id, seq: stream.nextSeq++, line, bytes: lineBytes(line) };
    this.buffer.push(event);
    stream.buffered++;
    this.bufferedBytes += event.bytes;
    while (this.buffer.length > this.limits.resumeBufferEvents || (this.bufferedBytes > this.limits.resumeBufferBytes && this.buffer.length > 1)) {
      const evicted = this.buffer.shift() as BufferedEvent;
      this.bufferedBytes -= evicted.bytes;
      const owner = this.streams.get(evicted.stream);
      if (owner && --owner.buffered === 0 && owner.done) this.streams.delete(owner.id);
    }
    return event;
  }

  private write(stream: Stream, event: BufferedEvent): void {
    const { response } = stream;
    if (response === null || event.line === '') return;
    response.write(`id: ${stream.id}-${event.seq}\ndata: `);
    if (typeof event.line === 'string') response.write(event.line);
    else for (const part of event.line) response.write(part);
    response.write('\n\n');
    stream.written = event.seq;
    // a client that does not read: its stream is cut, not buffered without end (the events wait in the resume buffer)
    if (response.writableLength > this.limits.maxUnsentBytes) {
      this.limits.onSlowReader?.(response.writableLength);
      stream.response = null;
      response.destroy();
    }
  }

  /** the request's answer went out (or into the buffer): its stream is done */
  private finish(stream: Stream): void {
    stream.done = true;
    if (stream.requestId !== null) this.byRequest.delete(key(stream.requestId));
    stream.response?.end();
    stream.response = null;
    // a stream nobody can resume any more (answered as JSON, or nothing of it buffered) is forgotten
    if (stream.mode === 'json' || stream.buffered === 0) this.streams.delete(stream.id);
  }

  /** the client went away from this stream: not a cancel; what comes for it waits in the buffer */
  private dropped(stream: Stream, response: ServerResponse): void {
    if (stream.response === response) stream.response = null;
    // the client was here until now: a stream held for long is not idleness, and its reconnect must find the session
    this.lastSeen = Date.now();
  }

  private resume(response: ServerResponse, lastEventId: string): 'opened' | 'unknown-event' {
    const match = /^(\d+)-(\d+)$/.exec(lastEventId);
    const stream = match ? this.streams.get(Number(match[1])) : undefined;
    // only an SSE stream ever gave the client an event id (a pending one answers as JSON, or switches to SSE itself)
    if (!match || !stream || stream.mode !== 'sse') return 'unknown-event';
    const after = Number(match[2]);
    // events after that one that have left the buffer cannot be replayed: a resume with a hole in it is refused
    if (stream.nextSeq > after + 1 && this.buffer.find((event) => event.stream === stream.id && event.seq > after)?.seq !== after + 1) return 'unknown-event';
    stream.response?.end();
    response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache, no-transform', connection: 'keep-alive', ...this.idHeader });
    // the headers go now, even when there is nothing to replay yet: the client must see its resume accepted
    response.flushHeaders();
    stream.response = response;
    response.once('close', () => this.dropped(stream, response));
    for (const event of this.buffer) if (event.stream === stream.id && event.seq > after) this.write(stream, event);
    if (stream.id !== STANDALONE && stream.done) {
      response.end();
      stream.response = null;
      this.streams.delete(stream.id);
    }
    return 'opened';
  }

  private ping(): void {
    for (const stream of this.streams.values()) if (stream.mode === 'sse' && stream.response !== null) stream.response.write(': keep-alive\n\n');
  }
}
