// The relay as an OAuth 2.1 resource server, against the real relay and a loopback issuer: every bad JWT refused
// before any handler (401 with WWW-Authenticate naming the metadata and the scope, 403 insufficient_scope), logged
// without the token, and nothing of it reaching the backend; good tokens mapped to access rules by their claims;
// the RFC 9728 metadata; a rotated key; a WebSocket closed when its token expires.
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startFullBackend, type FullBackend } from '../fixtures/full-backend.js';
import { startIssuer, type TestIssuer } from '../fixtures/jwt-issuer.js';
import { writeFileSync } from 'node:fs';
import { configFile, eventually, FAST_DEFAULTS, textOf } from './relay-process.js';
import { httpClient, startNetworkRelay, wsClient, type NetworkRelay } from './network-relay.js';

const AUDIENCE = 'https://relay.test/mcp';

let backend: FullBackend;
let issuer: TestIssuer;
let relay: NetworkRelay;
let file: string;
const clients: Client[] = [];

const yaml = (devTools: string) => `${FAST_DEFAULTS}auth:
  jwt:
    issuer: ${issuer.issuer}
    audience: ${AUDIENCE}
    jwksUrl: ${issuer.jwksUrl}
    scopes: [mcp:tools]
    clockSkewSeconds: 5
  access:
    - match: { groups: admins }
      admin: true
    - match: { groups: dev }
      tools: ["${devTools}"]
backends:
  - name: full
    url: ${backend.url}
`;

beforeAll(async () => {
  backend = await startFullBackend({ name: 'full' });
  issuer = await startIssuer();
  ({ file } = configFile(yaml('*echo*')));
  relay = await startNetworkRelay(file);
});

afterAll(async () => {
  await Promise.all(clients.map((client) => client.close().catch(() => undefined)));
  await relay.stop();
  await issuer.close();
  await backend.close();
});

const good = (claims: Record<string, unknown> = {}, options: Parameters<TestIssuer['sign']>[1] = {}) => issuer.sign({ sub: 'dana', aud: AUDIENCE, scope: 'mcp:tools', groups: ['dev'], ...claims }, options);

