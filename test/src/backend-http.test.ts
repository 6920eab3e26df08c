// The Streamable HTTP link against a real SDK server over HTTP on 127.0.0.1, and the SSE parser on its own.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { NEVER, type Subscription } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { openHttpLink } from '../../src/backend-http.js';
import { SseEventTooLargeError, sseParser, type SseEvent } from '../../src/sse.js';
import { backendLife$, type BackendEvent } from '../../streams/backend/connection.js';
import { ConnectionClosedError } from '../../streams/core/errors.js';
import type { BackendLink } from '../../streams/rpc/link.js';
import { DEFAULT_SETTINGS, type BackendEntry } from '../../streams/config/schema.js';
import { interruptedTool, startHttpBackend, type RunningHttpBackend } from '../fixtures/http-backend.js';
import { echoTool, progressTool } from '../fixtures/tools.js';

type Message = Record<string, unknown> & { id?: unknown; method?: string; result?: Record<string, unknown>; error?: { code: number; message: string } };

interface Driven {
  link: BackendLink;
  messages: Message[];
  error: () => unknown;
  /** sends a request and resolves with its response */
  request(id: number, method: string, params?: Record<string, unknown>): Promise<Message>;
  initialize(protocolVersion?: string): Promise<Message>;
  close(): void;
}

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function backend(opts: Partial<Parameters<typeof startHttpBackend>[0]> = {}): Promise<RunningHttpBackend> {
  const running = await startHttpBackend({ name: 'web', tools: [echoTool('echo'), progressTool('steps', 3, 10)], ...opts });
  cleanups.push(() => running.close());
  return running;
}

function entryFor(url: string, settings: Partial<BackendEntry['settings']> = {}): BackendEntry {
  return {
    name: 'web',
    transport: 'http',
    url,
    replicas: [],
    command: null,
    prefix: '',
    toolFilter: { include: [], exclude: [] },
    subprotocol: null,
    headers: { 'x-api-key': 'k1' },
    enabled: true,
    isolation: 'shared',
    credentials: 'shared',
    settings: { ...DEFAULT_SETTINGS, ...settings },
  };
}

async function until<T>(probe: () => T | undefined | false, what: string, ms = 5_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function drive(entry: BackendEntry): Driven {
  let link: BackendLink | undefined;
  let failure: unknown;
  const messages: Message[] = [];
  const subscriptions: Subscription[] = [];
  subscriptions.push(
    openHttpLink(entry).subscribe((opened) => {
      link = opened;
    }),
  );
  if (!link) throw new Error('the link was not emitted at once');
  const opened: BackendLink = link;
  subscriptions.push(
    opened.frames$.subscribe({
      next: (frame) => messages.push(JSON.parse(typeof frame === 'string' ? frame : frame.text()) as Message),
      error: (error: unknown) => (failure = error),
    }),
  );
  const close = () => subscriptions.forEach((subscription) => subscription.unsubscribe());
  cleanups.push(close);
  const request = async (id: number, method: string, params?: Record<string, unknown>): Promise<Message> => {
    expect(opened.send(JSON.stringify({ jsonrpc: '2.0', id, method, ...(params && { params }) }))).toBe(true);
    return until(() => messages.find((m) => m.id === id && (m.result || m.error)), `the response to ${method} #${id}`);
  };
  return {
    link: opened,
    messages,
    error: () => failure,
    request,
    close,
    initialize: async (protocolVersion = '2025-06-18') => {
      const response = await request(1, 'initialize', { protocolVersion, capabilities: {}, clientInfo: { name: 'test', version: '1' } });
      opened.send(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }));
      return response;
    },
  };
}

