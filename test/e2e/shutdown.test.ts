// Graceful shutdown, for real: SIGTERM to the relay process while calls are in flight over WebSocket, Streamable
// HTTP and stdio. What the clients see: new work refused (503 with Retry-After, -32061), calls in flight answered,
// WebSocket close 1001, exit 0; at the grace period's end an error answer instead of a hang; a second signal at once.
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { hangTool, slowTool, echoTool } from '../fixtures/tools.js';
import { startBackend, type FixtureTool, type RunningBackend } from '../fixtures/mcp-ws-backend.js';
import { startNetworkRelay } from './network-relay.js';
import { backendsYaml, configFile, eventually, FAST_DEFAULTS, INITIALIZE, startRawRelay } from './relay-process.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** a hang tool that records when the relay stops it on the backend */
let aborted = 0;
const watchedHang: FixtureTool = {
  definition: hangTool('hang').definition,
  handler: (_args, { signal }) =>
    new Promise((_done, fail) =>
      signal.addEventListener('abort', () => {
        aborted++;
        fail(new Error('aborted'));
      }),
    ),
};

async function backend(): Promise<RunningBackend> {
  aborted = 0;
  const running = await startBackend({ name: 'work', tools: [slowTool('slow', 800), watchedHang, echoTool('echo')] });
  cleanups.push(() => running.close());
  return running;
}

const callsOf = (work: RunningBackend, tool: string) => work.calls().filter((call) => call.tool === tool);

/** a raw WebSocket MCP client: requests by id, and how the relay closed the socket */
async function rawWs(url: string) {
  const socket = new WebSocket(url, ['mcp']);
  const answers = new Map<unknown, (message: Record<string, unknown>) => void>();
  const closed = new Promise<{ code: number; reason: string }>((done) => socket.once('close', (code, reason) => done({ code, reason: reason.toString() })));
  socket.on('message', (data) => {
    const message = JSON.parse(data.toString()) as Record<string, unknown>;
    answers.get(message['id'])?.(message);
  });
  await new Promise<void>((done, fail) => {
    socket.once('open', () => done());
    socket.once('error', fail);
  });
  cleanups.push(() => socket.terminate());
  const request = (id: number, method: string, params?: Record<string, unknown>) =>
    new Promise<Record<string, unknown>>((done) => {
      answers.set(id, done);
      socket.send(JSON.stringify({ jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) }));
    });
  await request(0, 'initialize', INITIALIZE);
  return { socket, request, closed };
}

/** what a new WebSocket upgrade hears */
const upgradeStatus = (url: string) =>
  new Promise<{ status: number; retryAfter: string | undefined }>((done, fail) => {
    const socket = new WebSocket(url, ['mcp']);
    socket.once('unexpected-response', (_request, response) => {
      done({ status: response.statusCode ?? 0, retryAfter: response.headers['retry-after'] });
      socket.terminate();
    });
    socket.once('open', () => fail(new Error('the upgrade was accepted while the relay drains')));
    socket.once('error', () => undefined);
  });

describe('SIGTERM on the network fronts', () => {
  it('refuses new connections and calls, answers the call in flight, closes WebSocket clients with 1001, and exits 0', async () => {
    const work = await backend();
    const { file } = configFile(backendsYaml([{ name: 'work', url: work.url }], `${FAST_DEFAULTS}shutdownGraceMs: 5000\n`));
    const relay = await startNetworkRelay(file);
    cleanups.push(() => relay.stop());
    const client = await rawWs(relay.ws);
    const inFlight = client.request(1, 'tools/call', { name: 'slow', arguments: { n: 1 } });
    await eventually(() => expect(callsOf(work, 'slow')).toHaveLength(1));
    const sentAt = Date.now();
    relay.child.kill('SIGTERM');
    await eventually(() => expect(relay.events.find((event) => event.event === 'relay.draining')).toMatchObject({ reason: 'SIGTERM', calls_in_flight: 1 }));

    // new work is refused, with what to do
    const refused = await client.request(2, 'tools/call', { name: 'echo', arguments: {} });
    expect(refused['error']).toMatchObject({ code: -32061, message: expect.stringMatching(/the relay is shutting down and takes no new calls/) });
    expect(await upgradeStatus(relay.ws)).toEqual({ status: 503, retryAfter: '5' });
    const post = await fetch(relay.http, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: INITIALIZE }) });
    expect(post.status).toBe(503);
    expect(post.headers.get('retry-after')).toBe('5');
    expect(((await post.json()) as { error: { code: number } }).error.code).toBe(-32061);

    // the call in flight finishes with its own result, then the socket closes going-away and the process exits 0
    expect((await inFlight)['result']).toMatchObject({ content: [{ type: 'text', text: expect.stringContaining('slow') }] });
    expect(await client.closed).toMatchObject({ code: 1001 });
    expect(await relay.exited).toEqual({ code: 0, signal: null });
    expect(Date.now() - sentAt).toBeLessThan(4_000);
    expect(callsOf(work, 'echo')).toEqual([]);
    expect(relay.events.filter((event) => event.event === 'relay.drain_timeout')).toEqual([]);
    expect(relay.events.find((event) => event.event === 'relay.stop')).toMatchObject({ reason: 'SIGTERM' });
  });
});

