// Backends that die, hang, drop calls, stop answering pings, or are slow: the relay survives them all and says what happened.
import { backendProcess, freePort } from './backend-process.js';
import { afterEach, describe, expect, it } from 'vitest';
import { startBackend, type FixtureTool, type RunningBackend } from '../fixtures/mcp-ws-backend.js';
import { startRawBackend } from '../fixtures/raw-ws-backend.js';
import { echoTool, hangTool, sleep, slowTool } from '../fixtures/tools.js';
import { backendsYaml, configFile, eventually, FAST_DEFAULTS, startSdkRelay, status, textOf, type SdkRelay } from './relay-process.js';




const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function relayOver(backends: Array<{ name: string; url: string; extra?: string }>, head = FAST_DEFAULTS): Promise<SdkRelay> {
  const relay = await startSdkRelay(configFile(backendsYaml(backends, head)).file);
  cleanups.push(() => relay.close());
  return relay;
}

async function backend(name: string, tools: FixtureTool[], options: Partial<Parameters<typeof startBackend>[0]> = {}): Promise<RunningBackend> {
  const running = await startBackend({ name, tools, ...options });
  cleanups.push(() => running.close());
  return running;
}

describe('a backend killed and restarted', () => {
  it('keeps its tools while down, shows it failed, and serves calls again once it is back', async () => {
    const port = await freePort();
    let child = await backendProcess(port, 'proc_echo');
    cleanups.push(() => child.kill('SIGKILL'));
    const relay = await relayOver([{ name: 'proc', url: `ws://127.0.0.1:${port}` }]);
    expect((await relay.client.listTools()).tools.map((tool) => tool.name)).toContain('proc_echo');

    child.kill('SIGKILL');
    await eventually(async () => expect((await status(relay.client)).servers[0]).toMatchObject({ health: 'failed', connected: false, tools: 1 }));
    expect((await relay.client.listTools()).tools.map((tool) => tool.name)).toContain('proc_echo');

    // a call while it is down waits for it to come back (and cuts the backoff short)
    const pending = relay.client.callTool({ name: 'proc_echo', arguments: { late: true } });
    await sleep(300);
    child = await backendProcess(port, 'proc_echo');
    expect(textOf(await pending)).toBe('proc_echo:{"late":true}');
    await eventually(async () => expect((await status(relay.client)).servers[0]).toMatchObject({ health: 'healthy', connected: true }));
    // a blip that brings back the same tools is not a catalogue change
    expect(relay.listChanged()).toBe(0);
    await eventually(() => expect(relay.events.some((event) => event.event === 'backend.reconnect' && event['backend'] === 'proc')).toBe(true));
  });

  it('cuts a long backoff short when a call needs the backend (down to initialMs after the last failure)', async () => {
    const port = await freePort();
    let child = await backendProcess(port, 'proc_echo');
    cleanups.push(() => child.kill('SIGKILL'));
    // waits of 1, 2, then 4 s; the queue holds a call 2.5 s; the breaker stays out of it
    const relay = await relayOver([{ name: 'proc', url: `ws://127.0.0.1:${port}`, extra: '    backoff: { initialMs: 1000, maxMs: 20000 }\n    queue: { maxWaitMs: 2500 }\n    circuitBreaker: { failureThreshold: 1000 }\n' }]);
    await relay.client.listTools();
    child.kill('SIGKILL');
    // the second reconnect has failed: the next regular attempt is 4 s away
    await eventually(() => expect(relay.events.filter((event) => event.event === 'backend.reconnect' && event['attempt'] === 3)).toHaveLength(1));
    await eventually(async () => expect((await status(relay.client)).servers[0]?.health).toBe('failed'));
    child = await backendProcess(port, 'proc_echo');
    // without the kick this call would wait past its 2.5 s and fail with -32060
    const calledAt = Date.now();
    expect(textOf(await relay.client.callTool({ name: 'proc_echo', arguments: { kicked: true } }))).toBe('proc_echo:{"kicked":true}');
    expect(Date.now() - calledAt).toBeLessThan(2_500);
  });

  it('fails a call with a clear error naming queue.maxWaitMs when the backend stays down past it', async () => {
    const port = await freePort();
    const child = await backendProcess(port, 'proc_echo');
    // a breaker that stays closed: this test is about the queue's bound (breaker.test.ts is about the breaker)
    const relay = await relayOver([{ name: 'proc', url: `ws://127.0.0.1:${port}`, extra: '    queue: { maxWaitMs: 500 }\n    circuitBreaker: { failureThreshold: 1000 }\n' }]);
    await relay.client.listTools();
    child.kill('SIGKILL');
    await eventually(async () => expect((await status(relay.client)).servers[0]?.health).toBe('failed'));
    await expect(relay.client.callTool({ name: 'proc_echo', arguments: {} })).rejects.toThrow(
      /backend 'proc', tool 'proc_echo': the call waited 500 ms in the backend's queue \(queue\.maxWaitMs 500\) and was never sent, because the backend is not connected \(last error: .*\)\. To fix: retry later, or raise queue\.maxWaitMs/,
    );
  });
});

