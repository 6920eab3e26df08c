// Backends that fail or break the protocol, for real: processes killed -9 mid-call, sockets cut, silent peers,
// frames that are not JSON, answers to ids nobody asked, duplicates, binary and 50 MB frames, a close during
// initialize, a restart with other tools. For each: what the client sees, and that the relay keeps serving.
// (resilience.test.ts and hostile.test.ts cover the gentler cases: a backend killed while idle, a dropped socket,
// a call timeout, noise after tools/list, a silent handshake's status, a frame just over maxMessageBytes.)
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { describe, expect, it, onTestFinished } from 'vitest';
import { DEFAULT_SETTINGS } from '../../streams/config/schema.js';
import { startRawBackend, type RunningRawBackend } from '../fixtures/raw-ws-backend.js';
import { echoText, ordinaryAnswer, ordinaryPost, rawMcp, startRawHttpBackend, type Incoming, type RawHttpBackend, type RawMcpOptions } from '../fixtures/faulty-backend.js';
import { configFile, eventually, FAST_DEFAULTS, INITIALIZE, startRawRelay, startSdkRelay, status, textOf, type RawRelay, type SdkRelay } from './relay-process.js';

const FAULTY = resolve(import.meta.dirname, '../../dist/test/fixtures/faulty-backend.js');
/** the relay's default maxMessageBytes (32 MiB): a 50 MB frame is over it */
const DEFAULT_MAX_MESSAGE_BYTES = DEFAULT_SETTINGS.maxMessageBytes;
const FIFTY_MB = 50_000_000;

type Entry = { name: string; extra?: string } & ({ url: string } | { args: string[] });

/** backends.yaml for ws://, http:// and command: (the faulty-backend process over stdio) entries */
const yamlFor = (entries: Entry[], head = FAST_DEFAULTS): string =>
  `${head}backends:\n${entries
    .map((entry) =>
      'url' in entry
        ? `  - name: ${entry.name}\n    url: ${entry.url}\n${entry.extra ?? ''}`
        : `  - name: ${entry.name}\n    command: ${JSON.stringify(process.execPath)}\n    args: ${JSON.stringify([FAULTY, ...entry.args])}\n${entry.extra ?? ''}`,
    )
    .join('')}`;

async function sdkRelay(entries: Entry[], head?: string): Promise<SdkRelay> {
  const relay = await startSdkRelay(configFile(yamlFor(entries, head)).file);
  onTestFinished(() => relay.close());
  return relay;
}

/** a raw newline-JSON client, initialized, with the first tools/list answered (so every backend has been tried) */
async function rawRelay(entries: Entry[], head?: string): Promise<RawRelay> {
  const relay = startRawRelay(['--config', configFile(yamlFor(entries, head)).file]);
  onTestFinished(() => relay.stop());
  await relay.request('init', 'initialize', INITIALIZE);
  relay.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
  await relay.request('list', 'tools/list', {});
  return relay;
}

async function wsBackend(options: RawMcpOptions): Promise<RunningRawBackend> {
  const backend = await startRawBackend({ onMessage: rawMcp(options) });
  onTestFinished(() => backend.close());
  return backend;
}

async function httpBackend(onPost: Parameters<typeof startRawHttpBackend>[0]): Promise<RawHttpBackend> {
  const backend = await startRawHttpBackend(onPost);
  onTestFinished(() => backend.close());
  return backend;
}

/** a well-behaved backend next to the faulty one: it must answer throughout */
async function fineBackend(): Promise<Entry> {
  const fine = await wsBackend({ name: 'fine', tools: ['fine_echo'] });
  return { name: 'fine', url: fine.url };
}

/** a call with the SDK's own deadline well inside the test's: a hang fails as "Request timed out", not as a test timeout */
const call = (client: Client, name: string, args: Record<string, unknown> = {}, timeout = 8_000) => client.callTool({ name, arguments: args }, undefined, { timeout });

async function expectServing(client: Client): Promise<void> {
  expect(textOf(await call(client, 'fine_echo', { still: 'serving' }))).toBe('fine_echo:{"still":"serving"}');
}

/** how long a promise takes to settle, and how */
async function timed<T>(promise: Promise<T>): Promise<{ ms: number; value?: T; error?: Error }> {
  const started = Date.now();
  try {
    const value = await promise;
    return { ms: Date.now() - started, value };
  } catch (error: unknown) {
    return { ms: Date.now() - started, error: error as Error };
  }
}

const tempFile = (name: string): string => join(mkdtempSync(join(tmpdir(), 'faulty-backend-')), name);

interface FaultyProcess {
  child: ChildProcess;
  url: string;
  port: number;
  /** tool names of the tools/call it has received, from its `CALL <tool>` stderr lines */
  calls: string[];
}

