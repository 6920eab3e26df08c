/** One client request to its backend (tools/call, resources/read, prompts/get, ...): wait for the connection, send once, time out, map ids and progress tokens back. */
import { filter, map, Observable, switchMap, take, takeUntil, tap, throwError, timeout, Subscription, type Unsubscribable } from 'rxjs';
import type { BackendSession } from '../backend/connection.js';
import { DEFAULT_SETTINGS } from '../config/schema.js';
import { CallError, NotWrittenError } from '../core/errors.js';
import { callFailure, malformedResultError, toCallError } from './call-errors.js';
import type { RelayEvent } from '../catalogue/events.js';
import { ErrorCode, isObjectRecord, notification, type JsonRpcRequest, type JsonRpcResponse, type Params } from '../core/jsonrpc.js';
import type { Outgoing } from './client-output.js';
import type { CallDeps, Outcome } from './call-deps.js';
import type { CallEvent, CallSink } from '../rpc/rpc-channel.js';
import { spliceResponseId, spliceUndecodedId } from '../rpc/splice-id.js';

export interface ForwardTarget {
  backend: string;
  /** what the errors and the call.done event name: "tool 'x'", "resource 'file:///a'" */
  subject: string;
  /** params as the backend must see them (a prefixed name restored, say) */
  params: Params;
  /** set for tools/call: an oversized result then becomes an isError result, and call.done names the tool */
  tool?: string;
  /** the client's line, when `params` are exactly its params and it holds nothing else: sent with the id swapped */
  line?: string;
}

/**
 * tools/call as the backend must see it: its own name for the tool (`original`, when the relay renamed it), and the
 * client's line to reuse when the params go out exactly as they came
 */
function toolTarget(request: JsonRpcRequest, backend: string, tool: string, original: string, line?: string): ForwardTarget {
  const renamed = original !== tool || request.params === undefined;
  const target: ForwardTarget = { backend, subject: `tool '${tool}'`, tool, params: renamed ? { ...request.params, name: original } : (request.params as Params) };
  if (line !== undefined && !renamed) target.line = line;
  return target;
}

/** tools/call, with the backend's own name for the tool */
export const forwardToolCall = (request: JsonRpcRequest, backend: string, tool: string, deps: CallDeps, original: string = tool): Observable<Outgoing> =>
  forwardRequest(request, toolTarget(request, backend, tool, original), deps);

/**
 * The call, as one Observable: its answer (or an error answer: every failure becomes one), progress before it.
 * Unsubscribing (client cancel) cancels it on the backend; call.done is logged once, however it ends.
 */
export function forwardRequest(request: JsonRpcRequest, target: ForwardTarget, deps: CallDeps): Observable<Outgoing> {
  const call$ = new Observable<Outgoing>((subscriber) => startForward(request, target, deps, subscriber));
  return deps.cancelled$ ? call$.pipe(takeUntil(deps.cancelled$(request.id))) : call$;
}

/** Where a started call's messages go; complete() comes once, last. An rxjs Subscriber is one. */
export interface OutgoingSink {
  next(outgoing: Outgoing): void;
  complete(): void;
}

/**
 * The same call without the Observable around it, for the router's per-call path: it runs at once, and unsubscribing
 * the handle (a client cancel) cancels it on the backend. Cancellation is the caller's (deps.cancelled$ is not read).
 */
export function startForward(request: JsonRpcRequest, target: ForwardTarget, deps: CallDeps, sink: OutgoingSink): Unsubscribable {
  return new ForwardedCall(request, target, deps, sink);
}

/** startForward for tools/call */
export const startToolCall = (request: JsonRpcRequest, backend: string, tool: string, deps: CallDeps, original: string, sink: OutgoingSink, line?: string): Unsubscribable =>
  startForward(request, toolTarget(request, backend, tool, original, line), deps, sink);

/**
 * One forwarded request, written by hand because it runs once per call: a connected backend gets the request at once,
 * with no operator chain and no timer of its own (the channel's deadlines time it out, progress restarting the
 * clock). A backend that is not connected (or a socket that died before the write) takes the slow path: wait up to
 * connectWaitMs for a session, kicking the backoff once, and send there; a request never written is sent again once,
 * the only case where that is safe.
 */
