// How much a network client may do, against the real relay: its request rate (per connection, JSON-RPC error with
// data.retryAfterMs on WebSocket, 429 with Retry-After on HTTP), its requests in flight, the size and kind of its
// frames, floods of connections (per listener, per principal), a browser page from elsewhere, and a client that
// never reads what it is sent. Each refusal is asserted refused, counted and logged, and the backend is asserted to
// have received only what was admitted.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startFullBackend, type FullBackend } from '../fixtures/full-backend.js';
import { configFile, eventually, FAST_DEFAULTS, textOf } from './relay-process.js';
import { httpClient, startNetworkRelay, type NetworkRelay } from './network-relay.js';

const TOKENS = { ALICE_TOKEN: 'alice-limits-1f2e3d4c', BOB_TOKEN: 'bob-limits-9a8b7c6d', ROOT_TOKEN: 'root-limits-0a0b0c0d' };
const BIG_RESULT_BYTES = 1_500_000;

let backend: FullBackend;
let relay: NetworkRelay;
const clients: Client[] = [];

beforeAll(async () => {
  backend = await startFullBackend({
    name: 'full',
    extraTools: [
      {
        definition: { name: 'big', description: 'answers with `bytes` characters', inputSchema: { type: 'object', additionalProperties: true } },
        handler: ({ args }) => ({ content: [{ type: 'text', text: 'x'.repeat(Number(args['bytes'] ?? 10)) }] }),
      },
    ],
  });
  const { file } = configFile(`${FAST_DEFAULTS}auth:
  tokens:
    - { name: alice, token: "\${ALICE_TOKEN}" }
    - { name: bob, token: "\${BOB_TOKEN}" }
    - { name: root, token: "\${ROOT_TOKEN}", admin: true }
limits:
  maxConnections: 6
  maxConnectionsPerToken: 3
  maxMessageBytes: 2000000
  maxInFlightPerClient: 2
  rateLimit: { requestsPerSecond: 5, burst: 10, perPrincipal: { requestsPerSecond: 1000, burst: 1000 } }
  maxUnsentBytes: 300000
http:
  allowedOrigins: [http://app.test:8080]
backends:
  - name: full
    url: ${backend.url}
`);
  relay = await startNetworkRelay(file, { env: TOKENS });
});

afterAll(async () => {
  await Promise.all(clients.map((client) => client.close().catch(() => undefined)));
  await relay.stop();
  await backend.close();
});

type Json = Record<string, unknown>;

interface Peer {
  socket: WebSocket;
  received: Json[];
  closed: Promise<{ code: number; reason: string }>;
  send(message: Json): void;
  answers(count: number): Promise<Json[]>;
}

/** a raw WebSocket peer with a token in its Authorization header, initialized */
async function peer(token: string, options: { origin?: string } = {}): Promise<Peer> {
  const socket = new WebSocket(relay.ws, ['mcp'], { headers: { authorization: `Bearer ${token}`, ...(options.origin ? { origin: options.origin } : {}) }, maxPayload: 64 * 1024 * 1024 });
  const received: Json[] = [];
  socket.on('message', (data) => received.push(JSON.parse(String(data)) as Json));
  socket.on('error', () => undefined);
  const closed = new Promise<{ code: number; reason: string }>((done) => socket.on('close', (code, reason) => done({ code, reason: String(reason) })));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('unexpected-response', (_request, response) => reject(new Error(`upgrade refused: ${response.statusCode}`)));
  });
  const self: Peer = {
    socket,
    received,
    closed,
    send: (message) => socket.send(JSON.stringify({ jsonrpc: '2.0', ...message })),
    answers: (count) =>
      eventually(() => {
        const answers = received.filter((message) => 'id' in message && message['id'] !== 0);
        if (answers.length < count) throw new Error(`${answers.length} of ${count} answers`);
        return answers;
      }),
  };
  self.send({ id: 0, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });
  await eventually(() => expect(received.some((message) => message['id'] === 0)).toBe(true));
  self.send({ method: 'notifications/initialized' });
  return self;
}

const errorCode = (message: Json): number | undefined => (message['error'] as Json | undefined)?.['code'] as number | undefined;

