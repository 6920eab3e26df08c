// The stdio transport against a real MCP server process (test/fixtures/stdio-backend.ts, built by `npm run build`).
import { spawn } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { firstValueFrom, type Subscription } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { openStdioLinkWith } from '../../src/backend-stdio.js';
import { ConnectError, ConnectionClosedError } from '../../streams/core/errors.js';
import type { BackendLink } from '../../streams/rpc/link.js';
import { requestResult } from '../../streams/rpc/request-result.js';
import { RpcChannel } from '../../streams/rpc/rpc-channel.js';
import { DEFAULT_SETTINGS, type BackendEntry, type StdioCommand } from '../../streams/config/schema.js';

const FIXTURE = resolve(import.meta.dirname, '../../dist/test/fixtures/stdio-backend.js');
const BACKEND_STDIO = resolve(import.meta.dirname, '../../dist/src/backend-stdio.js');

function stdioEntry(command: Partial<StdioCommand> = {}, maxMessageBytes = DEFAULT_SETTINGS.maxMessageBytes): BackendEntry {
  const full: StdioCommand = { command: process.execPath, args: [FIXTURE], env: {}, cwd: null, ...command };
  return {
    name: 'local',
    transport: 'stdio',
    url: `stdio:${[full.command, ...full.args].join(' ')}`,
    replicas: [],
    command: full,
    prefix: '',
    toolFilter: { include: [], exclude: [] },
    subprotocol: null,
    headers: {},
    enabled: true,
    isolation: 'shared',
    credentials: 'shared',
    settings: { ...DEFAULT_SETTINGS, maxMessageBytes },
  };
}

const cleanups: Array<() => void> = [];
const pids = new Set<number>();
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
  // whatever a failed test left running
  for (const pid of pids) {
    if (!(await diedWithin(pid, 3_000))) process.kill(pid, 'SIGKILL');
  }
  pids.clear();
});

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error: unknown) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
}

async function diedWithin(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return true;
    await sleep(20);
  }
  return !isAlive(pid);
}

async function until(check: () => boolean, ms = 3_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(10);
  }
}

const textOf = (result: Record<string, unknown>): string => (result['content'] as Array<{ text: string }>)[0]?.text ?? '';

