/**
 * The streams' tracing port (streams/core/tracing.ts) on the OpenTelemetry API: one SERVER span per client request,
 * parented by the W3C trace context the client put in params._meta, and one CLIENT span per call to a backend
 * beneath it, whose context goes to the backend in the same place. Contexts are passed by hand (no async context
 * manager): the relay knows each call's request by its id, which is cheaper than AsyncLocalStorage on every await.
 */
import { isSpanContextValid, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, TraceFlags, type Attributes, type Span, type Tracer } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import type { JsonRpcId, JsonRpcRequest, JsonRpcResponse } from '../../streams/core/jsonrpc.js';
import type { BackendCallFacts, BackendCallSpan, CallOutcome, SessionTracing, TracedClient, Tracing } from '../../streams/core/tracing.js';

const propagator = new W3CTraceContextPropagator();

const metaGetter = {
  keys: (carrier: Record<string, unknown>) => Object.keys(carrier),
  get: (carrier: Record<string, unknown>, key: string) => {
    const value = carrier[key];
    return typeof value === 'string' ? value : undefined;
  },
};

/**
 * The W3C context naming a span, as W3CTraceContextPropagator.inject writes it, without the two Context objects
 * (each a Map copy) that inject() through the API costs per call: with every call traced, those copies were a
 * visible part of the garbage collector's time (bench/observability.ts).
 */
function metaOf(span: Span): Record<string, string> {
  const context = span.spanContext();
  if (!isSpanContextValid(context)) return {};
  const meta: Record<string, string> = { traceparent: `00-${context.traceId}-${context.spanId}-0${Number(context.traceFlags || TraceFlags.NONE).toString(16)}` };
  const state = context.traceState?.serialize();
  if (state) meta['tracestate'] = state;
  return meta;
}

/** the client's trace context, from params._meta: the parent of the request's span (none: a new trace) */
function parentOf(request: JsonRpcRequest) {
  const meta = request.params?.['_meta'];
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) return ROOT_CONTEXT;
  return propagator.extract(ROOT_CONTEXT, meta as Record<string, unknown>, metaGetter);
}

const toolOf = (request: JsonRpcRequest): string | undefined => {
  const name = request.params?.['name'];
  return request.method === 'tools/call' && typeof name === 'string' ? name : undefined;
};

const SERVER = { kind: SpanKind.SERVER };
const CLIENT = { kind: SpanKind.CLIENT };

/** outcomes that are the backend's answer: a tool's own error is not a failure of the call */
const ANSWERED: ReadonlySet<CallOutcome> = new Set(['ok', 'tool-error']);

export class OtelTracing implements Tracing {
  constructor(private readonly tracer: Tracer) {}

  session(client: TracedClient): SessionTracing {
    return new OtelSessionTracing(this.tracer, client);
  }
}

class OtelSessionTracing implements SessionTracing {
  /** the spans of the requests in flight, by id */
  private readonly open = new Map<JsonRpcId, Span>();
  /** ids a second request reused while the first was in flight: their error answer is not the first one's */
  private readonly reused = new Set<JsonRpcId>();

  constructor(
    private readonly tracer: Tracer,
    private readonly client: TracedClient,
  ) {}

  requestIn(request: JsonRpcRequest): void {
    if (this.open.has(request.id)) {
      this.reused.add(request.id);
      return;
    }
    const tool = toolOf(request);
    const span = this.tracer.startSpan(tool === undefined ? request.method : `tools/call ${tool}`, SERVER, parentOf(request));
    // the attributes only for a span that is recorded: a sampled-out request allocates none (the samplers the
    // standard variables name decide on the trace id and the parent alone)
    if (span.isRecording()) {
      const attributes: Attributes = {
        'mcp.method.name': request.method,
        'jsonrpc.request.id': String(request.id),
        'mcp.relay.front': this.client.front,
        'mcp.relay.client.id': this.client.id,
      };
      if (tool !== undefined) attributes['gen_ai.tool.name'] = tool;
      if (this.client.principal !== undefined) attributes['mcp.relay.principal'] = this.client.principal;
      span.setAttributes(attributes);
    }
    this.open.set(request.id, span);
  }

  answered(response: JsonRpcResponse): void {
    const { id } = response;
    if (id === null) return;
    if (this.reused.delete(id)) return;
    const span = this.open.get(id);
    if (span === undefined) return;
    this.open.delete(id);
    if ('error' in response) {
      span.setAttributes({ 'rpc.jsonrpc.error_code': response.error.code, 'error.type': String(response.error.code) });
      span.setStatus({ code: SpanStatusCode.ERROR, message: response.error.message });
    } else if ((response.result as Record<string, unknown>)['isError'] === true) {
      span.setAttribute('mcp.relay.tool_error', true);
    }
    span.end();
  }

  cancelled(id: JsonRpcId): void {
    const span = this.open.get(id);
    if (span === undefined) return;
    this.open.delete(id);
    span.setAttribute('mcp.relay.outcome', 'cancelled');
    span.end();
  }

  closed(): void {
    for (const id of [...this.open.keys()]) this.cancelled(id);
    this.reused.clear();
  }

  backendCall(id: JsonRpcId, call: BackendCallFacts): BackendCallSpan | null {
    const parent = this.open.get(id);
    // a request sampled out has children sampled out under every standard sampler (they share its trace id and its
    // verdict): the backend is told the request's own context instead, and no span is made that nobody would see
    if (parent !== undefined && !parent.isRecording()) return new UnsampledCall(parent);
    const context = parent === undefined ? ROOT_CONTEXT : trace.setSpan(ROOT_CONTEXT, parent);
    const span = this.tracer.startSpan(`${call.method} ${call.tool ?? call.subject}`, CLIENT, context);
    if (span.isRecording()) {
      const attributes: Attributes = { 'mcp.method.name': call.method, 'mcp.relay.backend': call.backend, 'url.full': call.url };
      if (call.tool !== undefined) attributes['gen_ai.tool.name'] = call.tool;
      span.setAttributes(attributes);
    }
    return new OtelBackendCallSpan(span, metaOf(span));
  }
}

/** a backend call of a request that is not recorded: its context is the request's, and there is nothing to end */
class UnsampledCall implements BackendCallSpan {
  readonly meta: Readonly<Record<string, string>>;
  readonly traceId: string;

  constructor(request: Span) {
    this.meta = metaOf(request);
    this.traceId = request.spanContext().traceId;
  }

  sent(): void {}

  end(): void {}
}

class OtelBackendCallSpan implements BackendCallSpan {
  constructor(
    private readonly span: Span,
    readonly meta: Readonly<Record<string, string>>,
  ) {}

  get traceId(): string {
    return this.span.spanContext().traceId;
  }

  sent(): void {
    this.span.addEvent('sent');
  }

  end(outcome: CallOutcome, failure?: string): void {
    this.span.setAttribute('mcp.relay.outcome', outcome);
    if (!ANSWERED.has(outcome)) {
      this.span.setAttribute('error.type', outcome);
      this.span.setStatus({ code: SpanStatusCode.ERROR, ...(failure === undefined ? {} : { message: failure }) });
    }
    this.span.end();
  }
}
