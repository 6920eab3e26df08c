/** Wires the whole graph from injected dependencies: config, backends, catalogue, router. src/ supplies the world. */
import {
  combineLatest,
  defer,
  distinctUntilChanged,
  endWith,
  filter,
  ignoreElements,
  map,
  merge,
  mergeMap,
  pairwise,
  race,
  share,
  shareReplay,
  switchMap,
  take,
  takeUntil,
  tap,
  timer,
  type Observable,
} from 'rxjs';
import { hasAttempted } from './backend/backend-state.js';
import { backendStates$ } from './backend/backends.js';
import type { BackendStates } from './backend/backends.js';
import { buildCatalogue, type Catalogue } from './catalogue/catalogue.js';
import type { ListedKind } from './session/client-requests.js';
import type { BackendInbound } from './backend/connection.js';
import { declaredToBackends, toClient } from './session/inbound.js';
import { buildOffers } from './catalogue/offers.js';
import { ServerRequests } from './session/server-requests.js';
import { replayClientSetup, type ClientSetup } from './session/session-replay.js';
import { serializeForClient, type ClientLine, type Outgoing } from './session/client-output.js';
import { configState, type ConfigInput } from './config/config.js';
import { canonicalJson } from './config/diff.js';
import { backendEvents, catalogueEvents, type EmitEvent } from './catalogue/events.js';
import { notification, parseMessage } from './core/jsonrpc.js';
import type { OpenLink } from './rpc/link.js';
import { MANAGEMENT_TOOL_NAMES, type ConfigEdit } from './management/management.js';
import type { Env } from './config/parse-config.js';
import { routeClient } from './session/router.js';
import { DEFAULT_MAX_CLIENT_MESSAGE_BYTES, type BackendEntry } from './config/schema.js';
import { createSignal } from './core/signal.js';

export interface RelayDeps {
  file: string;
  env: Env;
  configInput$: Observable<ConfigInput>;
  /** client lines; completion (stdin EOF) ends the relay */
  lines$: Observable<string>;
  openLink: OpenLink;
  jitter: (ms: number) => number;
  editConfig: (edit: ConfigEdit) => Observable<unknown>;
  version: string;
  emit: EmitEvent;
  now: () => number;
  /** backend handshakes start on the client's initialize, or after this long without one */
  clientWaitMs?: number;
}

const replayLatest = <T>() => shareReplay<T>({ bufferSize: 1, refCount: true });

const sameEntries = (a: readonly BackendEntry[], b: readonly BackendEntry[]): boolean => canonicalJson(a) === canonicalJson(b);

/** Outbound lines for the client's stdout; completes when the client's input ends. Each subscription is a fresh graph. */
export const relay = (deps: RelayDeps): Observable<ClientLine> => defer(() => buildRelay(deps));

