// The relay's own log sink blocked: stderr is a pipe nobody reads. Serving must never wait on it, memory must stay
// bounded (lines past LOG_BUFFER_BYTES are dropped and counted, and the count is logged once the pipe drains), and
// stdin's end must still exit the process (sonic-boom's exit hook once spun forever here: the relay never exited).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { lines$ } from '../../src/stdio.js';
import { echoTool } from '../fixtures/tools.js';
import { startBackend, type RunningBackend } from '../fixtures/mcp-ws-backend.js';
import { backendsYaml, configFile, INITIALIZE, RELAY_MAIN } from './relay-process.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const rssKb = (pid: number): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);

/** the relay on stdio, its stderr left unread: answers are read from stdout by id */
async function relayWithUnreadStderr(bufferBytes = '262144') {
  const work: RunningBackend = await startBackend({ name: 'work', tools: [echoTool('echo')] });
  cleanups.push(() => work.close());
  const { file } = configFile(backendsYaml([{ name: 'work', url: work.url }]));
  const child = spawn(process.execPath, [RELAY_MAIN, '--config', file], { env: { ...process.env, LOG_LEVEL: 'debug', LOG_BUFFER_BYTES: bufferBytes }, stdio: ['pipe', 'pipe', 'pipe'] });
  // nobody reads stderr: paused, the pipe fills (64 KiB) and stays full
  child.stderr.pause();
  const exited = new Promise<{ code: number | null; at: number }>((done) => child.once('exit', (code) => done({ code, at: Date.now() })));
  cleanups.push(() => (child.exitCode === null ? child.kill('SIGKILL') : undefined));
  const answered = new Map<number, Record<string, unknown>>();
  const waiting = new Map<number, () => void>();
  lines$(child.stdout as Readable).subscribe((line) => {
    if (line === '') return;
    const message = JSON.parse(line) as { id: number };
    answered.set(message.id, message);
    waiting.get(message.id)?.();
  });
  const send = (id: number, method: string, params: unknown) => child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`);
  const answer = (id: number) => new Promise<void>((done) => (answered.has(id) ? done() : waiting.set(id, done)));
  send(0, 'initialize', INITIALIZE);
  await answer(0);
  // the first list waits for the backend, so the calls below all find the tool
  send(-1, 'tools/list', {});
  await answer(-1);
  answered.clear();
  return { child, exited, send, answer, answered };
}

/** calls in rounds of 500 in flight: each logs call.done and more at debug, far past what the pipe holds */
async function callMany(relay: Awaited<ReturnType<typeof relayWithUnreadStderr>>, total: number, firstId = 1): Promise<void> {
  // ids are never reused: an earlier round's answer must not stand for this one's (its wait would end at once)
  for (let first = firstId; first < firstId + total; first += 500) {
    const ids = Array.from({ length: Math.min(500, firstId + total - first) }, (_, index) => first + index);
    for (const id of ids) relay.send(id, 'tools/call', { name: 'echo', arguments: { id, pad: 'x'.repeat(200) } });
    await Promise.all(ids.map((id) => relay.answer(id)));
  }
}

describe('a log sink nobody reads', () => {
  it('keeps serving with bounded memory, and exits on stdin EOF within the exit deadline', { timeout: 90_000 }, async () => {
    const relay = await relayWithUnreadStderr();
    await callMany(relay, 1_000);
    const warm = rssKb(relay.child.pid as number);
    await callMany(relay, 6_000, 1_001);
    expect(relay.answered.size).toBe(7_000);
    expect([...relay.answered.values()].filter((message) => !('result' in message)).slice(0, 1)).toEqual([]);
    // the log sink holds at most LOG_BUFFER_BYTES: thousands of unread lines do not pile up in memory
    expect(rssKb(relay.child.pid as number) - warm).toBeLessThan(40_000);
    const closedAt = Date.now();
    relay.child.stdin.end();
    const { code, at } = await relay.exited;
    expect(code).toBe(0);
    expect(at - closedAt).toBeLessThan(3_000);
  });

  it('counts the lines it dropped and says how many once the reader comes back', { timeout: 60_000 }, async () => {
    // 64 KiB of buffer: the pipe and this bound hold some 1,000 call.done lines, and 6,000 calls log far more
    const relay = await relayWithUnreadStderr('65536');
    await callMany(relay, 6_000);
    expect(relay.answered.size).toBe(6_000);
    const seen: string[] = [];
    const dropped = new Promise<Record<string, unknown>>((done) => {
      lines$(relay.child.stderr as Readable).subscribe((line) => {
        seen.push(line);
        if (line.includes('"event":"log.dropped"')) done(JSON.parse(line) as Record<string, unknown>);
      });
    });
    // explicitly paused, the stream needs resume(): a new listener alone does not restart it
    relay.child.stderr.resume();
    // the reader is back: the queued batches drain, then the count of what was dropped (or a failure that says what came)
    const line = await Promise.race([
      dropped,
      new Promise<never>((_done, fail) =>
        setTimeout(() => fail(new Error(`no log.dropped within 20 s of reading again; ${seen.length} lines came, the last: ${seen.slice(-2).join(' | ').slice(0, 600)}; relay running: ${relay.child.exitCode === null}`)), 20_000),
      ),
    ]);
    expect(line).toMatchObject({ event: 'log.dropped', level: 40, lines: expect.any(Number) });
    expect(line['lines'] as number).toBeGreaterThan(100);
    relay.child.stdin.end();
    expect((await relay.exited).code).toBe(0);
  });
});
