// Everything MCP carries besides tools/list and tools/call goes through the relay: progress, cancellation,
// logging, and the requests a backend sends to the client (sampling, elicitation, roots, ping).
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  LoggingMessageNotificationSchema,
  type ClientCapabilities,
} from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { startFullBackend, type FullBackend, type FullBackendOptions } from '../fixtures/full-backend.js';
import { backendsYaml, configFile, eventually, INITIALIZE, RELAY_MAIN, startRawRelay, textOf, type RawRelay } from './relay-process.js';

type Json = Record<string, unknown>;

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

const wait = (ms: number) => new Promise((done) => setTimeout(done, ms));

async function backend(opts: FullBackendOptions): Promise<FullBackend> {
  const started = await startFullBackend(opts);
  cleanups.push(() => started.close());
  return started;
}

const configFor = (backends: Array<{ b: FullBackend; extra?: string }>): string =>
  configFile(backendsYaml(backends.map(({ b, extra }) => ({ name: b.name, url: b.url, ...(extra === undefined ? {} : { extra }) })))).file;

/** The SDK Client, declaring what a capable client declares, over stdio to the built relay. */
async function sdkClient(file: string, capabilities: ClientCapabilities): Promise<Client> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [RELAY_MAIN, '--config', file],
    env: { ...(process.env as Record<string, string>), LOG_LEVEL: 'debug' },
    stderr: 'pipe',
  });
  // drained from the start, so a full pipe can never stall the relay
  transport.stderr?.on('data', () => undefined);
  const client = new Client({ name: 'forwarding-e2e', version: '1.0.0' }, { capabilities });
  await client.connect(transport);
  cleanups.push(() => client.close());
  return client;
}

/** A raw newline-JSON client, initialized with `capabilities`, after the first tools/list (the backends are up). */
async function rawClient(file: string, capabilities: Json = {}): Promise<RawRelay & { lines: Json[] }> {
  const relay = startRawRelay(['--config', file]);
  cleanups.push(() => relay.stop());
  // every line ever written, untouched by next(): for "this never arrived" assertions
  const lines: Json[] = [];
  let buffered = '';
  relay.child.stdout.on('data', (chunk: string) => {
    buffered += chunk;
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    for (const part of parts) lines.push(JSON.parse(part) as Json);
  });
  const init = await relay.request('init', 'initialize', { ...INITIALIZE, capabilities });
  expect(init['result']).toBeDefined();
  relay.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
  await relay.request('first-list', 'tools/list');
  return Object.assign(relay, { lines });
}

const resultOf = (response: Json): Json => {
  if (!('result' in response)) throw new Error(`expected a result, got ${JSON.stringify(response)}`);
  return response['result'] as Json;
};

/** What a fixture tool reported about the client's answer to its server-to-client request. */
const answerIn = (result: unknown): { result?: Json; error?: { code: number | null; message: string } } => JSON.parse(textOf(result)) as never;

const argsOf = (request: Json): Json => ((request['params'] as Json)['arguments'] ?? {}) as Json;
const paramsOf = (message: Json): Json => (message['params'] ?? {}) as Json;

/** The backend's own id for the tools/call carrying `tag` in its arguments. */
const backendCall = async (b: FullBackend, tag: string): Promise<Json> =>
  eventually(() => {
    const found = b.requests('tools/call').find((request) => argsOf(request)['tag'] === tag);
    expect(found, `${b.name} received the tools/call tagged ${tag}`).toBeDefined();
    return found!;
  });

const isProgressFor = (token: unknown) => (m: Json) => m['method'] === 'notifications/progress' && paramsOf(m)['progressToken'] === token;

