// The relay as an OAuth 2.1 resource server over its network fronts, attacked with the JWTs a relay must refuse.
// One relay (WebSocket + Streamable HTTP on loopback) takes JWTs from a loopback issuer's JWKS, requires scope
// mcp:tools and maps a `groups` claim to access rules. Each attack is made over both fronts and must be: refused with
// the right status (and, for both fronts, a WWW-Authenticate challenge naming the error, the metadata URL and the
// scope); logged as `auth.rejected` with the remote address and a reason, never the token (nor a long piece of it,
// anywhere in the relay's log, the response body or the challenge); and invisible to the backend (its frame count is
// unchanged). Then the good paths: SDK clients over HTTP and WebSocket, per-rule catalogues, the principal being the
// `sub` claim, the RFC 9728 metadata, and a key rotation at the issuer.
import type { IncomingHttpHeaders } from 'node:http';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startFullBackend, type FullBackend } from '../fixtures/full-backend.js';
import { startIssuer, type SignOptions, type TestIssuer } from '../fixtures/jwt-issuer.js';
import { configFile, eventually, FAST_DEFAULTS, textOf, type RelayEventLine } from './relay-process.js';
import { httpClient, startNetworkRelay, wsClient, type NetworkRelay } from './network-relay.js';

const AUDIENCE = 'https://relay.test/mcp';
const OTHER_AUDIENCE = 'https://relay-alt.test/mcp';
const SCOPE = 'mcp:tools';
/** RFC 9728 §3.1: the well-known path inserted between the resource's host and its path */
const METADATA_URL = 'https://relay.test/.well-known/oauth-protected-resource/mcp';
const BACKEND_TOOLS = ['echo', 'elicit', 'late_progress', 'log', 'ping_client', 'progress', 'roots', 'sample', 'slow', 'stubborn'];
const ADMIN_ONLY = ['relay_add_server', 'relay_reconnect_server', 'relay_remove_server'];

let backend: FullBackend;
let issuer: TestIssuer;
let relay: NetworkRelay;
const clients: Client[] = [];

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

beforeAll(async () => {
  backend = await startFullBackend({ name: 'full' });
  issuer = await startIssuer();
  const { file } = configFile(`${FAST_DEFAULTS}auth:
  jwt:
    issuer: ${issuer.issuer}
    audience: [${AUDIENCE}, ${OTHER_AUDIENCE}]
    jwksUrl: ${issuer.jwksUrl}
    scopes: [${SCOPE}]
    claims: { name: sub }
    clockSkewSeconds: 30
  access:
    - match: { groups: admins }
      admin: true
    - match: { groups: dev }
      tools: ["*echo*"]
backends:
  - name: full
    url: ${backend.url}
`);
  relay = await startNetworkRelay(file);
  // the backend's handshake (and the relay's first JWKS fetch) happen here, so an attack's frame count is stable
  const { client } = await httpClient(relay.http, {}, 'warm-up', await token({ sub: 'warm-up', groups: ['admins'] }));
  clients.push(client);
  expect((await client.listTools()).tools.map((tool) => tool.name)).toContain('echo');
  await settled();
});

afterAll(async () => {
  await Promise.all(clients.map((client) => client.close().catch(() => undefined)));
  await relay?.stop();
  await issuer?.close();
  await backend?.close();
});

/** a token the relay should accept: a dev, with the scope, for our audience; `claims` and `options` spoil it */
const token = (claims: Record<string, unknown> = {}, options: SignOptions = {}): Promise<string> =>
  issuer.sign({ sub: 'dana-sub', name: 'Dana Display', aud: AUDIENCE, scope: `openid ${SCOPE}`, groups: ['dev'], ...claims }, options);

/** waits until the backend has received nothing new for 300 ms */
async function settled(): Promise<number> {
  let last = -1;
  return eventually(
    async () => {
      const now = backend.received().length;
      if (now !== last) {
        last = now;
        await sleep(300);
        if (backend.received().length !== now) throw new Error('the backend is still receiving');
      }
      return now;
    },
    10_000,
    0,
  );
}

const INITIALIZE = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'attacker', version: '1' } } });

function post(bearer: string | null): Promise<Response> {
  return fetch(relay.http, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...(bearer === null ? {} : { authorization: `Bearer ${bearer}` }) },
    body: INITIALIZE,
  });
}

/** a WebSocket upgrade the relay refuses: its status and headers ('unexpected-response'); an accepted one fails */
function upgrade(protocols: string[], headers: Record<string, string> = {}): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(relay.ws, protocols, { headers, handshakeTimeout: 5_000 });
    socket.on('unexpected-response', (_request, response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => {
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body });
        socket.terminate();
      });
    });
    socket.on('open', () => {
      socket.terminate();
      reject(new Error('the upgrade was accepted'));
    });
    socket.on('error', (error) => reject(error));
  });
}

