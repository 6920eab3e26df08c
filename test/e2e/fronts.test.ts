// Many clients at once over the WebSocket and Streamable HTTP fronts, on one relay process and one backend
// connection: own ids and progress, server requests to the right client, list_changed, subscriptions, log levels,
// cancellation when a client goes, status and events.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  LoggingMessageNotificationSchema,
  ResourceUpdatedNotificationSchema,
  ToolListChangedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { startFullBackend, type FullBackend } from '../fixtures/full-backend.js';
import { backendsYaml, configFile, eventually, textOf, type StatusJson } from './relay-process.js';
import { httpClient, startNetworkRelay, wsClient, type NetworkRelay } from './network-relay.js';

let backend: FullBackend;
let relay: NetworkRelay;
const clients: Client[] = [];

beforeAll(async () => {
  backend = await startFullBackend({ name: 'full' });
  const { file } = configFile(backendsYaml([{ name: 'full', url: backend.url }]));
  relay = await startNetworkRelay(file);
});

afterAll(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close().catch(() => undefined)));
  await relay.stop();
  await backend.close();
});

const track = <T extends { client: Client }>(connected: T): T => {
  clients.push(connected.client);
  return connected;
};

async function statusOf(client: Client): Promise<StatusJson & { clients: Array<Record<string, unknown>> }> {
  const result = await client.callTool({ name: 'relay_get_status', arguments: {} });
  return JSON.parse(textOf(result)) as StatusJson & { clients: Array<Record<string, unknown>> };
}