describe('progress', () => {
  it('replaces the client token with a relay token on the backend and maps every notification back', async () => {
    const alpha = await backend({ name: 'alpha' });
    const relay = await rawClient(configFor([{ b: alpha }]));
    relay.send({ jsonrpc: '2.0', id: 'p-1', method: 'tools/call', params: { name: 'progress', arguments: { steps: 3, tag: 'p1' }, _meta: { progressToken: 'tok-A' } } });

    const progress = [await relay.next(isProgressFor('tok-A')), await relay.next(isProgressFor('tok-A')), await relay.next(isProgressFor('tok-A'))];
    expect(progress.map(paramsOf)).toEqual([1, 2, 3].map((i) => ({ progressToken: 'tok-A', progress: i, total: 3, message: `step ${i}` })));
    const response = await relay.next((m) => m['id'] === 'p-1');
    expect(textOf(resultOf(response))).toBe('alpha:progress done after 3 steps');
    // in the order the backend sent them: every progress before the response
    const order = relay.lines.filter((m) => m['id'] === 'p-1' || isProgressFor('tok-A')(m)).map((m) => (m['id'] === 'p-1' ? 'response' : paramsOf(m)['progress']));
    expect(order).toEqual([1, 2, 3, 'response']);

    const seenByBackend = ((paramsOf(await backendCall(alpha, 'p1'))['_meta'] ?? {}) as Json)['progressToken'];
    expect(seenByBackend).toBeDefined();
    expect(seenByBackend).not.toBe('tok-A');
    // the token the backend used is the one it got: the relay mapped its own token back
    const sentTokens = alpha.sent().map((f) => f.message).filter((m) => m['method'] === 'notifications/progress').map((m) => paramsOf(m)['progressToken']);
    expect(sentTokens).toEqual([seenByBackend, seenByBackend, seenByBackend]);
  });

  it('keeps concurrent calls apart: distinct relay tokens on one connection, each mapped back to its own (number or string) token', async () => {
    const alpha = await backend({ name: 'alpha' });
    const relay = await rawClient(configFor([{ b: alpha }]));
    relay.send({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'progress', arguments: { steps: 2, stepMs: 30, tag: 'n' }, _meta: { progressToken: 7 } } });
    relay.send({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'progress', arguments: { steps: 2, stepMs: 30, tag: 's' }, _meta: { progressToken: 'tok-B' } } });
    await relay.next((m) => m['id'] === 1);
    await relay.next((m) => m['id'] === 2);

    const progress = relay.lines.filter((m) => m['method'] === 'notifications/progress').map(paramsOf);
    expect(progress.filter((p) => p['progressToken'] === 7).map((p) => p['progress'])).toEqual([1, 2]);
    expect(progress.filter((p) => p['progressToken'] === 'tok-B').map((p) => p['progress'])).toEqual([1, 2]);
    expect(progress).toHaveLength(4);

    const tokenOf = async (tag: string) => ((paramsOf(await backendCall(alpha, tag))['_meta'] ?? {}) as Json)['progressToken'];
    const [numeric, text] = [await tokenOf('n'), await tokenOf('s')];
    expect(numeric).not.toBe(text);
    expect([numeric, text]).not.toContain(7);
    expect([numeric, text]).not.toContain('tok-B');
  });

  it('lets progress keep a call alive past timeoutMs: each notification restarts the clock', async () => {
    const alpha = await backend({ name: 'alpha' });
    const relay = await rawClient(configFor([{ b: alpha, extra: '    timeoutMs: 500\n' }]));
    // 6 steps 250 ms apart: 1.5 s in all, never 500 ms without progress
    const response = await relay.request('long', 'tools/call', { name: 'progress', arguments: { steps: 6, stepMs: 250 }, _meta: { progressToken: 'keep-alive' } });
    expect(textOf(resultOf(response))).toBe('alpha:progress done after 6 steps');
    expect(relay.lines.filter(isProgressFor('keep-alive'))).toHaveLength(6);
    expect(alpha.notifications('notifications/cancelled')).toEqual([]);
  });

  it('delivers progress to the SDK Client (onprogress) through the relay', async () => {
    const alpha = await backend({ name: 'alpha' });
    const client = await sdkClient(configFor([{ b: alpha }]), {});
    const seen: Json[] = [];
    // the SDK Client handles a notification a microtask after a response in the same chunk: leave the last progress room
    const result = await client.callTool({ name: 'progress', arguments: { steps: 3, tailMs: 100 } }, undefined, { onprogress: (p) => seen.push(p as Json) });
    expect(textOf(result)).toBe('alpha:progress done after 3 steps');
    expect(seen).toEqual([1, 2, 3].map((i) => expect.objectContaining({ progress: i, total: 3 })));
  });

  it('drops progress for a finished call, and progress for tokens the relay never handed out', async () => {
    const alpha = await backend({ name: 'alpha' });
    const relay = await rawClient(configFor([{ b: alpha }]));
    const response = await relay.request('lp', 'tools/call', { name: 'late_progress', arguments: { delayMs: 150, tag: 'lp' }, _meta: { progressToken: 'tok-L' } });
    expect(textOf(resultOf(response))).toBe('alpha:answered before its progress');
    const relayToken = ((paramsOf(await backendCall(alpha, 'lp'))['_meta'] ?? {}) as Json)['progressToken'];
    // the backend did send progress with the finished call's token
    await eventually(() => expect(alpha.lateFrames().map(paramsOf)).toEqual([expect.objectContaining({ progressToken: relayToken })]));
    // and tokens it was never given (a gateway's broadcast, a backend echoing the client's token)
    alpha.sendRaw({ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 'tok-L', progress: 1 } });
    alpha.sendRaw({ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 'relay-424242', progress: 1 } });
    // a call through the same backend socket after them: once it is answered, the relay has handled the frames before it
    const echo = await relay.request('after', 'tools/call', { name: 'echo', arguments: {} });
    expect(textOf(resultOf(echo))).toBe('alpha:echo:{}');
    expect(relay.lines.filter((m) => m['method'] === 'notifications/progress')).toEqual([]);
  });
});