/** the auth-params of a `Bearer k="v", ...` challenge */
function challenge(header: string | null | undefined): { scheme: string; params: Record<string, string> } {
  const text = header ?? '';
  const params: Record<string, string> = {};
  for (const match of text.matchAll(/([a-z_]+)="((?:[^"\\]|\\.)*)"/g)) params[match[1] ?? ''] = (match[2] ?? '').replace(/\\(.)/g, '$1');
  return { scheme: text.split(' ')[0] ?? '', params };
}

const rejections = (): RelayEventLine[] => relay.events.filter((event) => event.event === 'auth.rejected');

/** the token and every long piece of it (its payload, its signature) */
const secretPieces = (jwt: string): string[] => [jwt, ...jwt.split('.').filter((piece) => piece.length >= 16)];

function expectNoLeak(jwt: string, where: string, text: string): void {
  for (const piece of secretPieces(jwt)) expect(text.includes(piece), `${where} holds (a piece of) the token`).toBe(false);
}

interface Attack {
  what: string;
  make: () => Promise<string>;
  status: 401 | 403;
  error: 'invalid_token' | 'insufficient_scope';
  reason: RegExp;
}

const ATTACKS: Attack[] = [
  { what: 'an expired token', make: () => token({}, { expiresIn: -600 }), status: 401, error: 'invalid_token', reason: /the token expired at \d{4}-/ },
  { what: 'a token for another audience', make: () => token({ aud: 'https://other.test/mcp' }), status: 401, error: 'invalid_token', reason: /audience is 'https:\/\/other\.test\/mcp'.*accepts 'https:\/\/relay\.test\/mcp' or 'https:\/\/relay-alt\.test\/mcp'/ },
  { what: 'a token from another issuer', make: () => token({ iss: 'https://evil.test' }), status: 401, error: 'invalid_token', reason: /issuer is 'https:\/\/evil\.test', expected 'http:\/\/127\.0\.0\.1:\d+'/ },
  { what: 'an unsigned token (alg none)', make: () => Promise.resolve(issuer.unsignedToken({ sub: 'dana-sub', aud: AUDIENCE, scope: SCOPE, groups: ['admins'] })), status: 401, error: 'invalid_token', reason: /unsigned tokens \(alg none\) are refused/ },
  { what: 'a token signed by a key the issuer never published (under its kid)', make: () => token({ groups: ['admins'] }, { key: 'other' }), status: 401, error: 'invalid_token', reason: /signature does not match/ },
  {
    what: 'an HS256 token keyed with the public key (algorithm confusion)',
    make: () => issuer.hsToken({ sub: 'dana-sub', aud: AUDIENCE, scope: SCOPE, groups: ['admins'] }, JSON.stringify(issuer.jwks().keys[0])),
    status: 401,
    error: 'invalid_token',
    reason: /shared secret/,
  },
  { what: 'a token that never expires (no exp)', make: () => token({}, { expiresIn: null }), status: 401, error: 'invalid_token', reason: /no expiry/ },
  { what: 'a token not valid yet (nbf in 10 minutes)', make: () => token({}, { notBefore: 600 }), status: 401, error: 'invalid_token', reason: /not valid until/ },
  { what: 'a token with too few scopes', make: () => token({ scope: 'openid mcp:read' }), status: 403, error: 'insufficient_scope', reason: /lacks scope\(s\) mcp:tools/ },
  { what: 'a token whose claims match no access rule', make: () => token({ groups: ['interns'] }), status: 403, error: 'insufficient_scope', reason: /no access rule in auth\.access matches the token of 'dana-sub'/ },
];

