/**
 * logging/setLevel: this client's level; the backends get the most verbose level any client asked for (each client
 * is sent only what is at or above its own). The client gets {} once the backends answered (or not).
 */
import { catchError, forkJoin, map, mergeMap, of, take, timeout, type Observable } from 'rxjs';
import { sessionsOf } from '../../backend/backend-state.js';
import type { BackendStates } from '../../backend/backends.js';
import { ErrorCode, failure, success, type JsonRpcRequest } from '../../core/jsonrpc.js';
import { requestResult } from '../../rpc/request-result.js';
import type { Outgoing } from '../client-output.js';
import { logRank, type Clients } from '../clients.js';
import type { RequestDeps } from '../request-deps.js';

const SET_LEVEL_TIMEOUT_MS = 5_000;

/** Sends a level to every connected backend that declares logging; one that fails or never answers fails nothing. */
export function setBackendsLevel(states$: Observable<BackendStates>, level: string): Observable<unknown> {
  return states$.pipe(
    take(1),
    mergeMap((states) => {
      // every instance of a replicated backend: any of them may serve the client's next call
      const sessions = [...states.values()].flatMap((state) => sessionsOf(state).filter((session) => session.capabilities['logging'] !== undefined));
      if (sessions.length === 0) return of(null);
      return forkJoin(sessions.map((session) => requestResult(session.channel, 'logging/setLevel', { level }).pipe(timeout(SET_LEVEL_TIMEOUT_MS), catchError(() => of(null)))));
    }),
  );
}

export function setLevelReply(request: JsonRpcRequest, deps: RequestDeps): Observable<Outgoing> {
  const level = request.params?.['level'];
  if (typeof level !== 'string' || logRank(level) === -1) {
    return of({ message: failure(request.id, ErrorCode.InvalidParams, `logging/setLevel needs params.level, one of debug, info, notice, warning, error, critical, alert, emergency; got ${JSON.stringify(level)}`) });
  }
  deps.client.logLevel = level;
  return setBackendsLevel(deps.states$, effectiveLevel(deps.clients, level)).pipe(map(() => ({ message: success(request.id, {}) })));
}

const effectiveLevel = (clients: Clients, fallback: string): string => clients.logLevel() ?? fallback;