describe('cancellation', () => {
  it("sends the client's notifications/cancelled to the backend with the backend's own id, and answers nothing for the call", async () => {
    const alpha = await backend({ name: 'alpha' });
    const relay = await rawClient(configFor([{ b: alpha }]));
    relay.send({ jsonrpc: '2.0', id: 'cancel-me', method: 'tools/call', params: { name: 'slow', arguments: { ms: 20_000, tag: 'c1' } } });
    const call = await backendCall(alpha, 'c1');
    relay.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'cancel-me', reason: 'the user changed their mind' } });

    await eventually(() => expect(alpha.notifications('notifications/cancelled').map((m) => paramsOf(m)['requestId'])).toEqual([call['id']]));
    await eventually(() => expect(alpha.aborts()).toEqual([expect.objectContaining({ tool: 'slow', requestId: call['id'] })]));
    // the relay keeps serving, and never answers the cancelled request
    expect(resultOf(await relay.request('still-here', 'ping'))).toEqual({});
    await wait(200);
    expect(relay.lines.filter((m) => m['id'] === 'cancel-me')).toEqual([]);
  });

  it('stops a call cancelled while it still waits for the first backend handshakes: the backend never sees it, the client gets no answer', async () => {
    const alpha = await backend({ name: 'alpha' });
    const relay = startRawRelay(['--config', configFor([{ b: alpha }])]);
    cleanups.push(() => relay.stop());
    await relay.request('init', 'initialize', INITIALIZE);
    relay.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    // a client with a cached tool list calls at once, before the relay knows any backend tool, then cancels
    relay.send({ jsonrpc: '2.0', id: 'early', method: 'tools/call', params: { name: 'slow', arguments: { ms: 300, tag: 'early' } } });
    relay.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'early' } });
    await relay.request('list', 'tools/list');
    await wait(800);
    expect.soft(alpha.requests('tools/call').filter((r) => argsOf(r)['tag'] === 'early')).toEqual([]);
    expect.soft(relay.received.filter((m) => m['id'] === 'early')).toEqual([]);
  });

  it('maps an SDK Client abort (numeric id) to the backend id', async () => {
    const alpha = await backend({ name: 'alpha' });
    const client = await sdkClient(configFor([{ b: alpha }]), {});
    const controller = new AbortController();
    const call = client.callTool({ name: 'slow', arguments: { ms: 20_000, tag: 'sdk' } }, undefined, { signal: controller.signal });
    const backendRequest = await backendCall(alpha, 'sdk');
    controller.abort('stop');
    await expect(call).rejects.toThrow();
    await eventually(() => expect(alpha.notifications('notifications/cancelled').map((m) => paramsOf(m)['requestId'])).toEqual([backendRequest['id']]));
    await eventually(() => expect(alpha.aborts().map((a) => a.requestId)).toEqual([backendRequest['id']]));
    expect(await client.ping()).toEqual({});
  });

  it('on its own timeout answers -32052 and sends notifications/cancelled to the backend', async () => {
    const alpha = await backend({ name: 'alpha' });
    const relay = await rawClient(configFor([{ b: alpha, extra: '    timeoutMs: 400\n' }]));
    const started = Date.now();
    const response = await relay.request('to-1', 'tools/call', { name: 'slow', arguments: { ms: 20_000, tag: 't1' } });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect((response['error'] as Json)['code']).toBe(-32052);
    const call = await backendCall(alpha, 't1');
    await eventually(() => expect(alpha.notifications('notifications/cancelled').map((m) => paramsOf(m)['requestId'])).toEqual([call['id']]));
    await eventually(() => expect(alpha.aborts()).toEqual([expect.objectContaining({ tool: 'slow', requestId: call['id'] })]));
  });

  it('drops a response that arrives after the relay timed the call out', async () => {
    const alpha = await backend({ name: 'alpha' });
    const relay = await rawClient(configFor([{ b: alpha, extra: '    timeoutMs: 400\n' }]));
    const response = await relay.request('late-1', 'tools/call', { name: 'stubborn', arguments: { ms: 1_000, tag: 'late' } });
    expect((response['error'] as Json)['code']).toBe(-32052);
    const call = await backendCall(alpha, 'late');
    await eventually(() => expect(alpha.lateFrames()).toEqual([expect.objectContaining({ id: call['id'] })]), 5_000);
    await wait(200);
    // the backend's late answer is not a second response to the client, and the connection is fine
    const echo = await relay.request('after', 'tools/call', { name: 'echo', arguments: { n: 1 } });
    expect(textOf(resultOf(echo))).toBe('alpha:echo:{"n":1}');
    expect(relay.lines.filter((m) => m['id'] === 'late-1')).toHaveLength(1);
    expect(alpha.connectionsTotal()).toBe(1);
  });
});

