/**
 * What one client sees of the backends: the hub's shared ones, plus its own sessions of the backends marked
 * `isolation: per-client` (opened once it initializes, closed when it leaves). Without per-client backends in the
 * config this is the hub's view as it is, and the per-call path reads the hub's latest.
 */
import { combineLatest, defer, distinctUntilChanged, filter, map, merge, NEVER, race, shareReplay, switchMap, take, tap, timer, type Observable } from 'rxjs';
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
import { LOCAL_PRINCIPAL, type Principal } from '../access/access.js';
import { ownEntries } from '../access/own-entries.js';

/** what a view shows: the backends' states, and the catalogue and offers built from them */
export interface ViewSnapshot {
  states: BackendStates;
  catalogue: Catalogue;
  offers: Offers;
}

/** the hub's part of a view (hub.ts implements it) */
export interface SharedView {
  config$: Observable<ConfigState>;
  states$: Observable<BackendStates>;
  catalogue$: Observable<Catalogue>;
  offers$: Observable<Offers>;
  /** the hub's view, replayed: one subscription a session */
  view$: Observable<ViewSnapshot>;
  /** the enabled per-client entries: replayed, and as they are now */
  isolated$: Observable<readonly BackendEntry[]>;
  currentIsolated(): readonly BackendEntry[];
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
  /**
   * The view as it changes, subscribed once for the session's life: the hub's own (nothing per client) without
   * per-client backends; with them, the merged view, which also keeps the client's own backends open.
   */
  snapshots$: Observable<ViewSnapshot>;
}

interface Snapshot extends ViewSnapshot {
  isolated: readonly BackendEntry[];
}

/** what exists only for a client with per-client backends: built the first time the config has one */
interface Own {
  merged$: Observable<Snapshot>;
  firstListReady$: Observable<unknown>;
  kick(name: string): void;
}

const replayLatest = <T>() => shareReplay<T>({ bufferSize: 1, refCount: true });

export function sessionView(hub: SharedView, ready$: Observable<unknown>, record: ClientRecord, deliver: (inbound: BackendInbound) => void, principal: Principal = LOCAL_PRINCIPAL): SessionView {
  let latest: Snapshot | null = null;
  let built: Own | null = null;
  const own = (): Own => (built ??= buildOwn(hub, ready$, record, deliver, principal, (snapshot) => (latest = snapshot)));
  const shared = () => hub.currentIsolated().length === 0;
  // chosen when subscribed: the hub's stream, or the merged one
  const either = <T>(shared$: Observable<T>, pick: (snapshot: Snapshot) => T): Observable<T> => defer(() => (shared() ? shared$ : own().merged$.pipe(map(pick))));
  const isOwn = (name: string) => latest?.isolated.some((entry) => entry.name === name) ?? false;

  return {
    states$: either(hub.states$, (snapshot) => snapshot.states),
    catalogue$: either(hub.catalogue$, (snapshot) => snapshot.catalogue),
    offers$: either(hub.offers$, (snapshot) => snapshot.offers),
    firstListReady$: defer(() => (shared() ? hub.firstListReady$ : own().firstListReady$)),
    currentStates: () => latest?.states ?? hub.currentStates(),
    currentCatalogue: () => latest?.catalogue ?? hub.currentCatalogue(),
    kick: (name) => (isOwn(name) ? own().kick(name) : hub.kick(name)),
    isIsolated: isOwn,
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
    snapshots$: hub.isolated$.pipe(
      switchMap((isolated) =>
        isolated.length === 0
          ? defer(() => {
              latest = null;
              return hub.view$;
            })
          : own().merged$,
      ),
    ),
  };
}

/** The client's own sessions of the per-client backends, merged with the hub's into its view. */
function buildOwn(hub: SharedView, ready$: Observable<unknown>, record: ClientRecord, deliver: (inbound: BackendInbound) => void, principal: Principal, onSnapshot: (snapshot: Snapshot) => void): Own {
  const kicks = createSignal<string>();
  // this principal's: the backends it may use, per-principal ones with its own credentials
  const isolated$ = hub.isolated$.pipe(
    map((entries) => ownEntries(entries, principal)),
    distinctUntilChanged((a, b) => canonicalJson(a) === canonicalJson(b)),
  );
  const own$ = hub
    .openIsolated(
      ready$.pipe(
        take(1),
        switchMap(() => isolated$),
      ),
      { clientCapabilities: () => record.capabilities ?? {}, kicks$: kicks.fired$, restarts$: NEVER, inbound: deliver },
    )
    .pipe(replayLatest());
  const order$ = hub.config$.pipe(
    map((state) => state.config.backends.filter((entry) => entry.enabled)),
    distinctUntilChanged((a, b) => canonicalJson(a) === canonicalJson(b)),
  );
  const combined$ = isolated$.pipe(
    switchMap((isolated) =>
      combineLatest([order$, hub.states$, own$]).pipe(
        map(([order, shared, mine]): Snapshot => {
          const states: BackendStates = new Map([...shared, ...mine]);
          return { states, catalogue: buildCatalogue(order, states, MANAGEMENT_TOOL_NAMES), offers: buildOffers(order, states), isolated };
        }),
      ),
    ),
    // the per-call path reads the latest synchronously
    tap(onSnapshot),
    replayLatest(),
  );
  // what the client set up (log level, subscriptions) is sent again to its own backend when it reconnects
  const replayed$ = replayClientSetup(
    own$,
    combined$.pipe(map((snapshot) => snapshot.offers)),
    record,
  );
  // the first lists wait for the client's own backends too (bounded by startupGraceMs, as the hub's are)
  const ownAttempted$ = hub.config$.pipe(
    take(1),
    switchMap((state) =>
      race(
        isolated$.pipe(switchMap((isolated) => own$.pipe(filter((states) => isolated.every((entry) => hasAttempted(states.get(entry.name))))))),
        timer(state.config.startupGraceMs),
      ),
    ),
    take(1),
  );
  return {
    merged$: merge(combined$, replayed$),
    firstListReady$: combineLatest([hub.firstListReady$.pipe(take(1)), ownAttempted$]).pipe(take(1), replayLatest()),
    kick: kicks.fire,
  };
}