class ForwardedCall implements CallSink, Unsubscribable {
  private readonly started: number;
  private outcome: Outcome = 'cancelled';
  private resultBytes = 0;
  /** where the request is in flight, and its id there (0: none in flight) */
  private session: BackendSession | null = null;
  private backendId = 0;
  private timeoutMs: number = DEFAULT_SETTINGS.timeoutMs;
  /** the slow path's wait for a session */
  private waiting: Subscription | null = null;
  /** a session the request could not be written to (or that died): the wait looks past it */
  private deadSession: BackendSession | null = null;
  private kicked = false;
  private resent = false;
  private ended = false;

  constructor(
    private readonly request: JsonRpcRequest,
    private readonly target: ForwardTarget,
    private readonly deps: CallDeps,
    private readonly sink: OutgoingSink,
  ) {
    this.started = deps.now();
    deps.calls?.started(target.backend, request.id);
    const now = deps.currentStates?.()?.get(target.backend);
    if (now?.phase === 'connected' && now.session !== null) {
      if (this.sendOn(now.session, now.entry.settings.timeoutMs)) return;
      this.deadSession = now.session;
    }
    this.waitForSession();
  }

  /** false when the request was not written (the session is closing): nothing reached the backend */
  private sendOn(session: BackendSession, timeoutMs: number): boolean {
    this.timeoutMs = timeoutMs;
    const { line } = this.target;
    const sent = session.channel.send(this.request.method, this.target.params, this, line === undefined ? { passThrough: true, timeoutMs } : { passThrough: true, timeoutMs, original: { line, id: this.request.id } });
    if (typeof sent === 'number') {
      this.session = session;
      this.backendId = sent;
      return true;
    }
    if (sent instanceof NotWrittenError) return false;
    this.fail(sent);
    return true;
  }

  /** the response or a progress notification, from the channel */
  next(event: CallEvent): void {
    if (event.kind === 'progress') {
      const meta = this.target.params['_meta'] as Params | undefined;
      this.sink.next({ message: notification('notifications/progress', { ...event.params, progressToken: meta?.['progressToken'] }), related: this.request.id });
      return;
    }
    this.backendId = 0;
    this.sink.next(this.answer(event));
  }

  complete(): void {
    this.finish();
  }

  /** the end, once: the sink hears it, then nothing of the call is left running and call.done is logged */
  private finish(): void {
    this.sink.complete();
    this.unsubscribe();
  }

  /** the connection ended with the request in flight, or the request timed out (the channel cancelled it) */
  error(error: Error): void {
    this.backendId = 0;
    // the link learned after send() that the request never left (an HTTP POST whose connection was refused): resend once
    if (error instanceof NotWrittenError && !this.resent && this.session !== null) {
      this.deadSession = this.session;
      this.session = null;
      this.resent = true;
      this.kicked = false;
      this.waitForSession();
      return;
    }
    this.fail(error);
  }

  /** teardown: whatever ended the call (answer, failure, client cancel), nothing of it is left running */
  unsubscribe(): void {
    this.waiting?.unsubscribe();
    this.waiting = null;
    this.cancelOnBackend();
    if (this.ended) return;
    this.ended = true;
    const { tool, backend, subject } = this.target;
    const { calls } = this.deps;
    calls?.ended(backend, this.request.id);
    const ms = Math.round((this.deps.now() - this.started) * 10) / 10;
    const level = this.outcome === 'ok' || this.outcome === 'tool-error' ? 'info' : 'warn';
    const event: RelayEvent =
      tool === undefined
        ? { event: 'call.done', method: this.request.method, subject, backend, ms, outcome: this.outcome, level }
        : { event: 'call.done', tool, backend, ms, outcome: this.outcome, level };
    if (calls) event['client'] = calls.clientId;
    this.deps.emit(event);
    calls?.audit?.({ request: this.request, backend, subject, ...(tool === undefined ? {} : { tool }), ms, outcome: this.outcome, resultBytes: this.resultBytes });
  }

  private cancelOnBackend(): void {
    if (this.backendId === 0 || this.session === null) return;
    this.session.channel.cancel(this.backendId, this.request.method);
    this.backendId = 0;
  }

