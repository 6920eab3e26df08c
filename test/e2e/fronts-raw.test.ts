// Raw peers on the network fronts, for what the SDK will not send: binary, oversized, non-JSON and batch frames on
// the WebSocket; missing and wrong headers, DELETE then reuse, and a dropped POST stream resumed by Last-Event-ID
// on Streamable HTTP.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { sseParser, type SseEvent } from '../../src/sse.js';
import { startFullBackend, type FullBackend } from '../fixtures/full-backend.js';
import { backendsYaml, configFile, eventually, FAST_DEFAULTS } from './relay-process.js';
import { startNetworkRelay, type NetworkRelay } from './network-relay.js';

let backend: FullBackend;
let relay: NetworkRelay;

beforeAll(async () => {
  backend = await startFullBackend({ name: 'full' });
  const head = `${FAST_DEFAULTS}maxClientMessageBytes: 100000\nwebsocket:\n  pingIntervalMs: 200\n  pongTimeoutMs: 300\nhttp:\n  allowedOrigins: [http://app.test:8080]\n`;
  const { file } = configFile(backendsYaml([{ name: 'full', url: backend.url }], head));
  relay = await startNetworkRelay(file);
});

afterAll(async () => {
  await relay.stop();
  await backend.close();
});

const INITIALIZE = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } };

type Json = Record<string, unknown>;

interface RawWs {
  socket: WebSocket;
  received: Json[];
  closed: Promise<{ code: number; reason: string }>;
  next: (match: (message: Json) => boolean) => Promise<Json>;
}

function openWs(protocols: string[] = ['mcp'], options: ConstructorParameters<typeof WebSocket>[2] = {}): Promise<RawWs> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(relay.ws, protocols, options);
    const received: Json[] = [];
    socket.on('message', (data) => received.push(JSON.parse(String(data)) as Json));
    const closed = new Promise<{ code: number; reason: string }>((done) => socket.on('close', (code, reason) => done({ code, reason: String(reason) })));
    socket.on('open', () =>
      resolve({
        socket,
        received,
        closed,
        next: (match) => eventually(() => {
          const found = received.find(match);
          if (!found) throw new Error(`no matching message in ${JSON.stringify(received).slice(0, 300)}`);
          return found;
        }),
      }),
    );
    socket.on('error', reject);
  });
}

