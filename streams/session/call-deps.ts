/** What a forwarded call needs from its session, and what it tells it: its calls in flight, and each one's end. */
import type { Observable } from 'rxjs';
import type { BackendStates } from '../backend/backends.js';
import type { EmitEvent } from '../catalogue/events.js';
import type { JsonRpcRequest } from '../core/jsonrpc.js';
import type { CallOutcome, SessionTracing } from '../core/tracing.js';
import type { Drain } from './drain.js';

export interface CallDeps {
  states$: Observable<BackendStates>;
  /** the states as they are now, for the hot path (the states$ replay, without a subscription per call) */
  currentStates?: () => BackendStates | undefined;
  kick: (backend: string) => void;
  /** emits when the client cancels this request; absent when the caller ends the request itself (the router does) */
  cancelled$?: (id: JsonRpcRequest['id']) => Observable<unknown>;
  now: () => number;
  emit: EmitEvent;
  /** the client's calls in flight per backend: its status, and where a backend's request during a call goes */
  calls?: CallTracker;
  /** every client's calls together, for a graceful shutdown: draining, a new call is refused */
  drain?: Drain;
  /** the session's spans, when traces are exported: each call is a child of its request's, its context sent along */
  trace?: SessionTracing;
}

export interface CallTracker {
  /** the client's id, in call.done */
  readonly clientId: string;
  started(backend: string, id: JsonRpcRequest['id']): void;
  ended(backend: string, id: JsonRpcRequest['id']): void;
  /** set only when an audit log is kept: hears every forwarded call once it is over (after its answer went out) */
  audit?: (done: CallDone) => void;
}

export type Outcome = CallOutcome;

/** a forwarded call that is over, as the audit log records it */
export interface CallDone {
  request: JsonRpcRequest;
  backend: string;
  subject: string;
  tool?: string;
  ms: number;
  outcome: Outcome;
  /** the backend's answer frame (0 when there was none) */
  resultBytes: number;
}

