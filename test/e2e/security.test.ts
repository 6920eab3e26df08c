// Security on the network fronts, against the real relay: who may connect (static tokens, in a header or a browser's
// subprotocol), what each principal sees and may call (tools, resources, prompts, management), per-principal
// credentials to a backend, and a reload that revokes a token. Every attack asserts it was refused, logged without
// the token, and that nothing of it reached a backend (the fixtures record every frame they receive).
import { writeFileSync } from 'node:fs';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ResourceListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startFullBackend, type FullBackend } from '../fixtures/full-backend.js';
import { startHttpBackend, type RunningHttpBackend } from '../fixtures/http-backend.js';
import { configFile, eventually, FAST_DEFAULTS, textOf } from './relay-process.js';
import { httpClient, startNetworkRelay, wsClient, type NetworkRelay } from './network-relay.js';

const TOKENS = { ALICE_TOKEN: 'alice-secret-7d1f0c2a9b', BOB_TOKEN: 'bob-secret-55e2a81c44', ROOT_TOKEN: 'root-secret-c0ffee1234', BOB_GH: 'bob-github-pat-111', ROOT_GH: 'root-github-pat-222' };

let alpha: FullBackend;
let beta: FullBackend;
let creds: RunningHttpBackend;
let relay: NetworkRelay;
let file: string;
const clients: Client[] = [];

const yaml = (bob = true) => `${FAST_DEFAULTS}auth:
  tokens:
    - name: alice
      token: \${ALICE_TOKEN}
      tools: ["alpha_*", "!alpha_slow", beta_echo]
      resources: ["file:///alpha/*"]
      prompts: [alpha_greet]
${
  bob
    ? `    - name: bob
      token: \${BOB_TOKEN}
      backends: [beta, creds]
      credentials:
        creds: { headers: { authorization: "Bearer \${BOB_GH}" } }
`
    : ''
}    - name: root
      token: \${ROOT_TOKEN}
      admin: true
      credentials:
        creds: { headers: { authorization: "Bearer \${ROOT_GH}" } }
backends:
  - name: alpha
    url: ${alpha.url}
    prefix: alpha_
  - name: beta
    url: ${beta.url}
    prefix: beta_
  - name: creds
    url: ${creds.jsonUrl}
    credentials: per-principal
`;

async function connect(kind: 'ws' | 'http', token: string, name: string): Promise<Client> {
  const { client } = kind === 'ws' ? await wsClient(relay.ws, {}, name, token) : await httpClient(relay.http, {}, name, token);
  clients.push(client);
  return client;
}

const toolNames = async (client: Client) => (await client.listTools()).tools.map((tool) => tool.name).sort();

/** what the backends have received so far: an attack must not change it */
const backendFrames = () => ({ alpha: alpha.received().length, beta: beta.received().length, creds: creds.requests().length });

beforeAll(async () => {
  alpha = await startFullBackend({ name: 'alpha' });
  beta = await startFullBackend({ name: 'beta' });
  creds = await startHttpBackend({ name: 'creds', tools: [{ definition: { name: 'whoami', inputSchema: { type: 'object' } } }] });
  ({ file } = configFile(yaml()));
  relay = await startNetworkRelay(file, { env: TOKENS });
});

afterAll(async () => {
  await Promise.all(clients.map((client) => client.close().catch(() => undefined)));
  await relay.stop();
  await Promise.all([alpha.close(), beta.close(), creds.close()]);
});

async function post(headers: Record<string, string>, url = relay.http): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'attacker', version: '1' } } }),
  });
}

/** a WebSocket upgrade's refusal: the HTTP status ws saw */
function upgradeStatus(url: string, protocols: string[], headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, protocols, { headers });
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