const post = (token: string) =>
  fetch(relay.http, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${token}` },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'jwt', version: '1' } } }),
  });

function upgradeStatus(token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(relay.ws, ['mcp'], { headers: { authorization: `Bearer ${token}` } });
    socket.on('unexpected-response', (_request, response) => {
      resolve(response.statusCode ?? 0);
      socket.terminate();
    });
    socket.on('open', () => {
      socket.close();
      reject(new Error('the upgrade was accepted'));
    });
    socket.on('error', () => undefined);
  });
}

describe('bad JWTs', () => {
  it('refuses each before any handler, with a challenge that names the metadata and the scope; logs it without the token; the backend hears nothing', async () => {
    // the backend's handshake first, so its frame count is stable
    const { client } = await httpClient(relay.http, {}, 'warm', await good({ groups: ['admins'] }));
    clients.push(client);
    await client.listTools();
    const before = backend.received().length;
    const attacks: Array<[string, string, number, RegExp]> = [
      ['expired', await good({}, { expiresIn: -120 }), 401, /expired/],
      ['wrong audience', await good({ aud: 'https://other.test/mcp' }), 401, /audience/],
      ['wrong issuer', await issuer.sign({ sub: 'dana', aud: AUDIENCE, scope: 'mcp:tools', iss: 'https://evil.test' }), 401, /issuer/],
      ['unsigned (alg none)', issuer.unsignedToken({ sub: 'dana', aud: AUDIENCE, scope: 'mcp:tools' }), 401, /unsigned|alg|none/i],
      ['signed by a key the issuer never published', await good({}, { key: 'other' }), 401, /signature/],
      ['too few scopes', await good({ scope: 'mcp:read' }), 403, /scope/],
      ['claims no access rule matches', await good({ groups: ['nobody'] }), 403, /no access rule/],
    ];
    for (const [what, token, status, reason] of attacks) {
      const response = await post(token);
      expect(response.status, what).toBe(status);
      const challenge = response.headers.get('www-authenticate') ?? '';
      expect(challenge, what).toMatch(/^Bearer /);
      expect(challenge, what).toContain('resource_metadata="');
      expect(challenge, what).toContain('scope="mcp:tools"');
      expect(challenge, what).toContain(status === 403 ? 'error="insufficient_scope"' : 'error="invalid_token"');
      expect(((await response.json()) as { error: { message: string } }).error.message, what).toMatch(reason);
      expect(await upgradeStatus(token), what).toBe(status);
    }
    const rejected = await eventually(() => {
      const found = relay.events.filter((event) => event.event === 'auth.rejected');
      expect(found.length).toBeGreaterThanOrEqual(attacks.length * 2);
      return found;
    });
    for (const event of rejected) expect(event['remote']).toMatch(/^127\.0\.0\.1:/);
    const log = JSON.stringify(relay.events);
    for (const [, token] of attacks) expect(log).not.toContain(token);
    await new Promise((done) => setTimeout(done, 300));
    expect(backend.received().length).toBe(before);
  });
});

describe('good JWTs', () => {
  it('maps claims to access rules: a dev sees only its tools, an admin everything, over both fronts', async () => {
    const { client: dev } = await wsClient(relay.ws, {}, 'dev', await good());
    const { client: admin } = await httpClient(relay.http, {}, 'admin', await good({ sub: 'ada', groups: ['admins', 'dev'] }));
    clients.push(dev, admin);
    const devTools = (await dev.listTools()).tools.map((tool) => tool.name);
    expect(devTools.filter((name) => !name.startsWith('relay_'))).toEqual(['echo']);
    expect(devTools).not.toContain('relay_add_server');
    const adminTools = (await admin.listTools()).tools.map((tool) => tool.name);
    expect(adminTools).toEqual(expect.arrayContaining(['echo', 'slow', 'relay_add_server']));
    await expect(dev.callTool({ name: 'slow', arguments: { ms: 1 } })).rejects.toThrow(/Unknown tool 'slow'/);
    const status = JSON.parse(textOf(await admin.callTool({ name: 'relay_get_status', arguments: {} }))) as { clients: Array<{ principal?: string }> };
    expect(status.clients.map((client) => client.principal)).toEqual(expect.arrayContaining(['dana', 'ada']));
  });

  it('serves the protected-resource metadata at both well-known paths', async () => {
    const origin = new URL(relay.http).origin;
    for (const path of ['/.well-known/oauth-protected-resource/mcp', '/.well-known/oauth-protected-resource']) {
      const response = await fetch(`${origin}${path}`);
      expect(response.status, path).toBe(200);
      expect(await response.json()).toMatchObject({ resource: AUDIENCE, authorization_servers: [issuer.issuer], scopes_supported: ['mcp:tools'] });
    }
  });

  it('accepts a token signed with a rotated key (the JWKS is fetched again for the new kid)', async () => {
    const fetched = issuer.jwksRequests();
    await issuer.rotate();
    const token = await good();
    // the relay fetches an issuer's keys at most every few seconds (a flood of made-up kids cannot make it hammer the
    // issuer); a client told so tries again, as this one does
    const { client } = await eventually(() => httpClient(relay.http, {}, 'rotated', token), 20_000, 500);
    clients.push(client);
    expect((await client.listTools()).tools.map((tool) => tool.name)).toContain('echo');
    expect(issuer.jwksRequests()).toBeGreaterThan(fetched);
  });

  it('closes a WebSocket when its token expires', async () => {
    const { transport } = await wsClient(relay.ws, {}, 'short-lived', await good({}, { expiresIn: 2 }));
    const closed = new Promise<void>((done) => (transport.onclose = () => done()));
    await closed;
    await eventually(() => expect(relay.events.find((event) => event.event === 'client.expired')).toMatchObject({ principal: 'dana' }));
  });

  it('ends a JWT session when a reload changes the access rule its claims match, and the next one gets the new access', async () => {
    const { client, transport } = await wsClient(relay.ws, {}, 'dev-before', await good());
    clients.push(client);
    expect((await client.listTools()).tools.map((tool) => tool.name)).toContain('echo');
    const closed = new Promise<void>((done) => (transport.onclose = () => done()));
    writeFileSync(file, yaml('*slow*'));
    await closed;
    await eventually(() => expect(relay.events.find((event) => event.event === 'client.revoked' && event['principal'] === 'dana')).toBeDefined());
    const { client: after } = await wsClient(relay.ws, {}, 'dev-after', await good());
    clients.push(after);
    const tools = (await after.listTools()).tools.map((tool) => tool.name);
    expect(tools).toContain('slow');
    expect(tools).not.toContain('echo');
  });
});
