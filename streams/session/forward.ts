/** One client request to its backend (tools/call, resources/read, prompts/get, ...): through the backend's gate, send once, time out, map ids and progress tokens back. */
import { Observable, take, takeUntil, Subscription, type Unsubscribable } from 'rxjs';
import type { BackendState } from '../backend/backend-state.js';
import type { BackendSession } from '../backend/connection.js';
import type { BackendGate, GateWaiter, Verdict } from '../backend/gate/backend-gate.js';
import { DEFAULT_SETTINGS, type BackendSettings } from '../config/schema.js';
import { BackendRemovedError, ConnectionClosedError, NotWrittenError, OutcomeUnknownError, ShuttingDownError } from '../core/errors.js';
import type { Abortable } from './drain.js';
import { callFailure, isValidError, malformedErrorError, malformedResultError, toCallError } from './call-errors.js';
import type { RelayEvent } from '../catalogue/events.js';
import { ErrorCode, isObjectRecord, notification, type JsonRpcRequest, type JsonRpcResponse, type Params } from '../core/jsonrpc.js';
import type { Outgoing } from './client-output.js';
import type { CallDeps, Outcome } from './call-deps.js';
import type { CallEvent, CallSink } from '../rpc/rpc-channel.js';
import { spliceResponseId, spliceUndecodedId } from '../rpc/splice-id.js';
import { redactUrl } from '../core/redact.js';
import type { BackendCallSpan } from '../core/tracing.js';
import { spliceTraceMeta } from '../rpc/splice-meta.js';

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

/** backend URLs as spans show them, parsed once each (a URL per traced call was measurable); bounded by a reset */
const redacted = new Map<string, string>();
function redactedUrl(url: string): string {
  let shown = redacted.get(url);
  if (shown === undefined) {
    if (redacted.size >= 1_000) redacted.clear();
    redacted.set(url, (shown = redactUrl(url)));
  }
  return shown;
}