describe('who connects', () => {
  it('refuses no token, a wrong token and a token in the query string, on both fronts, before any handler; logs each without the token; nothing reaches a backend', async () => {
    // the backends' handshakes are done first (a root client lists), so what follows can only add attack frames
    await toolNames(await connect('http', TOKENS.ROOT_TOKEN, 'root-warmup'));
    const before = backendFrames();
    const rejectedBefore = relay.events.filter((event) => event.event === 'auth.rejected').length;

    const none = await post({});
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer /);
    expect(((await none.json()) as { error: { message: string } }).error.message).toMatch(/needs a token/);
    const wrong = await post({ authorization: 'Bearer not-a-real-token' });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);
    const query = await post({}, `${relay.http}?access_token=${TOKENS.ALICE_TOKEN}`);
    expect(query.status).toBe(401);
    expect(((await query.json()) as { error: { message: string } }).error.message).toMatch(/token in the URL/);

    expect(await upgradeStatus(relay.ws, ['mcp'])).toBe(401);
    expect(await upgradeStatus(relay.ws, ['mcp', 'bearer.wrong-token'])).toBe(401);
    expect(await upgradeStatus(relay.ws, ['mcp'], { authorization: 'Bearer wrong-token' })).toBe(401);
    expect(await upgradeStatus(`${relay.ws}?token=${TOKENS.ALICE_TOKEN}`, ['mcp', `bearer.${TOKENS.ALICE_TOKEN}`])).toBe(401);

    const rejected = await eventually(() => {
      const found = relay.events.filter((event) => event.event === 'auth.rejected').slice(rejectedBefore);
      expect(found).toHaveLength(7);
      return found;
    });
    for (const event of rejected) {
      expect(event['remote']).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(String(event['reason'])).not.toBe('');
    }
    const log = JSON.stringify(relay.events);
    for (const secret of Object.values(TOKENS)) expect(log).not.toContain(secret);
    await new Promise((done) => setTimeout(done, 300));
    expect(backendFrames()).toEqual(before);
  });

  it('takes a browser-style token in the subprotocol beside mcp, and echoes only mcp', async () => {
    const { client, transport } = await wsClient(relay.ws, {}, 'browser', TOKENS.ALICE_TOKEN);
    clients.push(client);
    expect(transport.protocol).toBe('mcp');
    expect(await toolNames(client)).toContain('alpha_echo');
  });
});

