/**
 * Traces, as the streams see them: a port that the process fills (src/tracing/) when OpenTelemetry export is asked
 * for. The streams never import OpenTelemetry: without tracing the port is absent, and the per-call path pays one
 * property read for it.
 */
import type { JsonRpcId, JsonRpcRequest, JsonRpcResponse } from './jsonrpc.js';

/** who a session's spans say the client is (session/client-record.ts ClientIdentity is one) */
export interface TracedClient {
  id: string;
  front: string;
  principal?: string;
}

export interface Tracing {
  /** one client session's requests */
  session(client: TracedClient): SessionTracing;
}

/** how a forwarded call ended: its call.done outcome, its metrics label and its span's */
export type CallOutcome = 'ok' | 'tool-error' | 'error' | 'timeout' | 'unknown' | 'unavailable' | 'cancelled';

export interface SessionTracing {
  /** a request came in: its span starts, parented by the trace context in its params._meta when the client sent one */
  requestIn(request: JsonRpcRequest): void;
  /** a response went to the client: the span of the request it answers ends (with the error, when it is one) */
  answered(response: JsonRpcResponse): void;
  /** the client cancelled the request: its span ends so */
  cancelled(id: JsonRpcId): void;
  /** the session ended: what is still open ends as cancelled */
  closed(): void;
  /** a call of the request to a backend: a child span, and the trace context to send the backend in params._meta */
  backendCall(id: JsonRpcId, call: BackendCallFacts): BackendCallSpan | null;
}

export interface BackendCallFacts {
  backend: string;
  /** the backend's URL, credentials redacted */
  url: string;
  method: string;
  tool?: string;
  subject: string;
}

export interface BackendCallSpan {
  /** traceparent (and tracestate) naming this span: they replace the client's in the forwarded params._meta */
  readonly meta: Readonly<Record<string, string>>;
  /** the span's trace id, for the call.done event (a log line finds its trace) */
  readonly traceId: string;
  /** the request was written to the backend (after any wait in the gate's queue) */
  sent(): void;
  end(outcome: CallOutcome, failure?: string): void;
}

/** the W3C trace context members of params._meta (the MCP convention) */
export const TRACE_META_KEYS = ['traceparent', 'tracestate'] as const;
