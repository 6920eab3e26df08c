/**
 * The changing set of backends: config entries in, one map of states out. A backend that stays in the
 * config keeps its connection; a changed entry restarts only that backend; a removed one is closed and purged.
 */
import { asyncScheduler, combineLatest, filter, from, map, merge, mergeMap, pairwise, scan, share, startWith, takeUntil, tap, type Observable } from 'rxjs';
import { initialBackendState, reduceBackendState, type BackendState } from './backend-state.js';
import { backendLife$, type BackendInbound, type ConnectionDeps } from './connection.js';
import type { GateDeps } from './gate/backend-gate.js';
import { gateStates } from './gate/gate-states.js';
import { instanceEntry, mergeInstances } from './replicas.js';
import { diffBackends, type BackendDiff } from '../config/diff.js';
import type { BackendEntry } from '../config/schema.js';

export type BackendStates = ReadonlyMap<string, BackendState>;

export interface BackendsDeps extends ConnectionDeps {
  /** names whose backoff wait should be cut short */
  kicks$: Observable<string>;
  /** names to close and reconnect now */
  restarts$: Observable<string>;
  /** messages from backends for the client side (notifications, server requests); they change no state */
  inbound?: (inbound: BackendInbound) => void;
  /** the clock and timers of the gates (breaker, queue), and where breaker changes are told; default asyncScheduler */
  gates?: GateDeps;
}

type StateChange = { name: string; generation: number; state: BackendState } | { name: string; generation: number; removed: true };

const touches = (diff: BackendDiff, name: string): boolean =>
  diff.removed.includes(name) || diff.changed.some((entry) => entry.name === name);

export function backendStates$(entries$: Observable<readonly BackendEntry[]>, deps: BackendsDeps): Observable<BackendStates> {
  const diffs$ = entries$.pipe(
    startWith([] as readonly BackendEntry[]),
    pairwise(),
    map(([before, after]) => diffBackends(before, after)),
    share(),
  );
  let generations = 0;
  const changes$: Observable<StateChange> = diffs$.pipe(
    mergeMap((diff) =>
      merge(
        from(diff.removed.map((name): StateChange => ({ name, generation: -1, removed: true }))),
        from([...diff.changed, ...diff.added]).pipe(
          mergeMap((entry) => {
            const generation = ++generations;
            const initial = initialBackendState(entry, generation);
            const signals = {
              kick$: deps.kicks$.pipe(filter((name) => name === entry.name)),
              restart$: deps.restarts$.pipe(filter((name) => name === entry.name)),
            };
            const life$ = (at: BackendEntry): Observable<BackendState> => {
              const first = initialBackendState(at, generation);
              return backendLife$(at, deps, signals).pipe(
                tap((event) => (event.type === 'inbound' ? deps.inbound?.(event.inbound) : undefined)),
                filter((event) => event.type !== 'inbound'),
                scan(reduceBackendState, first),
                startWith(first),
              );
            };
            // a replicated backend: each instance lives on its own, and the backend's state merges theirs
            const state$ =
              entry.replicas.length === 0
                ? life$(entry)
                : combineLatest(entry.replicas.map((url) => life$(instanceEntry(entry, url)))).pipe(scan(mergeInstances, initial), startWith(initial));
            return state$.pipe(
              map((state): StateChange => ({ name: entry.name, generation, state })),
              takeUntil(diffs$.pipe(filter((next) => touches(next, entry.name)))),
            );
          }),
        ),
      ),
    ),
  );
  return changes$.pipe(
    scan((states: Map<string, BackendState>, change: StateChange) => {
      const next = new Map(states);
      if ('removed' in change) next.delete(change.name);
      else {
        const current = next.get(change.name);
        // a stopped life's last word must not overwrite its successor
        if (current && current.generation > change.generation) return states;
        // a re-pointed backend keeps its last-known tools until its new session lists: a move is not two catalogue changes
        const inherit = change.state.tools === null && current?.tools != null;
        next.set(change.name, inherit ? { ...change.state, tools: current.tools, extras: current.extras } : change.state);
      }
      return next;
    }, new Map<string, BackendState>()),
    startWith(new Map<string, BackendState>() as BackendStates),
    gateStates(deps.gates ?? { scheduler: asyncScheduler }),
  );
}

