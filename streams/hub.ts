/**
 * The hub: one per process, alive until shutdown. Config, the backend connections and their states, the catalogue
 * and offers, and the routing of what backends send to clients. Sessions (session.ts) share it; a client leaving
 * never closes a backend connection, because run$ (subscribed once, by the process) holds everything open.
 */
import {
  asyncScheduler,
  catchError,
  combineLatest,
  distinctUntilChanged,
  EMPTY,
  filter,
  ignoreElements,
  map,
  merge,
  mergeMap,
  pairwise,
  race,
  shareReplay,
  switchMap,
  take,
  takeWhile,
  tap,
  timeout,
  timer,
  type Observable,
  type SchedulerLike,
} from 'rxjs';
import { hasAttempted, sessionsOf } from './backend/backend-state.js';
import { backendStates$, type BackendsDeps, type BackendStates } from './backend/backends.js';
import type { BackendInbound } from './backend/connection.js';
import { buildCatalogue, type Catalogue } from './catalogue/catalogue.js';
import { backendEvents, breakerEvent, catalogueEvents, type EmitEvent } from './catalogue/events.js';
import type { GateDeps } from './backend/gate/backend-gate.js';
import { buildOffers, resourceOwner, type Offers } from './catalogue/offers.js';
import { configState, type ConfigInput, type ConfigState } from './config/config.js';
import { canonicalJson } from './config/diff.js';
import type { Env } from './config/parse-config.js';
import { DEFAULT_MAX_CLIENT_MESSAGE_BYTES, EMPTY_CONFIG, type BackendEntry, type RelayConfig } from './config/schema.js';
import { ErrorCode, failure, success } from './core/jsonrpc.js';
import { createSignal } from './core/signal.js';
import { MANAGEMENT_TOOL_NAMES, type ConfigEdit, type ManagementDeps } from './management/management.js';
import type { OpenLink } from './rpc/link.js';
import { requestResult } from './rpc/request-result.js';
import type { ClientRecord } from './session/client-record.js';
import { Clients } from './session/clients.js';
import { setBackendsLevel } from './session/requests/set-level.js';
import type { ViewSnapshot } from './session/view.js';
import { replayClientSetup } from './session/session-replay.js';
import { Drain } from './session/drain.js';
import type { Tracing } from './core/tracing.js';

export interface HubDeps {
  file: string;
  env: Env;
  configInput$: Observable<ConfigInput>;
  openLink: OpenLink;
  jitter: (ms: number) => number;
  editConfig: (edit: ConfigEdit) => Observable<unknown>;
  version: string;
  emit: EmitEvent;
  now: () => number;
  /** the network fronts' refusals by kind, for status */
  security?: () => Record<string, number>;
  /** backend handshakes start on the first client's initialize, or after this long without one */
  clientWaitMs?: number;
  /** the clock and timers of the backends' gates (breaker cooldowns, queue waits); default asyncScheduler */
  scheduler?: SchedulerLike;
  /** spans for client requests and backend calls, when traces are exported (src/tracing/) */
  tracing?: Tracing;
}

export interface Hub {
  readonly config$: Observable<ConfigState>;
  readonly states$: Observable<BackendStates>;
  readonly catalogue$: Observable<Catalogue>;
  readonly offers$: Observable<Offers>;
  /** the view the shared backends make: states, catalogue, offers (replayed) */
  readonly view$: Observable<ViewSnapshot>;
  /** the enabled per-client entries (replayed), and as they are now */
  readonly isolated$: Observable<readonly BackendEntry[]>;
  currentIsolated(): readonly BackendEntry[];
  /** emits (and replays) once the first lists may be answered */
  readonly firstListReady$: Observable<unknown>;
  readonly clients: Clients;
  readonly management: ManagementDeps;
  readonly serverInfo: { name: string; version: string };
  /** the latest view, for the per-call path (no subscription per call); undefined before the first */
  currentStates(): BackendStates | undefined;
  currentCatalogue(): Catalogue | undefined;
  /** the limit on one message to a client, from the config in force */
  maxClientMessageBytes(): number;
  /** the enabled shared entries and the instructions' size limit in force (before the first view, for instructions) */
  currentConfig(): RelayConfig;
  /** cut a backend's backoff short: a call waits for it */
  kick(name: string): void;
  /** a client initialized: the first one starts the backend handshakes */
  clientInitialized(): void;
  /** a client's own sessions of its per-client backends, with the hub's transports */
  openIsolated(entries$: Observable<readonly BackendEntry[]>, own: Pick<BackendsDeps, 'clientCapabilities' | 'kicks$' | 'restarts$' | 'inbound'>): Observable<BackendStates>;
  /** a client is gone: what the backends held for it alone (subscriptions, a log level) is released */
  clientLeft(record: ClientRecord): void;
  /** every client's forwarded calls, for a graceful shutdown */
  readonly drain: Drain;
  /** messages from and to clients since start, by front (counters the sessions bump; the metrics read them) */
  readonly traffic: Record<'stdio' | 'ws' | 'http', { in: number; out: number }>;
  /** spans for client requests and backend calls; absent when traces are off */
  readonly tracing?: Tracing;
  /** subscribe once, for the life of the process: backends, events, and the routing of backend messages */
  readonly run$: Observable<never>;
}