describe('calls that go wrong on the backend', () => {
  it('times out a call that never answers, cancels it on the backend, and keeps serving', async () => {
    let aborted = false;
    const watcher: FixtureTool = {
      definition: hangTool('hang').definition,
      handler: (_args, { signal }) =>
        new Promise((_done, fail) =>
          signal.addEventListener('abort', () => {
            aborted = true;
            fail(new Error('aborted'));
          }),
        ),
    };
    const slow = await backend('slow', [watcher, echoTool('quick')]);
    const relay = await relayOver([{ name: 'slow', url: slow.url, extra: '    timeoutMs: 400\n' }]);
    await relay.client.listTools();
    const hanging = relay.client.callTool({ name: 'hang', arguments: {} });
    // one slow call never holds up another
    expect(textOf(await relay.client.callTool({ name: 'quick', arguments: {} }))).toBe('quick:{}');
    await expect(hanging).rejects.toThrow(/MCP error -32052: backend 'slow', tool 'hang': no response within the call timeout/);
    await eventually(() => expect(aborted).toBe(true));
    expect(textOf(await relay.client.callTool({ name: 'quick', arguments: {} }))).toBe('quick:{}');
  });

  it('restarts the call timeout on progress from the backend', async () => {
    const steps: FixtureTool = {
      definition: { name: 'steps', description: 'progress every 150 ms, 6 times', inputSchema: { type: 'object' } },
      handler: async (_args, { sendProgress, signal }) => {
        for (let i = 1; i <= 6; i++) {
          await sleep(150, signal);
          await sendProgress(i, 6);
        }
        return { content: [{ type: 'text', text: 'done' }] };
      },
    };
    const server = await backend('prog', [steps]);
    const relay = await relayOver([{ name: 'prog', url: server.url, extra: '    timeoutMs: 400\n' }]);
    await relay.client.listTools();
    const progress: number[] = [];
    const result = await relay.client.callTool({ name: 'steps', arguments: {} }, undefined, { onprogress: (p) => progress.push(p.progress) });
    expect(textOf(result)).toBe('done');
    expect(progress.length).toBeGreaterThanOrEqual(5);
  });

  it('answers "outcome unknown" when the connection drops after the call was sent, and never sends it twice', async () => {
    const server = await backend('flaky', [slowTool('slow_write', 1_000), echoTool('echo')]);
    const relay = await relayOver([{ name: 'flaky', url: server.url }]);
    await relay.client.listTools();
    const call = relay.client.callTool({ name: 'slow_write', arguments: { id: 1 } });
    await eventually(() => expect(server.calls()).toHaveLength(1));
    server.dropConnections();
    await expect(call).rejects.toThrow(/MCP error -32053: backend 'flaky', tool 'slow_write': connection to backend 'flaky' dropped after the request was sent .*the outcome is unknown and the relay did not send it again/);
    await eventually(async () => expect((await status(relay.client)).servers[0]?.health).toBe('healthy'));
    expect(textOf(await relay.client.callTool({ name: 'echo', arguments: {} }))).toBe('echo:{}');
    expect(server.calls().filter((entry) => entry.tool === 'slow_write')).toHaveLength(1);
  });
});

