// The tracing module on OpenTelemetry's in-memory exporter: the spans a session makes (parents, kinds, attributes,
// status), the trace context it sends backends, ids reused and cancels, connection-attempt spans from events, and
// which environments turn tracing on.
import { InMemorySpanExporter, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import type { RelayEvent } from '../../streams/catalogue/events.js';
import { startTracing } from '../../src/tracing/start-tracing.js';
import { tracingWanted } from '../../src/tracing/tracing-wanted.js';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = '00f067aa0ba902b7';

async function traced(run: (tracing: ReturnType<typeof startTracing>) => void): Promise<{ spans: ReadableSpan[]; events: RelayEvent[] }> {
  const exporter = new InMemorySpanExporter();
  const events: RelayEvent[] = [];
  // the in-memory exporter forgets its spans when shut down: the test reads them after the relay's shutdown flushed them
  const keeping: SpanExporter = { export: (spans, done) => exporter.export(spans, done), shutdown: () => Promise.resolve() };
  const tracing = startTracing({ env: { OTEL_SERVICE_NAME: 'unit' }, version: '9.9.9', emit: (event) => events.push(event), exporter: keeping });
  run(tracing);
  await tracing.shutdown();
  return { spans: exporter.getFinishedSpans(), events };
}

const named = (spans: ReadableSpan[], name: string): ReadableSpan => {
  const span = spans.find((each) => each.name === name);
  if (!span) throw new Error(`no span ${name} in ${spans.map((each) => each.name).join(', ')}`);
  return span;
};

describe('tracing on the OpenTelemetry SDK', () => {
  it("a request's span is parented by the client's traceparent, and a backend call's span by the request's", async () => {
    let meta: Readonly<Record<string, string>> = {};
    const { spans, events } = await traced(({ tracing }) => {
      const session = tracing.session({ id: 'client-1', front: 'ws', principal: 'alice' });
      session.requestIn({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'search', _meta: { traceparent: `00-${TRACE}-${PARENT}-01`, tracestate: 'k=v' } } });
      const call = session.backendCall(7, { backend: 'docs', url: 'ws://docs/mcp', method: 'tools/call', tool: 'search', subject: "tool 'search'" });
      meta = call?.meta ?? {};
      call?.sent();
      call?.end('ok');
      session.answered({ jsonrpc: '2.0', id: 7, result: { content: [] } });
    });
    // both are named as OpenTelemetry's MCP conventions name them ("{method} {tool}"); their kinds tell them apart
    const request = spans.find((span) => span.kind === SpanKind.SERVER) as ReadableSpan;
    const call = spans.find((span) => span.kind === SpanKind.CLIENT) as ReadableSpan;
    expect([request.name, call.name]).toEqual(['tools/call search', 'tools/call search']);
    expect(request.spanContext().traceId).toBe(TRACE);
    expect(request.parentSpanContext?.spanId).toBe(PARENT);
    expect(request.attributes).toMatchObject({ 'mcp.method.name': 'tools/call', 'gen_ai.tool.name': 'search', 'mcp.relay.front': 'ws', 'mcp.relay.client.id': 'client-1', 'mcp.relay.principal': 'alice', 'jsonrpc.request.id': '7' });
    expect(call.parentSpanContext?.spanId).toBe(request.spanContext().spanId);
    expect(call.attributes).toMatchObject({ 'mcp.relay.backend': 'docs', 'url.full': 'ws://docs/mcp', 'mcp.relay.outcome': 'ok' });
    expect(call.events.map((event) => event.name)).toEqual(['sent']);
    expect(meta).toEqual({ traceparent: `00-${TRACE}-${call.spanContext().spanId}-01`, tracestate: 'k=v' });
    expect(request.resource.attributes).toMatchObject({ 'service.name': 'unit', 'service.version': '9.9.9' });
    expect(events.map((event) => event.event)).toEqual(['tracing.start']);
  });

  it('errors, tool errors, cancels, a reused id and a closed session each end the right span the right way', async () => {
    const { spans } = await traced(({ tracing }) => {
      const session = tracing.session({ id: 'c', front: 'stdio' });
      session.requestIn({ jsonrpc: '2.0', id: 1, method: 'prompts/get', params: { name: 'p' } });
      // a second request on id 1 while the first is in flight: its refusal is not the first one's answer
      session.requestIn({ jsonrpc: '2.0', id: 1, method: 'ping' });
      session.answered({ jsonrpc: '2.0', id: 1, error: { code: -32600, message: 'id 1 is already used' } });
      session.answered({ jsonrpc: '2.0', id: 1, error: { code: -32053, message: "backend 'b' is unavailable" } });
      session.requestIn({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 't' } });
      session.answered({ jsonrpc: '2.0', id: 2, result: { content: [], isError: true } });
      session.requestIn({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'slow' } });
      const call = session.backendCall(3, { backend: 'b', url: 'http://b', method: 'tools/call', tool: 'slow', subject: "tool 'slow'" });
      session.cancelled(3);
      call?.end('cancelled');
      session.requestIn({ jsonrpc: '2.0', id: 4, method: 'resources/read', params: { uri: 'file:///x' } });
      session.closed();
      // a response for a request never seen (or already ended) is nobody's
      session.answered({ jsonrpc: '2.0', id: 99, result: {} });
    });
    const prompts = named(spans, 'prompts/get');
    expect(prompts.status).toEqual({ code: SpanStatusCode.ERROR, message: "backend 'b' is unavailable" });
    expect(prompts.attributes['rpc.jsonrpc.error_code']).toBe(-32053);
    expect(spans.filter((span) => span.name === 'ping')).toEqual([]);
    expect(named(spans, 'tools/call t').attributes['mcp.relay.tool_error']).toBe(true);
    expect(named(spans, 'tools/call t').status.code).toBe(SpanStatusCode.UNSET);
    expect(named(spans, 'tools/call slow').attributes['mcp.relay.outcome']).toBe('cancelled');
    const call = spans.find((span) => span.kind === SpanKind.CLIENT) as ReadableSpan;
    expect(call.status.code).toBe(SpanStatusCode.ERROR);
    expect(call.attributes['error.type']).toBe('cancelled');
    expect(named(spans, 'resources/read').attributes['mcp.relay.outcome']).toBe('cancelled');
    // no client context: a root span of a trace of its own
    expect(prompts.parentSpanContext).toBeUndefined();
  });

  it('connection attempts are spans, from the backend events: connected, failed, superseded, removed', async () => {
    const { spans } = await traced(({ observe }) => {
      const events: RelayEvent[] = [
        { event: 'backend.state', backend: 'a', url: 'ws://a', phase: 'connecting', health: 'connecting' },
        { event: 'backend.state', backend: 'b', url: 'ws://b', phase: 'connecting', health: 'connecting' },
        { event: 'backend.state', backend: 'a', url: 'ws://a', phase: 'connected', health: 'healthy', tools: 3 },
        { event: 'backend.state', backend: 'b', url: 'ws://b', phase: 'connecting', health: 'failed', error: 'ECONNREFUSED' },
        { event: 'backend.reconnect', backend: 'b', attempt: 2, lastError: 'ECONNREFUSED' },
        { event: 'backend.reconnect', backend: 'b', attempt: 3, lastError: 'still down' },
        { event: 'backend.removed', backend: 'b' },
        { event: 'call.done', backend: 'a', tool: 'x' },
      ];
      for (const event of events) observe(event);
    });
    const byBackend = (name: string) => spans.filter((span) => span.attributes['mcp.relay.backend'] === name).map((span) => [span.name, span.status.code, span.status.message ?? '']);
    expect(byBackend('a')).toEqual([['backend connect', SpanStatusCode.UNSET, '']]);
    expect(byBackend('b')).toEqual([
      ['backend connect', SpanStatusCode.ERROR, 'ECONNREFUSED'],
      ['backend reconnect', SpanStatusCode.ERROR, 'superseded by the next attempt'],
      ['backend reconnect', SpanStatusCode.ERROR, 'removed from the config'],
    ]);
    expect(spans.find((span) => span.attributes['mcp.relay.attempt'] === 3)).toBeDefined();
  });

  it('is wanted only with an OTLP endpoint, and not when disabled or another exporter is named', () => {
    expect(tracingWanted({})).toBe(false);
    expect(tracingWanted({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' })).toBe(true);
    expect(tracingWanted({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4318/v1/traces' })).toBe(true);
    expect(tracingWanted({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x', OTEL_SDK_DISABLED: 'TRUE' })).toBe(false);
    expect(tracingWanted({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x', OTEL_TRACES_EXPORTER: 'none' })).toBe(false);
    expect(tracingWanted({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x', OTEL_TRACES_EXPORTER: 'console, otlp' })).toBe(true);
    expect(tracingWanted({ OTEL_EXPORTER_OTLP_ENDPOINT: '' })).toBe(false);
  });
});