describe('the WebSocket and Streamable HTTP fronts', () => {
  it('serve the same catalogue and calls to the SDK Client over both transports, on one backend connection', async () => {
    const { client: overHttp } = track(await httpClient(relay.http));
    const { client: overWs } = track(await wsClient(relay.ws));
    for (const client of [overHttp, overWs]) {
      const { tools } = await client.listTools();
      expect(tools.map((tool) => tool.name)).toEqual(expect.arrayContaining(['relay_get_status', 'echo', 'progress', 'sample']));
      expect(textOf(await client.callTool({ name: 'echo', arguments: { n: 1 } }))).toBe('full:echo:{"n":1}');
    }
    expect(backend.connectionsTotal()).toBe(1);
  });

  it('gives 20 sessions, 10 over each front, their own answers to the same request ids, with their own progress', async () => {
    const sessions = await Promise.all(
      Array.from({ length: 20 }, async (_, index): Promise<{ client: Client; transport: Transport }> => track(index % 2 === 0 ? await httpClient(relay.http, {}, `c${index}`) : await wsClient(relay.ws, {}, `c${index}`))),
    );
    // what each client's transport received, before the SDK's Client handles it: the SDK runs notification handlers a
    // microtask later than responses, so a progress that arrives with the response in one read never reaches onprogress
    const frames = sessions.map(({ transport }) => {
      const seen: string[] = [];
      const deliver = transport.onmessage;
      transport.onmessage = (message, extra) => {
        const frame = message as { method?: string; id?: unknown; params?: { progress?: number; progressToken?: unknown } };
        seen.push(frame.method === 'notifications/progress' ? `progress ${frame.params?.progress} for ${String(frame.params?.progressToken)}` : frame.method ?? `answer ${String(frame.id)}`);
        deliver?.(message, extra);
      };
      return seen;
    });
    // every SDK client numbers its requests from the same start: the ids overlap across sessions by construction
    const results = await Promise.all(
      sessions.map(async ({ client }, index) => {
        const progress: number[] = [];
        const called = await client.callTool({ name: 'progress', arguments: { steps: 3, stepMs: 5, who: index } }, undefined, { onprogress: (event) => progress.push(event.progress) });
        const echoed = await client.callTool({ name: 'echo', arguments: { who: index } });
        return { index, called: textOf(called), echoed: textOf(echoed), progress };
      }),
    );
    for (const { index, called, echoed, progress } of results) {
      expect(called).toBe('full:progress done after 3 steps');
      expect(echoed).toBe(`full:echo:{"who":${index}}`);
      expect(progress.length).toBeGreaterThan(0);
      // each client got its own three progress notifications, under its own token, before its answer
      expect(frames[index]?.slice(0, 4)).toEqual(['progress 1 for 1', 'progress 2 for 1', 'progress 3 for 1', 'answer 1']);
    }
    await Promise.all(sessions.map(({ client }) => client.close()));
  });

  it("sends a backend's sampling and elicitation request to the client whose call it serves, and its answer back", async () => {
    const answering = await Promise.all(
      ['alice', 'bob', 'carol'].map(async (name, index) => {
        const connected = track(await (index === 1 ? wsClient : httpClient)(index === 1 ? relay.ws : relay.http, { sampling: {}, elicitation: {} }, name));
        connected.client.setRequestHandler(CreateMessageRequestSchema, () => ({ role: 'assistant', model: name, content: { type: 'text', text: `sampled by ${name}` } }));
        connected.client.setRequestHandler(ElicitRequestSchema, () => ({ action: 'accept', content: { name } }));
        return { name, client: connected.client };
      }),
    );
    // one client's call in flight on the backend at a time: the request can only be that client's
    const answers: Array<{ name: string; sampled: string; elicited: string }> = [];
    for (const { name, client } of answering) {
      answers.push({ name, sampled: textOf(await client.callTool({ name: 'sample', arguments: { prompt: name } })), elicited: textOf(await client.callTool({ name: 'elicit', arguments: {} })) });
    }
    for (const { name, sampled, elicited } of answers) {
      expect(JSON.parse(sampled)).toMatchObject({ result: { model: name, content: { text: `sampled by ${name}` } } });
      expect(JSON.parse(elicited)).toMatchObject({ result: { action: 'accept', content: { name } } });
    }
    // the relay declared to the backend what its clients can serve
    expect(backend.clientCapabilities()).toMatchObject({ sampling: {}, elicitation: {} });
  });

  it('answers -32601 to the backend when the client whose call it is did not declare sampling', async () => {
    const { client } = track(await wsClient(relay.ws, {}, 'no-sampling'));
    const answer = JSON.parse(textOf(await client.callTool({ name: 'sample', arguments: {} }))) as { error?: { code: number; message: string } };
    expect(answer.error).toMatchObject({ code: -32601, message: expect.stringContaining("'sampling'") });
  });

  it('sends notifications/resources/updated only to the sessions subscribed to that URI, and keeps the backend subscribed until the last leaves', async () => {
    const uri = 'file:///full/readme.md';
    const connected = await Promise.all([httpClient(relay.http), wsClient(relay.ws)].map(async (pending) => track(await pending)));
    const subscribers = connected.map(({ client }) => client);
    const bystander = track(await wsClient(relay.ws)).client;
    const updates = new Map<Client, string[]>();
    for (const client of [...subscribers, bystander]) {
      updates.set(client, []);
      client.setNotificationHandler(ResourceUpdatedNotificationSchema, (note) => void updates.get(client)?.push(note.params.uri));
    }
    for (const client of subscribers) await client.subscribeResource({ uri });
    // one backend subscription serves both clients
    expect(backend.requests('resources/subscribe').filter((request) => (request['params'] as { uri: string }).uri === uri)).toHaveLength(1);
    await backend.resourceUpdated(uri);
    await eventually(() => expect(subscribers.map((client) => updates.get(client))).toEqual([[uri], [uri]]));
    expect(updates.get(bystander)).toEqual([]);

    // the HTTP session ends for good (DELETE), not just its connection
    await (connected[0]?.transport as StreamableHTTPClientTransport).terminateSession();
    expect(backend.requests('resources/unsubscribe')).toHaveLength(0);
    await subscribers[1]?.unsubscribeResource({ uri });
    await eventually(() => expect(backend.requests('resources/unsubscribe').map((request) => (request['params'] as { uri: string }).uri)).toEqual([uri]));
  });

  it('sends list_changed to every session that listed, when the backend changes its list', async () => {
    const listed = await Promise.all([httpClient(relay.http), wsClient(relay.ws)].map(async (pending) => track(await pending).client));
    const silent = track(await wsClient(relay.ws)).client;
    const changes = new Map<Client, number>();
    for (const client of [...listed, silent]) {
      changes.set(client, 0);
      client.setNotificationHandler(ToolListChangedNotificationSchema, () => void changes.set(client, (changes.get(client) ?? 0) + 1));
    }
    for (const client of listed) await client.listTools();
    // a backend add via the relay's own management tool changes the tool list
    const second = await startFullBackend({ name: 'second', toolPrefix: 'second_' });
    try {
      await listed[0]?.callTool({ name: 'relay_add_server', arguments: { name: 'second', url: second.url } });
      await eventually(() => expect(listed.map((client) => changes.get(client))).toEqual([1, 1]));
      expect(changes.get(silent)).toBe(0);
      await listed[0]?.callTool({ name: 'relay_remove_server', arguments: { name: 'second' } });
      await eventually(() => expect(listed.map((client) => changes.get(client))).toEqual([2, 2]));
    } finally {
      await second.close();
    }
  });

  it('sets the backend to the most verbose level any session asked for, and sends each session only what is at or above its own', async () => {
    const verbose = track(await httpClient(relay.http)).client;
    const quiet = track(await wsClient(relay.ws)).client;
    const seen = new Map<Client, string[]>([
      [verbose, []],
      [quiet, []],
    ]);
    for (const [client, levels] of seen) client.setNotificationHandler(LoggingMessageNotificationSchema, (note) => void levels.push(note.params.level));
    await quiet.setLoggingLevel('error');
    await verbose.setLoggingLevel('debug');
    expect(backend.requests('logging/setLevel').at(-1)?.['params']).toEqual({ level: 'debug' });
    await backend.log('info', 'for the verbose one');
    await backend.log('error', 'for both');
    await eventually(() => expect(seen.get(verbose)).toEqual(['info', 'error']));
    expect(seen.get(quiet)).toEqual(['error']);
  });

  it('shows every client in relay_get_status and logs client.connect, client.disconnect and call.done with the client id', async () => {
    const { client } = track(await wsClient(relay.ws, {}, 'status-reader'));
    await client.callTool({ name: 'echo', arguments: {} });
    const status = await statusOf(client);
    const me = status.clients.find((entry) => (entry['client_info'] as { name?: string } | undefined)?.name === 'status-reader');
    expect(me).toMatchObject({ id: expect.stringMatching(/^[0-9a-f-]{36}$/), front: 'ws', remote: expect.stringMatching(/^127\.0\.0\.1:\d+$/), initialized: true, calls_done: 1 });
    // the event log is written in batches: wait for it
    await eventually(() => expect(relay.events).toContainEqual(expect.objectContaining({ event: 'client.connect', client: me?.['id'], front: 'ws' })));
    await eventually(() => expect(relay.events).toContainEqual(expect.objectContaining({ event: 'call.done', client: me?.['id'], tool: 'echo', outcome: 'ok' })));
    await client.close();
    await eventually(() => expect(relay.events).toContainEqual(expect.objectContaining({ event: 'client.disconnect', client: me?.['id'], callsDone: 1 })));
  });
});