describe('connections', () => {
  it('terminates a backend that stops answering pings and reconnects it', async () => {
    const silent = await backend('silent', [echoTool('silent_echo')], { respondToPing: false });
    const relay = await relayOver([{ name: 'silent', url: silent.url, extra: '    pingIntervalMs: 150\n    pongTimeoutMs: 150\n' }]);
    await relay.client.listTools();
    await eventually(() => expect(silent.connectionsTotal()).toBeGreaterThanOrEqual(3));
    await eventually(() => expect(relay.events.some((event) => event.event === 'backend.state' && /no pong within 150 ms/.test(String(event['error'])))).toBe(true));
  });

  it('falls back to no subprotocol when the server answers without one', async () => {
    const plain = await backend('plain', [echoTool('plain_echo')], { subprotocol: false });
    const relay = await relayOver([{ name: 'plain', url: plain.url }]);
    await relay.client.listTools();
    expect(textOf(await relay.client.callTool({ name: 'plain_echo', arguments: {} }))).toBe('plain_echo:{}');
  });

  it('holds the first tools/list until a backend that is slow to accept has connected', async () => {
    const slowAccept = await backend('late', [echoTool('late_echo')], { acceptDelayMs: 1_200 });
    const quick = await backend('quick', [echoTool('quick_echo')]);
    const relay = await relayOver([{ name: 'quick', url: quick.url }, { name: 'late', url: slowAccept.url }]);
    const names = (await relay.client.listTools()).tools.map((tool) => tool.name);
    expect(names).toEqual(expect.arrayContaining(['quick_echo', 'late_echo']));
  });

  it('answers the first tools/list after startupGraceMs when a backend is slower than that', async () => {
    const slowAccept = await backend('late', [echoTool('late_echo')], { acceptDelayMs: 2_500 });
    const quick = await backend('quick', [echoTool('quick_echo')]);
    const relay = await relayOver([{ name: 'quick', url: quick.url }, { name: 'late', url: slowAccept.url }], FAST_DEFAULTS.replace('startupGraceMs: 3000', 'startupGraceMs: 500'));
    const names = (await relay.client.listTools()).tools.map((tool) => tool.name);
    expect(names).toContain('quick_echo');
    expect(names).not.toContain('late_echo');
    await eventually(() => expect(relay.listChanged()).toBe(1), 5_000);
    expect((await relay.client.listTools()).tools.map((tool) => tool.name)).toContain('late_echo');
  });

  it("re-lists a backend's tools on its notifications/tools/list_changed and tells the client", async () => {
    const live = await backend('live', [echoTool('v1')]);
    const relay = await relayOver([{ name: 'live', url: live.url }]);
    expect((await relay.client.listTools()).tools.map((tool) => tool.name)).toContain('v1');
    await live.setTools([echoTool('v1'), echoTool('v2')]);
    await eventually(() => expect(relay.listChanged()).toBe(1));
    expect((await relay.client.listTools()).tools.map((tool) => tool.name)).toEqual(expect.arrayContaining(['v1', 'v2']));
  });
});

