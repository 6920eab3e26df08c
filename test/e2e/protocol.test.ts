// The stdio protocol at the byte level, with a raw newline-JSON peer: what the SDK client would hide or reject.
import { spawnSync } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startBackend, type RunningBackend } from '../fixtures/mcp-ws-backend.js';
import type { FixtureTool } from '../fixtures/mcp-ws-backend.js';
import { bigTool, echoTool, richTool, slowTool } from '../fixtures/tools.js';
import { backendsYaml, configFile, FAST_DEFAULTS, eventually, INITIALIZE, RELAY_MAIN, startRawRelay, type RawRelay } from './relay-process.js';

/** The same call made directly on the backend over WebSocket, as raw JSON. */
async function callDirect(url: string, name: string, args: Record<string, unknown>): Promise<Record<string, unknown>> {
  const socket = new WebSocket(url, ['mcp']);
  await new Promise((done, fail) => socket.once('open', done).once('error', fail));
  const replies = new Map<number, (m: Record<string, unknown>) => void>();
  socket.on('message', (data) => {
    const message = JSON.parse(data.toString()) as Record<string, unknown>;
    replies.get(message['id'] as number)?.(message);
  });
  const ask = (id: number, method: string, params: unknown) =>
    new Promise<Record<string, unknown>>((done) => {
      replies.set(id, done);
      socket.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
    });
  await ask(1, 'initialize', INITIALIZE);
  socket.send(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }));
  const response = await ask(2, 'tools/call', { name, arguments: args });
  socket.terminate();
  return response;
}

/** A result over the size the relay passes on undecoded (256 KiB), with multi-byte text and fields the relay never heard of. */
function largeRichTool(name: string): FixtureTool {
  return {
    definition: { name, description: 'a large result, isError when asked', inputSchema: { type: 'object' } },
    handler: (args) => ({
      content: [{ type: 'text', text: `é✓${'ü'.repeat(400_000)}🙂` }],
      structuredContent: { lines: Array.from({ length: 2_000 }, (_, i) => `line ${i}`) },
      _meta: { 'vendor/trace': 'abc' },
      ...(args['fail'] === true ? { isError: true } : {}),
    }),
  };
}