describe('openHttpLink', () => {
  it('ends the POST of a request the relay cancelled (its timeout, or the client\'s cancel), so no socket is held for it', async () => {
    // a backend that never answers tools/call: only the relay ending the POST frees its connection
    let held = 0;
    let closed = 0;
    const server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        if (request.method !== 'POST') return void response.writeHead(405).end();
        const message = JSON.parse(body) as { id?: number; method: string };
        if (message.id === undefined) return void response.writeHead(202).end();
        if (message.method === 'tools/call') {
          held++;
          response.once('close', () => closed++);
          return;
        }
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', id: message.id, result: { protocolVersion: '2025-06-18', capabilities: {}, serverInfo: { name: 'silent', version: '1' } } }));
      });
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    cleanups.push(() => {
      server.closeAllConnections();
      server.close();
    });
    const client = drive(entryFor(`http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`));
    await client.initialize();
    client.link.send(JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'never', arguments: {} } }));
    client.link.send(JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'never', arguments: {} } }));
    await until(() => held === 2, 'the backend holding both calls');
    client.link.send(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 2, reason: 'timeout' } }));
    await until(() => closed === 1, 'the cancelled call\'s POST to end');
    // the other call is untouched, and the link is not failed by the abort
    await new Promise((done) => setTimeout(done, 100));
    expect(closed).toBe(1);
    expect(client.error()).toBeUndefined();
  });

  it('initializes, then sends the session id, the negotiated version and the configured headers on every request', async () => {
    const server = await backend();
    const client = drive(entryFor(server.url));
    const init = await client.initialize();
    expect(init.result?.['protocolVersion']).toBe('2025-06-18');
    const list = await client.request(2, 'tools/list');
    expect((list.result?.['tools'] as Array<{ name: string }>).map((t) => t.name)).toEqual(['echo', 'steps']);

    const [sessionId] = server.sessions();
    const posts = server.requests().filter((r) => r.method === 'POST');
    expect(posts.map((r) => r.rpcMethod)).toEqual(['initialize', 'notifications/initialized', 'tools/list']);
    expect(posts[0]).toMatchObject({ sessionId: undefined, protocolVersion: undefined });
    for (const later of posts.slice(1)) expect(later).toMatchObject({ sessionId, protocolVersion: '2025-06-18' });
    for (const post of posts) {
      expect(post.accept).toBe('application/json, text/event-stream');
      expect(post.headers['x-api-key']).toBe('k1');
      expect(post.headers['content-type']).toBe('application/json');
    }
    expect(client.error()).toBeUndefined();
  });

  it('answers tools/call from a JSON body and from an SSE stream alike', async () => {
    const server = await backend();
    for (const url of [server.jsonUrl, server.url]) {
      const client = drive(entryFor(url));
      await client.initialize();
      const call = await client.request(2, 'tools/call', { name: 'echo', arguments: { text: 'hi' } });
      expect(call.result).toEqual({ content: [{ type: 'text', text: 'echo:{"text":"hi"}' }] });
    }
  });

  it('passes progress notifications on as they arrive on the POST stream, before the response', async () => {
    const server = await backend();
    const client = drive(entryFor(server.url));
    await client.initialize();
    await client.request(2, 'tools/call', { name: 'steps', arguments: {}, _meta: { progressToken: 'p1' } });
    const tail = client.messages.slice(-4);
    expect(tail.slice(0, 3).map((m) => [m.method, (m['params'] as { progress: number }).progress])).toEqual([
      ['notifications/progress', 1],
      ['notifications/progress', 2],
      ['notifications/progress', 3],
    ]);
    expect(tail[3]?.id).toBe(2);
  });

  it('resumes a response stream the server cut short, with Last-Event-ID after its retry delay', async () => {
    const server = await backend({ resumable: true, tools: [interruptedTool('slow', 150)] });
    const client = drive(entryFor(server.url));
    await client.initialize('2025-11-25');
    const call = await client.request(2, 'tools/call', { name: 'slow', arguments: {}, _meta: { progressToken: 'p1' } });
    expect(call.result).toEqual({ content: [{ type: 'text', text: 'slow:answered after the stream was cut' }] });
    const progress = client.messages.filter((m) => m.method === 'notifications/progress').map((m) => (m['params'] as { progress: number }).progress);
    expect(progress).toEqual([1, 2]);
    expect(server.requests().some((r) => r.method === 'GET' && r.headers['last-event-id'] !== undefined)).toBe(true);
    expect(client.error()).toBeUndefined();
  });

  it('opens the GET stream after notifications/initialized and receives server-initiated notifications on it', async () => {
    const server = await backend();
    const client = drive(entryFor(server.url));
    await client.initialize();
    await until(() => server.openStreams() === 1, 'the GET stream');
    const get = server.requests().find((r) => r.method === 'GET');
    expect(get).toMatchObject({ accept: 'text/event-stream', sessionId: server.sessions()[0], protocolVersion: '2025-06-18' });
    await server.addTool(echoTool('later'));
    await until(() => client.messages.some((m) => m.method === 'notifications/tools/list_changed'), 'list_changed');
  });

  it('reopens the GET stream when the server ends it', async () => {
    const server = await backend();
    const client = drive(entryFor(server.url));
    await client.initialize();
    await until(() => server.openStreams() === 1, 'the GET stream');
    server.endStreams();
    await until(() => server.requests().filter((r) => r.method === 'GET').length === 2 && server.openStreams() === 1, 'the GET stream to reopen');
    await server.addTool(echoTool('later'));
    await until(() => client.messages.some((m) => m.method === 'notifications/tools/list_changed'), 'list_changed');
    expect(client.error()).toBeUndefined();
  });

  it('opens no GET stream again when the server answers 405', async () => {
    const server = await backend({ getStream: false });
    const client = drive(entryFor(server.url));
    await client.initialize();
    await until(() => server.requests().some((r) => r.method === 'GET'), 'the GET attempt');
    await client.request(2, 'tools/list');
    await new Promise((resolve) => setTimeout(resolve, 1_300));
    expect(server.requests().filter((r) => r.method === 'GET')).toHaveLength(1);
    expect(client.error()).toBeUndefined();
  });

  it('errors frames$ when the server no longer knows the session (404), so the relay re-initializes', async () => {
    const server = await backend();
    const client = drive(entryFor(server.jsonUrl));
    await client.initialize();
    await server.forgetSessions();
    client.link.send(JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }));
    const error = await until(() => client.error(), 'frames$ to error');
    expect(error).toBeInstanceOf(ConnectionClosedError);
    expect(error).toMatchObject({ code: 404 });
    expect(client.link.send(JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/list' }))).toBe(false);
  });

  it('answers a request that got HTTP 500 with a JSON-RPC error for its id, and keeps the link', async () => {
    const server = await backend();
    const client = drive(entryFor(server.url));
    await client.initialize();
    await until(() => server.requests().some((r) => r.rpcMethod === 'notifications/initialized'), 'notifications/initialized');
    server.failNextPost(500, 'database is on fire');
    const failed = await client.request(7, 'tools/list');
    expect(failed.error?.code).toBe(-32603);
    expect(failed.error?.message).toContain('HTTP 500');
    expect(failed.error?.message).toContain('database is on fire');
    // a notification that fails gets no made-up answer
    server.failNextPost(500, 'again');
    client.link.send(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 99 } }));
    const ok = await client.request(8, 'tools/list');
    expect(ok.result).toBeDefined();
    expect(client.messages.filter((m) => m.error)).toHaveLength(1);
    expect(client.error()).toBeUndefined();
  });

  it('errors frames$ naming maxMessageBytes when one message is too large, JSON or SSE', async () => {
    const server = await backend();
    for (const url of [server.jsonUrl, server.url]) {
      const client = drive(entryFor(url, { maxMessageBytes: 2_000 }));
      await client.initialize();
      client.link.send(JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'echo', arguments: { text: 'x'.repeat(3_000) } } }));
      const error = await until(() => client.error(), 'frames$ to error');
      expect(error).toBeInstanceOf(ConnectionClosedError);
      expect((error as ConnectionClosedError).reason).toContain('maxMessageBytes (2000 bytes)');
    }
  });

  it('errors frames$ with ConnectionClosedError when the server cannot be reached', async () => {
    const server = await backend();
    const url = server.url;
    await server.close();
    const client = drive(entryFor(url));
    expect(client.link.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }))).toBe(true);
    const error = await until(() => client.error(), 'frames$ to error');
    expect(error).toBeInstanceOf(ConnectionClosedError);
    expect((error as ConnectionClosedError).reason).toContain('ECONNREFUSED');
    // the POST never connected: the channel may send the request again instead of calling its outcome unknown
    expect([...(error as ConnectionClosedError).unsent]).toEqual([1]);
  });

  it('on unsubscribe aborts what is in flight and sends DELETE with the session id', async () => {
    const server = await backend();
    const client = drive(entryFor(server.url));
    await client.initialize();
    await until(() => server.openStreams() === 1, 'the GET stream');
    const [sessionId] = server.sessions();
    client.close();
    await until(() => server.requests().some((r) => r.method === 'DELETE'), 'the DELETE');
    expect(server.requests().find((r) => r.method === 'DELETE')).toMatchObject({ sessionId, protocolVersion: '2025-06-18' });
    await until(() => server.sessions().length === 0 && server.openStreams() === 0, 'the session and its stream to end');
    expect(client.error()).toBeUndefined();
  });
});

