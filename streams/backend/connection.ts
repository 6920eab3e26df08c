/** One backend's life: connect, handshake, list, keep alive, re-list on list_changed; reconnect with backoff. */
import {
  catchError,
  combineLatest,
  concat,
  defer,
  filter,
  forkJoin,
  ignoreElements,
  map,
  merge,
  of,
  pairwise,
  share,
  startWith,
  switchMap,
  tap,
  throwError,
  timeout,
  type Observable,
} from 'rxjs';
import type { JsonRpcNotification, JsonRpcRequest } from '../core/jsonrpc.js';
import { backoff } from './backoff.js';
import { asError, BackendRequestTimeoutError, ConnectError, HandshakeError } from '../core/errors.js';
import { keepAlive } from './keep-alive.js';
import type { BackendLink, OpenLink } from '../rpc/link.js';
import { LISTS, listAll, type ListKind } from './list-all.js';
import { isSupportedProtocolVersion, LATEST_PROTOCOL_VERSION } from '../core/protocol.js';
import { requestResult } from '../rpc/request-result.js';
import { refuseRequest, RpcChannel } from '../rpc/rpc-channel.js';
import type { BackendEntry } from '../config/schema.js';

export interface BackendSession {
  readonly backend: string;
  readonly channel: RpcChannel;
  readonly protocolVersion: string;
  readonly serverInfo: Record<string, unknown>;
  readonly capabilities: Record<string, unknown>;
  /** the client capabilities the relay declared in this session's handshake (what the backend may ask the clients for) */
  readonly declared?: Record<string, unknown>;
  /** what the backend's initialize said its tools are for, when it said */
  readonly instructions?: string;
}

/** What a backend offers besides tools; each empty when the backend does not declare it. */
export interface Extras {
  resources: readonly unknown[];
  resourceTemplates: readonly unknown[];
  prompts: readonly unknown[];
}

export const NO_EXTRAS: Extras = { resources: [], resourceTemplates: [], prompts: [] };

/** A message from the backend that is not an answer to the relay: forwarded to the client side. */
export interface BackendInbound {
  backend: string;
  session: BackendSession;
  message: JsonRpcNotification | JsonRpcRequest;
}

export type BackendEvent =
  | { type: 'connecting' }
  | { type: 'connected'; session: BackendSession; tools: unknown[]; extras?: Extras }
  | { type: 'tools'; tools: unknown[] }
  | { type: 'extras'; extras: Extras }
  | { type: 'inbound'; inbound: BackendInbound }
  | { type: 'violation'; reason: string }
  | { type: 'failed'; error: Error };

export interface ConnectionDeps {
  openLink: OpenLink;
  jitter: (ms: number) => number;
  /** what the relay declares to backends on its client's behalf: read at each handshake */
  clientCapabilities: Record<string, unknown> | (() => Record<string, unknown>);
  clientInfo: { name: string; version: string };
}

export interface LifeSignals {
  /** cut the backoff short: a call is waiting for this backend */
  kick$: Observable<unknown>;
  /** close and reconnect now (relay_reconnect_server) */
  restart$: Observable<unknown>;
}

const asRecord = (value: unknown): Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};

function handshake(entry: BackendEntry, channel: RpcChannel, deps: ConnectionDeps): Observable<BackendSession> {
  const waitMs = entry.settings.connectWaitMs;
  const declared = typeof deps.clientCapabilities === 'function' ? deps.clientCapabilities() : deps.clientCapabilities;
  return requestResult(channel, 'initialize', {
    protocolVersion: LATEST_PROTOCOL_VERSION,
    capabilities: declared,
    clientInfo: deps.clientInfo,
  }).pipe(
    timeout({ first: waitMs, with: () => throwError(() => new BackendRequestTimeoutError(entry.name, 'initialize', waitMs)) }),
    map((result) => {
      const version = result['protocolVersion'];
      if (!isSupportedProtocolVersion(version)) {
        throw new HandshakeError(entry.name, 'initialize', `unsupported protocol version ${JSON.stringify(version)}`);
      }
      channel.notify('notifications/initialized');
      return {
        backend: entry.name,
        channel,
        protocolVersion: version as string,
        serverInfo: asRecord(result['serverInfo']),
        capabilities: asRecord(result['capabilities']),
        declared,
        ...(typeof result['instructions'] === 'string' && result['instructions'].trim() !== '' ? { instructions: result['instructions'] } : {}),
      };
    }),
  );
}

/** Notifications the session itself acts on; everything else unsolicited goes to the client side. */
const RELIST = new Set(Object.values(LISTS).map((spec) => spec.changed));