/** the faulty backend as its own WebSocket server process, so it can be killed -9 and started again on its port */
async function faultyProcess(args: string[]): Promise<FaultyProcess> {
  const child = spawn(process.execPath, [FAULTY, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  onTestFinished(() => {
    child.kill('SIGKILL');
  });
  const calls: string[] = [];
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    const lines = stderr.split('\n');
    stderr = lines.pop() ?? '';
    for (const line of lines) if (line.startsWith('CALL ')) calls.push(line.slice(5));
  });
  const url = await new Promise<string>((done, fail) => {
    let stdout = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      const ready = /READY (\S+)\n/.exec(stdout);
      if (ready?.[1]) done(ready[1]);
    });
    child.once('exit', (code) => fail(new Error(`faulty-backend exited with ${code} before it was ready`)));
  });
  return { child, url, port: Number(new URL(url).port), calls };
}

/** the tools/call lines a stdio backend wrote to stderr, as the relay logged them */
const stdioCalls = (relay: SdkRelay, backend: string, tool: string): number =>
  relay.events.filter((event) => event.event === 'backend.stderr' && event['backend'] === backend && event['line'] === `CALL ${tool}`).length;

/**
 * After a fault that failed several calls at once: the backend is connected again, and a call to it gets its result
 * at once. The dropped connection counts once toward the circuit breaker, not once per call it took with it, so one
 * fault never opens the breaker on its own.
 */
async function expectBackAndAnswering(client: Client, backend: string, tool: string): Promise<void> {
  await eventually(async () => expect((await status(client)).servers.find((server) => server.name === backend)).toMatchObject({ connected: true }));
  const { ms, value, error } = await timed(call(client, tool, {}));
  expect(error).toBeUndefined();
  expect(textOf(value)).toBe(`${tool}:{}`);
  expect(ms).toBeLessThan(2_000);
}

const toolNames = async (client: Client): Promise<string[]> => (await client.listTools()).tools.map((tool) => tool.name);

/** the answer of a raw request that must come, with its own deadline well inside the test's */
const answerTo = (relay: RawRelay, id: number | string, timeoutMs = 8_000) => relay.next((message) => message['id'] === id && !('method' in message), timeoutMs);

const rawCall = (relay: RawRelay, id: number | string, name: string, args: Record<string, unknown> = {}) =>
  relay.send({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } });

const resultText = (message: Record<string, unknown>): string => textOf(message['result']);

describe('a backend killed mid-call', () => {
  it('WebSocket process killed -9 with three calls in flight: each call gets -32053 at once, not a hang', async () => {
    const dying = await faultyProcess(['--port', '0', '--tools', 'hang_ws,dying_echo']);
    const relay = await sdkRelay([{ name: 'dying', url: dying.url }, await fineBackend()]);
    expect(await toolNames(relay.client)).toEqual(expect.arrayContaining(['hang_ws', 'fine_echo']));

    const calls = [1, 2, 3].map((i) => timed(call(relay.client, 'hang_ws', { i })));
    await eventually(() => expect(dying.calls).toHaveLength(3));
    dying.child.kill('SIGKILL');
    for (const { ms, error } of await Promise.all(calls)) {
      expect(error?.message).toMatch(/MCP error -32053: backend 'dying', tool 'hang_ws': connection to backend 'dying' dropped after the request was sent .*the outcome is unknown/);
      expect(ms).toBeLessThan(5_000);
    }
    await expectServing(relay.client);
    await eventually(async () => expect((await status(relay.client)).servers[0]).toMatchObject({ name: 'dying', health: 'failed', connected: false }));
  });

  it('stdio process killed -9 with three calls in flight: each call says so, the relay starts it again and serves it', async () => {
    const pidFile = tempFile('pid');
    const relay = await sdkRelay([{ name: 'local', args: ['--tools', 'hang_stdio,local_echo', '--pid-file', pidFile] }, await fineBackend()]);
    expect(await toolNames(relay.client)).toEqual(expect.arrayContaining(['hang_stdio', 'local_echo', 'fine_echo']));
    const pid = Number(readFileSync(pidFile, 'utf8'));

    const calls = [1, 2, 3].map((i) => timed(call(relay.client, 'hang_stdio', { i })));
    await eventually(() => expect(stdioCalls(relay, 'local', 'hang_stdio')).toBe(3));
    process.kill(pid, 'SIGKILL');
    for (const { ms, error } of await Promise.all(calls)) {
      expect(error?.message).toMatch(/MCP error -32053: backend 'local', tool 'hang_stdio': connection to backend 'local' dropped after the request was sent .*killed by SIGKILL.*the outcome is unknown/);
      expect(ms).toBeLessThan(5_000);
    }
    await expectServing(relay.client);
    // a command: backend is started again: the next call reaches a new process
    await eventually(async () => expect(textOf(await call(relay.client, 'local_echo', { back: true }))).toBe('local_echo:{"back":true}'));
    expect(Number(readFileSync(pidFile, 'utf8'))).not.toBe(pid);
  });

  it('Streamable HTTP connections cut while three POSTs wait for their answers: each call gets -32053, then the backend serves again', async () => {
    let cut = false;
    const web = await httpBackend((message, _req, res) => {
      // the calls are held open until the test cuts every connection; after the cut, calls are answered
      if (message.method === 'tools/call' && message.params?.name === 'hang_http' && !cut) return;
      ordinaryPost('web', ['hang_http', 'web_echo'], message, res);
    });
    const relay = await sdkRelay([{ name: 'web', url: web.url }, await fineBackend()]);
    expect(await toolNames(relay.client)).toEqual(expect.arrayContaining(['hang_http', 'web_echo']));

    const calls = [1, 2, 3].map((i) => timed(call(relay.client, 'hang_http', { i })));
    await eventually(() => expect(web.received.filter((message) => message.method === 'tools/call')).toHaveLength(3));
    cut = true;
    web.dropConnections();
    for (const { ms, error } of await Promise.all(calls)) {
      expect(error?.message).toMatch(/MCP error -32053: backend 'web', tool 'hang_http': connection to backend 'web' dropped after the request was sent .*the outcome is unknown/);
      expect(ms).toBeLessThan(5_000);
    }
    await expectServing(relay.client);
    await eventually(async () => expect(textOf(await call(relay.client, 'web_echo', { back: true }))).toBe('web_echo:{"back":true}'));
    // never sent twice
    expect(web.received.filter((message) => message.method === 'tools/call' && message.params?.name === 'hang_http')).toHaveLength(3);
  });
});

