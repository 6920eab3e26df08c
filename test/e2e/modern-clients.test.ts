// MCP 2026-07-28 clients through the relay, to 2025 backends: the SDK v2 client pinned to the modern revision and in
// auto negotiation over stdio, and over WebSocket; raw peers for what the SDK will not send (a missing envelope
// member, an unsupported version, removed methods, server/discover then initialize on one connection).
import { Client as ModernClient, StreamableHTTPClientTransport as ModernHttpTransport } from '@modelcontextprotocol/client';
import { StdioClientTransport as ModernStdioTransport } from '@modelcontextprotocol/client/stdio';
import { afterEach, describe, expect, it } from 'vitest';
import { startBackend } from '../fixtures/mcp-ws-backend.js';
import { echoTool, hangTool, progressTool } from '../fixtures/tools.js';
import { WebSocketClientTransport } from '../fixtures/ws-client-transport.js';
import { startNetworkRelay } from './network-relay.js';
import { backendsYaml, configFile, eventCollector, eventually, RELAY_MAIN, startRawRelay } from './relay-process.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const MODERN = '2026-07-28';
const envelope = (extra: Record<string, unknown> = {}) => ({ 'io.modelcontextprotocol/protocolVersion': MODERN, 'io.modelcontextprotocol/clientCapabilities': {}, ...extra });

async function backendFile(): Promise<string> {
  const tools = await startBackend({ name: 'tools', tools: [echoTool('echo'), progressTool('steps', 3, 20), hangTool('hang')] });
  cleanups.push(() => tools.close());
  return configFile(backendsYaml([{ name: 'tools', url: tools.url }])).file;
}

function modernClient(negotiation: 'auto' | 'pin'): ModernClient {
  return new ModernClient({ name: 'modern-e2e', version: '2.0.0' }, { capabilities: {}, versionNegotiation: negotiation === 'auto' ? { mode: 'auto', probe: { timeoutMs: 5_000 } } : { mode: { pin: MODERN } } });
}

describe('2026-07-28 clients (SDK v2) through the relay to 2025 backends', () => {
  it.each([['pin'], ['auto']] as const)('over stdio (%s): discovers the relay as modern, lists, calls with progress, and never initializes', async (negotiation) => {
    const file = await backendFile();
    const client = modernClient(negotiation);
    const transport = new ModernStdioTransport({ command: process.execPath, args: [RELAY_MAIN, '--config', file], stderr: 'pipe' });
    const events = eventCollector(transport.stderr as unknown as NodeJS.ReadableStream);
    await client.connect(transport);
    cleanups.push(() => client.close());
    expect(client.getProtocolEra()).toBe('modern');
    expect(client.getNegotiatedProtocolVersion()).toBe(MODERN);
    await eventually(async () => expect((await client.listTools()).tools.map((tool) => tool.name)).toEqual(expect.arrayContaining(['echo', 'steps'])));
    const echoed = await client.callTool({ name: 'echo', arguments: { said: 'hi' } });
    expect(echoed.content).toEqual([{ type: 'text', text: 'echo:{"said":"hi"}' }]);
    const progress: number[] = [];
    const stepped = await client.callTool({ name: 'steps', arguments: {} }, { onprogress: (update) => progress.push(update.progress) });
    expect(stepped.content).toEqual([{ type: 'text', text: 'steps:done after 3 steps' }]);
    // the SDK v2 client may drop the last progress when the result overtakes it in its own handlers (the raw test
    // below shows all three go out before the result)
    expect([[1, 2], [1, 2, 3]]).toContainEqual(progress);
    // the session process never saw a handshake, and the backend was still connected for it
    expect(events.filter((event) => event.event === 'client.initialize')).toEqual([]);
    await eventually(() => expect(events.some((event) => event.event === 'call.done' && event['tool'] === 'steps' && event['outcome'] === 'ok')).toBe(true));
    // who it talks to, from the serverInfo _meta of discover
    expect(client.getServerVersion()).toMatchObject({ name: 'mcp-relay' });
  });

  it('over WebSocket (pinned): the same connection serves modern requests statelessly', async () => {
    const file = await backendFile();
    const relay = await startNetworkRelay(file);
    cleanups.push(() => relay.stop());
    const client = modernClient('pin');
    await client.connect(new WebSocketClientTransport(relay.ws) as never);
    cleanups.push(() => client.close());
    expect(client.getProtocolEra()).toBe('modern');
    await eventually(async () => expect((await client.listTools()).tools.map((tool) => tool.name)).toContain('echo'));
    expect((await client.callTool({ name: 'echo', arguments: { n: 1 } })).content).toEqual([{ type: 'text', text: 'echo:{"n":1}' }]);
  });
});

