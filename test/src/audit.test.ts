// The audit writer against real files: every kind of line with its fields, redaction at any depth, big and
// unserializable arguments, nothing done on the caller's turn, nothing lost on close (backpressure included), the
// queue's bound, and a file that cannot be written is an onError report, never a throw.
import { execFileSync } from 'node:child_process';
import { createReadStream, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NO_AUDIT, openAudit, type AuditRecord } from '../../src/audit.js';

const dir = () => mkdtempSync(join(tmpdir(), 'relay-audit-'));
const read = (file: string) => readFileSync(file, 'utf8');
const lines = (file: string) =>
  read(file)
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);

const call = (i: number, args?: unknown): AuditRecord => ({ kind: 'call', client: 'c1', principal: 'alice', front: 'ws', tool: 'echo', backend: 'b', ms: 1.5, outcome: 'ok', resultBytes: 10, arguments: args ?? { i } });

describe('openAudit', () => {
  it('writes one line per record of every kind, time first, in the order written, with argument bytes measured', async () => {
    const file = join(dir(), 'a', 'b', 'audit.jsonl');
    const audit = openAudit({ file, redactKeys: [] });
    const before = Date.now();
    audit.write(call(1, { text: 'héllo' }));
    audit.write({ kind: 'call', client: 'c2', principal: 'local', front: 'stdio', method: 'resources/read', subject: 'file:///x', backend: 'b', ms: 2, outcome: 'error', resultBytes: 0 });
    audit.write({ kind: 'auth.rejected', front: 'http', remote: '127.0.0.1:5', reason: 'no token', status: 401 });
    audit.write({ kind: 'management', client: 'c1', principal: 'admin', front: 'ws', tool: 'relay_add_backend', arguments: { name: 'x' }, outcome: 'ok' });
    audit.write({ kind: 'limit', front: 'ws', remote: '10.0.0.1:9', limit: 'connections', detail: 'front.limited' });
    await audit.close();
    const after = Date.now();

    const [first, second, rejected, management, limit, ...rest] = lines(file);
    expect(rest).toEqual([]);
    expect(Object.keys(first ?? {}).slice(0, 2)).toEqual(['time', 'kind']);
    expect(first).toEqual({ time: expect.any(String), kind: 'call', client: 'c1', principal: 'alice', front: 'ws', tool: 'echo', backend: 'b', ms: 1.5, outcome: 'ok', resultBytes: 10, argumentBytes: Buffer.byteLength('{"text":"héllo"}'), arguments: { text: 'héllo' } });
    const time = Date.parse(String(first?.['time']));
    expect(time).toBeGreaterThanOrEqual(before);
    expect(time).toBeLessThanOrEqual(after);
    expect(second).toMatchObject({ kind: 'call', front: 'stdio', method: 'resources/read', subject: 'file:///x', outcome: 'error', argumentBytes: 0 });
    expect(second).not.toHaveProperty('arguments');
    expect(rejected).toMatchObject({ kind: 'auth.rejected', front: 'http', remote: '127.0.0.1:5', reason: 'no token', status: 401 });
    expect(management).toMatchObject({ kind: 'management', principal: 'admin', tool: 'relay_add_backend', arguments: { name: 'x' }, outcome: 'ok' });
    expect(limit).toMatchObject({ kind: 'limit', limit: 'connections', detail: 'front.limited' });
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('appends to a file that is already there', async () => {
    const file = join(dir(), 'audit.jsonl');
    writeFileSync(file, '{"kind":"earlier"}\n');
    const audit = openAudit({ file, redactKeys: [] });
    audit.write(call(1));
    await audit.close();
    expect(lines(file).map((line) => line['kind'])).toEqual(['earlier', 'call']);
  });

  it('stamps the time when write() is called, not when the line is serialized', async () => {
    const file = join(dir(), 'audit.jsonl');
    const audit = openAudit({ file, redactKeys: [] });
    audit.write(call(1));
    const written = Date.now();
    while (Date.now() - written < 60) {
      // the caller's turn goes on: the line is serialized after it
    }
    await audit.close();
    expect(Date.parse(String(lines(file)[0]?.['time']))).toBeLessThanOrEqual(written);
  });

  it('redacts the values under redactKeys at any depth, whatever their case, in calls and management lines', async () => {
    const file = join(dir(), 'audit.jsonl');
    const audit = openAudit({ file, redactKeys: ['password', 'apiKey'] });
    const args = { user: 'u', password: 'hunter2', nested: [{ deeper: { APIKEY: 'sk-123', keep: true } }] };
    audit.write(call(1, args));
    audit.write({ kind: 'management', client: 'c', principal: 'admin', front: 'http', tool: 'relay_add_backend', arguments: { headers: { ApiKey: 'sk-456' } }, outcome: 'refused' });
    await audit.close();
    const [first, second] = lines(file);
    expect(first?.['arguments']).toEqual({ user: 'u', password: '[redacted]', nested: [{ deeper: { APIKEY: '[redacted]', keep: true } }] });
    // the bytes are those the client sent, before redaction
    expect(first?.['argumentBytes']).toBe(Buffer.byteLength(JSON.stringify(args)));
    expect(second?.['arguments']).toEqual({ headers: { ApiKey: '[redacted]' } });
    expect(read(file)).not.toMatch(/hunter2|sk-123|sk-456/);
    // the caller's object is untouched
    expect(args.password).toBe('hunter2');
  });

  it('replaces arguments over the limit by their size, and audits a call whose arguments cannot be serialized', async () => {
    const file = join(dir(), 'audit.jsonl');
    const audit = openAudit({ file, redactKeys: [] }, { argumentsLimitBytes: 100 });
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic['self'] = cyclic;
    audit.write(call(1, { blob: 'é'.repeat(100) }));
    audit.write(call(2, { small: 'x' }));
    audit.write(call(3, cyclic));
    audit.write(call(4, { n: 10n }));
    await audit.close();
    const [big, small, circular, bigint] = lines(file);
    const bytes = Buffer.byteLength(JSON.stringify({ blob: 'é'.repeat(100) }));
    expect(big?.['arguments']).toBe(`[omitted: ${bytes} bytes]`);
    expect(big?.['argumentBytes']).toBe(bytes);
    expect(small?.['arguments']).toEqual({ small: 'x' });
    expect(circular).toMatchObject({ kind: 'call', outcome: 'ok', arguments: expect.stringMatching(/^\[unserializable: /) });
    expect(bigint?.['arguments']).toMatch(/^\[unserializable: /);
  });

  it('does nothing on the caller\'s turn: no serialization, nothing in the file', async () => {
    const file = join(dir(), 'audit.jsonl');
    const audit = openAudit({ file, redactKeys: ['secret'] });
    let serialized = 0;
    const args = {
      toJSON() {
        serialized++;
        return { ok: true };
      },
    };
    await new Promise((done) => setTimeout(done, 20)); // the file is open and empty
    audit.write(call(1, args));
    expect(serialized).toBe(0);
    expect(read(file)).toBe('');
    expect(audit.stats()).toEqual({ written: 0, dropped: 0, queued: 1 });
    await audit.close();
    expect(serialized).toBeGreaterThan(0);
    expect(lines(file)[0]?.['arguments']).toEqual({ ok: true });
  });

  it('loses none of 20,000 lines written in one turn just before close, in order', async () => {
    const file = join(dir(), 'audit.jsonl');
    const audit = openAudit({ file, redactKeys: ['i'] });
    for (let i = 0; i < 20_000; i++) audit.write(call(i, { n: i, i }));
    expect(audit.stats()).toEqual({ written: 0, dropped: 0, queued: 20_000 });
    await audit.close();
    const written = lines(file);
    expect(written).toHaveLength(20_000);
    expect(written.map((line) => (line['arguments'] as { n: number }).n)).toEqual(Array.from({ length: 20_000 }, (_, i) => i));
    expect(audit.stats()).toEqual({ written: 20_000, dropped: 0, queued: 0 });
  });

  it('waits for the stream to drain under a large volume, and still loses nothing', async () => {
    const file = join(dir(), 'audit.jsonl');
    const audit = openAudit({ file, redactKeys: [] }, { argumentsLimitBytes: 1024 * 1024 });
    const blob = 'x'.repeat(10_000);
    for (let i = 0; i < 3_000; i++) audit.write(call(i, { i, blob })); // 30 MB, far over the stream's buffer
    await audit.close();
    const written = lines(file);
    expect(written).toHaveLength(3_000);
    expect(written.every((line, i) => (line['arguments'] as { i: number }).i === i)).toBe(true);
  });

  it('holds lines back, unserialized, while the file takes none (a pipe nobody reads yet), then delivers every one', async () => {
    const fifo = join(dir(), 'audit.pipe');
    execFileSync('mkfifo', [fifo]);
    const audit = openAudit({ file: fifo, redactKeys: [] }, { argumentsLimitBytes: 1024 * 1024 });
    let serialized = 0;
    const blob = 'x'.repeat(1_000);
    for (let i = 0; i < 5_000; i++) {
      audit.write(
        call(i, {
          toJSON: () => {
            serialized++;
            return { i, blob };
          },
        }),
      );
    }
    await new Promise((done) => setTimeout(done, 100));
    // a few chunks fill the stream's buffer; the rest wait as records, not as text
    expect(serialized).toBeGreaterThan(0);
    expect(serialized).toBeLessThan(5_000);
    expect(audit.stats()).toEqual({ written: 0, dropped: 0, queued: 5_000 });

    const chunks: Buffer[] = [];
    const reader = createReadStream(fifo);
    reader.on('data', (chunk) => chunks.push(chunk as Buffer));
    const readerDone = new Promise<void>((done) => reader.on('end', () => done()));
    await audit.close();
    await readerDone;
    const received = Buffer.concat(chunks).toString('utf8').split('\n').filter(Boolean);
    expect(received).toHaveLength(5_000);
    expect(received.every((line, i) => (JSON.parse(line) as { arguments: { i: number } }).arguments.i === i)).toBe(true);
    expect(audit.stats()).toEqual({ written: 5_000, dropped: 0, queued: 0 });
  });

  it('drops the newest lines over maxQueued, counts them and says so once', async () => {
    const file = join(dir(), 'audit.jsonl');
    const errors: string[] = [];
    const audit = openAudit({ file, redactKeys: [] }, { maxQueued: 10, onError: (error) => errors.push(error.message) });
    for (let i = 0; i < 25; i++) audit.write(call(i));
    expect(audit.stats()).toEqual({ written: 0, dropped: 15, queued: 10 });
    await audit.close();
    expect(lines(file).map((line) => (line['arguments'] as { i: number }).i)).toEqual(Array.from({ length: 10 }, (_, i) => i));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(file);
    expect(errors[0]).toMatch(/not keeping up/);
  });

  it('drops (and counts) a write after close instead of throwing; close() is idempotent', async () => {
    const file = join(dir(), 'audit.jsonl');
    const audit = openAudit({ file, redactKeys: [] });
    audit.write(call(1));
    const closing = audit.close();
    expect(audit.close()).toBe(closing);
    expect(() => audit.write(call(2))).not.toThrow();
    await closing;
    await audit.close();
    expect(lines(file)).toHaveLength(1);
    expect(audit.stats()).toEqual({ written: 1, dropped: 1, queued: 0 });
  });

  it('reports a path it cannot open (a directory in place of the file) with the file and the OS error, and drops instead of throwing', async () => {
    const file = join(dir(), 'is-a-directory');
    mkdirSync(file);
    const errors: string[] = [];
    const audit = openAudit({ file, redactKeys: [] }, { onError: (error) => errors.push(error.message) });
    expect(() => {
      for (let i = 0; i < 5; i++) audit.write(call(i));
    }).not.toThrow();
    await new Promise((done) => setTimeout(done, 50));
    expect(() => audit.write(call(5))).not.toThrow();
    await audit.close();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(file);
    expect(errors[0]).toMatch(/cannot be written.*EISDIR/);
    expect(audit.stats()).toEqual({ written: 0, dropped: 6, queued: 0 });
  });

  it('reports a parent directory it cannot create, without throwing from openAudit', async () => {
    const base = dir();
    writeFileSync(join(base, 'a-file'), '');
    const file = join(base, 'a-file', 'audit.jsonl');
    const errors: string[] = [];
    const audit = openAudit({ file, redactKeys: [] }, { onError: (error) => errors.push(error.message) });
    audit.write(call(1));
    await audit.close();
    expect(errors.join(' ')).toMatch(/cannot be written.*(EEXIST|ENOTDIR)/);
    expect(audit.stats().dropped).toBe(1);
  });

  it('survives an onError that throws', async () => {
    const file = join(dir(), 'is-a-directory');
    mkdirSync(file);
    const audit = openAudit({ file, redactKeys: [] }, {
      onError: () => {
        throw new Error('handler bug');
      },
    });
    audit.write(call(1));
    await audit.close();
    expect(audit.stats().dropped).toBe(1);
  });
});

describe('NO_AUDIT', () => {
  it('takes writes and closes without doing anything', async () => {
    NO_AUDIT.write(call(1));
    await NO_AUDIT.close();
    expect(NO_AUDIT.stats()).toEqual({ written: 0, dropped: 0, queued: 0 });
  });
});
