/**
 * A client's requests in flight: client messages in, messages to the client out. Each request runs on its own (one
 * slow or failing request never ends the stream), is found by its id for a cancel, and the stream ends only when the
 * input does and nothing is left running. What answers a request is dispatch.ts's table.
 */
import { Observable, throwError, type Subscriber, type Subscription, type Unsubscribable } from 'rxjs';
import { asError, errorMessage } from '../core/errors.js';
import { ErrorCode, failure, isObjectRecord, type JsonRpcId, type JsonRpcRequest, type parseMessage } from '../core/jsonrpc.js';
import { IdTable } from '../rpc/id-table.js';
import type { Outgoing } from './client-output.js';
import { dispatchNotification, dispatchRequest } from './dispatch.js';
import { startToolCall } from './forward.js';
import type { RequestDeps } from './request-deps.js';
import { knownToolCall } from './requests/tool-call.js';
import { MANAGEMENT_TOOL_NAMES } from '../management/management.js';

export type ClientMessage = ReturnType<typeof parseMessage>;

/** jsonrpc, id, method and params, nothing else: a line that can go to a backend as it is, but for its id */
function onlyStandardMembers(request: JsonRpcRequest): boolean {
  let count = 0;
  for (const key in request) {
    if (key !== 'jsonrpc' && key !== 'id' && key !== 'method' && key !== 'params') return false;
    count++;
  }
  return count === 4;
}

/** a bug inside the relay, as the request's answer: the stream and the other requests go on */
const internalFailure = (request: JsonRpcRequest, error: unknown): Outgoing => ({
  message: failure(request.id, ErrorCode.InternalError, `mcp-relay failed on ${request.method}: ${errorMessage(error)}`),
});

interface CallContext {
  subscriber: Subscriber<Outgoing>;
  /** requests in flight by id: what a cancel ends. A table, not a Map: it churns once per call (see id-table.ts) */
  ids: IdTable<Unsubscribable | null>;
  endIfIdle: () => void;
}

/**
 * A request's id leaves the table when the request ends, unless the table holds someone else's by then: a cancelled
 * request's id may already be in use again, and that request must stay cancellable and keep the stream open.
 * (null: the entry of a request that ended while it was starting)
 */
function forgetId(ids: IdTable<Unsubscribable | null>, id: JsonRpcId, own: Unsubscribable | null): void {
  if (ids.get(id) === own) ids.delete(id);
}

/** One started call's messages into the router's output, and its id freed when it ends: a class, not closures per call. */
class CallSinkOfRouter {
  ended = false;
  private handle: Unsubscribable | null = null;

  constructor(
    private readonly context: CallContext,
    private readonly id: JsonRpcId,
  ) {}

  /** the call is running (unless it already ended inside startForward): a cancel by id ends it */
  started(handle: Unsubscribable): void {
    if (this.ended) return;
    this.handle = handle;
    this.context.ids.set(this.id, handle);
  }

  next(outgoing: Outgoing): void {
    if (!this.ended) this.context.subscriber.next(outgoing);
  }

  complete(): void {
    if (this.ended) return;
    this.ended = true;
    forgetId(this.context.ids, this.id, this.handle);
    this.context.endIfIdle();
  }

  /** a bug in starting the call still answers it */
  fail(request: JsonRpcRequest, error: unknown): void {
    this.next(internalFailure(request, error));
    this.complete();
  }
}

/** requests that go to a backend: over the client's cap they wait; ping, lists, initialize and relay_* tools never do */
const FORWARDED = new Set(['tools/call', 'resources/read', 'prompts/get', 'completion/complete', 'resources/subscribe', 'resources/unsubscribe']);
const isForwarded = (request: JsonRpcRequest): boolean => {
  if (!FORWARDED.has(request.method)) return false;
  const name = request.params?.['name'];
  return !(request.method === 'tools/call' && typeof name === 'string' && MANAGEMENT_TOOL_NAMES.has(name));
};