describe('the 2026-07-28 era on the wire (raw peer)', () => {
  it('answers server/discover at once, then an initialize on the same connection starts a 2025 session', async () => {
    const file = await backendFile();
    const raw = startRawRelay(['--config', file]);
    cleanups.push(() => raw.stop());
    const discovered = await raw.request('d', 'server/discover', { _meta: envelope({ 'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' } }) });
    expect(discovered).toEqual({
      jsonrpc: '2.0',
      id: 'd',
      result: {
        resultType: 'complete',
        supportedVersions: ['2026-07-28', '2025-11-25', '2025-06-18', '2025-03-26', '2024-11-05'],
        capabilities: { tools: { listChanged: true }, resources: { listChanged: true }, prompts: { listChanged: true }, logging: {}, completions: {} },
        instructions: expect.stringContaining('mcp-relay'),
        ttlMs: 0,
        cacheScope: 'private',
        _meta: { 'io.modelcontextprotocol/serverInfo': { name: 'mcp-relay', version: expect.any(String) } },
      },
    });
    // Claude Code's habit: discover, then initialize anyway. The connection goes on in the 2025 era
    const initialized = await raw.request('i', 'initialize', { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } });
    expect(initialized['result']).toMatchObject({ protocolVersion: '2025-11-25', serverInfo: { name: 'mcp-relay' } });
    raw.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    await eventually(async () => {
      const listed = await raw.request(`l-${Date.now()}`, 'tools/list', {});
      expect((listed['result'] as { tools: Array<{ name: string }> }).tools.map((tool) => tool.name)).toContain('echo');
    });
    const legacy = await raw.request('c', 'tools/call', { name: 'echo', arguments: {} });
    // a 2025 answer carries none of the 2026 fields
    expect(legacy['result']).toEqual({ content: [{ type: 'text', text: 'echo:{}' }] });
    // and a modern request on the same connection is still served as one
    const modern = await raw.request('m', 'tools/call', { name: 'echo', arguments: {}, _meta: envelope() });
    expect(modern['result']).toEqual({ resultType: 'complete', content: [{ type: 'text', text: 'echo:{}' }] });
    // progress on a modern request comes before its result, on the same connection
    const stepped = await raw.request('s', 'tools/call', { name: 'steps', arguments: {}, _meta: envelope({ progressToken: 'tok' }) });
    expect(stepped['result']).toMatchObject({ resultType: 'complete' });
    const progress = raw.received.filter((message) => message['method'] === 'notifications/progress');
    expect(progress.map((message) => (message['params'] as { progress: number; progressToken: unknown }).progress)).toEqual([1, 2, 3]);
    expect(progress.every((message) => (message['params'] as { progressToken: unknown }).progressToken === 'tok')).toBe(true);
  });

  it('answers an incomplete envelope -32602, an unsupported version -32022 with the list, and removed methods -32601', async () => {
    const file = await backendFile();
    const raw = startRawRelay(['--config', file]);
    cleanups.push(() => raw.stop());
    expect(await raw.request(1, 'tools/list', { _meta: { 'io.modelcontextprotocol/protocolVersion': MODERN } })).toMatchObject({
      id: 1,
      error: { code: -32602, data: { envelope: { key: 'io.modelcontextprotocol/clientCapabilities', problem: 'missing' } } },
    });
    expect(await raw.request(2, 'tools/list', { _meta: envelope({ 'io.modelcontextprotocol/protocolVersion': '1900-01-01' }) })).toMatchObject({
      id: 2,
      error: { code: -32022, data: { supported: ['2026-07-28', '2025-11-25', '2025-06-18', '2025-03-26', '2024-11-05'], requested: '1900-01-01' } },
    });
    // a _meta that is not an object is no request a backend would answer: refused at once, in either era
    expect(await raw.request(3, 'tools/call', { name: 'echo', _meta: [1] })).toMatchObject({ id: 3, error: { code: -32602, message: expect.stringContaining('_meta must be an object') } });
    for (const method of ['ping', 'logging/setLevel', 'resources/subscribe']) {
      expect(await raw.request(method, method, { _meta: envelope(), level: 'info', uri: 'x://y' })).toMatchObject({ error: { code: -32601, message: expect.stringContaining('2026-07-28') } });
    }
    // lists say they are not to be cached, and in what order they are: the same each time
    const first = await eventually(async () => {
      const listed = await raw.request(`t-${Date.now()}`, 'tools/list', { _meta: envelope() });
      expect((listed['result'] as { tools: unknown[] }).tools.length).toBeGreaterThan(0);
      return listed['result'] as Record<string, unknown>;
    });
    expect(first).toMatchObject({ resultType: 'complete', ttlMs: 0, cacheScope: 'private' });
    const again = (await raw.request('t-again', 'tools/list', { _meta: envelope() }))['result'] as Record<string, unknown>;
    expect(again['tools']).toEqual(first['tools']);
    // nothing unasked reaches a modern connection: no list_changed, no log lines
    expect(raw.received.filter((message) => 'method' in message)).toEqual([]);
  });
});