/** params with the relay's trace context in _meta, in place of the client's (the rest of _meta goes as it came) */
function withTraceMeta(params: Params, trace: Readonly<Record<string, string>>): Params {
  const meta = params['_meta'];
  const kept: Params = {};
  if (isObjectRecord(meta)) for (const key in meta) if (key !== 'traceparent' && key !== 'tracestate') kept[key] = meta[key];
  return { ...params, _meta: { ...kept, ...trace } };
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
 * One forwarded request, written by hand because it runs once per call: it enters the backend's gate (breaker,
 * queue, slots), which sends it at once on a connected backend with a free slot, with no operator chain and no timer
 * of its own (the channel's deadlines time it out, progress restarting the clock). Otherwise it waits in the gate's
 * bounded queue (kicking the backoff once) and goes when the backend is back or a slot frees. A request never
 * written is sent again once, on another session: the only case where that is safe.
 */
class ForwardedCall implements CallSink, Unsubscribable, GateWaiter, Abortable {
  private readonly started: number;
  private outcome: Outcome = 'cancelled';
  private resultBytes = 0;
  /** where the request is in flight, and its id there (0: none in flight) */
  private session: BackendSession | null = null;
  private backendId = 0;
  private timeoutMs: number = DEFAULT_SETTINGS.timeoutMs;
  /** the gate the call entered: it is told once how the call ended */
  private gate: BackendGate | null = null;
  private verdict: Verdict = 'none';
  private failure = '';
  /** the first states, when the call came before them */
  private waiting: Subscription | null = null;
  /** a session the request could not be written to (it is closing): the gate offers another */
  avoid: BackendSession | null = null;
  private kicked = false;
  private resent = false;
  private ended = false;
  /** its span, when traces are exported: from the gate to the end, so a wait in the queue shows in it */
  private span: BackendCallSpan | null = null;
  private spanEnded = false;
  /** the error the client was answered with, for the span */
  private reason: string | undefined;

  constructor(
    private readonly request: JsonRpcRequest,
    private readonly target: ForwardTarget,
    private readonly deps: CallDeps,
    private readonly sink: OutgoingSink,
  ) {
    this.started = deps.now();
    deps.calls?.started(target.backend, request.id);
    if (deps.drain !== undefined && !deps.drain.enter(this)) {
      this.fail(new ShuttingDownError(false, 0));
      return;
    }
    const states = deps.currentStates?.();
    if (states !== undefined) {
      this.enter(states.get(target.backend));
      return;
    }
    // before the first states (a call at start-up): the replayed states$ says where the backend is
    const wait = new Subscription();
    this.waiting = wait;
    wait.add(deps.states$.pipe(take(1)).subscribe({ next: (first) => this.enter(first.get(target.backend)), error: (error: unknown) => this.fail(error) }));
  }

  /** into the backend's gate: sent now, queued (the backoff kicked once), or refused (the call fails) */
  private enter(state: BackendState | undefined): void {
    this.waiting = null;
    const { backend } = this.target;
    if (state?.gate === undefined) {
      this.fail(new BackendRemovedError(backend));
      return;
    }
    this.timeoutMs = state.entry.settings.timeoutMs;
    if (this.deps.trace !== undefined) this.startSpan(state);
    this.enterGate(state.gate);
  }

  private enterGate(gate: BackendGate): void {
    this.gate = gate;
    if (gate.enter(this) === 'queued' && !gate.connected && !this.kicked) {
      this.kicked = true;
      this.deps.kick(this.target.backend);
    }
  }

  /** from the gate: go out on this session now */
  go(session: BackendSession, settings: BackendSettings): void {
    if (!this.sendOn(session, settings.timeoutMs)) this.notWritten(session);
  }

  /** from the gate: the call will not go (breaker open, a queue bound, the backend removed) */
  refuse(error: Error): void {
    this.gate = null;
    this.fail(error);
  }

  private startSpan(state: BackendState): void {
    const { backend, tool, subject } = this.target;
    this.span = this.deps.trace?.backendCall(this.request.id, { backend, url: redactedUrl(state.entry.url), method: this.request.method, subject, ...(tool === undefined ? {} : { tool }) }) ?? null;
  }

  /** the span ends before the answer goes out, so it lies within its request's (once: a cancel ends it at teardown) */
  private endSpan(): void {
    if (this.span === null || this.spanEnded) return;
    this.spanEnded = true;
    this.span.end(this.outcome, this.reason);
  }

  /** false when the request was not written (the session is closing): nothing reached the backend */
  private sendOn(session: BackendSession, timeoutMs: number): boolean {
    this.timeoutMs = timeoutMs;
    const { span } = this;
    // traced, the backend is sent the relay's span as the parent in params._meta: in the client's own line when it can be
    // spliced in, else in params the channel serializes
    const params = span === null ? this.target.params : withTraceMeta(this.target.params, span.meta);
    const line = span === null || this.target.line === undefined ? this.target.line : (spliceTraceMeta(this.target.line, this.request.method, span.meta) ?? undefined);
    const sent = session.channel.send(this.request.method, params, this, line === undefined ? { passThrough: true, timeoutMs } : { passThrough: true, timeoutMs, original: { line, id: this.request.id } });
    if (typeof sent === 'number') {
      this.session = session;
      this.backendId = sent;
      span?.sent();
      return true;
    }
    if (sent instanceof NotWrittenError) return false;
    this.fail(sent);
    return true;
  }

  /** never written means never seen: sent again once, on another session; a second time the call fails */
  private notWritten(session: BackendSession): void {
    const gate = this.gate;
    this.gate = null;
    gate?.leave(this, 'none');
    this.session = null;
    this.backendId = 0;
    if (this.resent || gate === null) {
      this.fail(new NotWrittenError(this.target.backend));
      return;
    }
    this.resent = true;
    this.avoid = session;
    this.kicked = false;
    // the same gate: it lives as long as the backend's name is configured, and offers a session other than this one
    this.enterGate(gate);
  }

  /** the response or a progress notification, from the channel */
  next(event: CallEvent): void {
    if (event.kind === 'progress') {
      const meta = this.target.params['_meta'] as Params | undefined;
      this.sink.next({ message: notification('notifications/progress', { ...event.params, progressToken: meta?.['progressToken'] }), related: this.request.id });
      return;
    }
    this.backendId = 0;
    this.verdict = 'answered';
    const answer = this.answer(event);
    this.endSpan();
    this.sink.next(answer);
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
    if (error instanceof NotWrittenError && this.session !== null) {
      this.notWritten(this.session);
      return;
    }
    // the breaker counts a dropped connection once, from the backend's state: the calls it took with it add nothing
    // (but a probe lost so is a failed probe: the gate reopens the breaker for another cooldown)
    this.verdict = error instanceof OutcomeUnknownError || error instanceof ConnectionClosedError ? 'lost' : 'failed';
    this.failure = error.message;
    this.fail(error);
  }

  /** the relay's shutdown grace ran out: the client hears an error, the backend a cancellation */
  abort(error: Error): void {
    if (!this.ended) this.fail(error);
  }

  /** teardown: whatever ended the call (answer, failure, client cancel), nothing of it is left running */
  unsubscribe(): void {
    this.waiting?.unsubscribe();
    this.waiting = null;
    this.cancelOnBackend();
    // the gate hears once how the call ended: its slot or its place in the queue is free for the next
    const gate = this.gate;
    this.gate = null;
    gate?.leave(this, this.verdict, this.failure);
    if (this.ended) return;
    this.ended = true;
    this.deps.drain?.leave(this);
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
    if (this.span !== null) {
      event['trace_id'] = this.span.traceId;
      this.endSpan();
    }
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
    if ('error' in response && !isValidError(response.error)) return this.malformedError(response.error);
    this.outcome = 'error' in response ? 'error' : response.result['isError'] === true ? 'tool-error' : 'ok';
    if ('error' in response) this.reason = response.error.message;
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

  /** an error without an integer code or a string message is no JSON-RPC error: a client would drop it and hang */
  private malformedError(error: unknown): Outgoing {
    const { backend, subject, tool } = this.target;
    this.outcome = 'error';
    const message = callFailure(this.request.id, malformedErrorError(backend, subject, this.request.method, error), this.target);
    return tool === undefined ? { message, backend } : { message, backend, tool };
  }

  /** every failure is an answer: a JSON-RPC error naming backend, subject and what to do */
  private fail(error: unknown): void {
    const { backend, subject } = this.target;
    const callError = toCallError(error, backend, subject, this.timeoutMs);
    this.reason = callError.message;
    this.outcome = callError.code === ErrorCode.CallTimeout ? 'timeout' : callError.code === ErrorCode.OutcomeUnknown ? 'unknown' : 'unavailable';
    this.endSpan();
    this.sink.next({ message: callFailure(this.request.id, callError, this.target) });
    this.finish();
  }
}
