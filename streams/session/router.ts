/** The client side: inbound lines -> outbound messages. One slow or failing request never ends the stream. */
import { EMPTY, ignoreElements, map, mergeMap, Observable, of, take, tap, throwError, type Subscriber, type Subscription, type Unsubscribable } from 'rxjs';
import type { BackendStates } from '../backend/backends.js';
import { forwardToolCall, startToolCall, type CallDeps } from './forward.js';
import { listReply, routedReply, setLevelReply, type ClientRequestDeps } from './client-requests.js';
import type { Outgoing } from './client-output.js';
import { asError, errorMessage } from '../core/errors.js';
import { IdTable } from '../rpc/id-table.js';
import { ErrorCode, failure, isObjectRecord, success, type JsonRpcId, type JsonRpcNotification, type JsonRpcRequest, type JsonRpcResponse, type parseMessage } from '../core/jsonrpc.js';
import { callManagementTool, MANAGEMENT_TOOL_NAMES, type ManagementDeps } from '../management/management.js';
import { negotiateProtocolVersion } from '../core/protocol.js';

export type ClientMessage = ReturnType<typeof parseMessage>;

export interface RouterDeps extends ClientRequestDeps {
  states$: Observable<BackendStates>;
  management: ManagementDeps;
  /** an answer from the client to a request a backend sent it */
  onClientResponse: (response: JsonRpcResponse) => void;
  /** the client's progress on a request a backend sent it */
  onClientProgress: (params: Record<string, unknown> | undefined) => void;
  serverInfo: { name: string; version: string };
  instructions?: string;
}

const reply = (message: Outgoing['message']): Observable<Outgoing> => of({ message });

/** Answered at once, whatever the backends are doing: everything the relay can proxy, each list empty until a backend fills it. */
function initialize(request: JsonRpcRequest, deps: RouterDeps): Observable<Outgoing> {
  return reply(
    success(request.id, {
      protocolVersion: negotiateProtocolVersion(request.params?.['protocolVersion']),
      capabilities: {
        tools: { listChanged: true },
        resources: { subscribe: true, listChanged: true },
        prompts: { listChanged: true },
        logging: {},
        completions: {},
      },
      serverInfo: deps.serverInfo,
      ...(deps.instructions ? { instructions: deps.instructions } : {}),
    }),
  );
}

function callTool(request: JsonRpcRequest, cancelled$: CallDeps['cancelled$'], deps: RouterDeps): Observable<Outgoing> {
  const params = request.params ?? {};
  const tool = params['name'];
  if (typeof tool !== 'string') return reply(failure(request.id, ErrorCode.InvalidParams, 'tools/call needs params.name, a string'));
  const args = params['arguments'] && typeof params['arguments'] === 'object' ? (params['arguments'] as Record<string, unknown>) : {};
  if (tool === 'relay_call_tool') {
    const target = args['name'];
    if (typeof target !== 'string' || MANAGEMENT_TOOL_NAMES.has(target)) {
      return reply(success(request.id, { content: [{ type: 'text', text: `relay_call_tool needs the name of a backend tool (not a relay_* tool); got ${JSON.stringify(target)}. Use relay_search_tools to find one.` }], isError: true }));
    }
    // exactly a direct call of that tool, under this request's id (progress token and cancellation included)
    const inner = isObjectRecord(args['arguments']) ? args['arguments'] : {};
    return callTool({ ...request, params: { ...(params['_meta'] === undefined ? {} : { _meta: params['_meta'] }), name: target, arguments: inner } }, cancelled$, deps);
  }
  if (MANAGEMENT_TOOL_NAMES.has(tool)) {
    return callManagementTool(tool, args, deps.management).pipe(map((result) => ({ message: success(request.id, result), tool })));
  }
  // the router applies cancellation itself (cancelled$ undefined): its own deps serve as the call's, with no copy per call
  const callDeps: CallDeps = cancelled$ === undefined ? deps : { ...deps, cancelled$ };
  // a tool the catalogue knows right now goes straight out (the router starts these itself; relay_call_tool comes here)
  const known = knownToolCall(request, deps);
  if (known) return forwardToolCall(request, known.backend, known.tool, callDeps, known.original);
  const routed$ = deps.catalogue$.pipe(take(1));
  return routed$.pipe(
    // a client with a cached tool list may call before the backends' first handshakes: wait for them, as tools/list does
    mergeMap((catalogue) => (catalogue.routes.has(tool) ? of(catalogue) : deps.firstListReady$.pipe(take(1), mergeMap(() => routed$)))),
    mergeMap((catalogue) => {
      const backend = catalogue.routes.get(tool);
      if (backend === undefined) {
        return reply(
          failure(request.id, ErrorCode.InvalidParams, `Unknown tool '${tool}': no backend behind this relay provides it. Call relay_get_status to see which backends are connected and which tools they offer.`, { tool }),
        );
      }
      return forwardToolCall(request, backend, tool, callDeps, catalogue.originals.get(tool));
    }),
  );
}

