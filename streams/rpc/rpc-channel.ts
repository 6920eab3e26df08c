/** Request/response over one backend link: fresh numeric ids, relay progress tokens, call timeouts, late responses dropped. */
import { Observable, TimeoutError } from 'rxjs';
import { Deadlines } from './deadlines.js';
import { IdTable } from './id-table.js';
import { ConnectionClosedError, NotWrittenError, OutcomeUnknownError } from '../core/errors.js';
import { ErrorCode, failure, parseMessage, type JsonRpcId, type JsonRpcNotification, type JsonRpcRequest, type JsonRpcResponse, type Params } from '../core/jsonrpc.js';
import { spliceRequestId } from './splice-id.js';
import { UNDECODED_FRAME_BYTES, type BackendLink, type Frame, type UndecodedFrame } from './link.js';

/** `frame` is the response exactly as the backend sent it: the client's line can be made from it without re-serializing */
export type CallEvent =
  | { kind: 'progress'; params: Params }
  | { kind: 'response'; response: JsonRpcResponse; frame?: string }
  /** a large success response passed on unparsed (and, from a transport that leaves it so, undecoded): only its frame and id are known */
  | { kind: 'passed'; id: number; frame: string | UndecodedFrame };

export interface RequestOptions {
  /** the caller only forwards the response: a large success frame may skip JSON.parse (see passThrough) */
  passThrough?: boolean;
  /**
   * no response within this long after the request (or its last progress) ends it: the backend hears
   * notifications/cancelled and the sink gets a TimeoutError. One timer per connection serves every call.
   */
  timeoutMs?: number;
  /**
   * the client's request as it came, when params are exactly its params: the frame is then that line with the
   * relay's id swapped in, not a re-serialization (unless a progress token must be replaced)
   */
  original?: { line: string; id: JsonRpcId };
}

/** below this a frame is parsed anyway: parsing is cheap, and small results are where the fields are read */
const PASS_THROUGH_BYTES = UNDECODED_FRAME_BYTES;
const TRAILING_ID = /,"id":(\d{1,15})\}$/;

export type Incoming =
  | { kind: 'notification'; message: JsonRpcNotification }
  | { kind: 'request'; message: JsonRpcRequest }
  | { kind: 'violation'; reason: string };

/** Where a request's events go: an rxjs Subscriber is one; the forwarding hot path is another, without the Observable. */
export interface CallSink {
  next(event: CallEvent): void;
  /** the connection ended before the response: OutcomeUnknownError */
  error(error: Error): void;
  complete(): void;
}

interface Pending {
  sink: CallSink;
  method: string;
  progressToken?: string;
  passThrough?: boolean;
  timeoutMs?: number;
}

export class RpcChannel {
  private nextId = 1;
  private nextToken = 1;
  /** not Maps: these churn once per call (see id-table.ts) */
  private readonly pending = new IdTable<Pending>();
  /** relay progress token -> the request's id */
  private readonly progress = new IdTable<number>();
  /** one queue per timeout length (in practice one: the backend's timeoutMs) */
  private readonly deadlines = new Map<number, Deadlines<number>>();
  private closedBy: Error | null = null;

  /** Subscribe exactly once for the life of the link: it dispatches responses and progress, and emits the rest. */
  readonly incoming$: Observable<Incoming>;

  constructor(
    readonly backend: string,
    private readonly link: BackendLink,
  ) {
    this.incoming$ = new Observable<Incoming>((subscriber) => {
      const subscription = link.frames$.subscribe({
        next: (frame) => {
          const incoming = this.dispatch(frame);
          if (incoming) subscriber.next(incoming);
        },
        error: (error: unknown) => {
          this.close(error instanceof Error ? error : new Error(String(error)));
          subscriber.error(error);
        },
        complete: () => {
          this.close(new Error('connection ended'));
          subscriber.complete();
        },
      });
      return () => {
        subscription.unsubscribe();
        this.close(new Error('connection closed by the relay'));
      };
    });
  }