describe('a backend that accepts the connection and never answers anything', () => {
  it('WebSocket, Streamable HTTP and stdio peers that never answer initialize: tools/list is not held up, status says why, the others serve', async () => {
    const muteWs = await startRawBackend({ onMessage: () => undefined });
    onTestFinished(() => muteWs.close());
    const muteHttp = await httpBackend(() => undefined);
    const quick = '    connectWaitMs: 500\n';
    const relay = await sdkRelay(
      [
        { name: 'mute_ws', url: muteWs.url, extra: quick },
        { name: 'mute_http', url: muteHttp.url, extra: quick },
        { name: 'mute_stdio', args: ['--on-initialize', 'mute'], extra: quick },
        await fineBackend(),
      ],
      FAST_DEFAULTS.replace('startupGraceMs: 3000', 'startupGraceMs: 8000'),
    );
    // the first tools/list waits for the first attempts, and those end at connectWaitMs, far short of startupGraceMs
    const list = await timed(toolNames(relay.client));
    expect(list.value).toContain('fine_echo');
    expect(list.ms).toBeLessThan(3_000);
    await expectServing(relay.client);
    await eventually(async () => {
      const servers = (await status(relay.client)).servers;
      for (const name of ['mute_ws', 'mute_http', 'mute_stdio']) {
        const server = servers.find((entry) => entry.name === name);
        expect(server).toMatchObject({ health: 'failed', connected: false });
        expect(server?.error).toMatch(new RegExp(`backend '${name}' did not answer initialize within 500 ms`));
      }
    });
    await expectServing(relay.client);
  });

  it('a backend that comes back silent after it was listed: its calls fail within the configured wait, naming it and the bound, while another backend answers at once', async () => {
    let silent = false;
    const quiet = await wsBackend({ name: 'quiet', tools: ['quiet_echo'], intercept: () => silent });
    const relay = await sdkRelay([{ name: 'quiet', url: quiet.url, extra: '    connectWaitMs: 800\n    queue: { maxWaitMs: 1000 }\n' }, await fineBackend()]);
    expect(await toolNames(relay.client)).toEqual(expect.arrayContaining(['quiet_echo', 'fine_echo']));

    silent = true;
    quiet.dropConnections();
    await eventually(async () => expect((await status(relay.client)).servers[0]?.connected).toBe(false));
    let settled = 0;
    const calls = [1, 2].map((i) => timed(call(relay.client, 'quiet_echo', { i })).finally(() => (settled += 1)));
    // the other backend is not held up by the silent one: answered while those calls still wait
    expect(textOf(await call(relay.client, 'fine_echo', {}))).toBe('fine_echo:{}');
    expect(settled).toBe(0);
    for (const { ms, error } of await Promise.all(calls)) {
      // the wait is bounded by queue.maxWaitMs (before the queue existed, by connectWaitMs): either way the bound is named
      expect(error?.message).toMatch(
        /MCP error -320(60|51): backend 'quiet', tool 'quiet_echo': (the call waited 1000 ms in the backend's queue \(queue\.maxWaitMs 1000\) and was never sent|the backend is not connected and did not come back within 800 ms)/,
      );
      expect(ms).toBeLessThan(2_500);
    }
    await eventually(async () => expect((await status(relay.client)).servers[0]?.error).toMatch(/backend 'quiet' did not answer initialize within 800 ms/));
    // the tools it had stay listed: the relay keeps trying it
    expect(await toolNames(relay.client)).toContain('quiet_echo');
    await expectServing(relay.client);
  });
});

describe('answers that break JSON-RPC', () => {
  it('malformed JSON for a call over WebSocket: that call ends at timeoutMs, status names the bad frame, the connection keeps serving', async () => {
    const garbled = await wsBackend({
      name: 'garbled',
      tools: ['garbled_call', 'garbled_echo'],
      intercept: (message, send) => {
        if (message.method !== 'tools/call' || message.params?.name !== 'garbled_call') return false;
        send(`{"jsonrpc":"2.0","id":${String(message.id)},"result":{"content":[{"type":"text","text":"cut off`);
        return true;
      },
    });
    const relay = await sdkRelay([{ name: 'garbled', url: garbled.url, extra: '    timeoutMs: 800\n' }, await fineBackend()]);
    await relay.client.listTools();
    const { ms, error } = await timed(call(relay.client, 'garbled_call'));
    expect(error?.message).toMatch(/MCP error -32052: backend 'garbled', tool 'garbled_call': no response within the call timeout of 800 ms/);
    expect(ms).toBeLessThan(3_000);
    await eventually(async () => {
      const server = (await status(relay.client)).servers[0];
      expect(server).toMatchObject({ health: 'degraded', connected: true });
      expect(server?.error).toMatch(/protocol error: frame is not JSON/);
    });
    expect(textOf(await call(relay.client, 'garbled_echo', { same: 'connection' }))).toBe('garbled_echo:{"same":"connection"}');
    await expectServing(relay.client);
  });

  it('malformed JSON as the body of an HTTP answer: the call fails at once naming the backend, status names the bad frame', async () => {
    const web = await httpBackend((message, _req, res) => {
      if (message.method === 'tools/call' && message.params?.name === 'garbled_http') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"jsonrpc":"2.0","id":');
        return;
      }
      ordinaryPost('web', ['garbled_http', 'web_echo'], message, res);
    });
    const relay = await sdkRelay([{ name: 'web', url: web.url, extra: '    timeoutMs: 20000\n' }, await fineBackend()]);
    await relay.client.listTools();
    const { ms, error } = await timed(call(relay.client, 'garbled_http'));
    expect(error?.message).toMatch(/backend 'web'/);
    expect(ms).toBeLessThan(3_000);
    await eventually(async () => expect((await status(relay.client)).servers[0]?.error).toMatch(/protocol error: frame is not JSON/));
    expect(textOf(await call(relay.client, 'web_echo', {}))).toBe('web_echo:{}');
    await expectServing(relay.client);
  });

  it('responses with ids the relay never sent are dropped: the right answer still arrives, a call answered only so times out, nothing stray reaches the client', async () => {
    const stray = await wsBackend({
      name: 'stray',
      tools: ['stray_then_right', 'only_stray', 'stray_echo'],
      intercept: (message, send) => {
        if (message.method !== 'tools/call') return false;
        const name = message.params?.name;
        if (name !== 'stray_then_right' && name !== 'only_stray') return false;
        const strayResult = { content: [{ type: 'text', text: 'STRAY' }] };
        send({ jsonrpc: '2.0', id: Number(message.id) + 1_000, result: strayResult });
        send({ jsonrpc: '2.0', id: `${String(message.id)}`, result: strayResult });
        send({ jsonrpc: '2.0', id: -1, error: { code: -32000, message: 'STRAY' } });
        if (name === 'stray_then_right') send(ordinaryAnswer('stray', [], message));
        return true;
      },
    });
    const relay = await rawRelay([{ name: 'stray', url: stray.url, extra: '    timeoutMs: 800\n' }, await fineBackend()]);
    rawCall(relay, 1, 'stray_then_right', { a: 1 });
    expect(resultText(await answerTo(relay, 1))).toBe(echoText('stray_then_right', { a: 1 }));

    rawCall(relay, 2, 'only_stray');
    const timedOut = await answerTo(relay, 2);
    expect(timedOut['error']).toMatchObject({ code: -32052, message: expect.stringMatching(/backend 'stray', tool 'only_stray': no response within the call timeout of 800 ms/) });

    rawCall(relay, 3, 'stray_echo');
    expect(resultText(await answerTo(relay, 3))).toBe(echoText('stray_echo', {}));
    rawCall(relay, 4, 'fine_echo');
    expect(resultText(await answerTo(relay, 4))).toBe(echoText('fine_echo', {}));
    // every response the client got was one it asked for
    expect(relay.received.filter((message) => !('method' in message))).toEqual([]);
    expect(JSON.stringify(relay.received)).not.toMatch(/STRAY/);
  });

  it('a duplicate response: the client gets exactly one answer, and a late copy never answers a newer request that reuses the id', async () => {
    let heldCopy: unknown = null;
    const twice = await wsBackend({
      name: 'twice',
      tools: ['twice', 'twice_echo'],
      intercept: (message, send) => {
        if (message.method !== 'tools/call') return false;
        // the copy held back from the last call goes out just before the next answer, on the same socket
        if (heldCopy !== null) {
          send(heldCopy);
          heldCopy = null;
        }
        if (message.params?.name !== 'twice') return false;
        const answer = { jsonrpc: '2.0', id: message.id, result: { content: [{ type: 'text', text: 'ONE ANSWER' }] } };
        send(answer);
        send(answer);
        heldCopy = { ...answer, result: { content: [{ type: 'text', text: 'LATE COPY' }] } };
        return true;
      },
    });
    const relay = await rawRelay([{ name: 'twice', url: twice.url }, await fineBackend()]);
    rawCall(relay, 7, 'twice');
    expect(resultText(await answerTo(relay, 7))).toBe('ONE ANSWER');
    // the same client id again, now that it is free: the late copy of the first call arrives first and must be dropped
    rawCall(relay, 7, 'twice_echo', { second: true });
    expect(resultText(await answerTo(relay, 7))).toBe(echoText('twice_echo', { second: true }));
    rawCall(relay, 8, 'fine_echo');
    expect(resultText(await answerTo(relay, 8))).toBe(echoText('fine_echo', {}));
    expect(relay.received.filter((message) => !('method' in message))).toEqual([]);
    expect(JSON.stringify(relay.received)).not.toMatch(/ONE ANSWER|LATE COPY/);
  });

  it('responses to notifications (initialized, cancelled): dropped, nothing reaches the client, the backend stays connected and serving', async () => {
    const cancelled: unknown[] = [];
    let held = 0;
    const chatty = await wsBackend({
      name: 'chatty',
      tools: ['hang_chatty', 'chatty_echo'],
      intercept: (message, send) => {
        if (message.method === 'tools/call' && message.params?.name === 'hang_chatty') {
          held += 1;
          return true;
        }
        if (message.id !== undefined || message.method === undefined) return false;
        // a notification: answered anyway, every way a confused server might
        if (message.method === 'notifications/cancelled') cancelled.push(message.params?.['requestId']);
        send({ jsonrpc: '2.0', id: null, error: { code: -32600, message: `NOTIFICATION ANSWER to ${message.method}` } });
        send({ jsonrpc: '2.0', id: null, result: { text: 'NOTIFICATION ANSWER' } });
        send({ jsonrpc: '2.0', result: { text: 'NOTIFICATION ANSWER' } });
        const requestId = message.params?.['requestId'];
        if (requestId !== undefined) send({ jsonrpc: '2.0', id: requestId, result: { content: [{ type: 'text', text: 'NOTIFICATION ANSWER' }] } });
        return true;
      },
    });
    const relay = await rawRelay([{ name: 'chatty', url: chatty.url }, await fineBackend()]);
    rawCall(relay, 'c1', 'hang_chatty');
    await eventually(() => expect(held).toBe(1));
    relay.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'c1', reason: 'test' } });
    await eventually(() => expect(cancelled).toHaveLength(1));
    rawCall(relay, 'c2', 'chatty_echo');
    expect(resultText(await answerTo(relay, 'c2'))).toBe(echoText('chatty_echo', {}));
    rawCall(relay, 'c3', 'fine_echo');
    expect(resultText(await answerTo(relay, 'c3'))).toBe(echoText('fine_echo', {}));
    relay.send({ jsonrpc: '2.0', id: 's', method: 'tools/call', params: { name: 'relay_get_status', arguments: {} } });
    const server = (JSON.parse(resultText(await answerTo(relay, 's'))) as { servers: Array<{ name: string; connected: boolean }> }).servers[0];
    expect(server).toMatchObject({ name: 'chatty', connected: true });
    expect(relay.received.filter((message) => !('method' in message))).toEqual([]);
    expect(JSON.stringify(relay.received)).not.toMatch(/NOTIFICATION ANSWER/);
  });

  it('a result that is not an object (null, an array, a string, a number): -32055 naming the backend, the tool and what came', async () => {
    const odd: Record<string, unknown> = { res_null: null, res_array: [{ type: 'text', text: 'x' }], res_string: 'done', res_number: 42 };
    const backend = await wsBackend({
      name: 'odd',
      tools: [...Object.keys(odd), 'odd_echo'],
      intercept: (message, send) => {
        const name = String(message.params?.name);
        if (message.method !== 'tools/call' || !(name in odd)) return false;
        send({ jsonrpc: '2.0', id: message.id, result: odd[name] });
        return true;
      },
    });
    const relay = await rawRelay([{ name: 'odd', url: backend.url }, await fineBackend()]);
    const expected = { res_null: 'null', res_array: 'an array', res_string: 'string', res_number: 'number' };
    for (const [tool, what] of Object.entries(expected)) {
      rawCall(relay, tool, tool);
      expect((await answerTo(relay, tool))['error']).toEqual({
        code: -32055,
        message: expect.stringMatching(new RegExp(`^backend 'odd', tool '${tool}': the backend answered tools/call with a result that is ${what}, not an object`)),
        data: expect.objectContaining({ backend: 'odd', tool }),
      });
    }
    rawCall(relay, 'echo', 'odd_echo');
    expect(resultText(await answerTo(relay, 'echo'))).toBe(echoText('odd_echo', {}));
    rawCall(relay, 'fine', 'fine_echo');
    expect(resultText(await answerTo(relay, 'fine'))).toBe(echoText('fine_echo', {}));
  });

  it('an error object without a code: the client gets a valid JSON-RPC error (a numeric code) that keeps the message and names the backend and tool', async () => {
    const backend = await wsBackend({
      name: 'nocode',
      tools: ['no_code', 'nocode_echo'],
      intercept: (message, send) => {
        if (message.method !== 'tools/call' || message.params?.name !== 'no_code') return false;
        send({ jsonrpc: '2.0', id: message.id, error: { message: 'it broke' } });
        return true;
      },
    });
    const entries = [{ name: 'nocode', url: backend.url }, await fineBackend()];
    // an SDK client drops a response it cannot parse: passed on as it came, the call would be lost (its own timeout)
    const sdk = await sdkRelay(entries);
    await expect(call(sdk.client, 'no_code', {}, 5_000)).rejects.toThrow(/it broke/);
    await expectServing(sdk.client);
    const relay = await rawRelay(entries);
    rawCall(relay, 1, 'no_code');
    expect((await answerTo(relay, 1))['error']).toMatchObject({
      code: expect.any(Number),
      message: expect.stringMatching(/^(?=.*backend 'nocode')(?=.*tool 'no_code')(?=.*it broke)/s),
    });
    rawCall(relay, 2, 'nocode_echo');
    expect(resultText(await answerTo(relay, 2))).toBe(echoText('nocode_echo', {}));
    rawCall(relay, 3, 'fine_echo');
    expect(resultText(await answerTo(relay, 3))).toBe(echoText('fine_echo', {}));
  });

  it('an answer in a binary WebSocket frame: the call ends within timeoutMs, status names the binary frame, the connection keeps serving', async () => {
    const backend = await wsBackend({
      name: 'binary',
      tools: ['binary_answer', 'binary_echo'],
      intercept: (message, _send, socket) => {
        if (message.method !== 'tools/call' || message.params?.name !== 'binary_answer') return false;
        socket.send(Buffer.from(JSON.stringify(ordinaryAnswer('binary', [], message))), { binary: true });
        return true;
      },
    });
    const relay = await sdkRelay([{ name: 'binary', url: backend.url, extra: '    timeoutMs: 1000\n' }, await fineBackend()]);
    await relay.client.listTools();
    const { ms, value, error } = await timed(call(relay.client, 'binary_answer', { b: 1 }));
    // either answer is fine (the frame read as the JSON text it holds, or refused), but within the bound
    if (error) expect(error.message).toMatch(/backend 'binary', tool 'binary_answer'/);
    else expect(textOf(value)).toBe('binary_answer:{"b":1}');
    expect(ms).toBeLessThan(3_000);
    expect(textOf(await call(relay.client, 'binary_echo', {}))).toBe('binary_echo:{}');
    // a refused frame is a protocol error a person can see: otherwise the call's timeout is all anyone learns of it
    if (error) {
      await eventually(async () => expect((await status(relay.client)).servers[0]?.error ?? 'no error in status', `the call got: ${error.message}`).toMatch(/binary/i), 3_000);
    }
    await expectServing(relay.client);
  });
});