describe('a JWT the relay must refuse', () => {
  it.each(ATTACKS)('refuses $what on both fronts, with its challenge; logs it without the token; nothing reaches the backend', async ({ make, status, error, reason }) => {
    const jwt = await make();
    const before = backend.received().length;
    const seen = rejections().length;

    const response = await post(jwt);
    expect(response.status).toBe(status);
    const http = challenge(response.headers.get('www-authenticate'));
    expect(http.scheme).toBe('Bearer');
    expect(http.params).toMatchObject({ error, resource_metadata: METADATA_URL, scope: SCOPE });
    expect(http.params['error_description']).toMatch(reason);
    expect(response.headers.get('mcp-session-id')).toBeNull();
    const body = await response.text();
    expect((JSON.parse(body) as { error: { message: string } }).error.message).toMatch(reason);
    expectNoLeak(jwt, 'the HTTP body', body);
    expectNoLeak(jwt, 'the HTTP challenge', response.headers.get('www-authenticate') ?? '');

    // a browser's WebSocket: the token as the subprotocol bearer.<token>
    const ws = await upgrade(['mcp', `bearer.${jwt}`]);
    expect(ws.status).toBe(status);
    const wsChallenge = challenge(ws.headers['www-authenticate'] as string | undefined);
    expect(wsChallenge.scheme).toBe('Bearer');
    expect(wsChallenge.params).toMatchObject({ error, resource_metadata: METADATA_URL, scope: SCOPE });
    expect(ws.headers['sec-websocket-protocol']).toBeUndefined();
    expect(ws.body).toMatch(reason);
    expectNoLeak(jwt, 'the upgrade refusal', JSON.stringify(ws));

    const logged = await eventually(() => {
      const found = rejections().slice(seen);
      expect(found).toHaveLength(2);
      return found;
    });
    expect(logged.map((event) => event['front'])).toEqual(['http', 'ws']);
    for (const event of logged) {
      expect(event['remote']).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(event['status']).toBe(status);
      expect(String(event['reason'])).toMatch(reason);
    }
    for (const line of relay.events) expectNoLeak(jwt, `the relay's ${line.event} event`, JSON.stringify(line));

    await sleep(300);
    expect(backend.received().length).toBe(before);
  });

  it('answers a request with no token with the challenge a client starts discovery from (no error code, the metadata URL and the scope)', async () => {
    const before = backend.received().length;
    const response = await post(null);
    expect(response.status).toBe(401);
    const { scheme, params } = challenge(response.headers.get('www-authenticate'));
    expect(scheme).toBe('Bearer');
    // RFC 6750 §3.1: a request without credentials gets no error code
    expect(params['error']).toBeUndefined();
    expect(params).toMatchObject({ resource_metadata: METADATA_URL, scope: SCOPE });
    await response.text();
    const ws = await upgrade(['mcp']);
    expect(ws.status).toBe(401);
    expect(challenge(ws.headers['www-authenticate'] as string | undefined).params).toMatchObject({ resource_metadata: METADATA_URL, scope: SCOPE });
    await sleep(300);
    expect(backend.received().length).toBe(before);
  });

  it('refuses the same bad token again when it comes back, and takes a good one in the WebSocket upgrade\'s Authorization header', async () => {
    const bad = await token({ groups: ['interns'] });
    expect((await post(bad)).status).toBe(403);
    // the same bad token, presented again, is refused again (no negative result turned positive by a cache)
    expect((await upgrade(['mcp'], { authorization: `Bearer ${bad}` })).status).toBe(403);
    const good = await token();
    const socket = new WebSocket(relay.ws, ['mcp'], { headers: { authorization: `Bearer ${good}` }, handshakeTimeout: 5_000 });
    await new Promise<void>((resolve, reject) => socket.once('open', () => resolve()).once('error', reject).once('unexpected-response', (_request, response) => reject(new Error(`refused with ${response.statusCode}`))));
    expect(socket.protocol).toBe('mcp');
    socket.terminate();
  });
});