describe('stdio protocol with a raw peer', () => {
  let backend: RunningBackend;
  let file: string;
  let relay: RawRelay;

  beforeAll(async () => {
    backend = await startBackend({ name: 'rich', tools: [richTool('rich_tool'), echoTool('echo'), bigTool('huge', 11 * 1024 * 1024), slowTool('slow', 60_000), largeRichTool('large_rich')] });
    file = configFile(backendsYaml([{ name: 'rich', url: backend.url }])).file;
  });
  afterEach(async () => relay?.stop());
  afterAll(async () => backend?.close());

  it("answers Claude Code's server/discover probe (2026-07-28 and the 2025 versions), then initializes with the client's version", async () => {
    relay = startRawRelay(['--config', file]);
    const probe = await relay.request('server-discover-probe-1', 'server/discover', {});
    expect(probe['result']).toMatchObject({ resultType: 'complete', supportedVersions: ['2026-07-28', '2025-11-25', '2025-06-18', '2025-03-26', '2024-11-05'] });
    const init = await relay.request(1, 'initialize', { ...INITIALIZE, protocolVersion: '2025-03-26' });
    expect(init['result']).toMatchObject({
      protocolVersion: '2025-03-26',
      capabilities: { tools: { listChanged: true } },
      serverInfo: { name: 'mcp-relay' },
    });
    const newer = await relay.request(2, 'initialize', { ...INITIALIZE, protocolVersion: '2099-01-01' });
    expect((newer['result'] as Record<string, unknown>)['protocolVersion']).toBe('2025-11-25');
    expect((await relay.request(3, 'ping'))['result']).toEqual({});
  });

  it('answers bad input with -32700, -32600 and -32601 and keeps serving', async () => {
    relay = startRawRelay(['--config', file]);
    relay.sendLine('this is not json');
    expect((await relay.next((m) => m['id'] === null))['error']).toMatchObject({ code: -32700 });
    relay.sendLine('{"jsonrpc":"2.0","id":7,"method":12}');
    expect((await relay.next((m) => m['id'] === 7))['error']).toMatchObject({ code: -32600 });
    relay.sendLine('[1,2,3]');
    expect((await relay.next((m) => m['id'] === null))['error']).toMatchObject({ code: -32600 });
    expect((await relay.request(8, 'no/such/method', {}))['error']).toMatchObject({ code: -32601 });
    relay.sendLine('{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"arguments":{}}}');
    expect((await relay.next((m) => m['id'] === 9))['error']).toMatchObject({ code: -32602 });
    await relay.request(10, 'initialize', INITIALIZE);
    const list = await relay.request(11, 'tools/list', {});
    expect(((list['result'] as Record<string, unknown>)['tools'] as unknown[]).length).toBeGreaterThan(5);
  });

  it('refuses a second request on an id that is still in flight, and cancels on the client\'s word', async () => {
    relay = startRawRelay(['--config', file]);
    await relay.request(1, 'initialize', INITIALIZE);
    await relay.request(2, 'tools/list', {});
    relay.send({ jsonrpc: '2.0', id: 'dup', method: 'tools/call', params: { name: 'slow', arguments: {} } });
    await eventually(() => expect(backend.calls().filter((entry) => entry.tool === 'slow')).toHaveLength(1));
    const second = await relay.request('dup', 'tools/call', { name: 'echo', arguments: {} });
    expect(second['error']).toMatchObject({ code: -32600, message: expect.stringMatching(/id "dup" is already used by a request in flight/) });
    relay.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'dup', reason: 'user pressed stop' } });
    // once cancelled the id is free again, and the cancelled call never answers
    const reused = await relay.request('dup', 'tools/call', { name: 'echo', arguments: { again: true } });
    expect(reused['result']).toMatchObject({ content: [{ text: 'echo:{"again":true}' }] });
    expect(relay.received.filter((message) => message['id'] === 'dup')).toEqual([]);
  });

  it('passes a result through unchanged: extra fields, unknown content types, _meta, structuredContent', async () => {
    relay = startRawRelay(['--config', file]);
    await relay.request(1, 'initialize', INITIALIZE);
    relay.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    const list = await relay.request(2, 'tools/list', {});
    const direct = await callDirect(backend.url, 'rich_tool', { x: 1 });
    const viaRelay = await relay.request('call-1', 'tools/call', { name: 'rich_tool', arguments: { x: 1 } });
    expect(viaRelay).toEqual({ ...direct, id: 'call-1' });
    expect(viaRelay['result']).toMatchObject({ extraTopLevel: 'kept', _meta: { trace: 'abc' } });
    const definition = ((list['result'] as Record<string, unknown>)['tools'] as Array<Record<string, unknown>>).find((tool) => tool['name'] === 'rich_tool');
    expect(definition).toEqual(richTool('rich_tool').definition);
  });

  it('replaces an 11 MB result with an error result naming its size, the limit and the backend', async () => {
    relay = startRawRelay(['--config', file]);
    await relay.request(1, 'initialize', INITIALIZE);
    const response = await relay.request(2, 'tools/call', { name: 'huge', arguments: {} });
    const result = response['result'] as { isError: boolean; content: Array<{ text: string }> };
    expect(result.isError).toBe(true);
    expect(result.content[0]?.text).toMatch(/tool 'huge' from backend 'rich' is \d{8} bytes, over the relay's limit of 9000000 bytes/);
    expect(JSON.stringify(response).length).toBeLessThan(10_000);
    // the connection survives: the next call works
    const echo = await relay.request(3, 'tools/call', { name: 'echo', arguments: { ok: true } });
    expect(echo['result']).toMatchObject({ content: [{ type: 'text', text: 'echo:{"ok":true}' }] });
  });

  it('passes a large result on as the backend sent it (undecoded on the way), under the client id, and logs its outcome', async () => {
    relay = startRawRelay(['--config', file]);
    await relay.request(1, 'initialize', INITIALIZE);
    const direct = await callDirect(backend.url, 'large_rich', {});
    const viaRelay = await relay.request('large-1', 'tools/call', { name: 'large_rich', arguments: {} });
    expect(Buffer.byteLength(JSON.stringify(viaRelay))).toBeGreaterThan(800_000);
    expect(viaRelay).toEqual({ ...direct, id: 'large-1' });
    const failed = await relay.request(3, 'tools/call', { name: 'large_rich', arguments: { fail: true } });
    expect(failed['result']).toMatchObject({ isError: true, _meta: { 'vendor/trace': 'abc' } });
    await eventually(() => {
      const outcomes = relay.events.filter((event) => event.event === 'call.done' && event['tool'] === 'large_rich').map((event) => event['outcome']);
      expect(outcomes).toEqual(['ok', 'tool-error']);
    });
    // the line after it is whole too
    expect((await relay.request(4, 'ping'))['result']).toEqual({});
  });

  // "within 2 s" is the issue's own requirement for a client that goes away, so it is asserted here
  it('exits 0 within 2 s when stdin closes, closing its backend sockets, with nothing but protocol on stdout', async () => {
    relay = startRawRelay(['--config', file]);
    await relay.request(1, 'initialize', INITIALIZE);
    await relay.request(2, 'tools/list', {});
    expect(backend.connections()).toBe(1);
    const started = Date.now();
    relay.child.stdin.end();
    const { code } = await relay.exited;
    expect(code).toBe(0);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(relay.received).toEqual([]);
    await eventually(() => expect(backend.connections()).toBe(0));
  });

  it.each(['SIGTERM', 'SIGINT'] as const)('exits 0 on %s within shutdownGraceMs and the exit deadline, answering the call still in flight', async (signal) => {
    // the slow tool takes a minute: the grace period (500 ms here) ends first
    relay = startRawRelay(['--config', configFile(backendsYaml([{ name: 'rich', url: backend.url }], `${FAST_DEFAULTS}shutdownGraceMs: 500\n`)).file]);
    await relay.request(1, 'initialize', INITIALIZE);
    await relay.request(2, 'tools/list', {});
    relay.send({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'slow', arguments: {} } });
    await eventually(() => expect(backend.calls().some((entry) => entry.tool === 'slow')).toBe(true));
    const started = Date.now();
    relay.child.kill(signal);
    expect(await relay.next((message) => message['id'] === 3)).toMatchObject({ error: { code: -32061 } });
    expect((await relay.exited).code).toBe(0);
    expect(Date.now() - started).toBeLessThan(2_500);
    await eventually(() => expect(backend.connections()).toBe(0));
  });
});