describe('the WebSocket front, raw', () => {
  it('echoes subprotocol mcp when offered alone or among others, and accepts a plain connection', async () => {
    for (const [offered, chosen] of [[['mcp'], 'mcp'], [['other', 'mcp'], 'mcp'], [[], '']] as const) {
      const peer = await openWs([...offered]);
      expect(peer.socket.protocol).toBe(chosen);
      peer.socket.send(JSON.stringify(INITIALIZE));
      expect(await peer.next((m) => m['id'] === 1)).toMatchObject({ result: { serverInfo: { name: 'mcp-relay' } } });
      peer.socket.close();
    }
  });

  it('answers a frame that is not JSON with -32700 and a batch with -32600, and keeps the connection', async () => {
    const peer = await openWs();
    peer.socket.send('{not json');
    expect(await peer.next((m) => (m['error'] as Json | undefined)?.['code'] === -32700)).toMatchObject({ id: null, error: { message: expect.stringContaining('Parse error') } });
    peer.socket.send(JSON.stringify([INITIALIZE]));
    expect(await peer.next((m) => (m['error'] as Json | undefined)?.['code'] === -32600)).toBeDefined();
    peer.socket.send(JSON.stringify(INITIALIZE));
    expect(await peer.next((m) => m['id'] === 1)).toHaveProperty('result');
    peer.socket.close();
  });

  it('closes the socket with 1003 and a reason on a binary frame', async () => {
    const peer = await openWs();
    peer.socket.send(Buffer.from(JSON.stringify(INITIALIZE)), { binary: true });
    expect(await peer.closed).toEqual({ code: 1003, reason: expect.stringContaining('binary frames are not MCP') });
  });

  it('closes the socket with 1009 on a frame over maxClientMessageBytes', async () => {
    const peer = await openWs();
    peer.socket.send(JSON.stringify({ ...INITIALIZE, params: { ...INITIALIZE.params, padding: 'x'.repeat(200_000) } }));
    expect((await peer.closed).code).toBe(1009);
  });

  it('refuses an upgrade from a browser page of another origin (403) and on another path (404)', async () => {
    const status = (url: string, headers: Record<string, string>) =>
      new Promise<number>((resolve) => {
        const socket = new WebSocket(url, ['mcp'], { headers });
        socket.on('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
        socket.on('open', () => resolve(101));
        socket.on('error', () => undefined);
      });
    expect(await status(relay.ws, { origin: 'http://evil.test' })).toBe(403);
    expect(await status(relay.ws, { origin: 'http://app.test:8080' })).toBe(101);
    expect(await status(relay.ws.replace(/\/mcp$/, '/other'), {})).toBe(404);
    await eventually(() => expect(relay.events).toContainEqual(expect.objectContaining({ event: 'front.refused', front: 'ws', reason: 'origin http://evil.test is not allowed' })));
  });

  it('terminates a client that stops answering pings', async () => {
    const peer = await openWs(['mcp'], { autoPong: false });
    peer.socket.send(JSON.stringify(INITIALIZE));
    await peer.next((m) => m['id'] === 1);
    expect((await peer.closed).code).toBe(1006);
    await eventually(() => expect(relay.events).toContainEqual(expect.objectContaining({ event: 'client.unresponsive', front: 'ws' })));
  });
});

interface Posted {
  status: number;
  headers: Headers;
  body: string;
}

async function post(message: unknown, headers: Record<string, string> = {}): Promise<Posted> {
  const response = await fetch(relay.http, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
    body: typeof message === 'string' ? message : JSON.stringify(message),
  });
  return { status: response.status, headers: response.headers, body: await response.text() };
}

async function initialized(): Promise<string> {
  const answer = await post(INITIALIZE);
  expect(answer.status).toBe(200);
  const session = answer.headers.get('mcp-session-id');
  expect(session).toMatch(/^[0-9a-f-]{36}$/);
  await post({ jsonrpc: '2.0', method: 'notifications/initialized' }, { 'mcp-session-id': session ?? '' });
  return session ?? '';
}

/** Reads SSE events from a response until `until` says stop (or the stream ends). */
async function readEvents(response: Response, until: (events: SseEvent[]) => boolean): Promise<SseEvent[]> {
  const parse = sseParser({ maxEventBytes: 1_000_000 });
  const decoder = new TextDecoder();
  const events: SseEvent[] = [];
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  while (!until(events)) {
    const { value, done } = await reader.read();
    if (done) break;
    events.push(...parse(decoder.decode(value, { stream: true })));
  }
  await reader.cancel().catch(() => undefined);
  return events;
}

const messagesOf = (events: SseEvent[]): Json[] => events.filter((event) => event.data !== '').map((event) => JSON.parse(event.data) as Json);

