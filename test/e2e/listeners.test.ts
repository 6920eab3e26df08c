// Listeners as an operator sees them: a port in use is an error at start, listen: in backends.yaml is opened and
// closed live, and stdin's end stops the relay only where stdio is the only front.
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { configFile, eventually, FAST_DEFAULTS, INITIALIZE, startRawRelay, type RawRelay } from './relay-process.js';
import { spawnRelay } from './network-relay.js';
import { wsClient } from './network-relay.js';

const stops: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

function occupiedPort(): Promise<number> {
  const server = createServer();
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      stops.push(() => new Promise<void>((done) => server.close(() => done())));
      resolve((server.address() as { port: number }).port);
    }),
  );
}

const listening = (relay: Pick<RawRelay, 'events'>, front: string) => relay.events.filter((event) => event.event === 'front.listen' && event['front'] === front);

describe('listeners', () => {
  it('exits 1 with a clear error when a --listen port is in use', async () => {
    const port = await occupiedPort();
    const { file } = configFile(`${FAST_DEFAULTS}backends: []\n`);
    const relay = spawnRelay(['--config', file, '--no-stdio', '--listen', `ws://127.0.0.1:${port}/mcp`]);
    let stderr = '';
    relay.child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    expect((await relay.exited).code).toBe(1);
    expect(stderr).toContain(`cannot listen on ws://127.0.0.1:${port}/mcp: the port is in use by another program`);
  });

  it('refuses a --listen that is not a listener URL, with the usage', async () => {
    const relay = spawnRelay(['--listen', 'tcp://127.0.0.1:1/mcp']);
    let stderr = '';
    relay.child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    expect((await relay.exited).code).toBe(2);
    expect(stderr).toContain('a listener is ws:// or wss:// (WebSocket), http:// or https:// (Streamable HTTP)');
    expect(stderr).toContain('Usage: mcp-relay');
  });

  it('opens and closes the listeners of backends.yaml live, and keeps serving after stdin ends while it has one', async () => {
    const { file } = configFile(`${FAST_DEFAULTS}listen: [ws://127.0.0.1:0/mcp]\nbackends: []\n`);
    const relay = startRawRelay(['--config', file]);
    stops.push(() => void relay.child.kill('SIGKILL'));
    await eventually(() => expect(listening(relay, 'ws')).toHaveLength(1));
    const wsUrl = listening(relay, 'ws')[0]?.['url'] as string;

    writeFileSync(file, `${FAST_DEFAULTS}listen: [ws://127.0.0.1:0/mcp, http://127.0.0.1:0/mcp]\nbackends: []\n`);
    await eventually(() => expect(listening(relay, 'http')).toHaveLength(1));
    // the WebSocket listener that stayed was not reopened
    expect(listening(relay, 'ws')).toHaveLength(1);

    // stdin ends: with listeners the relay goes on as a service
    expect(await relay.request(1, 'initialize', INITIALIZE)).toHaveProperty('result');
    relay.child.stdin.end();
    await eventually(() => expect(relay.events).toContainEqual(expect.objectContaining({ event: 'stdio.closed' })));
    const { client } = await wsClient(wsUrl);
    expect((await client.listTools()).tools.map((tool) => tool.name)).toContain('relay_get_status');
    await client.close();

    writeFileSync(file, `${FAST_DEFAULTS}listen: [http://127.0.0.1:0/mcp]\nbackends: []\n`);
    await eventually(() => expect(relay.events).toContainEqual(expect.objectContaining({ event: 'front.close', front: 'ws', url: wsUrl })));
    await expect(wsClient(wsUrl)).rejects.toThrow();

    relay.child.kill('SIGTERM');
    expect(await relay.exited).toEqual({ code: 0, signal: null });
  });

  it('ends an HTTP session idle for http.sessionIdleMs: its id is then unknown (404)', async () => {
    const { file } = configFile(`${FAST_DEFAULTS}listen: [http://127.0.0.1:0/mcp]\nhttp:\n  sessionIdleMs: 300\nbackends: []\n`);
    const relay = startRawRelay(['--config', file]);
    stops.push(() => relay.stop());
    await eventually(() => expect(listening(relay, 'http')).toHaveLength(1));
    const url = listening(relay, 'http')[0]?.['url'] as string;
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    const initialized = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: INITIALIZE }) });
    const session = initialized.headers.get('mcp-session-id') ?? '';
    await initialized.text();
    const ping = () => fetch(url, { method: 'POST', headers: { ...headers, 'mcp-session-id': session }, body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'ping' }) }).then((response) => response.status);
    expect(await ping()).toBe(200);
    // a stream held for longer than the idle time is no idleness: when it drops, the client's reconnect finds the session
    const stream = new AbortController();
    const held = await fetch(url, { headers: { 'mcp-session-id': session, accept: 'text/event-stream' }, signal: stream.signal });
    expect(held.status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    stream.abort();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await ping()).toBe(200);
    await eventually(() => expect(relay.events).toContainEqual(expect.objectContaining({ event: 'http.session.end', session, reason: 'idle for over 300 ms' })), 5_000);
    expect(await ping()).toBe(404);
  });

  it('exits 1 when a --listen port is in use, with listeners of its own in backends.yaml too', async () => {
    const port = await occupiedPort();
    const { file } = configFile(`${FAST_DEFAULTS}listen: [http://127.0.0.1:0/mcp]\nbackends: []\n`);
    const relay = spawnRelay(['--config', file, '--no-stdio', '--listen', `ws://127.0.0.1:${port}/mcp`]);
    let stderr = '';
    relay.child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    stops.push(() => void relay.child.kill('SIGKILL'));
    expect((await relay.exited).code).toBe(1);
    expect(stderr).toContain(`cannot listen on ws://127.0.0.1:${port}/mcp: the port is in use by another program`);
  });

  it('reports a listener of backends.yaml that cannot bind, and keeps running', async () => {
    const port = await occupiedPort();
    const { file } = configFile(`${FAST_DEFAULTS}listen: [http://127.0.0.1:${port}/mcp]\nbackends: []\n`);
    const relay = startRawRelay(['--config', file]);
    stops.push(() => relay.stop());
    await eventually(() => expect(relay.events).toContainEqual(expect.objectContaining({ event: 'front.error', url: `http://127.0.0.1:${port}/mcp`, error: expect.stringContaining('the port is in use') })));
    expect(await relay.request(1, 'initialize', INITIALIZE)).toHaveProperty('result');
  });
});