describe('what each may see and call', () => {
  it('shows two principals two different catalogues from one relay', async () => {
    const alice = await connect('ws', TOKENS.ALICE_TOKEN, 'alice');
    const bob = await connect('http', TOKENS.BOB_TOKEN, 'bob');
    const aliceTools = await toolNames(alice);
    const bobTools = await toolNames(bob);
    expect(aliceTools).toContain('alpha_echo');
    expect(aliceTools).toContain('beta_echo');
    expect(aliceTools).not.toContain('alpha_slow');
    expect(aliceTools.filter((name) => name.startsWith('beta_'))).toEqual(['beta_echo']);
    expect(aliceTools).not.toContain('whoami');
    // not an admin: the tools that change the relay are not there
    expect(aliceTools).not.toContain('relay_add_server');
    expect(aliceTools).toContain('relay_get_status');
    expect(bobTools.some((name) => name.startsWith('alpha_'))).toBe(false);
    expect(bobTools).toContain('beta_slow');
    expect(bobTools).toContain('whoami');
  });

  it('refuses a forbidden tool called by its exact name exactly as an unknown one, directly and through relay_call_tool, and the backend never hears of it', async () => {
    const alice = await connect('http', TOKENS.ALICE_TOKEN, 'alice-tools');
    const calls = alpha.requests('tools/call').length;
    const forbidden = await alice.callTool({ name: 'alpha_slow', arguments: { ms: 1 } }).catch((error: unknown) => error as Error);
    const unknown = await alice.callTool({ name: 'alpha_nonexistent', arguments: {} }).catch((error: unknown) => error as Error);
    expect(forbidden).toBeInstanceOf(Error);
    expect((forbidden as Error).message.replace('alpha_slow', 'X')).toBe((unknown as Error).message.replace('alpha_nonexistent', 'X'));
    const viaRelay = await alice.callTool({ name: 'relay_call_tool', arguments: { name: 'alpha_slow', arguments: { ms: 1 } } }).catch((error: unknown) => error as Error);
    expect((viaRelay as Error).message).toMatch(/Unknown tool 'alpha_slow'/);
    const found = JSON.parse(textOf(await alice.callTool({ name: 'relay_search_tools', arguments: { query: 'slow' } }))) as { matches: Array<{ name: string }> };
    expect(found.matches.map((match) => match.name)).not.toContain('alpha_slow');
    expect(alpha.requests('tools/call')).toHaveLength(calls);
    // the operator hears of it (a name that exists nowhere is a typo, not an attempt)
    await eventually(() => expect(relay.events.filter((event) => event.event === 'access.denied' && event['principal'] === 'alice' && event['kind'] === 'tool').map((event) => event['name'])).toEqual(['alpha_slow', 'alpha_slow']));
    // an allowed one goes through
    expect(textOf(await alice.callTool({ name: 'alpha_echo', arguments: { x: 1 } }))).toContain('alpha');
  });

  it('refuses a forbidden resource read by URI and by template, and lists only what the principal may read', async () => {
    const alice = await connect('ws', TOKENS.ALICE_TOKEN, 'alice-resources');
    const reads = alpha.requests('resources/read').length + beta.requests('resources/read').length;
    const listed = (await alice.listResources()).resources.map((resource) => resource.uri).sort();
    expect(listed).toEqual(['file:///alpha/guide.md', 'file:///alpha/readme.md']);
    expect((await alice.listResourceTemplates()).resourceTemplates).toEqual([]);
    for (const uri of ['mem://alpha/status', 'file:///beta/readme.md', 'file:///notes/secret']) {
      await expect(alice.readResource({ uri })).rejects.toThrow(/Unknown resource/);
    }
    await expect(alice.subscribeResource({ uri: 'mem://alpha/status' })).rejects.toThrow(/Unknown resource/);
    await expect(alice.complete({ ref: { type: 'ref/resource', uri: 'file:///notes/{name}' }, argument: { name: 'name', value: 'a' } })).rejects.toThrow(/Unknown resource/);
    expect(alpha.requests('resources/read').length + beta.requests('resources/read').length).toBe(reads);
    await eventually(() => expect(relay.events.filter((event) => event.event === 'access.denied' && event['kind'] === 'resource').map((event) => event['name'])).toEqual(expect.arrayContaining(['mem://alpha/status', 'file:///beta/readme.md', 'file:///notes/secret'])));
    expect((await alice.readResource({ uri: 'file:///alpha/guide.md' })).contents).toHaveLength(1);
  });

  it('refuses a forbidden prompt (get and completion) and lists only the allowed one', async () => {
    const alice = await connect('http', TOKENS.ALICE_TOKEN, 'alice-prompts');
    expect((await alice.listPrompts()).prompts.map((prompt) => prompt.name)).toEqual(['alpha_greet']);
    const gets = beta.requests('prompts/get').length + alpha.requests('prompts/get').length;
    await expect(alice.getPrompt({ name: 'beta_greet', arguments: { who: 'x' } })).rejects.toThrow(/Unknown prompt/);
    await expect(alice.getPrompt({ name: 'alpha_summarize', arguments: {} })).rejects.toThrow(/Unknown prompt/);
    await expect(alice.complete({ ref: { type: 'ref/prompt', name: 'beta_greet' }, argument: { name: 'who', value: 'a' } })).rejects.toThrow(/Unknown prompt/);
    expect(beta.requests('prompts/get').length + alpha.requests('prompts/get').length).toBe(gets);
    expect((await alice.getPrompt({ name: 'alpha_greet', arguments: { who: 'x' } })).messages.length).toBeGreaterThan(0);
  });

  it('shows a principal only its backends in status, refuses it the tools that change the relay, and shows an admin everything', async () => {
    const bob = await connect('ws', TOKENS.BOB_TOKEN, 'bob-status');
    const status = JSON.parse(textOf(await bob.callTool({ name: 'relay_get_status', arguments: {} }))) as { servers: Array<{ name: string }>; clients?: unknown; security?: unknown };
    expect(status.servers.map((server) => server.name).sort()).toEqual(['beta', 'creds']);
    expect(status.clients).toBeUndefined();
    expect(status.security).toBeUndefined();
    expect(textOf(await bob.callTool({ name: 'relay_list_servers', arguments: {} }))).not.toContain('alpha');
    await expect(bob.callTool({ name: 'relay_add_server', arguments: { name: 'evil', url: 'ws://127.0.0.1:9/' } })).rejects.toThrow(/needs a principal with admin: true/);
    await expect(bob.callTool({ name: 'relay_reconnect_server', arguments: { name: 'beta' } })).rejects.toThrow(/admin/);
    const root = await connect('http', TOKENS.ROOT_TOKEN, 'root-status');
    const full = JSON.parse(textOf(await root.callTool({ name: 'relay_get_status', arguments: {} }))) as { servers: Array<{ name: string }>; clients: Array<{ principal?: string }>; security: Record<string, number> };
    expect(full.servers.map((server) => server.name).sort()).toEqual(['alpha', 'beta', 'creds']);
    expect(full.clients.map((client) => client.principal)).toEqual(expect.arrayContaining(['bob', 'root']));
    expect(full.security['auth_rejected_unauthorized']).toBeGreaterThanOrEqual(7);
    expect(full.security).toMatchObject({ access_denied_tool: 2, access_denied_prompt: 3 });
    expect(full.security['access_denied_resource']).toBeGreaterThanOrEqual(4);
    await eventually(() => expect(relay.events.find((event) => event.event === 'management.call' && event['outcome'] === 'refused' && event['principal'] === 'bob')).toMatchObject({ tool: 'relay_add_server', front: 'ws' }));
  });

  it('sends per-principal credentials to the backend as that principal\'s header, never another\'s, and never the client\'s own token', async () => {
    const bob = await connect('http', TOKENS.BOB_TOKEN, 'bob-creds');
    const root = await connect('ws', TOKENS.ROOT_TOKEN, 'root-creds');
    const seen = creds.requests().length;
    await bob.callTool({ name: 'whoami', arguments: { who: 'bob' } });
    await root.callTool({ name: 'whoami', arguments: { who: 'root' } });
    const calls = creds.requests().slice(seen).filter((request) => request.rpcMethod === 'tools/call');
    expect(calls).toHaveLength(2);
    const [bobCall, rootCall] = calls;
    expect(bobCall?.headers['authorization']).toBe(`Bearer ${TOKENS.BOB_GH}`);
    expect(rootCall?.headers['authorization']).toBe(`Bearer ${TOKENS.ROOT_GH}`);
    // each principal's calls go over a session of its own
    expect(bobCall?.sessionId).not.toBe(rootCall?.sessionId);
    const everyHeader = JSON.stringify(creds.requests().map((request) => request.headers));
    for (const token of [TOKENS.ALICE_TOKEN, TOKENS.BOB_TOKEN, TOKENS.ROOT_TOKEN]) expect(everyHeader).not.toContain(token);
    // alice has no credentials for it: the backend is not hers at all
    const alice = await connect('ws', TOKENS.ALICE_TOKEN, 'alice-creds');
    await expect(alice.callTool({ name: 'whoami', arguments: {} })).rejects.toThrow(/Unknown tool 'whoami'/);
  });

  it('sends list_changed to a principal only when its own view changed', async () => {
    const alice = await connect('ws', TOKENS.ALICE_TOKEN, 'alice-changes');
    const bob = await connect('ws', TOKENS.BOB_TOKEN, 'bob-changes');
    let aliceHeard = 0;
    let bobHeard = 0;
    alice.setNotificationHandler(ResourceListChangedNotificationSchema, () => void aliceHeard++);
    bob.setNotificationHandler(ResourceListChangedNotificationSchema, () => void bobHeard++);
    await alice.listResources();
    await bob.listResources();
    // a resource bob cannot see: alice's view changes, bob's does not
    await alpha.setResources([
      { uri: 'file:///alpha/readme.md', name: 'readme' },
      { uri: 'file:///alpha/new.md', name: 'new' },
    ]);
    await eventually(() => expect(aliceHeard).toBe(1));
    await new Promise((done) => setTimeout(done, 400));
    expect(bobHeard).toBe(0);
    expect((await alice.listResources()).resources.map((resource) => resource.uri).sort()).toEqual(['file:///alpha/new.md', 'file:///alpha/readme.md']);
  });
});

describe('a reload', () => {
  it('revokes a removed token: its WebSocket is closed with 1008 and its next HTTP request is refused', async () => {
    const { client: bobWs, transport } = await wsClient(relay.ws, {}, 'bob-revoked', TOKENS.BOB_TOKEN);
    const bobHttp = await connect('http', TOKENS.BOB_TOKEN, 'bob-revoked-http');
    await bobWs.listTools();
    const closed = new Promise<void>((done) => (transport.onclose = () => done()));
    writeFileSync(file, yaml(false));
    await closed;
    await eventually(() => expect(relay.events.find((event) => event.event === 'client.revoked' && event['front'] === 'ws')).toMatchObject({ principal: 'bob' }));
    await expect(bobHttp.listTools()).rejects.toThrow(/401|not one this relay accepts/);
    expect(await upgradeStatus(relay.ws, ['mcp', `bearer.${TOKENS.BOB_TOKEN}`])).toBe(401);
    // the others go on
    expect(await toolNames(await connect('ws', TOKENS.ALICE_TOKEN, 'alice-after'))).toContain('alpha_echo');
  });
});