  /**
   * Sends a request; emits progress for it, then its response. Unsubscribing before the response
   * (timeout, client cancel) tells the backend with notifications/cancelled.
   */
  request(method: string, params?: Params, options: RequestOptions = {}): Observable<CallEvent> {
    return new Observable<CallEvent>((subscriber) => {
      const sent = this.send(method, params, subscriber, options);
      if (typeof sent !== 'number') {
        subscriber.error(sent);
        return undefined;
      }
      return () => this.cancel(sent, method);
    });
  }

  /**
   * The imperative form of request(), for the per-call hot path: the request's id once written (its events then go to
   * the sink), or the reason it was not (NotWrittenError: the backend never saw it, so sending elsewhere is safe).
   */
  send(method: string, params: Params | undefined, sink: CallSink, options: RequestOptions = {}): number | Error {
    if (this.closedBy) return new NotWrittenError(this.backend);
    const id = this.nextId++;
    const entry: Pending = { sink, method };
    if (options.passThrough) entry.passThrough = true;
    let outParams = params;
    const meta = params?.['_meta'];
    if (meta && typeof meta === 'object' && 'progressToken' in meta) {
      // the client's token may collide with another client's on this connection: use our own
      entry.progressToken = `relay-${this.nextToken++}`;
      outParams = { ...params, _meta: { ...meta, progressToken: entry.progressToken } };
    }
    let frame = outParams === params && options.original ? spliceRequestId(options.original.line, options.original.id, id) : null;
    try {
      frame ??= JSON.stringify(outParams === undefined ? { jsonrpc: '2.0', id, method } : { jsonrpc: '2.0', id, method, params: outParams });
    } catch (error: unknown) {
      return new Error(`the ${method} request cannot be serialized: ${error instanceof Error ? error.message : String(error)}`);
    }
    this.pending.set(id, entry);
    if (entry.progressToken !== undefined) this.progress.set(entry.progressToken, id);
    if (!this.link.send(frame)) {
      this.forget(id);
      return new NotWrittenError(this.backend);
    }
    if (options.timeoutMs !== undefined) {
      entry.timeoutMs = options.timeoutMs;
      this.deadlinesFor(options.timeoutMs).arm(id);
    }
    return id;
  }

  /** Ends a request before its response (timeout, client cancel): the backend hears notifications/cancelled. */
  cancel(id: number, method: string): void {
    // the spec forbids cancelling initialize; a handshake that times out closes the connection instead
    if (this.forget(id) && !this.closedBy && method !== 'initialize') {
      this.notify('notifications/cancelled', { requestId: id, reason: 'cancelled by mcp-relay (timeout or client cancel)' });
    }
  }

  notify(method: string, params?: Params): boolean {
    return this.link.send(JSON.stringify(params === undefined ? { jsonrpc: '2.0', method } : { jsonrpc: '2.0', method, params }));
  }

  respond(response: JsonRpcResponse): boolean {
    return this.link.send(JSON.stringify(response));
  }

  get inFlight(): number {
    return this.pending.size;
  }

  /** the connection has ended: nothing more can be sent or answered on it */
  get closed(): boolean {
    return this.closedBy !== null;
  }

  /** true when the request was still pending */
  private forget(id: number): boolean {
    const entry = this.pending.get(id);
    if (!entry) return false;
    this.pending.delete(id);
    if (entry.progressToken !== undefined) this.progress.delete(entry.progressToken);
    if (entry.timeoutMs !== undefined) this.deadlines.get(entry.timeoutMs)?.delete(id);
    return true;
  }

  private deadlinesFor(ms: number): Deadlines<number> {
    let queue = this.deadlines.get(ms);
    if (!queue) {
      queue = new Deadlines<number>(ms, (id) => this.expire(id));
      this.deadlines.set(ms, queue);
    }
    return queue;
  }

  /** a request's timeout: cancelled on the backend, a TimeoutError for its sink */
  private expire(id: number): void {
    const entry = this.pending.get(id);
    if (!entry) return;
    this.cancel(id, entry.method);
    entry.sink.error(new TimeoutError());
  }

