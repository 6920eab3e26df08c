// A JWT principal's session over time, against the real relay and a loopback issuer: a WebSocket ends when its
// token expires, and a reload that changes the access rule its claims match ends it too. (Refusals, claims to
// rules, the metadata and key rotation are in security-jwt.test.ts.)
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFullBackend, type FullBackend } from '../fixtures/full-backend.js';
import { startIssuer, type TestIssuer } from '../fixtures/jwt-issuer.js';
import { writeFileSync } from 'node:fs';
import { configFile, eventually, FAST_DEFAULTS } from './relay-process.js';
import { startNetworkRelay, wsClient, type NetworkRelay } from './network-relay.js';

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

describe('a JWT session over time', () => {
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