describe('logging', () => {
  it('forwards notifications/message with the logger tagged <backend> or <backend>/<logger>', async () => {
    const alpha = await backend({ name: 'alpha' });
    const client = await sdkClient(configFor([{ b: alpha }]), {});
    const logs: Json[] = [];
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void logs.push(n.params as Json));

    await client.callTool({ name: 'log', arguments: { level: 'warning', logger: 'db', data: { rows: 3 } } });
    await client.callTool({ name: 'log', arguments: { level: 'info', data: 'no logger' } });
    await alpha.log('error', 'disk full');
    await eventually(() =>
      expect(logs).toEqual([
        { level: 'warning', logger: 'alpha/db', data: { rows: 3 } },
        { level: 'info', logger: 'alpha', data: 'no logger' },
        { level: 'error', logger: 'alpha', data: 'disk full' },
      ]),
    );
  });

  it('keeps every other field of a log message as the backend sent it', async () => {
    const alpha = await backend({ name: 'alpha' });
    const relay = await rawClient(configFor([{ b: alpha }]));
    alpha.sendRaw({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'notice', logger: 'x', data: [1, { two: 2 }], 'x-extra': true, _meta: { trace: 't1' } } });
    const message = await relay.next((m) => m['method'] === 'notifications/message');
    expect(message).toEqual({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'notice', logger: 'alpha/x', data: [1, { two: 2 }], 'x-extra': true, _meta: { trace: 't1' } } });
  });

  it('sends logging/setLevel to every backend that declares logging, and to no other', async () => {
    const alpha = await backend({ name: 'alpha' });
    const beta = await backend({ name: 'beta', toolPrefix: 'b_' });
    const quiet = await backend({ name: 'quiet', toolPrefix: 'q_', without: ['logging'] });
    const client = await sdkClient(configFor([{ b: alpha }, { b: beta }, { b: quiet }]), {});
    await client.listTools();
    expect(await client.setLoggingLevel('error')).toEqual({});
    for (const b of [alpha, beta]) {
      await eventually(() => expect(b.requests('logging/setLevel').map(paramsOf)).toEqual([{ level: 'error' }]));
    }
    expect(quiet.requests('logging/setLevel')).toEqual([]);
    // the level took effect on the backend: below it, nothing comes through
    const logs: Json[] = [];
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void logs.push(n.params as Json));
    await alpha.log('info', 'filtered out');
    await alpha.log('critical', 'comes through');
    await eventually(() => expect(logs).toEqual([{ level: 'critical', logger: 'alpha', data: 'comes through' }]));
  });

  it("gives a backend that reconnects the level the client set, so a blip does not undo the client's logging/setLevel", async () => {
    const alpha = await backend({ name: 'alpha' });
    const client = await sdkClient(configFor([{ b: alpha }]), {});
    await client.listTools();
    await client.setLoggingLevel('error');
    await eventually(() => expect(alpha.requests('logging/setLevel')).toHaveLength(1));

    alpha.dropConnections();
    await eventually(() => expect(alpha.connections()).toBe(1), 10_000);
    const second = alpha.connectionsTotal();
    expect(second).toBe(2);
    // the new session has the backend's default level until the relay repeats the client's choice
    await eventually(() => {
      const onSecond = alpha.received().filter((f) => f.connection === second && f.message['method'] === 'logging/setLevel');
      expect(onSecond.map((f) => paramsOf(f.message))).toEqual([{ level: 'error' }]);
    }, 5_000);
  });
});