describe('a 50 MB frame while other calls are in flight on the same connection', () => {
  it('WebSocket: the oversized call and the three waiting beside it all get an answer naming maxMessageBytes; the backend reconnects', async () => {
    const waiting: Incoming[] = [];
    const big = await wsBackend({
      name: 'big',
      tools: ['wait_big', 'huge_frame', 'big_echo'],
      intercept: (message, send) => {
        if (message.method !== 'tools/call') return false;
        if (message.params?.name === 'wait_big') {
          waiting.push(message);
          return true;
        }
        if (message.params?.name !== 'huge_frame') return false;
        send(`{"jsonrpc":"2.0","id":${String(message.id)},"result":{"content":[{"type":"text","text":"${'x'.repeat(FIFTY_MB)}"}]}}`);
        return true;
      },
    });
    const relay = await sdkRelay([{ name: 'big', url: big.url }, await fineBackend()]);
    await relay.client.listTools();
    const others = [1, 2, 3].map((i) => timed(call(relay.client, 'wait_big', { i })));
    await eventually(() => expect(waiting).toHaveLength(3));
    const huge = await timed(call(relay.client, 'huge_frame'));
    const bound = new RegExp(`a message from the backend was larger than maxMessageBytes \\(${DEFAULT_MAX_MESSAGE_BYTES} bytes\\)`);
    expect(huge.error?.message).toMatch(/backend 'big', tool 'huge_frame'/);
    expect(huge.error?.message).toMatch(bound);
    for (const { ms, error } of await Promise.all(others)) {
      expect(error?.message).toMatch(/backend 'big', tool 'wait_big'/);
      expect(error?.message).toMatch(bound);
      expect(ms).toBeLessThan(8_000);
    }
    await expectServing(relay.client);
    await expectBackAndAnswering(relay.client, 'big', 'big_echo');
  });

  it('Streamable HTTP: a 50 MB body while three other POSTs wait: every call gets an answer, the oversized one naming maxMessageBytes', async () => {
    const web = await httpBackend((message, _req, res) => {
      if (message.method === 'tools/call' && message.params?.name === 'wait_http') return;
      if (message.method === 'tools/call' && message.params?.name === 'huge_body') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(`{"jsonrpc":"2.0","id":${String(message.id)},"result":{"content":[{"type":"text","text":"${'x'.repeat(FIFTY_MB)}"}]}}`);
        return;
      }
      ordinaryPost('web', ['wait_http', 'huge_body', 'web_echo'], message, res);
    });
    const relay = await sdkRelay([{ name: 'web', url: web.url }, await fineBackend()]);
    await relay.client.listTools();
    const others = [1, 2, 3].map((i) => timed(call(relay.client, 'wait_http', { i })));
    await eventually(() => expect(web.received.filter((message) => message.params?.name === 'wait_http')).toHaveLength(3));
    const huge = await timed(call(relay.client, 'huge_body'));
    const bound = new RegExp(`larger than maxMessageBytes \\(${DEFAULT_MAX_MESSAGE_BYTES} bytes\\)`);
    expect(huge.error?.message).toMatch(/backend 'web', tool 'huge_body'/);
    expect(huge.error?.message).toMatch(bound);
    for (const { ms, error } of await Promise.all(others)) {
      expect(error?.message).toMatch(/backend 'web', tool 'wait_http'/);
      expect(ms).toBeLessThan(8_000);
    }
    await expectServing(relay.client);
    await expectBackAndAnswering(relay.client, 'web', 'web_echo');
  });

  it('stdio: a 50 MB line while three other calls wait: every call gets an answer naming maxMessageBytes, the process is started again', async () => {
    const relay = await sdkRelay([{ name: 'local', args: ['--tools', 'hang_local,big_local,local_echo'] }, await fineBackend()]);
    await relay.client.listTools();
    const others = [1, 2, 3].map((i) => timed(call(relay.client, 'hang_local', { i })));
    await eventually(() => expect(stdioCalls(relay, 'local', 'hang_local')).toBe(3));
    const huge = await timed(call(relay.client, 'big_local', { bytes: FIFTY_MB }));
    const bound = new RegExp(`larger than maxMessageBytes \\(${DEFAULT_MAX_MESSAGE_BYTES} bytes`);
    expect(huge.error?.message).toMatch(/backend 'local', tool 'big_local'/);
    expect(huge.error?.message).toMatch(bound);
    for (const { ms, error } of await Promise.all(others)) {
      expect(error?.message).toMatch(/backend 'local', tool 'hang_local'/);
      expect(error?.message).toMatch(bound);
      expect(ms).toBeLessThan(8_000);
    }
    await expectServing(relay.client);
    await expectBackAndAnswering(relay.client, 'local', 'local_echo');
  });
});

