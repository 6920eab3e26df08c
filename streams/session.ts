/**
 * A session: one client connection (stdio, a WebSocket, an HTTP session) on the shared hub. Its own initialize and
 * capabilities, request ids, progress tokens, the lists it last saw, its log level, subscriptions, the backend
 * requests waiting on it, its calls in flight. It ends when its input ends, taking all of that with it (calls
 * cancelled on their backends); an error that escapes it ends it alone, with a JSON-RPC error to its client.
 *
 * Written by hand rather than as an operator graph, because it exists once per connected client: as operators
 * (share, takeUntil, merge, a list_changed chain per kind) an idle initialized session held 66.8 KB of heap, about 50
 * subscribers and 350 closures; written out it holds 11.3 KB (measured with 2,000 sessions and a forced GC; see
 * docs/benchmarks.md). Its parts: one subscription to the client's input (the in-flight table), one to the view, and
 * the hub's direct calls to record.deliver.
 */
import { concat, defer, EMPTY, filter, map, Observable, of, Subscription, tap } from 'rxjs';
import type { BackendInbound } from './backend/connection.js';
import type { EmitEvent } from './catalogue/events.js';
import { errorMessage } from './core/errors.js';
import { ErrorCode, failure, isObjectRecord, notification, type ClientLine, type JsonRpcId, type JsonRpcRequest } from './core/jsonrpc.js';
import { resourceOwner } from './catalogue/offers.js';
import { createSignal } from './core/signal.js';
import type { Hub } from './hub.js';
import { serializeForClient, type Outgoing } from './session/client-output.js';
import { ClientRecord, type ClientIdentity } from './session/client-record.js';
import { logRank } from './session/clients.js';
import type { CallTracker } from './session/call-deps.js';
import { declaredToBackends, toClient } from './session/inbound.js';
import { routeClient, type ClientMessage } from './session/in-flight.js';
import type { ListedKind, RequestDeps } from './session/request-deps.js';
import { ServerRequests } from './session/server-requests.js';
import { sessionView, type SessionView, type ViewSnapshot } from './session/view.js';
import { buildInstructions } from './catalogue/instructions.js';
import { initialBackendState } from './backend/backend-state.js';
import type { BackendStates } from './backend/backends.js';
import { LOCAL_PRINCIPAL, type Principal } from './access/access.js';
import type { Admission, Refusal } from './access/admission.js';
import { restrictedView } from './session/access-view.js';
import { restrictManagement } from './management/restrict.js';
import type { SessionTracing } from './core/tracing.js';
import { EraGate } from './session/era-gate.js';

