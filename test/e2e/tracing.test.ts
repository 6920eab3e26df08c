// Traces for real: the built relay exports OTLP/HTTP to a local receiver (test/fixtures/otlp-receiver.ts) when
// OTEL_EXPORTER_OTLP_ENDPOINT is set, and the W3C trace context crosses it both ways in params._meta: the client's
// traceparent parents the request's span, and the backend is sent the relay's own span as its parent.
import { afterEach, describe, expect, it } from 'vitest';
import { startHttpBackend } from '../fixtures/http-backend.js';
import { startBackend } from '../fixtures/mcp-ws-backend.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../fixtures/otlp-receiver.js';
import { metaTool, slowTool } from '../fixtures/tools.js';
import { httpClient, startNetworkRelay, wsClient } from './network-relay.js';
import { backendsYaml, configFile, eventually, startSdkRelay } from './relay-process.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const CLIENT_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CLIENT_SPAN = '00f067aa0ba902b7';
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$/;

async function receiver(): Promise<OtlpReceiver> {
  const running = await startOtlpReceiver();
  cleanups.push(() => running.close());
  return running;
}

/** spans go out in batches a tenth of a second apart, so a test waits for them briefly */
const tracingEnv = (otlp: OtlpReceiver): Record<string, string> => ({ OTEL_EXPORTER_OTLP_ENDPOINT: otlp.endpoint, OTEL_BSP_SCHEDULE_DELAY: '100', OTEL_SERVICE_NAME: 'relay-under-test' });

/** a receiver, a backend with whoami (it answers with the _meta it got), and the relay over stdio exporting to it */
async function tracedRelay() {
  const otlp = await receiver();
  const tools = await startBackend({ name: 'tools', tools: [metaTool('whoami')] });
  cleanups.push(() => tools.close());
  const { file } = configFile(backendsYaml([{ name: 'tools', url: tools.url }]));
  const relay = await startSdkRelay(file, tracingEnv(otlp));
  cleanups.push(() => relay.close());
  return { otlp, tools, relay };
}

const metaOf = (result: unknown): Record<string, unknown> => (result as { structuredContent: { meta: Record<string, unknown> } }).structuredContent.meta;