const replayLatest = <T>() => shareReplay<T>({ bufferSize: 1, refCount: true });

const sameEntries = (a: readonly BackendEntry[], b: readonly BackendEntry[]): boolean => canonicalJson(a) === canonicalJson(b);

const RELEASE_TIMEOUT_MS = 10_000;
/** how often a backend busy with requests is looked at again before it is handshaken with new capabilities */
const RENEGOTIATE_RETRY_MS = 1_000;

export function createHub(deps: HubDeps): Hub {
  const { emit } = deps;
  const clients = new Clients();
  const config$ = deps.configInput$.pipe(
    configState(deps.file, deps.env),
    tap((state) => {
      if (state.outcome === 'loaded') emit({ event: 'config.reloaded', file: deps.file, backends: state.config.backends.map((entry) => entry.name), level: 'info' });
      if (state.outcome === 'invalid' && state.error) emit({ event: 'config.invalid', file: deps.file, error: state.error.message, line: state.error.line, field: state.error.field, level: 'warn' });
    }),
    replayLatest(),
  );
  // the hub connects the shared backends; a per-client one is each session's own (session/view.ts)
  const enabled$ = config$.pipe(
    map((state) => state.config.backends.filter((entry) => entry.enabled && entry.isolation === 'shared')),
    distinctUntilChanged(sameEntries),
    replayLatest(),
  );

  const initialized = createSignal<void>();
  const clientReady$ = race(initialized.fired$, timer(deps.clientWaitMs ?? 2_000)).pipe(take(1));

  const kicks = createSignal<string>();
  const restarts = createSignal<string>();
  const inbound = createSignal<BackendInbound>();
  const clientInfo = { name: 'mcp-relay', version: deps.version };
  const gates: GateDeps = { scheduler: deps.scheduler ?? asyncScheduler, onTransition: (backend, transition) => emit(breakerEvent(backend, transition)) };
  const states$ = backendStates$(clientReady$.pipe(switchMap(() => enabled$)), {
    openLink: deps.openLink,
    jitter: deps.jitter,
    // what the connected clients can serve is what the relay declares to backends on their behalf
    clientCapabilities: () => clients.declared(),
    clientInfo,
    kicks$: kicks.fired$,
    restarts$: restarts.fired$,
    inbound: inbound.fire,
    gates,
  }).pipe(replayLatest());

  let latestView: { states: BackendStates; catalogue: Catalogue } | null = null;
  const view$ = combineLatest([enabled$, states$]).pipe(
    map(([entries, states]) => ({ entries, states, catalogue: buildCatalogue(entries, states, MANAGEMENT_TOOL_NAMES), offers: buildOffers(entries, states) })),
    // the per-call path reads the latest view synchronously instead of subscribing per call
    tap((view) => (latestView = view)),
    replayLatest(),
  );
  // the per-client entries: each session opens its own (session/view.ts)
  let isolated: readonly BackendEntry[] = [];
  const isolated$ = config$.pipe(
    map((state) => state.config.backends.filter((entry) => entry.enabled && entry.isolation === 'per-client')),
    distinctUntilChanged(sameEntries),
    tap((entries) => (isolated = entries)),
    replayLatest(),
  );
  const catalogue$ = view$.pipe(map((view) => view.catalogue));
  const offers$ = view$.pipe(map((view) => view.offers));

  const events$ = view$.pipe(
    pairwise(),
    tap(([before, after]) => {
      for (const event of backendEvents(before.states, after.states, before.catalogue, after.catalogue)) emit(event);
      if (before.catalogue.key !== after.catalogue.key || canonicalJson(before.catalogue.findings) !== canonicalJson(after.catalogue.findings)) {
        for (const event of catalogueEvents(before.catalogue, after.catalogue)) emit(event);
      }
    }),
    ignoreElements(),
  );

  const firstListReady$ = race(
    view$.pipe(filter((view) => view.entries.every((entry) => hasAttempted(view.states.get(entry.name))))),
    config$.pipe(take(1), mergeMap((state) => timer(state.config.startupGraceMs))),
  ).pipe(take(1), shareReplay({ bufferSize: 1, refCount: false }));

  let limit = DEFAULT_MAX_CLIENT_MESSAGE_BYTES;
  let inForce: RelayConfig = EMPTY_CONFIG;
  const limit$ = config$.pipe(
    tap((state) => {
      limit = state.config.maxClientMessageBytes;
      inForce = state.config;
    }),
    ignoreElements(),
  );

  // a backend's request goes to one client; its notifications to those they concern
  const routed$ = inbound.fired$.pipe(
    tap((message) => {
      const { backend, session } = message;
      if (!('id' in message.message)) {
        for (const record of clients.notificationTargets(message)) record.deliver(message);
        return;
      }
      const request = message.message;
      const route = clients.routeRequest(backend, request.method);
      if (route.ambiguous) emit({ event: 'server_request.ambiguous', backend, method: request.method, client: route.record?.id, level: 'info' });
      if (route.record) route.record.deliver(message, route.relatedCall);
      else if (request.method === 'ping') session.channel.respond(success(request.id, {}));
      else session.channel.respond(failure(request.id, ErrorCode.MethodNotFound, `${request.method} is not available: ${route.reason ?? 'no client can take it'} (mcp-relay)`));
    }),
    ignoreElements(),
  );

  // a client that can serve what the backends were not told about (sampling, say): each backend is handshaken again,
  // once it has no request in flight (MCP has no way to change declared capabilities within a session)
  const renegotiated$ = initialized.fired$.pipe(
    switchMap(() =>
      timer(0, RENEGOTIATE_RETRY_MS).pipe(
        map(() => {
          const union = clients.declared();
          let waiting = 0;
          for (const [name, state] of latestView?.states ?? []) {
            const declared = state.session?.declared;
            const missing = declared === undefined ? [] : Object.keys(union).filter((capability) => declared[capability] === undefined);
            if (missing.length === 0 || state.session === null) continue;
            if (state.session.channel.inFlight > 0) {
              waiting++;
              continue;
            }
            emit({ event: 'backend.renegotiate', backend: name, capabilities: missing, reason: 'a client joined that can serve them', level: 'info' });
            restarts.fire(name);
          }
          return waiting;
        }),
        takeWhile((waiting) => waiting > 0),
      ),
    ),
    ignoreElements(),
  );

  // what a client that left held alone on the backends: its subscriptions, and a log level nobody else asked for
  const releases = createSignal<{ uris: string[]; logLevel: string | null }>();
  const released$ = releases.fired$.pipe(
    mergeMap(({ uris, logLevel }) =>
      combineLatest([states$, offers$]).pipe(
        take(1),
        mergeMap(([states, offers]) => {
          // every instance of the owner: a replicated backend's setup replay subscribed each of them
          const unsubscribes = uris.flatMap((uri) => {
            const owner = states.get(resourceOwner(offers, uri) ?? '');
            return (owner ? sessionsOf(owner) : []).map((session) => requestResult(session.channel, 'resources/unsubscribe', { uri }).pipe(timeout(RELEASE_TIMEOUT_MS), catchError(() => EMPTY)));
          });
          const level = clients.logLevel();
          const relevel = logLevel !== null && level !== null && level !== logLevel ? [setBackendsLevel(states$, level)] : [];
          return merge(...unsubscribes, ...relevel);
        }),
      ),
    ),
    ignoreElements(),
  );

  // what the clients set up on the backends (log level, subscriptions) is sent again to a backend that reconnects
  const replayed$ = replayClientSetup(states$, offers$, {
    get logLevel() {
      return clients.logLevel();
    },
    get subscriptions() {
      return clients.subscriptions();
    },
  });

  const management: ManagementDeps = {
    file: deps.file,
    config$,
    states$,
    catalogue$,
    editConfig: deps.editConfig,
    restart: restarts.fire,
    clients: () => clients.status(),
    ...(deps.security ? { security: deps.security } : {}),
  };

  return {
    config$,
    states$,
    catalogue$,
    offers$,
    view$,
    isolated$,
    currentIsolated: () => isolated,
    firstListReady$,
    clients,
    management,
    serverInfo: { name: 'mcp-relay', version: deps.version },
    drain: new Drain(),
    traffic: { stdio: { in: 0, out: 0 }, ws: { in: 0, out: 0 }, http: { in: 0, out: 0 } },
    ...(deps.tracing === undefined ? {} : { tracing: deps.tracing }),
    currentStates: () => latestView?.states,
    currentCatalogue: () => latestView?.catalogue,
    maxClientMessageBytes: () => limit,
    currentConfig: () => inForce,
    kick: kicks.fire,
    clientInitialized: () => initialized.fire(),
    openIsolated: (entries$, own) => backendStates$(entries$, { openLink: deps.openLink, jitter: deps.jitter, clientInfo, gates, ...own }),
    clientLeft: (record) => {
      clients.remove(record);
      const held = clients.subscriptions();
      const uris = [...record.subscriptions].filter((uri) => !held.has(uri));
      if (uris.length > 0 || record.logLevel !== null) releases.fire({ uris, logLevel: record.logLevel });
    },
    run$: merge(limit$, events$, routed$, released$, replayed$, renegotiated$, isolated$.pipe(ignoreElements())),
  };
}