describe('openHttpLink under backendLife$ (the relay\'s own handshake)', () => {
  it('connects, re-lists on list_changed, and re-initializes a new session after the old one expires', async () => {
    const server = await backend();
    const events: BackendEvent[] = [];
    const entry = entryFor(server.url, { backoff: { initialMs: 50, maxMs: 50 } });
    const deps = { openLink: openHttpLink, jitter: (ms: number) => ms, clientCapabilities: {}, clientInfo: { name: 'relay-test', version: '1' } };
    const subscription = backendLife$(entry, deps, { kick$: NEVER, restart$: NEVER }).subscribe((event) => events.push(event));
    cleanups.push(() => subscription.unsubscribe());
    const names = (event: BackendEvent | undefined) => (event && 'tools' in event ? event.tools.map((t) => (t as { name: string }).name) : []);

    await until(() => events.some((e) => e.type === 'connected'), 'connected');
    expect(names(events.find((e) => e.type === 'connected'))).toEqual(['echo', 'steps']);
    await until(() => server.openStreams() === 1, 'the GET stream');
    const [first] = server.sessions();
    await server.addTool(echoTool('later'));
    await until(() => events.some((e) => e.type === 'tools'), 'the re-listing');
    expect(names(events.find((e) => e.type === 'tools'))).toEqual(['echo', 'steps', 'later']);

    await server.forgetSessions();
    await until(() => events.filter((e) => e.type === 'connected').length === 2, 'a second connection');
    expect(events.find((e) => e.type === 'failed')).toMatchObject({ error: { name: 'ConnectionClosedError', code: 404 } });
    expect(server.sessions()).toHaveLength(1);
    expect(server.sessions()[0]).not.toBe(first);
  });
});