describe('a JWT the relay accepts', () => {
  const toolNames = async (client: Client) => (await client.listTools()).tools.map((tool) => tool.name).sort();

  it('over Streamable HTTP (the SDK client, Authorization: Bearer): a dev sees only the tools its rule allows, and a forbidden call never reaches the backend', async () => {
    const { client } = await httpClient(relay.http, {}, 'dev-http', await token());
    clients.push(client);
    const tools = await toolNames(client);
    expect(tools.filter((name) => !name.startsWith('relay_'))).toEqual(['echo']);
    for (const name of ADMIN_ONLY) expect(tools).not.toContain(name);
    expect(tools).toContain('relay_get_status');
    const calls = backend.requests('tools/call').length;
    await expect(client.callTool({ name: 'slow', arguments: { ms: 1 } })).rejects.toThrow(/Unknown tool 'slow'/);
    await expect(client.callTool({ name: 'relay_add_server', arguments: { name: 'evil', url: 'ws://127.0.0.1:9/' } })).rejects.toThrow(/admin/);
    expect(backend.requests('tools/call')).toHaveLength(calls);
    expect(textOf(await client.callTool({ name: 'echo', arguments: { said: 'hello' } }))).toContain('hello');
    expect(backend.requests('tools/call')).toHaveLength(calls + 1);
  });

  it('over WebSocket (the token as subprotocol bearer.<token>, only mcp echoed): an admin sees every tool, the relay-changing ones too', async () => {
    const { client, transport } = await wsClient(relay.ws, {}, 'admin-ws', await token({ sub: 'ada-sub', name: 'Ada Display', groups: ['dev', 'admins'] }));
    clients.push(client);
    expect(transport.protocol).toBe('mcp');
    const tools = await toolNames(client);
    expect(tools).toEqual(expect.arrayContaining([...BACKEND_TOOLS, ...ADMIN_ONLY, 'relay_get_status']));
    expect(textOf(await client.callTool({ name: 'slow', arguments: { ms: 1 } }))).not.toBe('');
  });

  it('accepts a token for the second configured audience, with its scope in an scp array', async () => {
    const { client } = await httpClient(relay.http, {}, 'alt-audience', await token({ aud: OTHER_AUDIENCE, scope: undefined, scp: [SCOPE] }));
    clients.push(client);
    expect(await toolNames(client)).toContain('echo');
  });

  it('names each principal by its sub claim in relay_get_status (as an admin sees it), never by another claim, and shows no token', async () => {
    const devJwt = await token();
    const adminJwt = await token({ sub: 'ada-sub', name: 'Ada Display', groups: ['admins'] });
    const { client: dev } = await wsClient(relay.ws, {}, 'dev-status', devJwt);
    const { client: admin } = await httpClient(relay.http, {}, 'admin-status', adminJwt);
    clients.push(dev, admin);
    await dev.listTools();
    const text = textOf(await admin.callTool({ name: 'relay_get_status', arguments: {} }));
    const status = JSON.parse(text) as { clients: Array<{ principal?: string; front: string; client_info?: { name: string } }> };
    const byName = (name: string) => status.clients.find((client) => client.client_info?.name === name);
    expect(byName('dev-status')).toMatchObject({ principal: 'dana-sub', front: 'ws' });
    expect(byName('admin-status')).toMatchObject({ principal: 'ada-sub', front: 'http' });
    expect(text).not.toContain('Dana Display');
    expectNoLeak(devJwt, 'relay_get_status', text);
    expectNoLeak(adminJwt, 'relay_get_status', text);
    // a dev is no admin: it does not see the other clients
    const devStatus = JSON.parse(textOf(await dev.callTool({ name: 'relay_get_status', arguments: {} }))) as { clients?: unknown };
    expect(devStatus.clients).toBeUndefined();
  });

  it('serves the protected-resource metadata (RFC 9728), without a token, at the path-suffixed and the root well-known paths', async () => {
    const origin = new URL(relay.http).origin;
    for (const path of ['/.well-known/oauth-protected-resource/mcp', '/.well-known/oauth-protected-resource']) {
      const response = await fetch(`${origin}${path}`);
      expect(response.status, path).toBe(200);
      expect(response.headers.get('content-type'), path).toMatch(/^application\/json/);
      const metadata = (await response.json()) as Record<string, unknown>;
      expect(metadata, path).toMatchObject({ resource: AUDIENCE, authorization_servers: [issuer.issuer], scopes_supported: [SCOPE], bearer_methods_supported: ['header'] });
    }
    // anything else under .well-known is not served
    expect((await fetch(`${origin}/.well-known/oauth-protected-resource/other`)).status).toBe(404);
  });
});

describe('a key rotation at the issuer', () => {
  it('accepts a token under the new kid (the relay fetches the JWKS again), and refuses a never-seen token of the retired key', { timeout: 45_000 }, async () => {
    const retired = await token({ sub: 'retired-sub' });
    const fetched = issuer.jwksRequests();
    await issuer.rotate();
    const fresh = await token({ sub: 'rotated-sub' });
    // a token naming an unknown kid may refetch the keys only every 10 s (made-up kids must not flood the issuer): until
    // then it is refused saying so, and a client that retries gets in
    await eventually(
      async () => {
        const response = await post(fresh);
        const text = await response.text();
        if (response.status !== 200) {
          expect(response.status).toBe(401);
          expect(text).toMatch(/is not among the issuer's keys/);
          throw new Error(`still refused: ${text}`);
        }
        expect(response.headers.get('mcp-session-id')).toMatch(/\S/);
      },
      25_000,
      500,
    );
    expect(issuer.jwksRequests()).toBeGreaterThan(fetched);
    const { client } = await httpClient(relay.http, {}, 'rotated', fresh);
    clients.push(client);
    expect((await client.listTools()).tools.map((tool) => tool.name)).toContain('echo');
    // the retired key left the JWKS: a token of it that the relay never saw before is refused
    const response = await post(retired);
    expect(response.status).toBe(401);
    expect(challenge(response.headers.get('www-authenticate')).params['error']).toBe('invalid_token');
    expect(await response.text()).toMatch(/not among the issuer's keys/);
    await eventually(() => expect(rejections().at(-1)).toMatchObject({ front: 'http', status: 401 }));
    for (const line of relay.events) {
      expectNoLeak(retired, `the relay's ${line.event} event`, JSON.stringify(line));
      expectNoLeak(fresh, `the relay's ${line.event} event`, JSON.stringify(line));
    }
  });
});