describe('tool validation and conflicts', () => {
  it('hides invalid tools, exposes warned ones as sent, and lets the first listed backend keep a contested name', async () => {
    const mixed = await backend('mixed', [
      { definition: { name: 'good', description: 'fine', inputSchema: { type: 'object' } } },
      { definition: { name: 'no_schema', description: 'missing schema' } },
      { definition: { name: 'array_schema', description: 'wrong type', inputSchema: { type: 'array' } } },
      { definition: { name: 'bad_required', description: 'x', inputSchema: { type: 'object', required: 'a' } } },
      { definition: { name: 'no_description', inputSchema: { type: 'object', properties: { a: {} }, required: ['a', 'b'] } } },
      echoTool('shared'),
    ], { acceptDelayMs: 600 }); // listed first in the file but connects last: the file's order decides, not who connects first
    const second = await backend('second', [echoTool('shared')]);
    const relay = await relayOver([
      { name: 'mixed', url: mixed.url },
      { name: 'second', url: second.url },
    ]);
    const names = (await relay.client.listTools()).tools.map((tool) => tool.name);
    expect(names).toEqual(['relay_get_status', 'relay_list_servers', 'relay_reconnect_server', 'relay_add_server', 'relay_remove_server', 'relay_search_tools', 'relay_call_tool', 'good', 'no_description', 'shared']);
    expect(textOf(await relay.client.callTool({ name: 'shared', arguments: {} }))).toBe('shared:{}');
    expect(mixed.calls().map((entry) => entry.tool)).toEqual(['shared']);
    const s = await status(relay.client);
    expect(s.servers[0]).toMatchObject({ name: 'mixed', health: 'degraded', tools: 3, invalid_tools: 3 });
    expect(s.servers[0]?.error).toMatch(/no_schema: no inputSchema object/);
    expect(s.servers[0]?.error).toMatch(/array_schema: inputSchema.type is "array", not "object"/);
    expect(s.servers[0]?.error).toMatch(/bad_required: inputSchema.required is not an array of strings/);
    expect(s.servers[0]?.warnings).toEqual(expect.arrayContaining(['no_description: no description', "no_description: required field 'b' is not in inputSchema.properties"]));
    expect(s.servers[1]).toMatchObject({ name: 'second', health: 'degraded', tools: 0, invalid_tools: 1 });
    expect(s.servers[1]?.error).toMatch(/name conflict: 'shared' is already provided by backend 'mixed', listed earlier/);
    await eventually(() => expect(relay.events.some((event) => event.event === 'tool.invalid' && event['tool'] === 'no_schema')).toBe(true));
  });

  it('marks a backend degraded when it sends frames that are not JSON-RPC', async () => {
    const noisy = await startRawBackend({
      onMessage: (message, send) => {
        const request = message as { id?: number; method?: string };
        if (request.method === 'initialize') {
          send({ jsonrpc: '2.0', id: request.id, result: { protocolVersion: '2025-06-18', capabilities: { tools: {} }, serverInfo: { name: 'noisy', version: '1' } } });
        } else if (request.method === 'tools/list') {
          send({ jsonrpc: '2.0', id: request.id, result: { tools: [{ name: 'noisy_tool', description: 'x', inputSchema: { type: 'object' } }] } });
          send('this is not json');
        }
      },
    });
    cleanups.push(() => noisy.close());
    const relay = await relayOver([{ name: 'noisy', url: noisy.url }]);
    expect((await relay.client.listTools()).tools.map((tool) => tool.name)).toContain('noisy_tool');
    await eventually(async () => {
      const s = await status(relay.client);
      expect(s.servers[0]).toMatchObject({ health: 'degraded', connected: true });
      expect(s.servers[0]?.error).toMatch(/protocol error: frame is not JSON/);
    });
  });

  it('fails a backend whose handshake never completes, without holding up the others', async () => {
    const mute = await startRawBackend({ onMessage: () => undefined });
    cleanups.push(() => mute.close());
    const fine = await backend('fine', [echoTool('fine_echo')]);
    const relay = await relayOver([
      { name: 'mute', url: mute.url, extra: '    connectWaitMs: 400\n' },
      { name: 'fine', url: fine.url },
    ]);
    expect((await relay.client.listTools()).tools.map((tool) => tool.name)).toContain('fine_echo');
    await eventually(async () => expect((await status(relay.client)).servers[0]).toMatchObject({ health: 'failed' }));
    expect((await status(relay.client)).servers[0]?.error).toMatch(/did not answer initialize within 400 ms/);
  });
});