  /**
   * A large success response to a pass-through request, recognised without parsing: it starts with a top-level
   * "result" and ends with our numeric id as its last member (the TypeScript SDK's layout), and has no raw line break.
   */
  private passedThrough(frame: Frame): boolean {
    const text = typeof frame === 'string';
    if (text ? frame.length < PASS_THROUGH_BYTES : frame.bytes.length < PASS_THROUGH_BYTES) return false;
    if (!(text ? frame : frame.head).startsWith('{"result":')) return false;
    const id = TRAILING_ID.exec(text ? frame.slice(-24) : frame.tail);
    const entry = id ? this.pending.get(Number(id[1])) : undefined;
    if (!id || !entry?.passThrough || frame.includes('\n') || frame.includes('\r')) return false;
    this.forget(Number(id[1]));
    deliver(entry.sink, { kind: 'passed', id: Number(id[1]), frame });
    return true;
  }

  private dispatch(received: Frame): Incoming | null {
    if (this.passedThrough(received)) return null;
    const frame = typeof received === 'string' ? received : received.text();
    const parsed = parseMessage(frame);
    switch (parsed.kind) {
      case 'parse-error':
        return { kind: 'violation', reason: `frame is not JSON: ${parsed.reason}` };
      case 'invalid':
        return { kind: 'violation', reason: `invalid JSON-RPC message: ${parsed.reason}` };
      case 'response': {
        const id = parsed.message.id;
        const entry = typeof id === 'number' ? this.pending.get(id) : undefined;
        // a response for an id we do not own (late, cancelled, a gateway's broadcast) is dropped
        if (!entry || typeof id !== 'number') return null;
        this.forget(id);
        deliver(entry.sink, { kind: 'response', response: parsed.message, frame });
        return null;
      }
      case 'notification': {
        const { message } = parsed;
        if (message.method === 'notifications/progress') {
          const token = message.params?.['progressToken'];
          const id = typeof token === 'string' ? this.progress.get(token) : undefined;
          const owner = id === undefined ? undefined : this.pending.get(id);
          if (id !== undefined && owner?.timeoutMs !== undefined) this.deadlinesFor(owner.timeoutMs).arm(id);
          owner?.sink.next({ kind: 'progress', params: message.params ?? {} });
          return null;
        }
        return { kind: 'notification', message };
      }
      case 'request':
        return { kind: 'request', message: parsed.message };
    }
  }


  private close(cause: Error): void {
    if (this.closedBy) return;
    this.closedBy = cause;
    // oldest request first, as they were sent
    const entries = this.pending.entriesNow().sort(([a], [b]) => (a as number) - (b as number));
    this.pending.clear();
    this.progress.clear();
    for (const queue of this.deadlines.values()) queue.clear();
    const unsent = cause instanceof ConnectionClosedError ? cause.unsent : undefined;
    for (const [id, entry] of entries) entry.sink.error(unsent?.has(id) ? new NotWrittenError(this.backend) : new OutcomeUnknownError(this.backend, cause));
  }
}

/**
 * A response to its sink, then the end. The entry is already forgotten, so a sink that throws on it (a bug, a shape
 * nobody expected) would leave its caller waiting forever: it hears the error instead.
 */
function deliver(sink: CallSink, event: CallEvent): void {
  try {
    sink.next(event);
  } catch (error: unknown) {
    sink.error(new Error(`the answer could not be handled: ${error instanceof Error ? error.message : String(error)}`));
    return;
  }
  sink.complete();
}

/** A request the backend sent us that this relay does not serve answers -32601, so the backend never hangs. */
export const refuseRequest = (request: JsonRpcRequest): JsonRpcResponse =>
  request.method === 'ping'
    ? { jsonrpc: '2.0', id: request.id, result: {} }
    : failure(request.id, ErrorCode.MethodNotFound, `mcp-relay does not forward ${request.method} yet`);
