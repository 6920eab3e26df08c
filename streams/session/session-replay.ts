/**
 * What a client set up on the backends (a log level, resource subscriptions) outlives their sessions:
 * a backend that reconnects gets it again, so a blip is invisible to the client.
 */
import { catchError, EMPTY, from, ignoreElements, mergeMap, pairwise, startWith, take, timeout, type Observable } from 'rxjs';
import type { BackendStates } from '../backend/backends.js';
import type { BackendSession } from '../backend/connection.js';
import { sessionsOf } from '../backend/backend-state.js';
import { resourceOwner, type Offers } from '../catalogue/offers.js';
import { requestResult } from '../rpc/request-result.js';

export interface ClientSetup {
  /** the level of the client's last logging/setLevel, or null */
  logLevel: string | null;
  /** URIs the client subscribed to and has not unsubscribed */
  subscriptions: Set<string>;
}

const REPLAY_TIMEOUT_MS = 10_000;

function replayTo(session: BackendSession, setup: ClientSetup, offers: Offers): Observable<never> {
  const requests: Array<[string, Record<string, unknown>]> = [];
  if (setup.logLevel !== null && session.capabilities['logging'] !== undefined) requests.push(['logging/setLevel', { level: setup.logLevel }]);
  for (const uri of setup.subscriptions) if (resourceOwner(offers, uri) === session.backend) requests.push(['resources/subscribe', { uri }]);
  return from(requests).pipe(
    mergeMap(([method, params]) => requestResult(session.channel, method, params).pipe(timeout(REPLAY_TIMEOUT_MS), catchError(() => EMPTY))),
    ignoreElements(),
  );
}

/** Emits nothing; on every new session, sends it the client's setup. */
export function replayClientSetup(states$: Observable<BackendStates>, offers$: Observable<Offers>, setup: ClientSetup): Observable<never> {
  return states$.pipe(
    startWith(new Map() as BackendStates),
    pairwise(),
    mergeMap(([before, after]) => {
      // each new session: a backend's, or one instance's of a replicated backend
      const fresh = [...after.values()].flatMap((state) => {
        const earlier = before.get(state.entry.name);
        const known = earlier === undefined ? [] : sessionsOf(earlier);
        return sessionsOf(state).filter((session) => !known.includes(session));
      });
      if (fresh.length === 0 || (setup.logLevel === null && setup.subscriptions.size === 0)) return EMPTY;
      return offers$.pipe(
        take(1),
        mergeMap((offers) => from(fresh).pipe(mergeMap((session) => replayTo(session, setup, offers)))),
      );
    }),
    ignoreElements(),
  );
}
