/** One backend's life: connect, handshake, list, keep alive, re-list on list_changed; reconnect with backoff. */
import {
  catchError,
  concat,
  defer,
  EMPTY,
  filter,
  map,
  merge,
  mergeMap,
  of,
  share,
  startWith,
  switchMap,
  throwError,
  timeout,
  type Observable,
} from 'rxjs';
import { backoff } from './backoff.js';
import { asError, BackendRequestTimeoutError, ConnectError, HandshakeError } from './errors.js';
import { keepAlive } from './keep-alive.js';
import type { BackendLink, OpenLink } from './link.js';
import { listAllTools } from './list-tools.js';
import { isSupportedProtocolVersion, LATEST_PROTOCOL_VERSION } from './protocol.js';
import { requestResult } from './request-result.js';
import { refuseRequest, RpcChannel } from './rpc-channel.js';
import type { BackendEntry } from './schema.js';

export interface BackendSession {
  readonly backend: string;
  readonly channel: RpcChannel;
  readonly protocolVersion: string;
  readonly serverInfo: Record<string, unknown>;
  readonly capabilities: Record<string, unknown>;
}

export type BackendEvent =
  | { type: 'connecting' }
  | { type: 'connected'; session: BackendSession; tools: unknown[] }
  | { type: 'tools'; tools: unknown[] }
  | { type: 'violation'; reason: string }
  | { type: 'failed'; error: Error };

export interface ConnectionDeps {
  openLink: OpenLink;
  jitter: (ms: number) => number;
  /** what the relay declares to backends on its client's behalf */
  clientCapabilities: Record<string, unknown>;
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
  return requestResult(channel, 'initialize', {
    protocolVersion: LATEST_PROTOCOL_VERSION,
    capabilities: deps.clientCapabilities,
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
      };
    }),
  );
}

/** One connected session: emits connected, then re-listed tools and protocol violations; errors when it ends. */
function session$(entry: BackendEntry, link: BackendLink, deps: ConnectionDeps): Observable<BackendEvent> {
  const channel = new RpcChannel(entry.name, link);
  const incoming$ = channel.incoming$.pipe(share());
  const waitMs = entry.settings.connectWaitMs;
  const served$ = incoming$.pipe(
    mergeMap((incoming): Observable<BackendEvent> => {
      if (incoming.kind === 'violation') return of({ type: 'violation', reason: incoming.reason });
      if (incoming.kind === 'request') channel.respond(refuseRequest(incoming.message));
      return EMPTY;
    }),
  );
  const listChanged$ = incoming$.pipe(filter((incoming) => incoming.kind === 'notification' && incoming.message.method === 'notifications/tools/list_changed'));
  const life$ = handshake(entry, channel, deps).pipe(
    switchMap((session) =>
      merge(
        // watch list_changed from the handshake on, and let a newer change cancel an older listing: no change is lost
        listChanged$.pipe(
          startWith(null),
          switchMap(() => listAllTools(channel, waitMs)),
          map((tools, index): BackendEvent => (index === 0 ? { type: 'connected', session, tools } : { type: 'tools', tools })),
        ),
        keepAlive(() => (link.ping ? link.ping() : requestResult(channel, 'ping')), { everyMs: entry.settings.pingIntervalMs, timeoutMs: entry.settings.pongTimeoutMs }),
      ),
    ),
  );
  return merge(served$, life$);
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