/** requests a client may have waiting for its cap (limits.maxInFlightPerClient) before more are refused */
export const MAX_WAITING_PER_CLIENT = 1_000;
/** and their lines together, in characters: a client cannot park gigabytes of requests behind its cap */
export const MAX_WAITING_CHARS_PER_CLIENT = 16 * 1024 * 1024;

/** a request waiting for the client's cap: in the id table, so a cancel (or a reused id) finds it */
class Waiting implements Unsubscribable {
  constructor(
    readonly message: JsonRpcRequest,
    readonly text: string | undefined,
    private readonly line: Waiting[],
  ) {}

  /** what it holds, in characters (its line; an estimate of 1 KB for one parsed without one) */
  get size(): number {
    return this.text?.length ?? 1_024;
  }

  /** cancelled by the client, or the session ended: it leaves the line unanswered */
  unsubscribe(): void {
    const index = this.line.indexOf(this);
    if (index !== -1) this.line.splice(index, 1);
  }
}

/** Client messages in, messages to the client out; the stream ends only when the input does. */
export function routeClient(messages$: Observable<ClientMessage>, deps: RequestDeps): Observable<Outgoing> {
  // mergeMap, written out: one subscriber per request, and an O(1) cancel by id, on the path every call takes
  return new Observable<Outgoing>((subscriber) => {
    // requests in flight by id (string and number ids are different keys, as JSON-RPC has them): what a cancel ends
    const ids = new IdTable<Unsubscribable | null>(deps.idSeed);
    // the other inner subscriptions (client notifications), so the teardown ends them all
    const inner = new Set<Unsubscribable>();
    // requests over the client's cap, in arrival order; each is also in `ids`
    const waiting: Waiting[] = [];
    const waitingChars = () => waiting.reduce((sum, held) => sum + held.size, 0);
    let starting = false;
    let inputDone = false;
    const endIfIdle = () => {
      if (waiting.length > 0) startWaiting();
      if (inputDone && inner.size === 0 && ids.size === 0) subscriber.complete();
    };
    /** a request ended: the next waiting ones start while the cap allows (a call that ends at once re-enters here) */
    const startWaiting = () => {
      if (starting) return;
      starting = true;
      while (waiting.length > 0 && ids.size - waiting.length < (deps.maxInFlight ?? Infinity)) {
        const next = waiting.shift() as Waiting;
        forgetId(ids, next.message.id, next);
        start(next.message, next.text);
      }
      starting = false;
    };
    /** a request's answer (or an error answer), or a notification's work; the stream goes on whatever it does */
    const run = (answer$: Observable<Outgoing>, request?: JsonRpcRequest) => {
      let ended = false;
      let subscription: Subscription | null = null;
      const end = () => {
        ended = true;
        if (request) forgetId(ids, request.id, subscription);
        else if (subscription) inner.delete(subscription);
        endIfIdle();
      };
      subscription = answer$.subscribe({
        next: (outgoing) => subscriber.next(outgoing),
        // one slow or failing request never ends the stream: its error is its answer
        error: (error: unknown) => {
          if (request) subscriber.next(internalFailure(request, error));
          else deps.emit({ event: 'relay.error', error: errorMessage(error), level: 'error' });
          end();
        },
        complete: end,
      });
      if (ended) return;
      if (request) ids.set(request.id, subscription);
      else inner.add(subscription);
    };
    const context: CallContext = { subscriber, ids, endIfIdle };
    const start = (message: JsonRpcRequest, text?: string) => {
      const { id } = message;
      ids.set(id, null);
      // the per-call path: a backend tool the catalogue knows right now starts at once, without an Observable
      const known = knownToolCall(message, deps);
      if (known) {
        const sink = new CallSinkOfRouter(context, id);
        try {
          sink.started(startToolCall(message, known.backend, known.tool, deps, known.original, sink, text !== undefined && onlyStandardMembers(message) ? text : undefined));
        } catch (error: unknown) {
          if (!sink.ended) sink.fail(message, error);
        }
        return;
      }
      // cancellation is applied here, on the whole request: the handlers need not watch for it
      let answer$: Observable<Outgoing>;
      try {
        answer$ = dispatchRequest(message, undefined, deps);
      } catch (error: unknown) {
        answer$ = throwError(() => asError(error));
      }
      run(answer$, message);
    };
    const cancel = (id: unknown) => {
      const subscription = typeof id === 'string' || typeof id === 'number' ? ids.get(id) : undefined;
      if (!subscription) return;
      ids.delete(id as JsonRpcId);
      subscription.unsubscribe();
      endIfIdle();
    };
    const source = messages$.subscribe({
      next: (message) => {
        switch (message.kind) {
          case 'parse-error':
            deps.emit({ event: 'client.invalid', reason: `not JSON: ${message.reason}`, level: 'warn' });
            subscriber.next({ message: failure(null, ErrorCode.ParseError, `Parse error: ${message.reason}`) });
            return;
          case 'invalid':
            deps.emit({ event: 'client.invalid', reason: message.reason, level: 'warn' });
            subscriber.next({ message: failure(message.id, ErrorCode.InvalidRequest, `Invalid request: ${message.reason}`) });
            return;
          case 'request': {
            const { id } = message.message;
            // ids map responses and cancellations back: a second request on an id still in flight would steal both
            if (ids.has(id)) {
              subscriber.next({ message: failure(id, ErrorCode.InvalidRequest, `Invalid request: id ${JSON.stringify(id)} is already used by a request in flight`) });
              return;
            }
            // _meta is MCP's, and an object: a backend's SDK drops a request whose _meta is not one, unanswered
            const meta = message.message.params?.['_meta'];
            if (meta !== undefined && !isObjectRecord(meta) && isForwarded(message.message)) {
              subscriber.next({ message: failure(id, ErrorCode.InvalidParams, `Invalid params: params._meta must be an object (MCP reserves it for request metadata such as progressToken), not ${Array.isArray(meta) ? 'an array' : meta === null ? 'null' : typeof meta}`) });
              return;
            }
            const refused = deps.admit?.(message.message);
            if (refused) {
              subscriber.next({ message: refused });
              return;
            }
            // over the client's cap, a call to a backend waits for one of its own to finish: held, not refused
            if (deps.maxInFlight !== undefined && ids.size - waiting.length >= deps.maxInFlight && isForwarded(message.message)) {
              const size = message.text?.length ?? 1_024;
              if (waiting.length >= MAX_WAITING_PER_CLIENT || waitingChars() + size > MAX_WAITING_CHARS_PER_CLIENT) {
                subscriber.next({ message: failure(id, ErrorCode.QueueFull, `Too many requests waiting: this client has ${deps.maxInFlight} calls in flight (limits.maxInFlightPerClient) and ${waiting.length} more waiting (at most ${MAX_WAITING_PER_CLIENT}, ${MAX_WAITING_CHARS_PER_CLIENT / 1024 / 1024} MiB); wait for answers before sending more`, { limit: 'in-flight', waiting: waiting.length }) });
                return;
              }
              const held = new Waiting(message.message, message.text, waiting);
              waiting.push(held);
              ids.set(id, held);
              return;
            }
            start(message.message, message.text);
            return;
          }
          case 'notification':
            if (message.message.method === 'notifications/cancelled') cancel(message.message.params?.['requestId']);
            else if (message.message.method === 'notifications/progress') deps.onClientProgress(message.message.params);
            else if (message.message.method === 'notifications/initialized') deps.onInitialized?.();
            // what may reach the backends (roots list_changed, say) counts against the rate; over it, it is dropped
            else if (deps.admitNotification?.() !== false) run(dispatchNotification(message.message, deps));
            return;
          case 'response':
            deps.onClientResponse(message.message);
            return;
        }
      },
      error: (error: unknown) => subscriber.error(error),
      complete: () => {
        inputDone = true;
        // a session ends with its input: what is still in flight is cancelled (by the teardown), not waited for
        if (deps.endWithInput) subscriber.complete();
        else endIfIdle();
      },
    });
    return () => {
      source.unsubscribe();
      for (const subscription of [...inner]) subscription.unsubscribe();
      inner.clear();
      for (const [, subscription] of ids.entriesNow()) subscription?.unsubscribe();
      ids.clear();
    };
  });
}