describe('2026-07-28 over Streamable HTTP: POST only, no session, headers checked against the body', () => {
  it.each([['pin'], ['auto']] as const)('the SDK v2 client (%s) lists and calls with no session id', async (negotiation) => {
    const file = await backendFile();
    const relay = await startNetworkRelay(file);
    cleanups.push(() => relay.stop());
    const seen: Array<{ method: string; session: string | null; status: number }> = [];
    const fetcher: typeof fetch = async (input, init) => {
      const answer = await fetch(input, init);
      seen.push({ method: init?.method ?? 'GET', session: answer.headers.get('mcp-session-id'), status: answer.status });
      return answer;
    };
    const client = modernClient(negotiation);
    await client.connect(new ModernHttpTransport(new URL(relay.http), { fetch: fetcher }));
    cleanups.push(() => client.close());
    expect(client.getProtocolEra()).toBe('modern');
    await eventually(async () => expect((await client.listTools()).tools.map((tool) => tool.name)).toContain('echo'));
    expect((await client.callTool({ name: 'echo', arguments: { over: 'http' } })).content).toEqual([{ type: 'text', text: 'echo:{"over":"http"}' }]);
    const progress: number[] = [];
    await client.callTool({ name: 'steps', arguments: {} }, { onprogress: (update) => progress.push(update.progress) });
    expect(progress.slice(0, 2)).toEqual([1, 2]);
    // stateless: no answer carried a session id, and every request was a POST
    expect(seen.filter((each) => each.session !== null)).toEqual([]);
    expect(seen.filter((each) => each.method !== 'POST' && each.method !== 'DELETE')).toEqual([]);
  });

  it('answers 400 -32020 for headers that disagree with the body, 400 for a bad envelope, 404 for removed methods, 405 for GET and DELETE', async () => {
    const file = await backendFile();
    const relay = await startNetworkRelay(file);
    cleanups.push(() => relay.stop());
    const post = async (body: unknown, headers: Record<string, string>) => {
      const answer = await fetch(relay.http, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers }, body: JSON.stringify(body) });
      return { status: answer.status, session: answer.headers.get('mcp-session-id'), body: (await answer.json()) as Record<string, unknown> };
    };
    const call = (name: string, meta: Record<string, unknown> = envelope()) => ({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: {}, _meta: meta } });
    const good = { 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/call', 'mcp-name': 'echo' };
    await eventually(async () => expect((await post(call('echo'), good)).body).toMatchObject({ result: { resultType: 'complete', content: [{ type: 'text', text: 'echo:{}' }] } }));
    const served = await post(call('echo'), good);
    expect(served).toMatchObject({ status: 200, session: null });
    // a name that needs base64 in a header is decoded before it is compared
    expect((await post(call('echo'), { ...good, 'mcp-name': `=?base64?${Buffer.from('echo').toString('base64')}?=` })).status).toBe(200);
    for (const [headers, text] of [
      [{ ...good, 'mcp-name': 'other' }, /Mcp-Name header value 'other' does not match body value "echo"/],
      [{ ...good, 'mcp-method': 'tools/list' }, /Mcp-Method header value 'tools\/list' does not match/],
      [{ 'mcp-method': 'tools/call', 'mcp-name': 'echo' }, /MCP-Protocol-Version header is absent/],
      [{ ...good, 'mcp-protocol-version': '2025-11-25' }, /MCP-Protocol-Version header value '2025-11-25' does not match body value '2026-07-28'/],
    ] as const) {
      expect(await post(call('echo'), headers)).toMatchObject({ status: 400, body: { id: 1, error: { code: -32020, message: expect.stringMatching(text) } } });
    }
    expect(await post(call('echo', { 'io.modelcontextprotocol/protocolVersion': MODERN }), good)).toMatchObject({ status: 400, body: { error: { code: -32602 } } });
    expect(await post(call('echo', envelope({ 'io.modelcontextprotocol/protocolVersion': '1900-01-01' })), { ...good, 'mcp-protocol-version': '1900-01-01' })).toMatchObject({
      status: 400,
      body: { error: { code: -32022, data: { requested: '1900-01-01' } } },
    });
    expect(await post({ jsonrpc: '2.0', id: 2, method: 'ping', params: { _meta: envelope() } }, { 'mcp-protocol-version': MODERN, 'mcp-method': 'ping' })).toMatchObject({ status: 404, body: { error: { code: -32601 } } });
    for (const method of ['GET', 'DELETE']) {
      const answer = await fetch(relay.http, { method, headers: { accept: 'text/event-stream' } });
      expect([answer.status, answer.headers.get('allow')]).toEqual([405, 'POST']);
    }
  });

  it('closing the response cancels the call on its backend', async () => {
    const file = await backendFile();
    const relay = await startNetworkRelay(file);
    cleanups.push(() => relay.stop());
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/call', 'mcp-name': 'hang' };
    await eventually(async () => {
      const listed = await fetch(relay.http, { method: 'POST', headers: { ...headers, 'mcp-method': 'tools/list' }, body: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'tools/list', params: { _meta: envelope() } }) });
      expect(JSON.stringify(await listed.json())).toContain('"hang"');
    });
    const controller = new AbortController();
    const pending = fetch(relay.http, { method: 'POST', headers, signal: controller.signal, body: JSON.stringify({ jsonrpc: '2.0', id: 5, method: 'tools/call', params: { name: 'hang', arguments: {}, _meta: envelope() } }) }).catch(() => 'aborted');
    await new Promise((done) => setTimeout(done, 300));
    controller.abort();
    expect(await pending).toBe('aborted');
    await eventually(() => expect(relay.events.some((event) => event.event === 'call.done' && event['tool'] === 'hang' && event['outcome'] === 'cancelled')).toBe(true));
  });
});