describe('SIGTERM on the stdio front', () => {
  it('answers a call still running at the end of shutdownGraceMs with an error saying so, cancels it on the backend, and exits 0', async () => {
    const work = await backend();
    const { file } = configFile(backendsYaml([{ name: 'work', url: work.url }], `${FAST_DEFAULTS}shutdownGraceMs: 400\n`));
    const relay = startRawRelay(['--config', file]);
    cleanups.push(() => relay.stop());
    await relay.request(0, 'initialize', INITIALIZE);
    const hanging = relay.request(1, 'tools/call', { name: 'hang', arguments: {} });
    await eventually(() => expect(callsOf(work, 'hang')).toHaveLength(1));
    const sentAt = Date.now();
    relay.child.kill('SIGTERM');
    const answer = await hanging;
    expect(answer['error']).toMatchObject({ code: -32061, message: expect.stringMatching(/backend 'work', tool 'hang': the relay shut down and the call did not finish within its shutdownGraceMs of 400 ms/) });
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(350);
    expect(await relay.exited).toEqual({ code: 0, signal: null });
    await eventually(() => expect(aborted).toBe(1));
    expect(relay.events.find((event) => event.event === 'relay.drain_timeout')).toMatchObject({ abandoned: 1, grace_ms: 400 });
  });

  it('exits at once on a second SIGTERM while it drains', async () => {
    const work = await backend();
    const { file } = configFile(backendsYaml([{ name: 'work', url: work.url }], `${FAST_DEFAULTS}shutdownGraceMs: 30000\n`));
    const relay = startRawRelay(['--config', file]);
    cleanups.push(() => relay.stop());
    await relay.request(0, 'initialize', INITIALIZE);
    void relay.request(1, 'tools/call', { name: 'hang', arguments: {} }).catch(() => undefined);
    await eventually(() => expect(work.calls()).toHaveLength(1));
    relay.child.kill('SIGTERM');
    await eventually(() => expect(relay.events.some((event) => event.event === 'relay.draining')).toBe(true));
    const secondAt = Date.now();
    relay.child.kill('SIGTERM');
    expect(await relay.exited).toEqual({ code: 143, signal: null });
    expect(Date.now() - secondAt).toBeLessThan(1_500);
  });

  it('answers every request written before stdin closed, even one not started yet (the backend still connecting), then exits 0', async () => {
    const work = await backend();
    const { file } = configFile(backendsYaml([{ name: 'work', url: work.url }]));
    const relay = startRawRelay(['--config', file]);
    cleanups.push(() => relay.stop());
    // all at once, as `printf ... | mcp-relay` does: the call waits for the first catalogue, after stdin's end
    relay.send({ jsonrpc: '2.0', id: 0, method: 'initialize', params: INITIALIZE });
    relay.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    relay.send({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { early: true } } });
    relay.child.stdin.end();
    expect(await relay.next((message) => message['id'] === 1)).toMatchObject({ result: { content: [{ type: 'text' }] } });
    expect(await relay.exited).toEqual({ code: 0, signal: null });
  });

  it('answers the calls in flight when stdin closes, then exits 0', async () => {
    const work = await backend();
    const { file } = configFile(backendsYaml([{ name: 'work', url: work.url }]));
    const relay = startRawRelay(['--config', file]);
    cleanups.push(() => relay.stop());
    await relay.request(0, 'initialize', INITIALIZE);
    const slow = relay.request(1, 'tools/call', { name: 'slow', arguments: {} });
    await eventually(() => expect(work.calls()).toHaveLength(1));
    relay.child.stdin.end();
    expect((await slow)['result']).toMatchObject({ content: [{ type: 'text' }] });
    expect(await relay.exited).toEqual({ code: 0, signal: null });
  });
});