describe('sseParser', () => {
  const parseAll = (chunks: string[], maxEventBytes = 1_000): SseEvent[] => {
    const parse = sseParser({ maxEventBytes });
    return chunks.flatMap((chunk) => parse(chunk));
  };

  it('joins multi-line data with \\n and reads event, id and retry', () => {
    expect(parseAll(['event: message\nid: 7\nretry: 500\ndata: {"a":\ndata: 1}\n\n'])).toEqual([{ event: 'message', data: '{"a":\n1}', id: '7', retry: 500 }]);
  });

  it('handles lines and \\r\\n split anywhere across chunks', () => {
    const text = 'data: one\r\n\r\n: keep-alive\r\ndata:two\r\rdata: three\n\n';
    const expected = ['one', 'two', 'three'];
    for (let cut = 0; cut <= text.length; cut++) {
      expect(parseAll([text.slice(0, cut), text.slice(cut)]).map((e) => e.data)).toEqual(expected);
    }
    expect(parseAll([...text]).map((e) => e.data)).toEqual(expected);
  });

  it('skips comments and events without data, keeps the last id, and drops an unterminated last event', () => {
    const events = parseAll([': ping\n\nid: p1\ndata\n\nid: p2\n\ndata: x\n\ndata: never finished\n']);
    expect(events).toEqual([
      { event: '', data: '', id: 'p1', retry: undefined },
      { event: '', data: 'x', id: 'p2', retry: undefined },
    ]);
  });

  it('throws once an event or an unterminated line passes the limit, without waiting for its end', () => {
    expect(() => parseAll(['data: 12345\ndata: 12345\n'], 10)).toThrow(SseEventTooLargeError);
    expect(() => parseAll(['data: ', 'x'.repeat(20)], 10)).toThrow(SseEventTooLargeError);
    expect(parseAll(['data: 12345\ndata: 1234\n\n'], 10).map((e) => e.data)).toEqual(['12345\n1234']);
  });
});