describe('a backend that closes the connection during initialize', () => {
  it('WebSocket: retried with a growing backoff, status says why, and once it answers its tools arrive with list_changed', async () => {
    const attempts: number[] = [];
    let healed = false;
    const flaky = await wsBackend({
      name: 'flaky',
      tools: ['flaky_echo'],
      intercept: (message, _send, socket) => {
        if (message.method !== 'initialize' || healed) return false;
        attempts.push(Date.now());
        socket.close(1011, 'initialize refused');
        return true;
      },
    });
    const relay = await sdkRelay([{ name: 'flaky', url: flaky.url, extra: '    backoff: { initialMs: 200, maxMs: 800 }\n' }, await fineBackend()]);
    expect(await toolNames(relay.client)).not.toContain('flaky_echo');
    await expectServing(relay.client);
    await eventually(() => expect(attempts.length).toBeGreaterThanOrEqual(4), 8_000);
    // waits of 200, 400, 800 ms (each ±20%): the third is at least 400 ms longer than the first; never a tight loop
    const [t1 = 0, t2 = 0, t3 = 0, t4 = 0] = attempts;
    expect(t2 - t1).toBeGreaterThanOrEqual(150);
    expect(t4 - t3).toBeGreaterThan(t2 - t1 + 250);
    const server = (await status(relay.client)).servers[0];
    expect(server).toMatchObject({ name: 'flaky', health: 'failed', connected: false });
    expect(server?.error).toMatch(/closed \(code 1011: initialize refused\)/);
    await eventually(() => expect(relay.events.filter((event) => event.event === 'backend.reconnect' && event['backend'] === 'flaky').length).toBeGreaterThanOrEqual(3));

    healed = true;
    await eventually(async () => expect(await toolNames(relay.client)).toContain('flaky_echo'), 5_000);
    expect(relay.listChanged()).toBeGreaterThanOrEqual(1);
    expect(textOf(await call(relay.client, 'flaky_echo', {}))).toBe('flaky_echo:{}');
    expect((await status(relay.client)).servers[0]).toMatchObject({ health: 'healthy', connected: true });
  });

  it('stdio (the process exits on initialize) and HTTP (the socket is destroyed on initialize): retried, status says why, the others serve', async () => {
    let initializes = 0;
    const web = await httpBackend((message, req, res) => {
      if (message.method === 'initialize') {
        initializes += 1;
        req.socket.destroy();
        return;
      }
      ordinaryPost('web', ['web_echo'], message, res);
    });
    const relay = await sdkRelay([{ name: 'exits', args: ['--on-initialize', 'exit', '--tools', 'exits_echo'] }, { name: 'web', url: web.url }, await fineBackend()]);
    await relay.client.listTools();
    await expectServing(relay.client);
    await eventually(() => {
      expect(initializes).toBeGreaterThanOrEqual(3);
      expect(relay.events.filter((event) => event.event === 'backend.reconnect' && event['backend'] === 'exits').length).toBeGreaterThanOrEqual(2);
    }, 8_000);
    const servers = (await status(relay.client)).servers;
    expect(servers.find((server) => server.name === 'exits')).toMatchObject({ health: 'failed', connected: false, error: expect.stringMatching(/process exited with code 1/) });
    expect(servers.find((server) => server.name === 'web')).toMatchObject({ health: 'failed', connected: false, error: expect.stringMatching(/backend 'web'.*(other side closed|socket|fetch failed)/) });
    await expectServing(relay.client);
  });
});

