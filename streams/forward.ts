/** One client request to its backend (tools/call, resources/read, prompts/get, ...): wait for the connection, send once, time out, map ids and progress tokens back. */
import { asyncScheduler, catchError, defer, filter, finalize, map, Observable, of, retry, switchMap, take, takeUntil, tap, throwError, timeout, TimeoutError, type Subscription } from 'rxjs';
import type { BackendSession } from './connection.js';
import { DEFAULT_SETTINGS } from './schema.js';
import type { BackendStates } from './backends.js';
import { asError, CallError, NotWrittenError, OutcomeUnknownError, errorMessage } from './errors.js';
import type { EmitEvent } from './events.js';
import { ErrorCode, failure, notification, type JsonRpcRequest, type JsonRpcResponse, type Params } from './jsonrpc.js';
import type { Outgoing } from './client-output.js';
import type { CallEvent } from './rpc-channel.js';
import { spliceResponseId } from './splice-id.js';

export interface CallDeps {
  states$: Observable<BackendStates>;
  /** the states as they are now, for the hot path (the states$ replay, without a subscription per call) */
  currentStates?: () => BackendStates | undefined;
  kick: (backend: string) => void;
  /** emits when the client cancels this request */
  /** emits when the client cancels this request; absent when the caller ends the request itself (the router does) */
  cancelled$?: (id: JsonRpcRequest['id']) => Observable<unknown>;
  now: () => number;
  emit: EmitEvent;
}

type Outcome = 'ok' | 'tool-error' | 'error' | 'timeout' | 'unknown' | 'unavailable' | 'cancelled';

const isTimeout = (error: unknown): boolean => error instanceof Error && error.name === 'TimeoutError';

export interface ForwardTarget {
  backend: string;
  /** what the errors and the call.done event name: "tool 'x'", "resource 'file:///a'" */
  subject: string;
  /** params as the backend must see them (a prefixed name restored, say) */
  params: Params;
  /** set for tools/call: an oversized result then becomes an isError result, and call.done names the tool */
  tool?: string;
}

/** tools/call, with the backend's own name for the tool */
export const forwardToolCall = (request: JsonRpcRequest, backend: string, tool: string, deps: CallDeps, original: string = tool): Observable<Outgoing> =>
  forwardRequest(request, { backend, subject: `tool '${tool}'`, tool, params: original === tool ? (request.params ?? {}) : { ...request.params, name: original } }, deps);

export function forwardRequest(request: JsonRpcRequest, target: ForwardTarget, deps: CallDeps): Observable<Outgoing> {
  const started = deps.now();
  const { backend, subject, params, tool } = target;
  const meta = params['_meta'];
  const clientToken = meta && typeof meta === 'object' && 'progressToken' in meta ? (meta as Params)['progressToken'] : undefined;
  let outcome: Outcome = 'cancelled';

  let deadSession: BackendSession | null = null;
  // one immediate connection attempt per call (the backoff remembers it), not one per state change
  let kicked = false;
  // the slow path is only built when needed: on the hot path none of this is allocated
  const session$ = defer(() =>
    deps.states$.pipe(
      map((states) => states.get(backend)),
      tap((state) => {
        if (!state) throw new CallError(ErrorCode.BackendRemoved, backend, subject, 'the backend was removed from the config while the call waited', 'call relay_get_status to see the backends now configured');
        if ((state.phase !== 'connected' || state.session === deadSession) && !kicked) {
          kicked = true;
          deps.kick(backend);
        }
      }),
      map((state) => (state?.phase === 'connected' && state.session !== deadSession ? state.session : null)),
      filter((session): session is BackendSession => session !== null),
      take(1),
    ),
  );

  const toOutgoing = (event: CallEvent): Outgoing => {
    if (event.kind === 'progress') {
      return { message: notification('notifications/progress', { ...event.params, progressToken: clientToken }) };
    }
    if (event.kind === 'passed') {
      // a large success result, never parsed: the backend's frame goes on with the client's id
      outcome = event.frame.includes('"isError":true') ? 'tool-error' : 'ok';
      const passed = spliceResponseId(event.frame, event.id, request.id);
      const message = passed === null ? { ...(JSON.parse(event.frame) as JsonRpcResponse), id: request.id } : { jsonrpc: '2.0' as const, id: request.id, result: {} };
      const out: Outgoing = { message, backend, ...(tool === undefined ? {} : { tool }) };
      return passed === null ? out : { ...out, line: passed };
    }
    const response = event.response;
    outcome = 'error' in response ? 'error' : response.result['isError'] === true ? 'tool-error' : 'ok';
    const line = event.frame === undefined || typeof response.id !== 'number' ? null : spliceResponseId(event.frame, response.id, request.id);
    const out: Outgoing = { message: { ...response, id: request.id }, backend, ...(tool === undefined ? {} : { tool }) };
    return line === null ? out : { ...out, line };
  };
  const toFailure = (error: unknown, timeoutMs: number): Outgoing => {
    const callError = toCallError(error, backend, subject, timeoutMs);
    outcome = callError.code === ErrorCode.CallTimeout ? 'timeout' : callError.code === ErrorCode.OutcomeUnknown ? 'unknown' : 'unavailable';
    return { message: failure(request.id, callError.code, callError.message, { backend, ...(tool === undefined ? { subject } : { tool }), reason: callError.what }) };
  };
  const done = () =>
    deps.emit({ event: 'call.done', ...(tool === undefined ? { method: request.method, subject } : { tool }), backend, ms: Math.round((deps.now() - started) * 10) / 10, outcome, level: outcome === 'ok' || outcome === 'tool-error' ? 'info' : 'warn' });
  const handlers = { toOutgoing, toFailure };

  /** the backend is not connected (or its socket just died): wait for a session, send, retry once if never written */
  const slow$ = defer(() =>
    deps.states$.pipe(
      take(1),
      map((states) => states.get(backend)),
      switchMap((current) => {
        const { connectWaitMs, timeoutMs } = current?.entry.settings ?? DEFAULT_SETTINGS;
        const unavailable = () =>
          new CallError(
            ErrorCode.BackendUnavailable,
            backend,
            subject,
            `the backend is not connected and did not come back within ${connectWaitMs} ms${current?.error ? ` (last error: ${current.error})` : ''}`,
          );
        return session$.pipe(
          timeout({ first: connectWaitMs, with: () => throwError(() => unavailable()) }),
          switchMap((session) =>
            sendNow$(session, timeoutMs, request.method, params, handlers).pipe(
              tap({
                error: () => {
                  deadSession = session;
                  kicked = false;
                },
              }),
            ),
          ),
          // never written means never seen: the only case where sending again is safe
          retry({ count: 1, delay: (error: unknown) => (error instanceof NotWrittenError ? of(0) : throwError(() => asError(error))) }),
          catchError((error: unknown) => of(toFailure(error, timeoutMs))),
        );
      }),
    ),
  );

  // the hot path: the backend is connected now, so send at once, with one hand-made subscriber instead of an operator chain
  const now = deps.currentStates?.()?.get(backend);
  const out$ =
    now?.phase === 'connected' && now.session !== null
      ? sendNow$(now.session, now.entry.settings.timeoutMs, request.method, params, handlers).pipe(
          // never written: the slow path waits for the next session and sends it there
          catchError(() => {
            deadSession = now.session;
            return slow$;
          }),
        )
      : slow$;
  const logged$ = out$.pipe(finalize(done));
  return deps.cancelled$ ? logged$.pipe(takeUntil(deps.cancelled$(request.id))) : logged$;
}

