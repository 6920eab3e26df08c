/** tools/call: a relay_* tool here, relay_call_tool as the call it names, anything else to the backend that owns it. */
import { map, mergeMap, of, take, type Observable } from 'rxjs';
import { ErrorCode, failure, isObjectRecord, success, type JsonRpcRequest } from '../../core/jsonrpc.js';
import { ADMIN_TOOL_NAMES, callManagementTool, MANAGEMENT_TOOL_NAMES } from '../../management/management.js';
import type { Outgoing } from '../client-output.js';
import { forwardToolCall } from '../forward.js';
import type { CallDeps } from '../call-deps.js';
import type { RequestDeps } from '../request-deps.js';
import { redactUrl } from '../../core/redact.js';

/** a management tool's arguments as the log and the audit show them: a URL's credentials hidden */
const shown = (args: Record<string, unknown>): Record<string, unknown> => (typeof args['url'] === 'string' ? { ...args, url: redactUrl(args['url']) } : args);

const reply = (message: Outgoing['message']): Observable<Outgoing> => of({ message });

/** A tools/call of a backend tool the catalogue knows right now (no management tool, no wait for a first list). */
export function knownToolCall(request: JsonRpcRequest, deps: RequestDeps): { backend: string; tool: string; original: string } | null {
  if (request.method !== 'tools/call') return null;
  const tool = request.params?.['name'];
  if (typeof tool !== 'string' || tool === 'relay_call_tool' || MANAGEMENT_TOOL_NAMES.has(tool)) return null;
  const known = deps.currentCatalogue?.();
  const backend = known?.routes.get(tool);
  if (!known || backend === undefined) return null;
  return { backend, tool, original: known.originals.get(tool) ?? tool };
}

export function toolCallReply(request: JsonRpcRequest, cancelled$: CallDeps['cancelled$'], deps: RequestDeps): Observable<Outgoing> {
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
    return toolCallReply({ ...request, params: { ...(params['_meta'] === undefined ? {} : { _meta: params['_meta'] }), name: target, arguments: inner } }, cancelled$, deps);
  }
  if (MANAGEMENT_TOOL_NAMES.has(tool)) {
    if (ADMIN_TOOL_NAMES.has(tool) && deps.principal?.access.admin === false) {
      deps.emit({ event: 'management.call', client: deps.client.id, front: deps.client.identity.front, principal: deps.principal.name, tool, arguments: shown(args), outcome: 'refused', reason: 'not an admin', level: 'warn' });
      return reply(failure(request.id, ErrorCode.Forbidden, `${tool} changes the relay and needs a principal with admin: true; principal '${deps.principal.name}' is not one. Ask the relay's operator, or use relay_get_status to look.`, { tool }));
    }
    return callManagementTool(tool, args, deps.management).pipe(
      map((result) => {
        // every use of the relay's own tools is on record (the audit log takes these events)
        deps.emit({ event: 'management.call', client: deps.client.id, front: deps.client.identity.front, principal: deps.principal?.name ?? 'local', tool, arguments: shown(args), outcome: result['isError'] === true ? 'error' : 'ok', level: 'info' });
        return { message: success(request.id, result), tool };
      }),
    );
  }
  // the in-flight table applies cancellation itself (cancelled$ undefined): its own deps serve as the call's, with no copy per call
  const callDeps: CallDeps = cancelled$ === undefined ? deps : { ...deps, cancelled$ };
  // a tool the catalogue knows right now goes straight out (the in-flight table starts these itself; relay_call_tool comes here)
  const known = knownToolCall(request, deps);
  if (known) return forwardToolCall(request, known.backend, known.tool, callDeps, known.original);
  const routed$ = deps.catalogue$.pipe(take(1));
  return routed$.pipe(
    // a client with a cached tool list may call before the backends' first handshakes: wait for them, as tools/list does
    mergeMap((catalogue) => (catalogue.routes.has(tool) ? of(catalogue) : deps.firstListReady$.pipe(take(1), mergeMap(() => routed$)))),
    mergeMap((catalogue) => {
      const backend = catalogue.routes.get(tool);
      if (backend === undefined) {
        deps.onUnknown?.(request);
        return reply(
          failure(request.id, ErrorCode.InvalidParams, `Unknown tool '${tool}': no backend behind this relay provides it. Call relay_get_status to see which backends are connected and which tools they offer.`, { tool }),
        );
      }
      return forwardToolCall(request, backend, tool, callDeps, catalogue.originals.get(tool));
    }),
  );
}