describe('a backend that restarts with a different tool list', () => {
  it('WebSocket process killed and started again on its port with other tools: the catalogue follows, the client hears list_changed once', async () => {
    const first = await faultyProcess(['--port', '0', '--tools', 'v1_only,kept']);
    const relay = await sdkRelay([{ name: 'svc', url: first.url }, await fineBackend()]);
    expect(await toolNames(relay.client)).toEqual(expect.arrayContaining(['v1_only', 'kept', 'fine_echo']));
    first.child.kill('SIGKILL');
    await eventually(async () => expect((await status(relay.client)).servers[0]?.connected).toBe(false));
    // while it is down its last tools stay: a blip is not a change
    expect(relay.listChanged()).toBe(0);

    await faultyProcess(['--port', String(first.port), '--tools', 'kept,v2_only']);
    await eventually(() => expect(relay.listChanged()).toBe(1), 5_000);
    const names = await toolNames(relay.client);
    expect(names).toEqual(expect.arrayContaining(['kept', 'v2_only', 'fine_echo']));
    expect(names).not.toContain('v1_only');
    expect(textOf(await call(relay.client, 'v2_only', { n: 2 }))).toBe('v2_only:{"n":2}');
    await expect(call(relay.client, 'v1_only', {})).rejects.toThrow(/v1_only/);
    expect((await status(relay.client)).servers[0]).toMatchObject({ health: 'healthy', tools: 2, tool_names: ['kept', 'v2_only'] });
    await expectServing(relay.client);
    expect(relay.listChanged()).toBe(1);
  });

  it('stdio process killed and started again by the relay with other tools: the catalogue follows, the client hears list_changed once', async () => {
    const toolsFile = tempFile('tools');
    const pidFile = tempFile('pid');
    writeFileSync(toolsFile, 's1_only,s_kept');
    const relay = await sdkRelay([{ name: 'proc', args: ['--tools-file', toolsFile, '--pid-file', pidFile] }, await fineBackend()]);
    expect(await toolNames(relay.client)).toEqual(expect.arrayContaining(['s1_only', 's_kept']));
    const pid = Number(readFileSync(pidFile, 'utf8'));

    writeFileSync(toolsFile, 's_kept,s2_only');
    process.kill(pid, 'SIGKILL');
    await eventually(() => expect(relay.listChanged()).toBe(1), 5_000);
    const names = await toolNames(relay.client);
    expect(names).toEqual(expect.arrayContaining(['s_kept', 's2_only', 'fine_echo']));
    expect(names).not.toContain('s1_only');
    expect(textOf(await call(relay.client, 's2_only', {}))).toBe('s2_only:{}');
    expect(Number(readFileSync(pidFile, 'utf8'))).not.toBe(pid);
    await expectServing(relay.client);
    expect(relay.listChanged()).toBe(1);
  });
});

