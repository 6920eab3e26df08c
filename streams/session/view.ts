/**
 * What one client sees of the backends: the hub's shared ones, plus its own sessions of the backends marked
 * `isolation: per-client` (opened once it initializes, closed when it leaves). Without per-client backends in the
 * config this is the hub's view as it is, and the per-call path reads the hub's latest.
 */
import { combineLatest, defer, distinctUntilChanged, filter, ignoreElements, map, merge, NEVER, of, race, shareReplay, switchMap, take, tap, timer, type Observable } from 'rxjs';
import { hasAttempted } from '../backend/backend-state.js';
import type { BackendInbound } from '../backend/connection.js';
import type { BackendStates } from '../backend/backends.js';
import { buildCatalogue, type Catalogue } from '../catalogue/catalogue.js';
import { buildOffers, type Offers } from '../catalogue/offers.js';
import { healthOf, type Health } from '../catalogue/status.js';
import type { ConfigState } from '../config/config.js';
import { canonicalJson } from '../config/diff.js';
import type { BackendEntry } from '../config/schema.js';
import { createSignal } from '../core/signal.js';
import { redactUrl } from '../core/redact.js';
import { MANAGEMENT_TOOL_NAMES } from '../management/management.js';
import type { ClientRecord } from './client-record.js';
import { replayClientSetup } from './session-replay.js';

/** the hub's part of a view (hub.ts implements it) */
export interface SharedView {
  config$: Observable<ConfigState>;
  states$: Observable<BackendStates>;
  catalogue$: Observable<Catalogue>;
  offers$: Observable<Offers>;
  firstListReady$: Observable<unknown>;
  currentStates(): BackendStates | undefined;
  currentCatalogue(): Catalogue | undefined;
  kick(name: string): void;
  openIsolated(
    entries$: Observable<readonly BackendEntry[]>,
    own: { clientCapabilities: () => Record<string, unknown>; kicks$: Observable<string>; restarts$: Observable<string>; inbound: (inbound: BackendInbound) => void },
  ): Observable<BackendStates>;
}

export interface IsolatedBackendStatus {
  name: string;
  url: string;
  connected: boolean;
  health: Health;
  tools: number;
  error?: string;
}

export interface SessionView {
  states$: Observable<BackendStates>;
  catalogue$: Observable<Catalogue>;
  offers$: Observable<Offers>;
  /** emits (and replays) once the first lists may be answered: the hub's backends and this client's own have been tried */
  firstListReady$: Observable<unknown>;
  currentStates(): BackendStates | undefined;
  currentCatalogue(): Catalogue | undefined;
  kick(name: string): void;
  /** a backend this client has its own session of */
  isIsolated(name: string): boolean;
  isolatedStatus(): IsolatedBackendStatus[];
  /** subscribed for the session's life: its own backends live while it does */
  run$: Observable<never>;
}

interface Snapshot {
  states: BackendStates;
  catalogue: Catalogue;
  offers: Offers;
  isolated: readonly BackendEntry[];
}

const sameEntries = (a: readonly BackendEntry[], b: readonly BackendEntry[]): boolean => canonicalJson(a) === canonicalJson(b);
const replayLatest = <T>() => shareReplay<T>({ bufferSize: 1, refCount: true });

export function sessionView(hub: SharedView, ready$: Observable<unknown>, record: ClientRecord, deliver: (inbound: BackendInbound) => void): SessionView {
  const entries$ = (isolation: BackendEntry['isolation'] | 'any') =>
    hub.config$.pipe(
      map((state) => state.config.backends.filter((entry) => entry.enabled && (isolation === 'any' || entry.isolation === isolation))),
      distinctUntilChanged(sameEntries),
    );
  const isolated$ = entries$('per-client').pipe(replayLatest());
  const kicks = createSignal<string>();
  const own$ = hub
    .openIsolated(
      ready$.pipe(
        take(1),
        switchMap(() => isolated$),
      ),
      { clientCapabilities: () => record.capabilities ?? {}, kicks$: kicks.fired$, restarts$: NEVER, inbound: deliver },
    )
    .pipe(replayLatest());

  let latest: Snapshot | null = null;
  // the hub's streams and the client's own backends, merged: built only where the config has per-client backends
  const merged$ = isolated$.pipe(
    switchMap((isolated) =>
      combineLatest([entries$('any'), hub.states$, own$]).pipe(
        map(([order, shared, own]): Snapshot => {
          const states: BackendStates = new Map([...shared, ...own]);
          return { states, catalogue: buildCatalogue(order, states, MANAGEMENT_TOOL_NAMES), offers: buildOffers(order, states), isolated };
        }),
      ),
    ),
    // the per-call path reads the latest synchronously
    tap((snapshot) => (latest = snapshot)),
    replayLatest(),
  );
  const either = <T>(shared$: Observable<T>, pick: (snapshot: Snapshot) => T): Observable<T> =>
    isolated$.pipe(switchMap((isolated) => (isolated.length === 0 ? shared$ : merged$.pipe(map(pick)))));
  const states$ = either(hub.states$, (snapshot) => snapshot.states);
  const offers$ = either(hub.offers$, (snapshot) => snapshot.offers);
  // what the client set up (log level, subscriptions) is sent again to its own backend when it reconnects
  const replayed$ = replayClientSetup(own$, offers$, record);
  const own = (name: string) => latest?.isolated.some((entry) => entry.name === name) ?? false;
  // the first lists wait for the client's own backends too (bounded by startupGraceMs, as the hub's are)
  const ownAttempted$ = hub.config$.pipe(
    take(1),
    switchMap((state) =>
      race(
        isolated$.pipe(switchMap((isolated) => (isolated.length === 0 ? of(null) : own$.pipe(filter((states) => isolated.every((entry) => hasAttempted(states.get(entry.name)))))))),
        timer(state.config.startupGraceMs),
      ),
    ),
    take(1),
  );
  const firstListReady$ = combineLatest([hub.firstListReady$.pipe(take(1)), ownAttempted$]).pipe(take(1), replayLatest());

  return {
    states$,
    catalogue$: either(hub.catalogue$, (snapshot) => snapshot.catalogue),
    firstListReady$,
    offers$,
    currentStates: () => latest?.states ?? hub.currentStates(),
    currentCatalogue: () => latest?.catalogue ?? hub.currentCatalogue(),
    kick: (name) => (own(name) ? kicks.fire(name) : hub.kick(name)),
    isIsolated: own,
    isolatedStatus: () =>
      (latest?.isolated ?? []).map((entry): IsolatedBackendStatus => {
        const state = latest?.states.get(entry.name);
        const health = latest ? healthOf(state, latest.catalogue) : 'unknown';
        return {
          name: entry.name,
          url: redactUrl(entry.url),
          connected: state?.phase === 'connected',
          health,
          tools: latest?.catalogue.perBackend.get(entry.name)?.valid.length ?? 0,
          ...(state?.error ? { error: state.error } : {}),
        };
      }),
    // without per-client backends nothing of its own runs; with them, the merged view stays current
    run$: merge(
      isolated$.pipe(
        switchMap((isolated) =>
          isolated.length === 0
            ? defer(() => {
                latest = null;
                return NEVER;
              })
            : merged$,
        ),
      ),
      replayed$,
    ).pipe(ignoreElements()),
  };
}