describe('requests from a backend to the client', () => {
  const capable: ClientCapabilities = { sampling: {}, elicitation: { form: {} }, roots: { listChanged: true } };

  it('declares to the backend exactly the sampling, elicitation and roots capabilities the client declared', async () => {
    const alpha = await backend({ name: 'alpha' });
    const client = await sdkClient(configFor([{ b: alpha }]), capable);
    await client.listTools();
    expect(alpha.clientCapabilities()).toEqual(capable);
  });

  it('declares only the forwarded capabilities, and only those the client declared', async () => {
    const alpha = await backend({ name: 'alpha' });
    await rawClient(configFor([{ b: alpha }]), { roots: { listChanged: true }, experimental: { 'x-thing': {} }, 'x-vendor': { on: true } });
    expect(alpha.clientCapabilities()).toEqual({ roots: { listChanged: true } });
  });

  it('forwards sampling, elicitation, roots and ping to the SDK Client and returns its answers', async () => {
    const alpha = await backend({ name: 'alpha' });
    const client = await sdkClient(configFor([{ b: alpha }]), capable);
    const seen: Array<{ method: string; id: unknown; params: unknown }> = [];
    client.setRequestHandler(CreateMessageRequestSchema, (request, extra) => {
      seen.push({ method: request.method, id: extra.requestId, params: request.params });
      return { model: 'test-model', role: 'assistant', content: { type: 'text', text: 'sampled' } };
    });
    client.setRequestHandler(ElicitRequestSchema, (request, extra) => {
      seen.push({ method: request.method, id: extra.requestId, params: request.params });
      return { action: 'accept', content: { name: 'Ada' } };
    });
    client.setRequestHandler(ListRootsRequestSchema, (request, extra) => {
      seen.push({ method: request.method, id: extra.requestId, params: request.params });
      return { roots: [{ uri: 'file:///home/ada', name: 'home' }] };
    });

    expect(answerIn(await client.callTool({ name: 'sample', arguments: { prompt: 'hi there' } }))).toEqual({
      result: { model: 'test-model', role: 'assistant', content: { type: 'text', text: 'sampled' } },
    });
    expect(answerIn(await client.callTool({ name: 'elicit', arguments: { message: 'Name?' } }))).toEqual({ result: { action: 'accept', content: { name: 'Ada' } } });
    expect(answerIn(await client.callTool({ name: 'roots', arguments: {} }))).toEqual({ result: { roots: [{ uri: 'file:///home/ada', name: 'home' }] } });
    expect(answerIn(await client.callTool({ name: 'ping_client', arguments: {} }))).toEqual({ result: {} });

    expect(seen.map((s) => s.method)).toEqual(['sampling/createMessage', 'elicitation/create', 'roots/list']);
    expect(seen[0]?.params).toEqual(paramsOf(alpha.sentRequests('sampling/createMessage')[0]!));
    expect(seen[1]?.params).toMatchObject({ message: 'Name?', requestedSchema: { required: ['name'] } });
    // the backend got each answer under its own id
    const backendIds = ['sampling/createMessage', 'elicitation/create', 'roots/list', 'ping'].map((method) => alpha.sentRequests(method)[0]?.['id']);
    expect(alpha.responses().map((r) => r['id'])).toEqual(backendIds);
    // the client saw relay ids: unique across backends, so not the backend's own
    expect(new Set(seen.map((s) => s.id)).size).toBe(3);
  });

  it('maps ids per backend: two backends asking at once, each answer back to its own backend, unknown fields kept', async () => {
    const alpha = await backend({ name: 'alpha' });
    const beta = await backend({ name: 'beta', toolPrefix: 'b_' });
    const relay = await rawClient(configFor([{ b: alpha }, { b: beta }]), { sampling: {} });
    relay.send({ jsonrpc: '2.0', id: 'sa', method: 'tools/call', params: { name: 'sample', arguments: { prompt: 'from alpha' } } });
    relay.send({ jsonrpc: '2.0', id: 'sb', method: 'tools/call', params: { name: 'b_sample', arguments: { prompt: 'from beta' } } });
    const askedWith = (prompt: string) => (m: Json) =>
      m['method'] === 'sampling/createMessage' && JSON.stringify(paramsOf(m)['messages']).includes(prompt);
    const toAlpha = await relay.next(askedWith('from alpha'));
    const toBeta = await relay.next(askedWith('from beta'));
    const alphaRequest = alpha.sentRequests('sampling/createMessage')[0]!;
    const betaRequest = beta.sentRequests('sampling/createMessage')[0]!;

    // both backends used the same id of their own; the client must see two different ones
    expect(alphaRequest['id']).toBe(betaRequest['id']);
    expect(toAlpha['id']).not.toBe(toBeta['id']);
    expect(toAlpha['params']).toEqual(alphaRequest['params']);
    expect(toBeta['params']).toEqual(betaRequest['params']);

    const answer = (who: string) => ({ model: `m-${who}`, role: 'assistant', content: { type: 'text', text: `for ${who}` }, 'x-unknown': { deep: [1, 2] }, _meta: { trace: who } });
    relay.send({ jsonrpc: '2.0', id: toBeta['id'], result: answer('beta') });
    relay.send({ jsonrpc: '2.0', id: toAlpha['id'], result: answer('alpha') });

    expect(answerIn(resultOf(await relay.next((m) => m['id'] === 'sa'))).result).toMatchObject({ model: 'm-alpha' });
    expect(answerIn(resultOf(await relay.next((m) => m['id'] === 'sb'))).result).toMatchObject({ model: 'm-beta' });
    expect(alpha.responses()).toEqual([{ jsonrpc: '2.0', id: alphaRequest['id'], result: answer('alpha') }]);
    expect(beta.responses()).toEqual([{ jsonrpc: '2.0', id: betaRequest['id'], result: answer('beta') }]);
  });

  it('maps back whatever id type the backend used (string ids too)', async () => {
    const alpha = await backend({ name: 'alpha' });
    const relay = await rawClient(configFor([{ b: alpha }]), { roots: {} });
    alpha.sendRaw({ jsonrpc: '2.0', id: 'srv-roots-1', method: 'roots/list', params: { _meta: { k: 1 } } });
    const asked = await relay.next((m) => m['method'] === 'roots/list');
    expect(asked['id']).not.toBe('srv-roots-1');
    expect(asked['params']).toEqual({ _meta: { k: 1 } });
    relay.send({ jsonrpc: '2.0', id: asked['id'], result: { roots: [] } });
    await eventually(() => expect(alpha.responses()).toEqual([{ jsonrpc: '2.0', id: 'srv-roots-1', result: { roots: [] } }]));
  });

  it("forwards the client's error answer to the backend under the backend's id", async () => {
    const alpha = await backend({ name: 'alpha' });
    const relay = await rawClient(configFor([{ b: alpha }]), { elicitation: {} });
    relay.send({ jsonrpc: '2.0', id: 'e', method: 'tools/call', params: { name: 'elicit', arguments: {} } });
    const asked = await relay.next((m) => m['method'] === 'elicitation/create');
    relay.send({ jsonrpc: '2.0', id: asked['id'], error: { code: -32000, message: 'user declined to answer', data: { why: 'busy' } } });
    expect(answerIn(resultOf(await relay.next((m) => m['id'] === 'e'))).error).toEqual({ code: -32000, message: expect.stringContaining('user declined to answer') });
    const backendId = alpha.sentRequests('elicitation/create')[0]?.['id'];
    expect(alpha.responses()).toEqual([{ jsonrpc: '2.0', id: backendId, error: { code: -32000, message: 'user declined to answer', data: { why: 'busy' } } }]);
  });

  it('answers -32601 to a backend request the client did not declare it can serve; ping always reaches the client', async () => {
    const alpha = await backend({ name: 'alpha' });
    const relay = await rawClient(configFor([{ b: alpha }]), {});
    expect(alpha.clientCapabilities()).toEqual({});
    for (const tool of ['sample', 'elicit', 'roots']) {
      const response = await relay.request(`ask-${tool}`, 'tools/call', { name: tool, arguments: {} });
      expect(answerIn(resultOf(response)).error?.code, tool).toBe(-32601);
    }
    expect(relay.lines.filter((m) => typeof m['method'] === 'string' && m['method'] !== 'notifications/message')).toEqual([]);

    relay.send({ jsonrpc: '2.0', id: 'ask-ping', method: 'tools/call', params: { name: 'ping_client', arguments: {} } });
    const ping = await relay.next((m) => m['method'] === 'ping');
    expect(ping['id']).not.toBe(alpha.sentRequests('ping')[0]?.['id']);
    relay.send({ jsonrpc: '2.0', id: ping['id'], result: {} });
    expect(answerIn(resultOf(await relay.next((m) => m['id'] === 'ask-ping')))).toEqual({ result: {} });

    // a method no client serves is refused the same way, and never reaches the client
    alpha.sendRaw({ jsonrpc: '2.0', id: 'odd-1', method: 'x-vendor/whatever', params: {} });
    await eventually(() => expect(alpha.responses().filter((r) => r['id'] === 'odd-1')).toEqual([expect.objectContaining({ error: expect.objectContaining({ code: -32601 }) })]));
    expect(relay.lines.filter((m) => m['method'] === 'x-vendor/whatever')).toEqual([]);
  });

  it("maps the client's progress on a backend's request back to the backend's own token", async () => {
    const alpha = await backend({ name: 'alpha' });
    const relay = await rawClient(configFor([{ b: alpha }]), { sampling: {} });
    relay.send({ jsonrpc: '2.0', id: 'with-progress', method: 'tools/call', params: { name: 'sample', arguments: { progressToken: 'srv-tok' } } });
    const asked = await relay.next((m) => m['method'] === 'sampling/createMessage');
    const relayToken = ((paramsOf(asked)['_meta'] ?? {}) as Json)['progressToken'];
    expect(relayToken).not.toBe('srv-tok');
    relay.send({ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: relayToken, progress: 1, total: 2, message: 'thinking' } });
    await eventually(() => expect(alpha.notifications('notifications/progress').map(paramsOf)).toEqual([{ progressToken: 'srv-tok', progress: 1, total: 2, message: 'thinking' }]));
    relay.send({ jsonrpc: '2.0', id: asked['id'], result: { model: 'm', role: 'assistant', content: { type: 'text', text: 'done' } } });
    await relay.next((m) => m['id'] === 'with-progress');
    // after the answer the token is forgotten: late progress goes nowhere
    relay.send({ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: relayToken, progress: 2, total: 2 } });
    expect(resultOf(await relay.request('after-progress', 'ping'))).toEqual({});
    expect(alpha.notifications('notifications/progress')).toHaveLength(1);
  });

  it("tells the client when a backend withdraws its request (notifications/cancelled with the relay id), and drops the client's late answer", async () => {
    const alpha = await backend({ name: 'alpha' });
    const relay = await rawClient(configFor([{ b: alpha }]), { sampling: {} });
    relay.send({ jsonrpc: '2.0', id: 'give-up', method: 'tools/call', params: { name: 'sample', arguments: { timeoutMs: 400 } } });
    const asked = await relay.next((m) => m['method'] === 'sampling/createMessage');
    // the SDK server times out after 400 ms and sends notifications/cancelled for its own id
    const cancelled = await relay.next((m) => m['method'] === 'notifications/cancelled');
    expect(paramsOf(cancelled)['requestId']).toBe(asked['id']);
    expect(answerIn(resultOf(await relay.next((m) => m['id'] === 'give-up'))).error?.code).toBe(-32001);

    relay.send({ jsonrpc: '2.0', id: asked['id'], result: { model: 'late', role: 'assistant', content: { type: 'text', text: 'too late' } } });
    expect(resultOf(await relay.request('after', 'ping'))).toEqual({});
    await wait(200);
    expect(alpha.responses()).toEqual([]);
  });

  it("withdraws a backend's request when its connection drops (notifications/cancelled with the relay id), and drops the client's late answer", async () => {
    const alpha = await backend({ name: 'alpha' });
    const relay = await rawClient(configFor([{ b: alpha }]), { sampling: {} });
    relay.send({ jsonrpc: '2.0', id: 'cut-off', method: 'tools/call', params: { name: 'sample', arguments: { timeoutMs: 60_000 } } });
    const asked = await relay.next((m) => m['method'] === 'sampling/createMessage');
    alpha.dropConnections();
    const cancelled = await relay.next((m) => m['method'] === 'notifications/cancelled');
    expect(paramsOf(cancelled)['requestId']).toBe(asked['id']);
    expect(String(paramsOf(cancelled)['reason'])).toContain("backend 'alpha' disconnected");
    // the call that asked is cut off too: its outcome is unknown
    expect((await relay.next((m) => m['id'] === 'cut-off'))['error']).toEqual(expect.objectContaining({ code: -32053 }));

    relay.send({ jsonrpc: '2.0', id: asked['id'], result: { model: 'late', role: 'assistant', content: { type: 'text', text: 'too late' } } });
    expect(resultOf(await relay.request('after-drop', 'ping'))).toEqual({});
    await wait(200);
    expect(alpha.responses()).toEqual([]);
  });

  it("withdraws a backend's request when the backend is removed at run time", async () => {
    const alpha = await backend({ name: 'alpha' });
    const beta = await backend({ name: 'beta', toolPrefix: 'b_' });
    const relay = await rawClient(configFor([{ b: alpha }, { b: beta }]), { sampling: {} });
    relay.send({ jsonrpc: '2.0', id: 'asks', method: 'tools/call', params: { name: 'sample', arguments: { timeoutMs: 60_000 } } });
    const asked = await relay.next((m) => m['method'] === 'sampling/createMessage');
    relay.send({ jsonrpc: '2.0', id: 'remove', method: 'tools/call', params: { name: 'relay_remove_server', arguments: { name: 'alpha' } } });
    const cancelled = await relay.next((m) => m['method'] === 'notifications/cancelled');
    expect(paramsOf(cancelled)['requestId']).toBe(asked['id']);
    expect(String(paramsOf(cancelled)['reason'])).toContain("backend 'alpha'");
  });

  it('forwards notifications/roots/list_changed from the client to the backends', async () => {
    const alpha = await backend({ name: 'alpha' });
    const client = await sdkClient(configFor([{ b: alpha }]), capable);
    await client.listTools();
    await client.sendRootsListChanged();
    await eventually(() => expect(alpha.notifications('notifications/roots/list_changed')).toHaveLength(1));
  });
});
