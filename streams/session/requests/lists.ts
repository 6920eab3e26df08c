/** tools/list, resources/list, resources/templates/list, prompts/list: the aggregate, paged, after the first connection attempts (some clients never re-list). */
import { map, mergeMap, take, type Observable } from 'rxjs';
import { ErrorCode, failure, success, type JsonRpcRequest } from '../../core/jsonrpc.js';
import { pageOf } from '../../catalogue/paging.js';
import { ADMIN_TOOL_NAMES, MANAGEMENT_TOOLS } from '../../management/management.js';
import type { Outgoing } from '../client-output.js';
import type { ListedKind, RequestDeps } from '../request-deps.js';

/** what a principal without admin sees of the relay's own tools: none of those that change the relay */
const NON_ADMIN_TOOLS = MANAGEMENT_TOOLS.filter((tool) => !ADMIN_TOOL_NAMES.has(tool.name));

export function listReply(request: JsonRpcRequest, deps: RequestDeps): Observable<Outgoing> {
  return deps.firstListReady$.pipe(
    take(1),
    mergeMap(() => deps.catalogue$.pipe(take(1))),
    mergeMap((catalogue) => deps.offers$.pipe(take(1), map((offers) => ({ catalogue, offers })))),
    map(({ catalogue, offers }) => {
      const [field, items, kind, key] = ((): [string, readonly unknown[], ListedKind, string] => {
        switch (request.method) {
          case 'tools/list':
            return ['tools', [...(deps.principal?.access.admin === false ? NON_ADMIN_TOOLS : MANAGEMENT_TOOLS), ...catalogue.tools], 'tools', catalogue.key];
          case 'prompts/list':
            return ['prompts', offers.prompts, 'prompts', offers.promptsKey];
          case 'resources/templates/list':
            return ['resourceTemplates', offers.resourceTemplates, 'resources', offers.resourcesKey];
          default:
            return ['resources', offers.resources, 'resources', offers.resourcesKey];
        }
      })();
      const page = pageOf(items, request.params?.['cursor']);
      if ('error' in page) return { message: failure(request.id, ErrorCode.InvalidParams, page.error) };
      deps.onListed(kind, key);
      return { message: success(request.id, page.nextCursor === undefined ? { [field]: page.items } : { [field]: page.items, nextCursor: page.nextCursor }) };
    }),
  );
}
