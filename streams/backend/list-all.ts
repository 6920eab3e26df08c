/** A backend's list (tools, resources, resource templates, prompts), following every nextCursor page, with a guard against cursors that loop. */
import { catchError, EMPTY, expand, map, of, reduce, timeout, throwError, type Observable } from 'rxjs';
import { asError, BackendRequestTimeoutError, HandshakeError } from '../core/errors.js';
import { ErrorCode, type Params } from '../core/jsonrpc.js';
import type { RpcChannel } from '../rpc/rpc-channel.js';
import { requestResult } from '../rpc/request-result.js';

export type ListKind = 'tools' | 'resources' | 'resourceTemplates' | 'prompts';

export interface ListSpec {
  method: string;
  /** the result field holding the items */
  field: string;
  /** the server capability that says the list exists */
  capability: string;
  /** the notification that says it changed */
  changed: string;
}

export const LISTS: Readonly<Record<ListKind, ListSpec>> = {
  tools: { method: 'tools/list', field: 'tools', capability: 'tools', changed: 'notifications/tools/list_changed' },
  resources: { method: 'resources/list', field: 'resources', capability: 'resources', changed: 'notifications/resources/list_changed' },
  resourceTemplates: { method: 'resources/templates/list', field: 'resourceTemplates', capability: 'resources', changed: 'notifications/resources/list_changed' },
  prompts: { method: 'prompts/list', field: 'prompts', capability: 'prompts', changed: 'notifications/prompts/list_changed' },
};

const MAX_PAGES = 1_000;

interface Page {
  items: unknown[];
  nextCursor: string | null;
  seen: Set<string>;
}

export function listAll(channel: RpcChannel, kind: ListKind, timeoutMs: number): Observable<unknown[]> {
  const { method, field } = LISTS[kind];
  const page = (cursor: string | null, seen: Set<string>): Observable<Page> => {
    const params: Params = cursor === null ? {} : { cursor };
    return requestResult(channel, method, params).pipe(
      timeout({ first: timeoutMs, with: () => throwError(() => new BackendRequestTimeoutError(channel.backend, method, timeoutMs)) }),
      map((result) => {
        if (!Array.isArray(result[field])) throw new HandshakeError(channel.backend, method, `result has no ${field} array`);
        const next = result['nextCursor'];
        const nextCursor = typeof next === 'string' && next !== '' ? next : null;
        if (nextCursor !== null && seen.has(nextCursor)) {
          throw new HandshakeError(channel.backend, method, `cursor '${nextCursor}' repeats: pagination loops`);
        }
        if (seen.size >= MAX_PAGES) throw new HandshakeError(channel.backend, method, `more than ${MAX_PAGES} pages`);
        return { items: result[field] as unknown[], nextCursor, seen: nextCursor === null ? seen : new Set(seen).add(nextCursor) };
      }),
    );
  };
  return page(null, new Set()).pipe(
    expand((current) => (current.nextCursor === null ? EMPTY : page(current.nextCursor, current.seen))),
    reduce((all: unknown[], current) => all.concat(current.items), []),
    // a server that declares resources but not templates (or the like) simply has none
    catchError((error: unknown) => (kind !== 'tools' && error instanceof HandshakeError && error.code === ErrorCode.MethodNotFound ? of([]) : throwError(() => asError(error)))),
  );
}