describe('subscriptions/listen: list changes for 2026-07-28 clients', () => {
  it('over stdio: acknowledged, then list_changed tagged with the subscription id when the tools change, until cancelled', async () => {
    const tools = await startBackend({ name: 'tools', tools: [echoTool('echo')] });
    cleanups.push(() => tools.close());
    const raw = startRawRelay(['--config', configFile(backendsYaml([{ name: 'tools', url: tools.url }])).file]);
    cleanups.push(() => raw.stop());
    await eventually(async () => expect(JSON.stringify(await raw.request(`l-${Date.now()}`, 'tools/list', { _meta: envelope() }))).toContain('"echo"'));
    raw.send({ jsonrpc: '2.0', id: 'sub-1', method: 'subscriptions/listen', params: { _meta: envelope(), notifications: { toolsListChanged: true, promptsListChanged: true, resourceSubscriptions: ['file:///x'] } } });
    const ack = await raw.next((message) => message['method'] === 'notifications/subscriptions/acknowledged');
    expect(ack['params']).toEqual({ notifications: { toolsListChanged: true, promptsListChanged: true }, _meta: { 'io.modelcontextprotocol/subscriptionId': 'sub-1' } });
    await tools.setTools([echoTool('echo'), echoTool('echo_two')]);
    const changed = await raw.next((message) => message['method'] === 'notifications/tools/list_changed');
    expect(changed['params']).toEqual({ _meta: { 'io.modelcontextprotocol/subscriptionId': 'sub-1' } });
    expect(JSON.stringify(await raw.request('l2', 'tools/list', { _meta: envelope() }))).toContain('"echo_two"');
    // cancelled: nothing more for it, and the listen request itself is never answered
    raw.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'sub-1' } });
    await tools.setTools([echoTool('echo')]);
    await eventually(async () => expect(JSON.stringify(await raw.request(`l3-${Date.now()}`, 'tools/list', { _meta: envelope() }))).not.toContain('"echo_two"'));
    await new Promise((done) => setTimeout(done, 200));
    expect(raw.received.filter((message) => message['method'] === 'notifications/tools/list_changed' || message['id'] === 'sub-1')).toEqual([]);
  });

  it('over Streamable HTTP: the POST stays open as an SSE stream carrying the acknowledgement and the tagged changes', async () => {
    const tools = await startBackend({ name: 'tools', tools: [echoTool('echo')] });
    cleanups.push(() => tools.close());
    const relay = await startNetworkRelay(configFile(backendsYaml([{ name: 'tools', url: tools.url }])).file);
    cleanups.push(() => relay.stop());
    const controller = new AbortController();
    cleanups.push(() => controller.abort());
    const answer = await fetch(relay.http, {
      method: 'POST',
      signal: controller.signal,
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': MODERN, 'mcp-method': 'subscriptions/listen' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'subscriptions/listen', params: { _meta: envelope(), notifications: { toolsListChanged: true } } }),
    });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toBe('text/event-stream');
    expect(answer.headers.get('mcp-session-id')).toBeNull();
    const reader = (answer.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let text = '';
    const until = async (pattern: string) => {
      while (!text.includes(pattern)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`the stream ended before ${pattern}: ${text}`);
        text += decoder.decode(value);
      }
    };
    await until('notifications/subscriptions/acknowledged');
    await new Promise((done) => setTimeout(done, 300));
    await tools.setTools([echoTool('echo'), echoTool('echo_three')]);
    await until('notifications/tools/list_changed');
    expect(text).toContain('"io.modelcontextprotocol/subscriptionId":7');
  });
});
