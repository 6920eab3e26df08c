/** tools/list following every nextCursor page, with a guard against cursors that loop. */
import { EMPTY, expand, map, reduce, timeout, throwError, type Observable } from 'rxjs';
import { BackendRequestTimeoutError, HandshakeError } from './errors.js';
import type { Params } from './jsonrpc.js';
import type { RpcChannel } from './rpc-channel.js';
import { requestResult } from './request-result.js';

const MAX_PAGES = 1_000;

interface Page {
  tools: unknown[];
  nextCursor: string | null;
  seen: Set<string>;
}

export function listAllTools(channel: RpcChannel, timeoutMs: number): Observable<unknown[]> {
  const page = (cursor: string | null, seen: Set<string>): Observable<Page> => {
    const params: Params = cursor === null ? {} : { cursor };
    return requestResult(channel, 'tools/list', params).pipe(
      timeout({ first: timeoutMs, with: () => throwError(() => new BackendRequestTimeoutError(channel.backend, 'tools/list', timeoutMs)) }),
      map((result) => {
        if (!Array.isArray(result['tools'])) throw new HandshakeError(channel.backend, 'tools/list', 'result has no tools array');
        const next = result['nextCursor'];
        const nextCursor = typeof next === 'string' && next !== '' ? next : null;
        if (nextCursor !== null && seen.has(nextCursor)) {
          throw new HandshakeError(channel.backend, 'tools/list', `cursor '${nextCursor}' repeats: pagination loops`);
        }
        if (seen.size >= MAX_PAGES) throw new HandshakeError(channel.backend, 'tools/list', `more than ${MAX_PAGES} pages`);
        return { tools: result['tools'] as unknown[], nextCursor, seen: nextCursor === null ? seen : new Set(seen).add(nextCursor) };
      }),
    );
  };
  return page(null, new Set()).pipe(
    expand((current) => (current.nextCursor === null ? EMPTY : page(current.nextCursor, current.seen))),
    reduce((all: unknown[], current) => all.concat(current.tools), []),
  );
}