/** Opens a link and keeps it open until `stop()` (or the test's end); `closed` is what ended frames$. */
async function open(entry = stdioEntry()) {
  const stderr: Array<{ backend: string; line: string }> = [];
  let linkSubscription: Subscription | undefined;
  const link = await new Promise<BackendLink>((resolveLink, reject) => {
    linkSubscription = openStdioLinkWith((backend, line) => stderr.push({ backend, line }))(entry).subscribe({ next: resolveLink, error: reject });
  });
  const stop = () => linkSubscription?.unsubscribe();
  cleanups.push(stop);
  const frames: string[] = [];
  let closedBy: unknown = null;
  const framesSubscription = link.frames$.subscribe({ next: (frame) => frames.push(typeof frame === 'string' ? frame : frame.text()), error: (error: unknown) => (closedBy = error) });
  cleanups.push(() => framesSubscription.unsubscribe());
  const channel = new RpcChannel(entry.name, link);
  const incomingSubscription = channel.incoming$.subscribe({ error: () => {} });
  cleanups.push(() => incomingSubscription.unsubscribe());
  const call = async (name: string, args: Record<string, unknown> = {}) => textOf(await firstValueFrom(requestResult(channel, 'tools/call', { name, arguments: args })));
  const initialize = () =>
    firstValueFrom(requestResult(channel, 'initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'test', version: '1.0.0' } }));
  const pid = Number(await call('pid'));
  pids.add(pid);
  const closed = async (): Promise<unknown> => {
    await until(() => closedBy !== null);
    return closedBy;
  };
  return { link, channel, frames, stderr, call, initialize, pid, stop, closed };
}

describe('openStdioLink', () => {
  it('answers initialize and tools/call over the child process', async () => {
    const backend = await open();
    const init = await backend.initialize();
    expect(init['serverInfo']).toEqual({ name: 'stdio-fixture', version: '1.0.0' });
    expect(await backend.call('echo', { city: 'Zürich ☃' })).toBe('echo:{"city":"Zürich ☃"}');
  });

  it('passes env and cwd to the process, on top of the relay environment', async () => {
    const backend = await open(stdioEntry({ env: { STDIO_FIXTURE_VALUE: 'from-entry' }, cwd: tmpdir() }));
    expect(JSON.parse(await backend.call('env', { name: 'STDIO_FIXTURE_VALUE' }))).toEqual({ value: 'from-entry', cwd: realpathSync(tmpdir()) });
    expect(JSON.parse(await backend.call('env', { name: 'PATH' }))).toMatchObject({ value: process.env['PATH'] });
  });

  it('frames stdout by lines: chunks split anywhere, CRLF, UTF-8 split across writes, empty lines skipped', async () => {
    const backend = await open();
    const b = Buffer.from('{"jsonrpc":"2.0","method":"notifications/b","params":{"city":"Zürich ☃"}}\r\n');
    const cut = b.indexOf(0xe2) + 1; // inside the snowman's three bytes
    const chunks = [Buffer.from('{"jsonrpc":"2.0",'), Buffer.from('"method":"notifications/a"}\r\n\n\r\n'), b.subarray(0, cut), b.subarray(cut), Buffer.from('\n  \n')];
    expect(await backend.call('raw', { chunks: chunks.map((chunk) => chunk.toString('base64')) })).toBe('raw written');
    const raw = backend.frames.filter((frame) => frame.includes('notifications/'));
    expect(raw).toEqual(['{"jsonrpc":"2.0","method":"notifications/a"}', '{"jsonrpc":"2.0","method":"notifications/b","params":{"city":"Zürich ☃"}}']);
    expect(backend.frames.every((frame) => frame.trim() !== '')).toBe(true);
  });

  it('reports every stderr line with the backend name, and truncates a line over 4 KiB', async () => {
    const backend = await open();
    await backend.call('stderr', { text: 'first line' });
    await backend.call('stderr', { bytes: 10_000 });
    await until(() => backend.stderr.length >= 2);
    expect(backend.stderr[0]).toEqual({ backend: 'local', line: 'first line' });
    const long = backend.stderr[1]?.line ?? '';
    expect(long.startsWith('e'.repeat(4_096))).toBe(true);
    expect(long.length).toBeLessThan(4_096 + 100);
    expect(long).toMatch(/truncated: the line had 10000 bytes/);
  });

  it('errors frames$ with ConnectionClosedError naming the exit code when the process exits', async () => {
    const backend = await open();
    await expect(backend.call('exit', { code: 3 })).rejects.toThrow();
    const error = await backend.closed();
    expect(error).toBeInstanceOf(ConnectionClosedError);
    expect(error).toMatchObject({ backend: 'local', code: 3, reason: 'process exited with code 3' });
    expect((error as Error).message).toMatch(/process exited with code 3/);
    expect(backend.link.send('{"jsonrpc":"2.0","method":"ping","id":9}')).toBe(false);
    // a late subscriber learns the same end
    await expect(firstValueFrom(backend.link.frames$)).rejects.toBe(error);
  });

  it('names the signal when the process is killed', async () => {
    const backend = await open();
    process.kill(backend.pid, 'SIGKILL');
    const error = await backend.closed();
    expect(error).toMatchObject({ code: 137, reason: 'killed by SIGKILL' });
  });

  it('ends the process on unsubscribe: stdin closed and SIGTERM', async () => {
    const backend = await open();
    backend.stop();
    expect(await diedWithin(backend.pid, 3_000)).toBe(true);
  });

  it('SIGKILLs a process that ignores SIGTERM and stdin EOF, about 1 s after unsubscribe', async () => {
    const backend = await open();
    await backend.call('stubborn');
    const started = Date.now();
    backend.stop();
    await sleep(500);
    expect(isAlive(backend.pid)).toBe(true);
    expect(await diedWithin(backend.pid, 3_000)).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  it('errors with ConnectError naming the backend and command, never the env values, when the command does not exist', async () => {
    const entry = stdioEntry({ command: 'mcp-relay-no-such-command', args: [], env: { API_TOKEN: 'hunter2-secret-value' } });
    const error: unknown = await firstValueFrom(openStdioLinkWith(() => {})(entry)).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as Error).message).toMatch(/backend 'local'/);
    expect((error as Error).message).toMatch(/'mcp-relay-no-such-command'.*ENOENT/);
    expect((error as Error).message).not.toMatch(/hunter2/);
  });

  it('errors with ConnectError when the cwd does not exist', async () => {
    const entry = stdioEntry({ cwd: resolve(tmpdir(), 'mcp-relay-no-such-dir') });
    const error: unknown = await firstValueFrom(openStdioLinkWith(() => {})(entry)).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as Error).message).toMatch(/mcp-relay-no-such-dir/);
  });

  it('errors frames$ naming maxMessageBytes and kills the process when a line is over it', async () => {
    const backend = await open(stdioEntry({}, 10_000));
    await expect(backend.call('big', { bytes: 50_000 })).rejects.toThrow();
    const error = await backend.closed();
    expect(error).toBeInstanceOf(ConnectionClosedError);
    expect((error as Error).message).toMatch(/larger than maxMessageBytes \(10000 bytes/);
    expect(await diedWithin(backend.pid, 3_000)).toBe(true);
  });

  it('stops a runaway line that never ends before it reaches the next newline', async () => {
    const backend = await open(stdioEntry({}, 10_000));
    const call = backend.call('raw', { chunks: [Buffer.from('{"x":"' + 'y'.repeat(30_000)).toString('base64')] });
    await expect(call).rejects.toThrow();
    expect(await backend.closed()).toMatchObject({ reason: expect.stringMatching(/maxMessageBytes \(10000 bytes, got \d+ and counting\)/) as unknown });
    expect(await diedWithin(backend.pid, 3_000)).toBe(true);
  });

  // A relay process that opens a link to a process ignoring SIGTERM and stdin EOF, then exits or is SIGKILLed.
  it.each([
    { how: 'exits (the exit hook SIGKILLs the child)', stubborn: true, kill: false },
    { how: 'is SIGKILLed (the child reads EOF on stdin)', stubborn: false, kill: true },
  ])('leaves no child behind when the relay $how', async ({ stubborn, kill }) => {
    const script = `
      import { openStdioLink } from ${JSON.stringify(BACKEND_STDIO)};
      const entry = ${JSON.stringify(stdioEntry())};
      openStdioLink(entry).subscribe((link) => {
        link.frames$.subscribe((frame) => {
          const message = JSON.parse(frame);
          if (message.id === 1) console.log(message.result.content[0].text);
          if (message.id === 2) console.log('ready');
          if (message.id === 2 && ${!kill}) process.exit(0);
        });
        link.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'pid', arguments: {} } }));
        link.send(JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: ${JSON.stringify(stubborn ? 'stubborn' : 'echo')}, arguments: {} } }));
      });
    `;
    const relay = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    cleanups.push(() => relay.kill('SIGKILL'));
    const lines = createInterface({ input: relay.stdout })[Symbol.asyncIterator]();
    const pid = Number((await lines.next()).value);
    pids.add(pid);
    expect((await lines.next()).value).toBe('ready');
    expect(isAlive(pid)).toBe(true);
    if (kill) relay.kill('SIGKILL');
    expect(await diedWithin(pid, 3_000)).toBe(true);
  });
});
