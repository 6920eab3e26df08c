/** Which handler answers a client request: one table, read top to bottom. The in-flight bookkeeping is in-flight.ts. */
import { EMPTY, ignoreElements, of, take, tap, type Observable } from 'rxjs';
import { sessionsOf } from '../backend/backend-state.js';
import { ErrorCode, failure, success, type JsonRpcNotification, type JsonRpcRequest } from '../core/jsonrpc.js';
import type { Outgoing } from './client-output.js';
import type { CallDeps } from './call-deps.js';
import type { RequestDeps } from './request-deps.js';
import { discoverReply } from './requests/discover.js';
import { initializeReply } from './requests/initialize.js';
import { listReply } from './requests/lists.js';
import { routedReply } from './requests/routed.js';
import { setLevelReply } from './requests/set-level.js';
import { toolCallReply } from './requests/tool-call.js';

type Handler = (request: JsonRpcRequest, cancelled$: CallDeps['cancelled$'], deps: RequestDeps) => Observable<Outgoing>;

const list: Handler = (request, _cancelled$, deps) => listReply(request, deps);

const HANDLERS: Readonly<Record<string, Handler>> = {
  initialize: (request, _cancelled$, deps) => initializeReply(request, deps),
  'server/discover': (request, _cancelled$, deps) => discoverReply(request, deps),
  ping: (request) => of({ message: success(request.id, {}) }),
  'tools/list': list,
  'resources/list': list,
  'resources/templates/list': list,
  'prompts/list': list,
  'tools/call': toolCallReply,
  'prompts/get': routedReply,
  'resources/read': routedReply,
  'resources/subscribe': routedReply,
  'resources/unsubscribe': routedReply,
  'completion/complete': routedReply,
  'logging/setLevel': (request, _cancelled$, deps) => setLevelReply(request, deps),
};

/** A request's answer; a method the table does not name gets -32601. */
export function dispatchRequest(request: JsonRpcRequest, cancelled$: CallDeps['cancelled$'], deps: RequestDeps): Observable<Outgoing> {
  const handler = Object.hasOwn(HANDLERS, request.method) ? HANDLERS[request.method] : undefined;
  if (handler) return handler(request, cancelled$, deps);
  return of({ message: failure(request.id, ErrorCode.MethodNotFound, `Method not found: ${request.method} is not served by mcp-relay`) });
}

/** Client notifications the backends must hear (cancellations and progress are the in-flight table's). */
export function dispatchNotification(message: JsonRpcNotification, deps: RequestDeps): Observable<never> {
  if (message.method !== 'notifications/roots/list_changed') return EMPTY;
  return deps.states$.pipe(
    take(1),
    tap((states) => {
      try {
        // every instance of a replicated backend: each may call the client back
        for (const state of states.values()) for (const session of sessionsOf(state)) session.channel.notify(message.method, message.params);
      } catch (error: unknown) {
        // params JSON.stringify cannot write (nested too deep): the client's bad input, not the relay's failure
        deps.emit({ event: 'client.invalid', client: deps.client.id, method: message.method, reason: `params cannot be serialized: ${error instanceof Error ? error.message : String(error)}`, level: 'warn' });
      }
    }),
    ignoreElements(),
  );
}
