/**
 * A session: one client connection (stdio, a WebSocket, an HTTP session) on the shared hub. Its own initialize and
 * capabilities, request ids, progress tokens, the lists it last saw, its log level, subscriptions, the backend
 * requests waiting on it, its calls in flight. It ends when its input ends, taking all of that with it (calls
 * cancelled on their backends); an error that escapes it ends it alone, with a JSON-RPC error to its client.
 */
import { concat, defer, EMPTY, endWith, NEVER, filter, finalize, ignoreElements, map, merge, mergeMap, of, share, switchMap, take, takeUntil, tap, throwError, catchError, type Observable } from 'rxjs';
import type { BackendInbound } from './backend/connection.js';
import type { EmitEvent } from './catalogue/events.js';
import { errorMessage } from './core/errors.js';
import { ErrorCode, failure, notification, type ClientLine, type JsonRpcId } from './core/jsonrpc.js';
import type { Hub } from './hub.js';
import { serializeForClient, type Outgoing } from './session/client-output.js';
import { ClientRecord, type ClientIdentity } from './session/client-record.js';
import { logRank } from './session/clients.js';
import type { CallTracker } from './session/forward.js';
import { declaredToBackends, toClient } from './session/inbound.js';
import { routeClient, type ClientMessage } from './session/in-flight.js';
import type { ListedKind, RequestDeps } from './session/request-deps.js';
import { ServerRequests } from './session/server-requests.js';
import { sessionView } from './session/view.js';
import { createSignal } from './core/signal.js';

export interface SessionDeps {
  identity: ClientIdentity;
  emit: EmitEvent;
  /** a monotonic clock in ms, for call durations */
  now: () => number;
  /** wall-clock ms, for connected_since */
  wallClock: () => number;
}

/** One message for the client, serialized, with what a front needs to know to route it. */
export interface SessionOutput {
  line: ClientLine;
  /** the client request it belongs to: its response (final), or progress or a backend's request during it */
  requestId?: JsonRpcId;
  /** this is the response to requestId: nothing more comes for it */
  final: boolean;
}

/** An error escaped the session: its client was told, and the session is over. */
export class SessionCrashError extends Error {
  override readonly name = 'SessionCrashError';
  constructor(
    readonly clientId: string,
    override readonly cause: unknown,
  ) {
    super(`session ${clientId} failed: ${errorMessage(cause)}`);
  }
}

const isMethod = (kind: 'request' | 'notification', method: string) => (message: ClientMessage) => message.kind === kind && message.message.method === method;

export function session(hub: Hub, messages$: Observable<ClientMessage>, deps: SessionDeps): Observable<SessionOutput> {
  return defer(() => buildSession(hub, messages$, deps));
}

