/** The client side: inbound lines -> outbound messages. One slow or failing request never ends the stream. */
import { defer, EMPTY, ignoreElements, map, mergeMap, Observable, of, take, tap } from 'rxjs';
import type { BackendStates } from './backends.js';
import { forwardToolCall, type CallDeps } from './forward.js';
import { listReply, routedReply, setLevelReply, type ClientRequestDeps } from './client-requests.js';
import type { Outgoing } from './client-output.js';
import { errorMessage } from './errors.js';
import { ErrorCode, failure, isObjectRecord, success, type JsonRpcNotification, type JsonRpcRequest, type JsonRpcResponse, type parseMessage } from './jsonrpc.js';
import { callManagementTool, MANAGEMENT_TOOL_NAMES, type ManagementDeps } from './management.js';
import { negotiateProtocolVersion } from './protocol.js';

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
  const callDeps = { states$: deps.states$, currentStates: deps.currentStates, kick: deps.kick, cancelled$, now: deps.now, emit: deps.emit };
  // the hot path: a tool the catalogue knows right now goes straight out
  const known = deps.currentCatalogue?.();
  const owner = known?.routes.get(tool);
  if (known && owner !== undefined) return forwardToolCall(request, owner, tool, callDeps, known.originals.get(tool));
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

/** Client messages in, messages to the client out; the stream ends only when the input does. */
export function routeClient(messages$: Observable<ClientMessage>, deps: RouterDeps): Observable<Outgoing> {
  return defer(() => {
    // one entry per request in flight: its id, and what a notifications/cancelled for it does (O(1) per message)
    const inFlight = new Map<string, () => void>();
    const keyOf = (id: unknown): string => `${typeof id}:${String(id)}`;
    /**
     * One request's answer, guarded in one subscriber (not catchError + takeUntil + finalize): an error becomes a
     * JSON-RPC error, a client cancel ends it (also while it still waits for the first handshakes), and its id is
     * free again when it ends.
     */
    const guarded = (message: JsonRpcRequest, key: string): Observable<Outgoing> =>
      new Observable<Outgoing>((subscriber) => {
        inFlight.set(key, () => subscriber.complete());
        const answer = request(message, undefined, deps).subscribe({
          next: (outgoing) => subscriber.next(outgoing),
          error: (error: unknown) => {
            subscriber.next({ message: failure(message.id, ErrorCode.InternalError, `mcp-relay failed on ${message.method}: ${errorMessage(error)}`) });
            subscriber.complete();
          },
          complete: () => subscriber.complete(),
        });
        return () => {
          answer.unsubscribe();
          inFlight.delete(key);
        };
      });
    return messages$.pipe(
      mergeMap((message): Observable<Outgoing> => {
        switch (message.kind) {
          case 'parse-error':
            deps.emit({ event: 'client.invalid', reason: `not JSON: ${message.reason}`, level: 'warn' });
            return reply(failure(null, ErrorCode.ParseError, `Parse error: ${message.reason}`));
          case 'invalid':
            deps.emit({ event: 'client.invalid', reason: message.reason, level: 'warn' });
            return reply(failure(message.id, ErrorCode.InvalidRequest, `Invalid request: ${message.reason}`));
          case 'request': {
            const { id } = message.message;
            // ids map responses and cancellations back: a second request on an id still in flight would steal both
            const key = keyOf(id);
            if (inFlight.has(key)) return reply(failure(id, ErrorCode.InvalidRequest, `Invalid request: id ${JSON.stringify(id)} is already used by a request in flight`));
            // cancellation is applied here, on the whole request: the handlers need not watch for it
            return guarded(message.message, key);
          }
          case 'notification':
            if (message.message.method === 'notifications/cancelled') {
              inFlight.get(keyOf(message.message.params?.['requestId']))?.();
              return EMPTY;
            }
            if (message.message.method === 'notifications/progress') {
              deps.onClientProgress(message.message.params);
              return EMPTY;
            }
            return clientNotification(message.message, deps);
          case 'response':
            deps.onClientResponse(message.message);
            return EMPTY;
        }
      }),
    );
  });
}