describe('request limits', () => {
  it('refuses requests over the connection rate with -32056 and retryAfterMs, and only the admitted ones reach the backend', async () => {
    const alice = await peer(TOKENS.ALICE_TOKEN);
    const before = backend.requests('tools/call').length;
    // the initialize took one of the 10; the rest and then some, at once
    for (let id = 1; id <= 20; id++) alice.send({ id, method: 'tools/call', params: { name: 'echo', arguments: { id } } });
    const answers = await alice.answers(20);
    const refused = answers.filter((answer) => errorCode(answer) === -32056);
    const admitted = answers.filter((answer) => 'result' in answer);
    expect(refused.length).toBeGreaterThanOrEqual(8);
    expect(admitted.length + refused.length).toBe(20);
    for (const answer of refused) {
      const error = answer['error'] as { message: string; data: { limit: string; retryAfterMs: number } };
      expect(error.message).toMatch(/Rate limit|in flight/);
      expect(error.data.retryAfterMs).toBeGreaterThan(0);
    }
    await new Promise((done) => setTimeout(done, 200));
    expect(backend.requests('tools/call').length - before).toBe(admitted.length);
    expect(await eventually(() => relay.events.find((event) => event.event === 'client.limited' && event['front'] === 'ws'))).toMatchObject({ principal: 'alice' });
    alice.socket.close();
    await alice.closed;
  });

  it('drops notifications over the rate: a flood of roots/list_changed does not reach the backend', async () => {
    const alice = await peer(TOKENS.ALICE_TOKEN);
    const before = backend.notifications('notifications/roots/list_changed').length;
    for (let i = 0; i < 40; i++) alice.send({ method: 'notifications/roots/list_changed' });
    // a request after them is over the rate too: the flood was counted
    alice.send({ id: 99, method: 'ping' });
    expect((await alice.answers(1))[0]).toMatchObject({ id: 99, error: { code: -32056 } });
    await new Promise((done) => setTimeout(done, 300));
    const forwarded = backend.notifications('notifications/roots/list_changed').length - before;
    expect(forwarded).toBeGreaterThan(0);
    expect(forwarded).toBeLessThanOrEqual(10);
    alice.socket.close();
    await alice.closed;
  });

  it('answers an HTTP request over the rate with 429 and Retry-After', async () => {
    const init = await fetch(relay.http, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${TOKENS.BOB_TOKEN}` },
      body: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } }),
    });
    const session = init.headers.get('mcp-session-id') as string;
    await init.text();
    const statuses: number[] = [];
    let limited: Response | null = null;
    for (let id = 1; id <= 15; id++) {
      const response = await fetch(relay.http, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${TOKENS.BOB_TOKEN}`, 'mcp-session-id': session, 'mcp-protocol-version': '2025-11-25' },
        body: JSON.stringify({ jsonrpc: '2.0', id, method: 'ping' }),
      });
      statuses.push(response.status);
      if (response.status === 429 && !limited) limited = response;
      else await response.text();
    }
    expect(statuses.filter((status) => status === 200).length).toBeGreaterThanOrEqual(9);
    expect(limited).not.toBeNull();
    expect(Number(limited?.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const body = (await limited?.json()) as { error: { code: number; data: { retryAfterMs: number } } };
    expect(body.error.code).toBe(-32056);
    expect(body.error.data.retryAfterMs).toBeGreaterThan(0);
    // its seat is given back: the flood test below counts bob's connections
    await fetch(relay.http, { method: 'DELETE', headers: { authorization: `Bearer ${TOKENS.BOB_TOKEN}`, 'mcp-session-id': session } });
  });

  it('answers an HTTP notification over the rate with 429, and it does not reach the backend', async () => {
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${TOKENS.ROOT_TOKEN}` };
    const init = await fetch(relay.http, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } }) });
    const session = init.headers.get('mcp-session-id') as string;
    await init.text();
    const before = backend.notifications('notifications/roots/list_changed').length;
    const statuses: number[] = [];
    for (let i = 0; i < 15; i++) {
      const response = await fetch(relay.http, { method: 'POST', headers: { ...headers, 'mcp-session-id': session }, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/roots/list_changed' }) });
      statuses.push(response.status);
      await response.text();
    }
    expect(statuses.filter((status) => status === 429).length).toBeGreaterThanOrEqual(5);
    await new Promise((done) => setTimeout(done, 300));
    expect(backend.notifications('notifications/roots/list_changed').length - before).toBe(statuses.filter((status) => status === 202).length);
    await fetch(relay.http, { method: 'DELETE', headers: { ...headers, 'mcp-session-id': session } });
  });

  it('holds a request over maxInFlightPerClient until one of the client\'s own finishes: all answered, never more than 2 at the backend', async () => {
    const alice = await peer(TOKENS.ALICE_TOKEN);
    const before = backend.requests('tools/call').length;
    for (let id = 1; id <= 3; id++) alice.send({ id, method: 'tools/call', params: { name: 'slow', arguments: { ms: 400 } } });
    // while the first two run, the third waits in the relay: the backend has seen two
    await new Promise((done) => setTimeout(done, 200));
    expect(backend.requests('tools/call').length - before).toBe(2);
    // ping and relay_get_status are never held behind the cap
    alice.send({ id: 4, method: 'ping' });
    await eventually(() => expect(alice.received.find((message) => message['id'] === 4)).toMatchObject({ result: {} }));
    expect(alice.received.filter((message) => message['id'] === 3)).toEqual([]);
    const answers = (await alice.answers(4)).filter((answer) => answer['id'] !== 4);
    expect(answers.map((answer) => answer['id']).sort()).toEqual([1, 2, 3]);
    expect(answers.filter((answer) => 'result' in answer)).toHaveLength(3);
    expect(backend.requests('tools/call').length - before).toBe(3);
    alice.socket.close();
    await alice.closed;
  });
});

describe('frames', () => {
  it('closes a WebSocket on a frame over the message limit (1009) and on a binary frame (1003); neither reaches the backend', async () => {
    const before = backend.received().length;
    const big = await peer(TOKENS.ROOT_TOKEN);
    big.socket.send(JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/call', params: { name: 'echo', arguments: { pad: 'x'.repeat(2_100_000) } } }));
    expect((await big.closed).code).toBe(1009);
    const binary = await peer(TOKENS.ROOT_TOKEN);
    binary.socket.send(Buffer.from(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' })), { binary: true });
    expect((await binary.closed).code).toBe(1003);
    await new Promise((done) => setTimeout(done, 200));
    expect(backend.received().length).toBe(before);
    const refused = await eventually(() => {
      const found = relay.events.filter((event) => event.event === 'client.refused');
      expect(found.length).toBeGreaterThanOrEqual(2);
      return found.map((event) => String(event['reason']));
    });
    expect(refused.join(' ')).toMatch(/over the message limit/);
    expect(refused.join(' ')).toMatch(/binary/);
  });

  it('refuses a WebSocket upgrade from a page of another origin, even with a good token', async () => {
    await expect(peer(TOKENS.ROOT_TOKEN, { origin: 'http://evil.test' })).rejects.toThrow(/403/);
    const allowed = await peer(TOKENS.ROOT_TOKEN, { origin: 'http://app.test:8080' });
    allowed.socket.close();
    await allowed.closed;
  });
});

describe('connection floods', () => {
  it('refuses a principal over maxConnectionsPerToken (429) and a listener over maxConnections (503)', async () => {
    const open: Peer[] = [];
    for (let i = 0; i < 3; i++) open.push(await peer(TOKENS.ALICE_TOKEN));
    await expect(peer(TOKENS.ALICE_TOKEN)).rejects.toThrow(/429/);
    for (let i = 0; i < 3; i++) open.push(await peer(TOKENS.BOB_TOKEN));
    await expect(peer(TOKENS.ROOT_TOKEN)).rejects.toThrow(/503/);
    const limited = await eventually(() => {
      const found = relay.events.filter((event) => event.event === 'front.limited').map((event) => event['limit']);
      expect(found).toEqual(expect.arrayContaining(['maxConnectionsPerToken', 'maxConnections']));
      return found;
    });
    expect(limited.length).toBeGreaterThanOrEqual(2);
    // a connection that ends gives its seat back
    open[0]?.socket.close();
    await open[0]?.closed;
    await eventually(async () => {
      const again = await peer(TOKENS.ROOT_TOKEN);
      open.push(again);
    });
    for (const each of open) each.socket.close();
    await Promise.all(open.map((each) => each.closed));
  });
});

describe('seats', () => {
  it('gives a seat back when ws refuses a malformed handshake after the token was accepted', async () => {
    const { hostname, port } = new URL(relay.ws);
    for (let i = 0; i < 4; i++) {
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = connect(Number(port), hostname, () =>
          socket.write(`GET /mcp HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: not-a-key\r\nAuthorization: Bearer ${TOKENS.ALICE_TOKEN}\r\n\r\n`),
        );
        let text = '';
        socket.on('data', (chunk) => (text += chunk.toString()));
        socket.on('close', () => resolve(text));
        socket.on('error', reject);
      });
      expect(answer).toMatch(/^HTTP\/1\.1 400/);
    }
    // four refused handshakes took no seat for good: alice still has all three of hers
    const open = await Promise.all([peer(TOKENS.ALICE_TOKEN), peer(TOKENS.ALICE_TOKEN), peer(TOKENS.ALICE_TOKEN)]);
    for (const each of open) each.socket.close();
    await Promise.all(open.map((each) => each.closed));
  });
});

describe('a client that never reads', () => {
  it('has its HTTP SSE stream cut once its unsent bytes pass the bound', async () => {
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${TOKENS.ALICE_TOKEN}` };
    // alice's WebSocket seats from the tests before are given back as the relay sees their sockets close: a moment later
    const init = await eventually(async () => {
      const response = await fetch(relay.http, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } }) });
      if (response.status !== 200) throw new Error(`initialize: ${response.status} ${await response.text()}`);
      return response;
    });
    const session = init.headers.get('mcp-session-id') as string;
    await init.text();
    await (await fetch(relay.http, { method: 'POST', headers: { ...headers, 'mcp-session-id': session }, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) })).text();
    // the session's GET stream, opened and then never read
    const stream = await new Promise<IncomingMessage>((resolve, reject) => {
      const get = httpRequest(relay.http, { method: 'GET', headers: { accept: 'text/event-stream', authorization: `Bearer ${TOKENS.ALICE_TOKEN}`, 'mcp-session-id': session } }, resolve);
      get.on('error', reject);
      get.end();
    });
    expect(stream.statusCode).toBe(200);
    stream.socket.pause();
    const ended = new Promise<void>((done) => stream.socket.once('close', () => done()));
    // what the backend logs goes to every client's GET stream: 1 MB lines, far more than the bound and the kernel's buffers
    for (let i = 0; i < 12; i++) await backend.log('info', 'y'.repeat(1_000_000));
    const slow = await eventually(() => {
      const found = relay.events.find((event) => event.event === 'client.slow' && event['front'] === 'http');
      if (!found) throw new Error('no client.slow yet');
      return found;
    }, 20_000);
    expect(slow).toMatchObject({ principal: 'alice', session, limit: 300_000 });
    stream.socket.resume();
    stream.resume();
    await ended;
  });

  it('is disconnected once its unsent bytes pass limits.maxUnsentBytes, and the relay goes on', async () => {
    const reader = await peer(TOKENS.BOB_TOKEN);
    // it stops reading: the kernel's buffers fill, then the relay's
    (reader.socket as unknown as { _socket: { pause(): void } })._socket.pause();
    // one at a time (maxInFlightPerClient is 2, and the answers are written whether or not it reads)
    for (let id = 1; id <= 9; id++) {
      reader.send({ id, method: 'tools/call', params: { name: 'big', arguments: { bytes: BIG_RESULT_BYTES } } });
      await new Promise((done) => setTimeout(done, 150));
      if (relay.events.some((event) => event.event === 'client.slow' && event['front'] === 'ws')) break;
    }
    const slow = await eventually(() => {
      const found = relay.events.find((event) => event.event === 'client.slow' && event['front'] === 'ws');
      if (!found) throw new Error('no client.slow yet');
      return found;
    }, 20_000);
    expect(slow).toMatchObject({ principal: 'bob', limit: 300_000 });
    expect(Number(slow['unsentBytes'])).toBeGreaterThan(300_000);
    (reader.socket as unknown as { _socket: { resume(): void } })._socket.resume();
    const closed = await reader.closed;
    expect([1008, 1006]).toContain(closed.code);
    // the relay is fine: an admin still gets through, and sees the refusals counted
    const { client } = await httpClient(relay.http, {}, 'root', TOKENS.ROOT_TOKEN);
    clients.push(client);
    const status = JSON.parse(textOf(await client.callTool({ name: 'relay_get_status', arguments: {} }))) as { security: Record<string, number> };
    expect(status.security['slow_readers_disconnected']).toBe(2);
    // at least the floods' own refusals (a retried initialize above may add one)
    expect(status.security['connections_refused_maxConnections']).toBeGreaterThanOrEqual(1);
    expect(status.security['connections_refused_maxConnectionsPerToken']).toBeGreaterThanOrEqual(1);
    expect(status.security['requests_refused_rate']).toBeGreaterThanOrEqual(1);
    expect(status.security['oversized_frames']).toBeGreaterThanOrEqual(1);
  });
});