describe('traces', () => {
  it("a client's call is a server span parented by its traceparent, with a client span per backend call whose context the backend receives", async () => {
    const { otlp, tools, relay } = await tracedRelay();

    const result = await relay.client.callTool({ name: 'whoami', arguments: {}, _meta: { traceparent: `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01`, tracestate: 'vendor=blue', keep: 'me' } });
    const seen = metaOf(result);
    // the backend is in the client's trace, beneath the relay's span: never the client's own span id
    const [, traceId, parentId] = TRACEPARENT.exec(String(seen['traceparent'])) ?? [];
    expect(traceId).toBe(CLIENT_TRACE);
    expect(parentId).not.toBe(CLIENT_SPAN);
    expect(seen['tracestate']).toBe('vendor=blue');
    expect(seen['keep']).toBe('me');

    const call = await otlp.waitFor((span) => span.kind === 3 && span.name === 'tools/call whoami');
    const request = await otlp.waitFor((span) => span.kind === 2 && span.name === 'tools/call whoami');
    expect(call.spanId).toBe(parentId);
    expect(call.traceId).toBe(CLIENT_TRACE);
    expect(call.parentSpanId).toBe(request.spanId);
    expect(call.attributes).toMatchObject({ 'mcp.relay.backend': 'tools', 'url.full': tools.url, 'mcp.relay.outcome': 'ok', 'gen_ai.tool.name': 'whoami', 'mcp.method.name': 'tools/call' });
    expect(call.events).toContain('sent');
    expect(call.status.code).not.toBe(2);
    expect(request.parentSpanId).toBe(CLIENT_SPAN);
    expect(request.attributes).toMatchObject({ 'mcp.relay.front': 'stdio', 'mcp.method.name': 'tools/call', 'gen_ai.tool.name': 'whoami' });
    expect(String(request.attributes['mcp.relay.client.id'])).toMatch(/^[0-9a-f-]{36}$/);
    expect(request.service).toBe('relay-under-test');
    // the child lies within its parent, to the SDK's clock: it anchors each span's start on Date.now() (whole
    // milliseconds) and measures on from there, so two spans' times agree to a millisecond, not better
    const MS = 1_000_000n;
    expect(call.startNs >= request.startNs - MS && call.endNs <= request.endNs + MS).toBe(true);
    // and the log line of the call names its trace
    const done = await eventually(() => {
      const found = relay.events.find((event) => event.event === 'call.done' && event['tool'] === 'whoami');
      if (!found) throw new Error('no call.done yet');
      return found;
    });
    expect(done['trace_id']).toBe(CLIENT_TRACE);
  });

  it('without a traceparent a request starts a new trace; lists and errors have spans of their own', async () => {
    const { otlp, relay } = await tracedRelay();

    const seen = metaOf(await relay.client.callTool({ name: 'whoami', arguments: {} }));
    const [, traceId] = TRACEPARENT.exec(String(seen['traceparent'])) ?? [];
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    const request = await otlp.waitFor((span) => span.kind === 2 && span.traceId === traceId);
    expect(request.parentSpanId).toBeUndefined();

    await relay.client.listTools();
    const list = await otlp.waitFor((span) => span.name === 'tools/list');
    expect(list.kind).toBe(2);
    expect(list.status.code).not.toBe(2);

    await expect(relay.client.callTool({ name: 'no_such_tool', arguments: {} })).rejects.toThrow();
    const failed = await otlp.waitFor((span) => span.name === 'tools/call no_such_tool');
    expect(failed.status.code).toBe(2);
    expect(failed.attributes['rpc.jsonrpc.error_code']).toBeTypeOf('number');
  });

  it('a call that times out on its backend ends its span as an error naming the timeout', async () => {
    const otlp = await receiver();
    const tools = await startBackend({ name: 'tools', tools: [slowTool('slow', 5_000)] });
    cleanups.push(() => tools.close());
    const { file } = configFile(backendsYaml([{ name: 'tools', url: tools.url, extra: '    timeoutMs: 300\n' }]));
    const relay = await startSdkRelay(file, tracingEnv(otlp));
    cleanups.push(() => relay.close());

    await expect(relay.client.callTool({ name: 'slow', arguments: {} })).rejects.toThrow(/timed out|timeout/i);
    const call = await otlp.waitFor((span) => span.kind === 3 && span.name === 'tools/call slow');
    expect(call.attributes['mcp.relay.outcome']).toBe('timeout');
    expect(call.status.code).toBe(2);
    expect(call.status.message).toMatch(/tools/);
  });

  it('connection attempts are spans: a backend that connects, and one that cannot', async () => {
    const otlp = await receiver();
    const tools = await startBackend({ name: 'tools', tools: [metaTool('whoami')] });
    cleanups.push(() => tools.close());
    const { file } = configFile(backendsYaml([{ name: 'tools', url: tools.url }, { name: 'gone', url: 'ws://127.0.0.1:9/mcp' }]));
    const relay = await startSdkRelay(file, tracingEnv(otlp));
    cleanups.push(() => relay.close());

    const up = await otlp.waitFor((span) => span.name === 'backend connect' && span.attributes['mcp.relay.backend'] === 'tools');
    expect(up.status.code).not.toBe(2);
    expect(up.attributes['mcp.relay.tools']).toBe(1);
    const down = await otlp.waitFor((span) => span.attributes['mcp.relay.backend'] === 'gone');
    expect(down.status.code).toBe(2);
    expect(down.status.message).toMatch(/ECONNREFUSED|refused|connect/i);
    const retry = await otlp.waitFor((span) => span.name === 'backend reconnect' && span.attributes['mcp.relay.backend'] === 'gone');
    expect(retry.attributes['mcp.relay.attempt']).toBeGreaterThanOrEqual(2);
  });

  it('network fronts and HTTP backends carry the context too', async () => {
    const otlp = await receiver();
    const http = await startHttpBackend({ name: 'web', tools: [metaTool('web_whoami')] });
    cleanups.push(() => http.close());
    const { file } = configFile(backendsYaml([{ name: 'web', url: http.url }]));
    const relay = await startNetworkRelay(file, { env: tracingEnv(otlp) });
    cleanups.push(() => relay.stop());

    for (const [front, connect] of [['ws', () => wsClient(relay.ws)], ['http', () => httpClient(relay.http)]] as const) {
      const { client } = await connect();
      cleanups.push(() => client.close());
      await eventually(async () => expect((await client.listTools()).tools.map((tool) => tool.name)).toContain('web_whoami'));
      const seen = metaOf(await client.callTool({ name: 'web_whoami', arguments: {}, _meta: { traceparent: `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01` } }));
      const [, traceId, parentId] = TRACEPARENT.exec(String(seen['traceparent'])) ?? [];
      expect(traceId).toBe(CLIENT_TRACE);
      const call: ReceivedSpan = await otlp.waitFor((span) => span.spanId === parentId);
      const request = await otlp.waitFor((span) => span.spanId === call.parentSpanId);
      expect(request.attributes['mcp.relay.front']).toBe(front);
      expect(request.parentSpanId).toBe(CLIENT_SPAN);
    }
  });

  it('off by default, and with OTEL_SDK_DISABLED: no export, and the client\'s trace context reaches the backend as it sent it', async () => {
    const otlp = await receiver();
    const tools = await startBackend({ name: 'tools', tools: [metaTool('whoami')] });
    cleanups.push(() => tools.close());
    const { file } = configFile(backendsYaml([{ name: 'tools', url: tools.url }]));
    for (const env of [{}, { ...tracingEnv(otlp), OTEL_SDK_DISABLED: 'true' }, { ...tracingEnv(otlp), OTEL_TRACES_EXPORTER: 'none' }]) {
      const relay = await startSdkRelay(file, env);
      const traceparent = `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01`;
      const seen = metaOf(await relay.client.callTool({ name: 'whoami', arguments: {}, _meta: { traceparent } }));
      expect(seen['traceparent']).toBe(traceparent);
      await relay.close();
      expect(relay.events.some((event) => event.event === 'tracing.start')).toBe(false);
      expect(relay.events.find((event) => event.event === 'call.done')?.['trace_id']).toBeUndefined();
    }
    expect(otlp.exports).toBe(0);
  });

  it('a collector that is down costs the calls nothing: they are answered, and the log says so once', async () => {
    const tools = await startBackend({ name: 'tools', tools: [metaTool('whoami')] });
    cleanups.push(() => tools.close());
    const { file } = configFile(backendsYaml([{ name: 'tools', url: tools.url }]));
    const relay = await startSdkRelay(file, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9', OTEL_BSP_SCHEDULE_DELAY: '50', OTEL_EXPORTER_OTLP_TIMEOUT: '500' });
    cleanups.push(() => relay.close());
    for (let round = 0; round < 20; round++) expect(metaOf(await relay.client.callTool({ name: 'whoami', arguments: {} }))['traceparent']).toMatch(TRACEPARENT);
    const errors = await eventually(() => {
      const found = relay.events.filter((event) => event.event === 'tracing.error');
      if (found.length === 0) throw new Error('no tracing.error yet');
      return found;
    });
    expect(errors).toHaveLength(1);
    expect(String(errors[0]?.['action'])).toMatch(/calls are not affected/);
  });
});