interface SendNowHandlers {
  toOutgoing: (event: CallEvent) => Outgoing;
  toFailure: (error: unknown, timeoutMs: number) => Outgoing;
}

/**
 * One request on one session, written by hand: one subscriber and one timer per call instead of an operator chain.
 * The timer is timeout({ each }): progress from the backend restarts it. Every failure becomes an error answer,
 * except NotWrittenError, which errors: the request never left, and the caller may send it elsewhere.
 */
function sendNow$(session: BackendSession, timeoutMs: number, method: string, params: Params, handlers: SendNowHandlers): Observable<Outgoing> {
  return new Observable<Outgoing>((subscriber) => {
    let clock: Subscription | null = null;
    let call: Subscription | null = null;
    // set once the backend's request has ended here (answered, failed, or never written)
    let ended = false;
    const arm = () => {
      clock?.unsubscribe();
      clock = asyncScheduler.schedule(() => {
        call?.unsubscribe();
        subscriber.next(handlers.toFailure(new TimeoutError(), timeoutMs));
        subscriber.complete();
      }, timeoutMs);
    };
    call = session.channel.request(method, params, { passThrough: true }).subscribe({
      next: (event) => {
        arm();
        subscriber.next(handlers.toOutgoing(event));
      },
      error: (error: unknown) => {
        ended = true;
        clock?.unsubscribe();
        if (error instanceof NotWrittenError) {
          subscriber.error(error);
          return;
        }
        subscriber.next(handlers.toFailure(error, timeoutMs));
        subscriber.complete();
      },
      complete: () => {
        ended = true;
        clock?.unsubscribe();
        subscriber.complete();
      },
    });
    if (!ended) arm();
    return () => {
      clock?.unsubscribe();
      call?.unsubscribe();
    };
  });
}

function toCallError(error: unknown, backend: string, subject: string, timeoutMs: number): CallError {
  if (error instanceof CallError) return error;
  if (isTimeout(error)) {
    return new CallError(ErrorCode.CallTimeout, backend, subject, `no response within the call timeout of ${timeoutMs} ms (timeoutMs in backends.yaml); the relay cancelled the request on the backend`, 'retry later, raise timeoutMs for this backend, or call relay_get_status to check its health');
  }
  if (error instanceof OutcomeUnknownError) {
    return new CallError(ErrorCode.OutcomeUnknown, backend, subject, `${error.message}; the outcome is unknown and the relay did not send it again`, 'check whether the action took effect before calling again; relay_get_status shows the backend\'s health');
  }
  return new CallError(ErrorCode.BackendUnavailable, backend, subject, errorMessage(error));
}