/** what the relay holds of a client once it left: nothing (no client entry, no request in flight for it on the backend) */
async function nothingLeftOf(name: string): Promise<void> {
  const { client: observer } = track(await wsClient(relay.ws, {}, 'observer'));
  await eventually(async () => {
    const status = await statusOf(observer);
    expect(status.clients.filter((entry) => (entry['client_info'] as { name?: string } | undefined)?.name === name)).toEqual([]);
    // the observer's own relay_get_status is a relay tool, not a backend call: the backend has nothing in flight
    expect(status.servers.find((server) => server.name === 'full')).toMatchObject({ calls_in_flight: 0 });
  });
  await observer.close();
}

describe('a client that goes away mid-call', () => {
  it('a client that leaves with a backend request unanswered: the backend gets an error answer, not silence', async () => {
    const { client, transport } = track(await wsClient(relay.ws, { sampling: {} }, 'leaves-while-asked'));
    // it never answers: the request waits on it until it leaves
    client.setRequestHandler(CreateMessageRequestSchema, () => new Promise<never>(() => undefined));
    const asked = backend.sentRequests('sampling/createMessage').length;
    void client.callTool({ name: 'sample', arguments: { timeoutMs: 20_000 } }).catch(() => undefined);
    await eventually(() => expect(backend.sentRequests('sampling/createMessage').length).toBe(asked + 1));
    const id = backend.sentRequests('sampling/createMessage').at(-1)?.['id'];
    await transport.close();
    await eventually(() =>
      expect(backend.responses()).toContainEqual(expect.objectContaining({ id, error: expect.objectContaining({ message: expect.stringContaining('disconnected before answering') }) })),
    );
    await nothingLeftOf('leaves-while-asked');
  });

  it('a WebSocket closed mid-call: the call is cancelled on the backend', async () => {
    const { client, transport } = track(await wsClient(relay.ws, {}, 'killed-mid-call'));
    const before = backend.aborts().length;
    const calls = backend.requests('tools/call').length;
    void client.callTool({ name: 'slow', arguments: { ms: 20_000 } }).catch(() => undefined);
    await eventually(() => expect(backend.requests('tools/call').slice(calls).at(-1)?.['params']).toMatchObject({ name: 'slow' }));
    await transport.close();
    await eventually(() => expect(backend.aborts().length).toBe(before + 1));
    await nothingLeftOf('killed-mid-call');
  });

  it('an HTTP session deleted mid-call: the call is cancelled on the backend, and the session id is gone', async () => {
    const { client, transport } = track(await httpClient(relay.http, {}, 'deleted-mid-call'));
    const before = backend.aborts().length;
    const calls = backend.requests('tools/call').length;
    void client.callTool({ name: 'slow', arguments: { ms: 20_000 } }).catch(() => undefined);
    await eventually(() => expect(backend.requests('tools/call').slice(calls).at(-1)?.['params']).toMatchObject({ name: 'slow' }));
    const sessionId = transport.sessionId;
    await transport.terminateSession();
    await eventually(() => expect(backend.aborts().length).toBe(before + 1));
    await nothingLeftOf('deleted-mid-call');
    const reused = await fetch(relay.http, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': sessionId ?? '' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }) });
    expect(reused.status).toBe(404);
  });
});