  /** the backend's response as the client's: its own frame with the id swapped whenever the layout allows */
  private answer(event: Exclude<CallEvent, { kind: 'progress' }>): Outgoing {
    const { request } = this;
    const { backend, tool } = this.target;
    if (event.kind === 'passed') {
      // a large success result, never parsed: the backend's frame goes on with the client's id
      const { frame } = event;
      this.outcome = frame.includes('"isError":true') ? 'tool-error' : 'ok';
      this.resultBytes = typeof frame === 'string' ? frame.length : frame.bytes.length;
      const passed = typeof frame === 'string' ? spliceResponseId(frame, event.id, request.id) : spliceUndecodedId(frame, event.id, request.id);
      if (passed === null) return { message: { ...(JSON.parse(typeof frame === 'string' ? frame : frame.text()) as JsonRpcResponse), id: request.id }, backend, tool };
      return { message: { jsonrpc: '2.0', id: request.id, result: {} }, line: passed, backend, tool };
    }
    const response = event.response;
    if ('result' in response && !isObjectRecord(response.result)) return this.malformed(response.result);
    this.outcome = 'error' in response ? 'error' : response.result['isError'] === true ? 'tool-error' : 'ok';
    this.resultBytes = typeof event.frame === 'string' ? event.frame.length : 0;
    const line = event.frame === undefined || typeof response.id !== 'number' ? null : spliceResponseId(event.frame, response.id, request.id);
    const message = { ...response, id: request.id };
    return line === null ? { message, backend, tool } : { message, line, backend, tool };
  }

  /** a result that is not an object (null, an array, a string) is no MCP answer: the client hears what was wrong */
  private malformed(result: unknown): Outgoing {
    const { backend, subject, tool } = this.target;
    this.outcome = 'error';
    const message = callFailure(this.request.id, malformedResultError(backend, subject, this.request.method, result), this.target);
    return tool === undefined ? { message, backend } : { message, backend, tool };
  }

  /** every failure is an answer: a JSON-RPC error naming backend, subject and what to do */
  private fail(error: unknown): void {
    const { backend, subject } = this.target;
    const callError = toCallError(error, backend, subject, this.timeoutMs);
    this.outcome = callError.code === ErrorCode.CallTimeout ? 'timeout' : callError.code === ErrorCode.OutcomeUnknown ? 'unknown' : 'unavailable';
    this.sink.next({ message: callFailure(this.request.id, callError, this.target) });
    this.finish();
  }

  /** the slow path: a connected session within connectWaitMs (kicking the backoff once), then the send */
  private waitForSession(): void {
    const { backend, subject } = this.target;
    // set before subscribing: a replayed state may send (or fail, ending the call) synchronously, and a resend
    // starts a newer wait from inside this one
    const wait = new Subscription();
    this.waiting = wait;
    wait.add(
      this.deps.states$
      .pipe(
        take(1),
        switchMap((states) => {
          const current = states.get(backend);
          const { connectWaitMs, timeoutMs } = current?.entry.settings ?? DEFAULT_SETTINGS;
          this.timeoutMs = timeoutMs;
          const unavailable = () =>
            new CallError(
              ErrorCode.BackendUnavailable,
              backend,
              subject,
              `the backend is not connected and did not come back within ${connectWaitMs} ms${current?.error ? ` (last error: ${current.error})` : ''}`,
            );
          return this.deps.states$.pipe(
            map((latest) => latest.get(backend)),
            tap((state) => {
              if (!state) throw new CallError(ErrorCode.BackendRemoved, backend, subject, 'the backend was removed from the config while the call waited', 'call relay_get_status to see the backends now configured');
              if ((state.phase !== 'connected' || state.session === this.deadSession) && !this.kicked) {
                this.kicked = true;
                this.deps.kick(backend);
              }
            }),
            filter((state) => state?.phase === 'connected' && state.session !== null && state.session !== this.deadSession),
            map((state) => ({ session: state?.session as BackendSession, timeoutMs: state?.entry.settings.timeoutMs ?? timeoutMs })),
            take(1),
            timeout({ first: connectWaitMs, with: () => throwError(() => unavailable()) }),
          );
        }),
      )
      .subscribe({
        next: ({ session, timeoutMs }) => {
          if (this.sendOn(session, timeoutMs)) return;
          // never written means never seen: the only case where sending again is safe, and only once
          this.deadSession = session;
          this.kicked = false;
          if (this.resent) this.fail(new NotWrittenError(backend));
          else {
            this.resent = true;
            this.waitForSession();
          }
        },
        error: (error: unknown) => this.fail(error),
      }),
    );
  }
}