export interface SessionDeps {
  identity: ClientIdentity;
  emit: EmitEvent;
  /** a monotonic clock in ms, for call durations */
  now: () => number;
  /** wall-clock ms, for connected_since */
  wallClock: () => number;
  /** who the client is and what it may use; the stdio user (everything) when absent */
  principal?: Principal;
  /** its rate and in-flight limits (network clients); none when absent */
  admission?: Admission;
  /** a per-process random seed for the tables keyed by the client's request ids */
  idSeed?: number;
  /** set when an audit log is kept: each forwarded call, once it is over */
  audit?: CallTracker['audit'];
  /** the input's end is not the client's (stdin closed, stdout still read): the calls in flight are answered first */
  answerAfterInput?: boolean;
  /** limits.maxInFlightPerClient: its calls to backends beyond this wait, in order, for one of its own to finish */
  maxInFlight?: number;
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

const LIST_KEYS: Readonly<Record<ListedKind, (view: ViewSnapshot) => string>> = {
  tools: (view) => view.catalogue.key,
  resources: (view) => view.offers.resourcesKey,
  prompts: (view) => view.offers.promptsKey,
};

const LIST_KINDS = Object.entries(LIST_KEYS) as ReadonlyArray<[ListedKind, (view: ViewSnapshot) => string]>;

export function session(hub: Hub, messages$: Observable<ClientMessage>, deps: SessionDeps): Observable<SessionOutput> {
  return new Observable<SessionOutput>((subscriber) => {
    const { emit, identity } = deps;
    const principal = deps.principal ?? LOCAL_PRINCIPAL;
    const { access } = principal;
    const record = new ClientRecord(identity, deps.wallClock());
    if (!access.full) record.mayUse = access.backend;
    const serverRequests = new ServerRequests(
      () => record.capabilities ?? {},
      () => record.era === 'modern',
    );
    const listKeys = (kind: ListedKind): string | null => (lastView === null ? null : LIST_KEYS[kind](lastView));
    const eras = new EraGate({
      send: (outgoing) => send(outgoing),
      firstModern: () => {
        if (record.era !== 'unknown') return;
        record.era = 'modern';
        // the backends' handshakes wait for a first client: a modern one never initializes, its first request is it
        hub.clientInitialized();
      },
      listKeys,
      serverInfo: hub.serverInfo,
    });
    const running = new Subscription();
    let ended = false;

    const traffic = hub.traffic[identity.front];
    const trace = hub.tracing?.session(identity);
    const send = (answer: Outgoing) => {
      if (ended) return;
      traffic.out++;
      const outgoing = eras.out(answer);
      if (trace !== undefined && 'id' in outgoing.message && !('method' in outgoing.message)) trace.answered(outgoing.message);
      const serialized = serializeForClient(outgoing, hub.maxClientMessageBytes());
      const over = 'oversized' in serialized ? serialized.oversized : 'dropped' in serialized ? serialized.dropped : null;
      if (over) emit({ event: 'client.oversized', client: identity.id, bytes: over.bytes, limit: over.limit, backend: over.outgoing.backend, tool: over.outgoing.tool, dropped: 'dropped' in serialized, level: 'warn' });
      if ('line' in serialized) subscriber.next(toOutput(serialized.line, outgoing));
    };
    const crash = (error: unknown) => {
      if (ended) return;
      emit({ event: 'session.crash', client: identity.id, front: identity.front, error: error instanceof Error ? (error.stack ?? error.message) : String(error), level: 'error' });
      send({ message: failure(null, ErrorCode.InternalError, `mcp-relay ended this session after an internal error (${errorMessage(error)}); the relay and its backends keep running: reconnect to start a new session`) });
      ended = true;
      subscriber.error(new SessionCrashError(identity.id, error));
    };

    // what the hub routes to this client: each client is sent the backends' log messages at or above its own level
    record.deliver = (inbound: BackendInbound, relatedCall?: JsonRpcId) => {
      const { message } = inbound;
      // a backend it may not use says nothing to it (its log lines, its resource updates)
      if (!access.full && !access.backend(inbound.backend)) return;
      // a 2026-07-28 client is sent nothing it did not ask for: no log lines, no resource updates (its requests go to
      // ServerRequests, which answers them for it)
      if (record.era === 'modern' && !('id' in message) && message.method !== 'notifications/cancelled') return;
      if (message.method === 'notifications/message' && record.logLevel !== null && logRank(message.params?.['level']) < logRank(record.logLevel)) return;
      const outgoing = toClient(inbound, serverRequests, relatedCall);
      if (outgoing) send(outgoing);
    };

    // its own per-client backends start with its initialize, and what they send is this client's alone
    const initialized = createSignal<void>();
    const ready$ = concat(defer(() => (record.capabilities === null ? EMPTY : of(undefined))), initialized.fired$);
    const view = restrictedView(
      sessionView(hub, ready$, record, (inbound) => record.deliver(inbound, 'id' in inbound.message ? record.latestCallOn(inbound.backend)?.id : undefined), principal),
      access,
    );
    record.isolatedStatus = view.isolatedStatus;

    // list_changed only for a change against what this client last saw, once it said it is initialized
    const announced = new Map<ListedKind, string>();
    let notified = false;
    let lastView: ViewSnapshot | null = null;
    const viewChanged = (snapshot: ViewSnapshot) => {
      lastView = snapshot;
      if (notified) {
        for (const [kind, keyOf] of LIST_KINDS) {
          const key = keyOf(snapshot);
          if (!announced.has(kind) || announced.get(kind) === key) continue;
          announced.set(kind, key);
          send({ message: notification(`notifications/${kind}/list_changed`) });
        }
      }
      for (const changed of eras.viewChanged()) send(changed);
      // a backend's request to the client dies with the backend's session or its removal
      if (serverRequests.waiting > 0) for (const withdrawn of serverRequests.withdrawEnded((backend) => snapshot.states.has(backend))) send(withdrawn);
    };

    const calls: CallTracker = {
      clientId: identity.id,
      started: (backend, id) => record.callStarted(backend, id, hub.clients.nextSeq()),
      ended: (backend, id) => record.callEnded(backend, id),
      ...(deps.audit ? { audit: deps.audit } : {}),
    };
    const limited = deps.admission ? admitWith(deps.admission, deps, principal) : null;
    const requestDeps: RequestDeps = {
      states$: view.states$,
      catalogue$: view.catalogue$,
      offers$: view.offers$,
      firstListReady$: view.firstListReady$,
      currentStates: view.currentStates,
      currentCatalogue: view.currentCatalogue,
      kick: view.kick,
      isIsolated: view.isIsolated,
      management: restrictManagement(hub.management, access, view),
      principal,
      ...(access.full ? {} : { onUnknown: (request: JsonRpcRequest) => deniedAccess(request, view.unrestricted(), deps, principal) }),
      ...(deps.idSeed === undefined ? {} : { idSeed: deps.idSeed }),
      ...(limited ? { admit: limited.admit, admitNotification: limited.admitNotification } : {}),
      client: record,
      clients: hub.clients,
      calls,
      drain: hub.drain,
      ...(trace === undefined ? {} : { trace }),
      instructions: () => instructionsNow(hub, view, access.full),
      ...(deps.maxInFlight === undefined ? {} : { maxInFlight: deps.maxInFlight }),
      // a stdio client that closed stdin still reads stdout: its calls in flight are answered (main.ts bounds the wait)
      endWithInput: deps.answerAfterInput !== true,
      onListed: (kind, key) => announced.set(kind, key),
      onInitialize: (request) => {
        const params = request.params ?? {};
        record.era = 'legacy';
        record.capabilities = declaredToBackends({ message: request });
        record.clientInfo = params['clientInfo'];
        emit({ event: 'client.initialize', client: identity.id, front: identity.front, clientInfo: params['clientInfo'], protocolVersion: params['protocolVersion'], level: 'info' });
        hub.clientInitialized();
        initialized.fire();
      },
      onInitialized: () => {
        if (notified) return;
        notified = true;
        // what changed between its last list and now is news too
        if (lastView) viewChanged(lastView);
      },
      onClientResponse: (response) => serverRequests.resolve(response),
      onClientProgress: (params) => serverRequests.progressFromClient(params),
      serverInfo: hub.serverInfo,
      now: deps.now,
      emit,
    };

    hub.clients.add(record);
    emit({ event: 'client.connect', client: identity.id, front: identity.front, ...(identity.remote === undefined ? {} : { remote: identity.remote }), level: 'info' });
    running.add(view.snapshots$.subscribe({ next: viewChanged, error: crash }));
    // the input's end ends the session (routeClient completes at once, endWithInput); its failure is a crash
    const counted$ = messages$.pipe(
      tap(() => traffic.in++),
      map((message) => eras.in(message)),
      filter((message): message is ClientMessage => message !== null),
    );
    running.add(routeClient(trace === undefined ? counted$ : counted$.pipe(tap((message) => traceIn(trace, message))), requestDeps).subscribe({ next: send, error: crash, complete: () => subscriber.complete() }));

    return () => {
      ended = true;
      // the calls in flight are cancelled on their backends by this; then what waits on this client is answered
      running.unsubscribe();
      trace?.closed();
      limited?.flush();
      record.deliver = () => undefined;
      const abandoned = serverRequests.abandonAll('disconnected');
      hub.clientLeft(record);
      emit({ event: 'client.disconnect', client: identity.id, front: identity.front, callsDone: record.callsDone, abandonedRequests: abandoned, level: 'info' });
    };
  });
}

/** a client message as its request spans see it: a request starts one, a cancellation ends one */
function traceIn(trace: SessionTracing, message: ClientMessage): void {
  if (message.kind === 'request') trace.requestIn(message.message);
  else if (message.kind === 'notification' && message.message.method === 'notifications/cancelled') {
    const id = message.message.params?.['requestId'];
    if (typeof id === 'string' || typeof id === 'number') trace.cancelled(id);
  }
}

/**
 * A principal asked for something that exists but is not its to use: it was answered as if unknown (so it learns
 * nothing), and the operator hears of it (access.denied: counted, audited). A name that exists nowhere is a typo.
 */
function deniedAccess(request: JsonRpcRequest, raw: ViewSnapshot | null, deps: SessionDeps, principal: Principal): void {
  if (!raw) return;
  const params = request.params ?? {};
  const ref = isObjectRecord(params['ref']) ? params['ref'] : {};
  const [kind, name] =
    request.method === 'tools/call'
      ? ['tool', params['name']]
      : request.method === 'prompts/get' || ref['type'] === 'ref/prompt'
        ? ['prompt', request.method === 'prompts/get' ? params['name'] : ref['name']]
        : ['resource', request.method === 'completion/complete' ? ref['uri'] : params['uri']];
  if (typeof name !== 'string') return;
  const exists = kind === 'tool' ? raw.catalogue.routes.has(name) : kind === 'prompt' ? raw.offers.promptRoutes.has(name) : resourceOwner(raw.offers, name) !== undefined;
  if (exists) deps.emit({ event: 'access.denied', client: deps.identity.id, front: deps.identity.front, principal: principal.name, kind, name, method: request.method, level: 'warn' });
}

/** a flooding client is logged once a second at most (with how many were refused), never once per request */
const LIMITED_LOG_MS = 1_000;

/** a refused request is answered with the limit and when to retry, and never reaches a backend */
function admitWith(admission: Admission, deps: SessionDeps, principal: Principal): { admit: NonNullable<RequestDeps['admit']>; admitNotification: () => boolean; flush: () => void } {
  // per limit: how many were refused since the last line, and the latest wait
  const unlogged = new Map<string, { refused: number; retryAfterMs: number }>();
  let loggedAt = -Infinity;
  const flush = () => {
    for (const [limit, { refused, retryAfterMs }] of unlogged) deps.emit({ event: 'client.limited', client: deps.identity.id, front: deps.identity.front, principal: principal.name, limit, retryAfterMs, refused, level: 'warn' });
    unlogged.clear();
    loggedAt = deps.now();
  };
  const refused = (refusal: Refusal) => {
    unlogged.set(refusal.limit, { refused: (unlogged.get(refusal.limit)?.refused ?? 0) + 1, retryAfterMs: refusal.retryAfterMs });
    if (deps.now() - loggedAt >= LIMITED_LOG_MS) flush();
  };
  return {
    admit: (request) => {
      const refusal = admission.admit();
      if (!refusal) return null;
      refused(refusal);
      return failure(request.id, ErrorCode.RateLimited, refusal.message, { limit: refusal.limit, retryAfterMs: refusal.retryAfterMs });
    },
    // a notification is never in flight: only the rates apply
    admitNotification: () => {
      const refusal = admission.admit();
      if (refusal) refused(refusal);
      return refusal === null;
    },
    // the refusals not logged yet are counted when the session ends
    flush,
  };
}

function toOutput(line: ClientLine, outgoing: Outgoing): SessionOutput {
  const { message } = outgoing;
  if ('id' in message && message.id !== null && !('method' in message)) return { line, requestId: message.id, final: true };
  return outgoing.related === undefined ? { line, final: false } : { line, requestId: outgoing.related, final: false };
}

/**
 * The instructions for a client's initialize: from its view (what it may use) once there is one. Before the first
 * view (the first initialize is what starts the handshakes), the configured names, for a full-access client only: a
 * restricted one must not learn the names of backends it cannot use.
 */
function instructionsNow(hub: Hub, view: Pick<SessionView, 'currentStates' | 'currentCatalogue'>, full: boolean): string {
  const config = hub.currentConfig();
  const states = view.currentStates();
  const catalogue = view.currentCatalogue();
  if (states !== undefined && catalogue !== undefined && states.size > 0) return buildInstructions(states, catalogue, config.instructionsMaxChars);
  const configured: BackendStates = full
    ? new Map(config.backends.filter((entry) => entry.enabled && entry.isolation === 'shared').map((entry) => [entry.name, initialBackendState(entry, 0)]))
    : new Map();
  return buildInstructions(configured, { perBackend: new Map() }, config.instructionsMaxChars);
}