function buildRelay(deps: RelayDeps): Observable<ClientLine> {
  const { emit } = deps;
  const config$ = deps.configInput$.pipe(
    configState(deps.file, deps.env),
    tap((state) => {
      if (state.outcome === 'loaded') emit({ event: 'config.reloaded', file: deps.file, backends: state.config.backends.map((entry) => entry.name), level: 'info' });
      if (state.outcome === 'invalid' && state.error) emit({ event: 'config.invalid', file: deps.file, error: state.error.message, line: state.error.line, field: state.error.field, level: 'warn' });
    }),
    replayLatest(),
  );
  const enabled$ = config$.pipe(
    map((state) => state.config.backends.filter((entry) => entry.enabled)),
    distinctUntilChanged(sameEntries),
    replayLatest(),
  );

  const messages$ = deps.lines$.pipe(
    // blank lines are skipped; a JSON-RPC line starts with "{", and is not copied by trim() to find that out
    filter((line) => line.charCodeAt(0) === 123 || line.trim() !== ''),
    map(parseMessage),
    share(),
  );
  const end$ = messages$.pipe(ignoreElements(), endWith(true));
  const isRequest = (method: string) => (message: ReturnType<typeof parseMessage>) => message.kind === 'request' && message.message.method === method;
  const isNotification = (method: string) => (message: ReturnType<typeof parseMessage>) => message.kind === 'notification' && message.message.method === method;

  // what the client declared it can serve is what the relay declares to backends on its behalf
  let clientCapabilities: Record<string, unknown> = {};
  const clientReady$ = race(
    messages$.pipe(
      filter(isRequest('initialize')),
      tap((message) => (clientCapabilities = declaredToBackends(message))),
    ),
    timer(deps.clientWaitMs ?? 2_000),
  ).pipe(take(1));

  const kicks = createSignal<string>();
  const restarts = createSignal<string>();
  const inbound = createSignal<BackendInbound>();
  const states$ = backendStates$(
    clientReady$.pipe(switchMap(() => enabled$)),
    {
      openLink: deps.openLink,
      jitter: deps.jitter,
      clientCapabilities: () => clientCapabilities,
      clientInfo: { name: 'mcp-relay', version: deps.version },
      kicks$: kicks.fired$,
      restarts$: restarts.fired$,
      inbound: inbound.fire,
    },
  ).pipe(replayLatest());

  let latestView: { states: BackendStates; catalogue: Catalogue } | null = null;
  const view$ = combineLatest([enabled$, states$]).pipe(
    map(([entries, states]) => ({ entries, states, catalogue: buildCatalogue(entries, states, MANAGEMENT_TOOL_NAMES), offers: buildOffers(entries, states) })),
    // the hot path reads the latest view synchronously instead of subscribing per call
    tap((view) => (latestView = view)),
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

  // what the client last saw of each list, from a list answer or a list_changed: a change is only news against that
  const announced = new Map<ListedKind, string>();
  const keys$: Record<ListedKind, Observable<string>> = {
    tools: catalogue$.pipe(map((catalogue) => catalogue.key)),
    resources: offers$.pipe(map((offers) => offers.resourcesKey)),
    prompts: offers$.pipe(map((offers) => offers.promptsKey)),
  };
  const listChanged$ = messages$.pipe(
    filter(isNotification('notifications/initialized')),
    take(1),
    switchMap(() =>
      merge(
        ...(Object.entries(keys$) as Array<[ListedKind, Observable<string>]>).map(([kind, key$]) =>
          key$.pipe(
            // a client that has not listed yet will get the current list when it does
            filter((key) => announced.has(kind) && key !== announced.get(kind)),
            tap((key) => announced.set(kind, key)),
            map((): Outgoing => ({ message: notification(`notifications/${kind}/list_changed`) })),
          ),
        ),
      ),
    ),
  );

  const setup: ClientSetup = { logLevel: null, subscriptions: new Set() };
  const replayed$ = replayClientSetup(states$, offers$, setup);
  const serverRequests = new ServerRequests(() => clientCapabilities);
  const fromBackends$ = inbound.fired$.pipe(
    map((message) => toClient(message, serverRequests)),
    filter((outgoing): outgoing is Outgoing => outgoing !== null),
  );
  // a backend's request to the client dies with the backend's session or its removal (either changes the states)
  const withdrawn$ = states$.pipe(
    filter(() => serverRequests.waiting > 0),
    mergeMap((states) => serverRequests.withdrawEnded((backend) => states.has(backend))),
  );

  const responses$ = routeClient(messages$, {
    catalogue$,
    states$,
    firstListReady$,
    management: {
      file: deps.file,
      config$,
      states$,
      catalogue$,
      editConfig: deps.editConfig,
      restart: restarts.fire,
    },
    kick: kicks.fire,
    currentStates: () => latestView?.states,
    currentCatalogue: () => latestView?.catalogue,
    offers$,
    onListed: (kind, key) => announced.set(kind, key),
    setup,
    onClientResponse: (response) => serverRequests.resolve(response),
    onClientProgress: (params) => serverRequests.progressFromClient(params),
    serverInfo: { name: 'mcp-relay', version: deps.version },
    now: deps.now,
    emit,
  });

  // per message: one map and one filter, with the limit read from the config in force
  let limit = DEFAULT_MAX_CLIENT_MESSAGE_BYTES;
  const limit$ = config$.pipe(
    tap((state) => (limit = state.config.maxClientMessageBytes)),
    ignoreElements(),
  );
  const lines$ = merge(responses$, listChanged$, fromBackends$, withdrawn$).pipe(
    map((outgoing) => {
      const serialized = serializeForClient(outgoing, limit);
      const over = 'oversized' in serialized ? serialized.oversized : 'dropped' in serialized ? serialized.dropped : null;
      if (over) emit({ event: 'client.oversized', bytes: over.bytes, limit: over.limit, backend: over.outgoing.backend, tool: over.outgoing.tool, dropped: 'dropped' in serialized, level: 'warn' });
      return 'line' in serialized ? serialized.line : null;
    }),
    filter((line): line is ClientLine => line !== null),
  );

  return merge(limit$, events$, replayed$, lines$).pipe(takeUntil(end$));
}