/** One connected session: emits connected, then re-lists, inbound messages and protocol violations; errors when it ends. */
function session$(entry: BackendEntry, link: BackendLink, deps: ConnectionDeps): Observable<BackendEvent> {
  const channel = new RpcChannel(entry.name, link);
  const incoming$ = channel.incoming$.pipe(share());
  const waitMs = entry.settings.connectWaitMs;
  const violations$ = incoming$.pipe(
    filter((incoming) => incoming.kind === 'violation'),
    map((incoming): BackendEvent => ({ type: 'violation', reason: incoming.reason })),
  );
  const changed$ = (method: string) => incoming$.pipe(filter((incoming) => incoming.kind === 'notification' && incoming.message.method === method));
  let established = false;
  const life$ = handshake(entry, channel, deps).pipe(
    tap(() => (established = true)),
    switchMap((session) => {
      // watch list_changed from the handshake on, and let a newer change cancel an older listing: no change is lost
      const relisted$ = (kind: ListKind): Observable<readonly unknown[]> =>
        session.capabilities[LISTS[kind].capability] === undefined
          ? of([])
          : changed$(LISTS[kind].changed).pipe(
              startWith(null),
              switchMap(() => listAll(channel, kind, waitMs)),
            );
      // resources and their templates share one list_changed: re-list both at once, so one change is one update
      const resources$ =
        session.capabilities[LISTS.resources.capability] === undefined
          ? of<[readonly unknown[], readonly unknown[]]>([[], []])
          : changed$(LISTS.resources.changed).pipe(
              startWith(null),
              switchMap(() => forkJoin([listAll(channel, 'resources', waitMs), listAll(channel, 'resourceTemplates', waitMs)])),
            );
      const extras$ = combineLatest([resources$, relisted$('prompts')]).pipe(
        map(([[resources, resourceTemplates], prompts]): Extras => ({ resources, resourceTemplates, prompts })),
      );
      const inbound$ = incoming$.pipe(
        filter((incoming) => incoming.kind === 'request' || (incoming.kind === 'notification' && !RELIST.has(incoming.message.method))),
        map((incoming): BackendEvent => ({ type: 'inbound', inbound: { backend: entry.name, session, message: (incoming as { message: JsonRpcNotification | JsonRpcRequest }).message } })),
      );
      const lists$ = combineLatest([relisted$('tools'), extras$]).pipe(
        startWith(null),
        pairwise(),
        map(([before, now]): BackendEvent => {
          const [tools, extras] = now!;
          if (before === null) return { type: 'connected', session, tools: [...tools], extras };
          return before[0] !== tools ? { type: 'tools', tools: [...tools] } : { type: 'extras', extras };
        }),
      );
      return merge(
        lists$,
        inbound$,
        keepAlive(() => (link.ping ? link.ping() : requestResult(channel, 'ping')), { everyMs: entry.settings.pingIntervalMs, timeoutMs: entry.settings.pongTimeoutMs }),
      );
    }),
  );
  // a request that arrives before the handshake is done has no client to go to yet: answer it here
  const early$ = incoming$.pipe(
    filter((incoming) => incoming.kind === 'request' && !established),
    tap((incoming) => channel.respond(refuseRequest((incoming as { message: JsonRpcRequest }).message))),
    ignoreElements(),
  );
  return merge(violations$, early$, life$);
}

/** Emits BackendEvents forever (until unsubscribed): failures become events, then the backoff retries. */
export function backendLife$(entry: BackendEntry, deps: ConnectionDeps, signals: LifeSignals): Observable<BackendEvent> {
  const waitMs = entry.settings.connectWaitMs;
  const attempt$ = defer(() =>
    concat(
      of<BackendEvent>({ type: 'connecting' }),
      deps.openLink(entry).pipe(
        timeout({ first: waitMs, with: () => throwError(() => new ConnectError(entry.name, entry.url, `not open within ${waitMs} ms`)) }),
        switchMap((link) => session$(entry, link, deps)),
      ),
    ),
  ).pipe(catchError((error: unknown) => concat(of<BackendEvent>({ type: 'failed', error: asError(error) }), throwError(() => asError(error)))));

  return signals.restart$.pipe(
    startWith(null),
    switchMap(() =>
      attempt$.pipe(
        backoff({
          initialMs: entry.settings.backoff.initialMs,
          maxMs: entry.settings.backoff.maxMs,
          jitter: deps.jitter,
          isHealthy: (event) => event.type === 'connected',
          kick$: signals.kick$,
        }),
      ),
    ),
  );
}