function buildSession(hub: Hub, input$: Observable<ClientMessage>, deps: SessionDeps): Observable<SessionOutput> {
  const { emit, identity } = deps;
  const messages$ = input$.pipe(share());
  // the input's end ends the session; its failure is a crash, reported below, not an end
  const end$ = messages$.pipe(ignoreElements(), endWith(true), catchError(() => NEVER));
  const fromHub = createSignal<{ inbound: BackendInbound; relatedCall?: JsonRpcId }>();
  const record = new ClientRecord(identity, deps.wallClock(), (inbound, relatedCall) => fromHub.fire(relatedCall === undefined ? { inbound } : { inbound, relatedCall }));
  // its own per-client backends start with its initialize, and what they send is this client's alone
  const initialized = createSignal<void>();
  const ready$ = concat(defer(() => (record.capabilities === null ? EMPTY : of(undefined))), initialized.fired$);
  const view = sessionView(hub, ready$, record, (inbound) => {
    const relatedCall = 'id' in inbound.message ? record.latestCallOn(inbound.backend)?.id : undefined;
    record.deliver(inbound, relatedCall);
  });
  record.isolatedStatus = view.isolatedStatus;
  const serverRequests = new ServerRequests(() => record.capabilities ?? {});
  const calls: CallTracker = {
    clientId: identity.id,
    started: (backend, id) => record.callStarted(backend, id, hub.clients.nextSeq()),
    ended: (backend, id) => record.callEnded(backend, id),
  };

  // what the client last saw of each list, from a list answer or a list_changed: a change is only news against that
  const announced = new Map<ListedKind, string>();
  const keys$: Record<ListedKind, Observable<string>> = {
    tools: view.catalogue$.pipe(map((catalogue) => catalogue.key)),
    resources: view.offers$.pipe(map((offers) => offers.resourcesKey)),
    prompts: view.offers$.pipe(map((offers) => offers.promptsKey)),
  };
  const listChanged$ = messages$.pipe(
    filter(isMethod('notification', 'notifications/initialized')),
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

  const fromBackends$ = fromHub.fired$.pipe(
    // each client is sent the backends' log messages at or above its own level
    filter(({ inbound }) => inbound.message.method !== 'notifications/message' || record.logLevel === null || logRank(inbound.message.params?.['level']) >= logRank(record.logLevel)),
    map(({ inbound, relatedCall }) => toClient(inbound, serverRequests, relatedCall)),
    filter((outgoing): outgoing is Outgoing => outgoing !== null),
  );
  // a backend's request to the client dies with the backend's session or its removal (either changes the states)
  const withdrawn$ = view.states$.pipe(
    filter(() => serverRequests.waiting > 0),
    mergeMap((states) => serverRequests.withdrawEnded((backend) => states.has(backend))),
  );

  const requestDeps: RequestDeps = {
    states$: view.states$,
    catalogue$: view.catalogue$,
    offers$: view.offers$,
    firstListReady$: view.firstListReady$,
    currentStates: view.currentStates,
    currentCatalogue: view.currentCatalogue,
    kick: view.kick,
    isIsolated: view.isIsolated,
    management: hub.management,
    client: record,
    clients: hub.clients,
    calls,
    onListed: (kind, key) => announced.set(kind, key),
    onInitialize: (request) => {
      const params = request.params ?? {};
      record.capabilities = declaredToBackends({ message: request });
      record.clientInfo = params['clientInfo'];
      emit({ event: 'client.initialize', client: identity.id, front: identity.front, clientInfo: params['clientInfo'], protocolVersion: params['protocolVersion'], level: 'info' });
      hub.clientInitialized();
      initialized.fire();
    },
    onClientResponse: (response) => serverRequests.resolve(response),
    onClientProgress: (params) => serverRequests.progressFromClient(params),
    serverInfo: hub.serverInfo,
    now: deps.now,
    emit,
  };
  const responses$ = routeClient(messages$, requestDeps);

  const output$ = merge(responses$, listChanged$, fromBackends$, withdrawn$, view.run$).pipe(
    map((outgoing) => {
      const serialized = serializeForClient(outgoing, hub.maxClientMessageBytes());
      const over = 'oversized' in serialized ? serialized.oversized : 'dropped' in serialized ? serialized.dropped : null;
      if (over) emit({ event: 'client.oversized', client: identity.id, bytes: over.bytes, limit: over.limit, backend: over.outgoing.backend, tool: over.outgoing.tool, dropped: 'dropped' in serialized, level: 'warn' });
      return 'line' in serialized ? toOutput(serialized.line, outgoing) : null;
    }),
    filter((output): output is SessionOutput => output !== null),
  );

  hub.clients.add(record);
  emit({ event: 'client.connect', client: identity.id, front: identity.front, ...(identity.remote === undefined ? {} : { remote: identity.remote }), level: 'info' });
  return output$.pipe(
    catchError((error: unknown) => {
      emit({ event: 'session.crash', client: identity.id, front: identity.front, error: error instanceof Error ? (error.stack ?? error.message) : String(error), level: 'error' });
      const told: SessionOutput = { line: JSON.stringify(failure(null, ErrorCode.InternalError, `mcp-relay ended this session after an internal error (${errorMessage(error)}); the relay and its backends keep running: reconnect to start a new session`)), final: false };
      return concat(of(told), throwError(() => new SessionCrashError(identity.id, error)));
    }),
    finalize(() => {
      // the calls in flight were cancelled on their backends by the teardown above; what waits on this client is answered
      const abandoned = serverRequests.abandonAll('disconnected');
      hub.clientLeft(record);
      emit({ event: 'client.disconnect', client: identity.id, front: identity.front, callsDone: record.callsDone, abandonedRequests: abandoned, level: 'info' });
    }),
    // the input's end ends the session: what is still in flight is cancelled, not waited for
    takeUntil(end$),
  );
}

function toOutput(line: ClientLine, outgoing: Outgoing): SessionOutput {
  const { message } = outgoing;
  if ('id' in message && message.id !== null && !('method' in message)) return { line, requestId: message.id, final: true };
  return outgoing.related === undefined ? { line, final: false } : { line, requestId: outgoing.related, final: false };
}