describe('the Streamable HTTP front, raw', () => {
  it('issues Mcp-Session-Id at initialize, answers a plain request with JSON, and a notification with 202', async () => {
    const session = await initialized();
    const pinged = await post({ jsonrpc: '2.0', id: 'p', method: 'ping' }, { 'mcp-session-id': session, 'mcp-protocol-version': '2025-11-25' });
    expect(pinged.status).toBe(200);
    expect(pinged.headers.get('content-type')).toBe('application/json');
    expect(JSON.parse(pinged.body)).toEqual({ jsonrpc: '2.0', id: 'p', result: {} });
    expect((await post({ jsonrpc: '2.0', method: 'notifications/roots/list_changed' }, { 'mcp-session-id': session })).status).toBe(202);
  });

  it('answers 400 without a session id, 404 for an unknown one, and 404 after DELETE', async () => {
    const without = await post({ jsonrpc: '2.0', id: 1, method: 'tools/list' });
    expect(without.status).toBe(400);
    expect(JSON.parse(without.body)).toMatchObject({ error: { code: -32600, message: expect.stringContaining('Mcp-Session-Id header is required') } });
    const unknown = await post({ jsonrpc: '2.0', id: 1, method: 'tools/list' }, { 'mcp-session-id': 'no-such-session' });
    expect(unknown.status).toBe(404);
    expect(JSON.parse(unknown.body)).toMatchObject({ error: { code: -32001, message: expect.stringContaining('Session not found') } });
    const session = await initialized();
    const deleted = await fetch(relay.http, { method: 'DELETE', headers: { 'mcp-session-id': session } });
    expect(deleted.status).toBe(200);
    expect((await post({ jsonrpc: '2.0', id: 2, method: 'ping' }, { 'mcp-session-id': session })).status).toBe(404);
  });

  it('refuses a browser page of another origin (403), a wrong MCP-Protocol-Version (400), a batch (-32600), a wrong content type (415) and an oversized body (413)', async () => {
    const session = await initialized();
    const headers = { 'mcp-session-id': session };
    const evil = await post({ jsonrpc: '2.0', id: 1, method: 'ping' }, { ...headers, origin: 'http://evil.test' });
    expect(evil.status).toBe(403);
    expect(evil.body).toContain('http.allowedOrigins');
    expect((await post({ jsonrpc: '2.0', id: 1, method: 'ping' }, { ...headers, origin: 'http://app.test:8080' })).status).toBe(200);
    const version = await post({ jsonrpc: '2.0', id: 1, method: 'ping' }, { ...headers, 'mcp-protocol-version': '1999-01-01' });
    expect(version.status).toBe(400);
    expect(version.body).toContain('unsupported MCP-Protocol-Version 1999-01-01');
    const batch = await post([{ jsonrpc: '2.0', id: 1, method: 'ping' }], headers);
    expect(batch.status).toBe(400);
    expect(JSON.parse(batch.body)).toMatchObject({ error: { code: -32600, message: expect.stringContaining('batches are not supported') } });
    expect((await post('{"jsonrpc":', headers)).status).toBe(400);
    expect((await post({ jsonrpc: '2.0', id: 1, method: 'ping' }, { ...headers, 'content-type': 'text/plain' })).status).toBe(415);
    expect((await post({ jsonrpc: '2.0', id: 1, method: 'ping', params: { padding: 'x'.repeat(200_000) } }, headers)).status).toBe(413);
  });

  it('opens the session stream on GET (406 without Accept: text/event-stream), one at a time', async () => {
    const session = await initialized();
    expect((await fetch(relay.http, { headers: { 'mcp-session-id': session, accept: 'application/json' } })).status).toBe(406);
    const stream = await fetch(relay.http, { headers: { 'mcp-session-id': session, accept: 'text/event-stream' } });
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toBe('text/event-stream');
    expect((await fetch(relay.http, { headers: { 'mcp-session-id': session, accept: 'text/event-stream' } })).status).toBe(409);
    await stream.body?.cancel();
  });

  it('keeps what belongs to no request until the session opens its GET stream', async () => {
    const session = await initialized();
    // the backend's log message comes during the call but is no part of its answer: it goes to the GET stream
    const called = await post({ jsonrpc: '2.0', id: 'log-1', method: 'tools/call', params: { name: 'log', arguments: { level: 'warning', data: 'while nobody listened' } } }, { 'mcp-session-id': session });
    expect(JSON.parse(called.body)).toMatchObject({ id: 'log-1', result: { content: [{ text: 'full:logged' }] } });
    const stream = await fetch(relay.http, { headers: { 'mcp-session-id': session, accept: 'text/event-stream' } });
    const messages = messagesOf(await readEvents(stream, (events) => messagesOf(events).length >= 1));
    expect(messages).toEqual([{ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'warning', data: 'while nobody listened', logger: 'full' } }]);
  });

  it("closes a request's POST when the client cancels it, and frees its id", async () => {
    const session = await initialized();
    const headers = { 'mcp-session-id': session };
    const aborts = backend.aborts().length;
    const call = post({ jsonrpc: '2.0', id: 'to-cancel', method: 'tools/call', params: { name: 'slow', arguments: { ms: 20_000 } } }, headers);
    await eventually(() => expect(backend.requests('tools/call').at(-1)?.['params']).toMatchObject({ name: 'slow', arguments: { ms: 20_000 } }));
    expect((await post({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'to-cancel', reason: 'changed my mind' } }, headers)).status).toBe(202);
    // no answer to a cancelled request: its POST ends without one
    expect((await call).status).toBe(202);
    await eventually(() => expect(backend.aborts().length).toBe(aborts + 1));
    expect(JSON.parse((await post({ jsonrpc: '2.0', id: 'to-cancel', method: 'ping' }, headers)).body)).toEqual({ jsonrpc: '2.0', id: 'to-cancel', result: {} });
  });

  it('answers a resume at once, even when there is nothing to replay yet', async () => {
    const session = await initialized();
    const controller = new AbortController();
    const call = { jsonrpc: '2.0', id: 'quiet', method: 'tools/call', params: { name: 'progress', arguments: { steps: 1, stepMs: 4_000 }, _meta: { progressToken: 'quiet' } } };
    const response = await fetch(relay.http, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': session }, body: JSON.stringify(call), signal: controller.signal });
    const primer = await readEvents(response, (events) => events.length >= 1);
    controller.abort();
    const resumed = new AbortController();
    // nothing new for 4 s: the headers must not wait for it (a hang check, not a speed target)
    const headersIn = setTimeout(() => resumed.abort(), 2_000);
    const again = await fetch(relay.http, { headers: { 'mcp-session-id': session, accept: 'text/event-stream', 'last-event-id': primer[0]?.id ?? '' }, signal: resumed.signal });
    clearTimeout(headersIn);
    expect(again.status).toBe(200);
    expect(again.headers.get('content-type')).toBe('text/event-stream');
    resumed.abort();
    await fetch(relay.http, { method: 'DELETE', headers: { 'mcp-session-id': session } });
  });

  it('goes on with a call whose POST stream dropped, and delivers the rest of it on a GET with Last-Event-ID', async () => {
    const session = await initialized();
    const cancels = backend.notifications('notifications/cancelled').length;
    const controller = new AbortController();
    const call = { jsonrpc: '2.0', id: 'slow-progress', method: 'tools/call', params: { name: 'progress', arguments: { steps: 4, stepMs: 150 }, _meta: { progressToken: 'tok' } } };
    const response = await fetch(relay.http, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': session },
      body: JSON.stringify(call),
      signal: controller.signal,
    });
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    // the priming event and the first progress, then the client's connection drops
    const first = await readEvents(response, (events) => messagesOf(events).length >= 1);
    controller.abort();
    const lastEventId = first.at(-1)?.id;
    expect(messagesOf(first)).toEqual([{ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 'tok', progress: 1, total: 4, message: 'step 1' } }]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const resumed = await fetch(relay.http, { headers: { 'mcp-session-id': session, accept: 'text/event-stream', 'last-event-id': lastEventId ?? '' } });
    expect(resumed.status).toBe(200);
    const rest = messagesOf(await readEvents(resumed, (events) => messagesOf(events).some((message) => message['id'] === 'slow-progress')));
    expect(rest.map((message) => (message['method'] ? (message['params'] as Json)['progress'] : 'answer'))).toEqual([2, 3, 4, 'answer']);
    expect(rest.at(-1)).toMatchObject({ id: 'slow-progress', result: { content: [{ type: 'text', text: 'full:progress done after 4 steps' }] } });
    // the drop was no cancel
    expect(backend.notifications('notifications/cancelled')).toHaveLength(cancels);
  });
});