describe('command line', () => {
  const run = (...args: string[]) => spawnSync(process.execPath, [RELAY_MAIN, ...args], { encoding: 'utf8', input: '' });

  it('prints usage for --help and the version for --version', () => {
    const help = run('--help');
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/Usage: mcp-relay \[--config PATH\]/);
    const version = run('--version');
    expect(version.status).toBe(0);
    expect(version.stdout).toMatch(/^mcp-relay \d+\.\d+\.\d+/);
  });

  it('rejects an unknown flag with a usage error and exit code 2', () => {
    const bad = run('--bogus');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/bogus/);
    expect(bad.stderr).toMatch(/Usage:/);
    expect(bad.stdout).toBe('');
  });
});

describe('backend handshake headers', () => {
  it('sends configured headers with ${ENV} substituted, offering subprotocol mcp', async () => {
    const { WebSocketServer } = await import('ws');
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0, handleProtocols: (protocols) => (protocols.has('mcp') ? 'mcp' : false) });
    const seen = new Promise<{ auth?: string; protocol?: string }>((done) =>
      server.once('connection', (socket, request) => {
        done({ auth: request.headers['authorization'], protocol: socket.protocol });
        socket.close();
      }),
    );
    await new Promise((done) => server.once('listening', done));
    const port = (server.address() as { port: number }).port;
    const { file } = configFile(backendsYaml([{ name: 'h', url: `ws://127.0.0.1:${port}`, extra: '    headers:\n      Authorization: Bearer ${RELAY_HEADER_TOKEN}\n' }]));
    const relay = startRawRelay(['--config', file], { RELAY_HEADER_TOKEN: 'abc123' });
    try {
      await relay.request(1, 'initialize', INITIALIZE);
      expect(await seen).toEqual({ auth: 'Bearer abc123', protocol: 'mcp' });
    } finally {
      await relay.stop();
      server.close();
    }
  });
});