const UNSERVED = 'is not served by mcp-relay';

function request(message: JsonRpcRequest, cancelled$: CallDeps['cancelled$'], deps: RouterDeps): Observable<Outgoing> {
  switch (message.method) {
    case 'initialize':
      return initialize(message, deps);
    case 'ping':
      return reply(success(message.id, {}));
    case 'tools/list':
    case 'resources/list':
    case 'resources/templates/list':
    case 'prompts/list':
      return listReply(message, deps);
    case 'tools/call':
      return callTool(message, cancelled$, deps);
    case 'prompts/get':
    case 'resources/read':
    case 'resources/subscribe':
    case 'resources/unsubscribe':
    case 'completion/complete':
      return routedReply(message, cancelled$, deps);
    case 'logging/setLevel':
      return setLevelReply(message, deps.states$, deps.setup);
    default:
      // server/discover (Claude Code's first probe) lands here too: -32601 makes it fall back to initialize
      return reply(failure(message.id, ErrorCode.MethodNotFound, `Method not found: ${message.method} ${UNSERVED}`));
  }
}

/** Client notifications the backends must hear (cancellations are handled per request). */
function clientNotification(message: JsonRpcNotification, deps: RouterDeps): Observable<never> {
  if (message.method !== 'notifications/roots/list_changed') return EMPTY;
  return deps.states$.pipe(
    take(1),
    tap((states) => {
      for (const state of states.values()) state.session?.channel.notify(message.method, message.params);
    }),
    ignoreElements(),
  );
}

/** A tools/call of a backend tool the catalogue knows right now (no management tool, no wait for a first list). */
function knownToolCall(request: JsonRpcRequest, deps: RouterDeps): { backend: string; tool: string; original: string } | null {
  if (request.method !== 'tools/call') return null;
  const tool = request.params?.['name'];
  if (typeof tool !== 'string' || tool === 'relay_call_tool' || MANAGEMENT_TOOL_NAMES.has(tool)) return null;
  const known = deps.currentCatalogue?.();
  const backend = known?.routes.get(tool);
  if (!known || backend === undefined) return null;
  return { backend, tool, original: known.originals.get(tool) ?? tool };
}

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

/** Client messages in, messages to the client out; the stream ends only when the input does. */
export function routeClient(messages$: Observable<ClientMessage>, deps: RouterDeps): Observable<Outgoing> {
  // mergeMap, written out: one subscriber per request, and an O(1) cancel by id, on the path every call takes
  return new Observable<Outgoing>((subscriber) => {
    // requests in flight by id (string and number ids are different keys, as JSON-RPC has them): what a cancel ends
    const ids = new IdTable<Unsubscribable | null>();
    // the other inner subscriptions (client notifications), so the teardown ends them all
    const inner = new Set<Unsubscribable>();
    let inputDone = false;
    const endIfIdle = () => {
      if (inputDone && inner.size === 0 && ids.size === 0) subscriber.complete();
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
        answer$ = request(message, undefined, deps);
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
            start(message.message, message.text);
            return;
          }
          case 'notification':
            if (message.message.method === 'notifications/cancelled') cancel(message.message.params?.['requestId']);
            else if (message.message.method === 'notifications/progress') deps.onClientProgress(message.message.params);
            else run(clientNotification(message.message, deps));
            return;
          case 'response':
            deps.onClientResponse(message.message);
            return;
        }
      },
      error: (error: unknown) => subscriber.error(error),
      complete: () => {
        inputDone = true;
        endIfIdle();
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
