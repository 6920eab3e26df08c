// The audit writer: lines with their fields and redaction, big arguments omitted, nothing lost on close, nothing
// done on the caller's turn, and a file that cannot be written is an error report, never a throw.
import { mkdirSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openAudit } from '../../src/audit.js';

const dir = () => mkdtempSync(join(tmpdir(), 'relay-audit-'));
const lines = (file: string) =>
  readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);

const call = (i: number, args: unknown = { i }) => ({ kind: 'call' as const, client: 'c1', principal: 'alice', front: 'ws' as const, tool: 'echo', backend: 'b', ms: 1.5, outcome: 'ok', resultBytes: 10, arguments: args });

describe('openAudit', () => {
  it('writes one line per record, stamped when written, redacted, with the argument bytes', async () => {
    const file = join(dir(), 'deep', 'audit.jsonl');
    const audit = openAudit({ file, redactKeys: ['password'] });
    const before = Date.now();
    audit.write(call(1, { password: 'hunter2', list: [{ password: 'x' }] }));
    audit.write({ kind: 'auth.rejected', front: 'http', remote: '127.0.0.1:5', reason: 'no token', status: 401 });
    await audit.close();
    const [first, second] = lines(file);
    expect(first).toMatchObject({ kind: 'call', principal: 'alice', tool: 'echo', arguments: { password: '[redacted]', list: [{ password: '[redacted]' }] } });
    expect(first?.['argumentBytes']).toBe(JSON.stringify({ password: 'hunter2', list: [{ password: 'x' }] }).length);
    expect(new Date(String(first?.['time'])).getTime()).toBeGreaterThanOrEqual(before - 1);
    expect(second).toMatchObject({ kind: 'auth.rejected', status: 401 });
    expect(readFileSync(file, 'utf8')).not.toContain('hunter2');
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('omits arguments over the limit, saying how big they were', async () => {
    const file = join(dir(), 'audit.jsonl');
    const audit = openAudit({ file, redactKeys: [] }, { argumentsLimitBytes: 100 });
    audit.write(call(1, { blob: 'z'.repeat(500) }));
    await audit.close();
    expect(lines(file)[0]?.['arguments']).toMatch(/^\[omitted: \d+ bytes\]$/);
  });

  it('does nothing on the caller\'s turn, and loses none of 20,000 lines written just before close', async () => {
    const file = join(dir(), 'audit.jsonl');
    const audit = openAudit({ file, redactKeys: [] });
    for (let i = 0; i < 20_000; i++) audit.write(call(i));
    expect(audit.stats()).toMatchObject({ written: 0, queued: 20_000 });
    await audit.close();
    const written = lines(file);
    expect(written).toHaveLength(20_000);
    expect(written.map((line) => (line['arguments'] as { i: number }).i)).toEqual(Array.from({ length: 20_000 }, (_, i) => i));
    // after close: dropped, not thrown
    audit.write(call(1));
    expect(audit.stats().dropped).toBe(1);
  });

  it('reports a file it cannot open, and drops instead of throwing', async () => {
    const base = dir();
    const file = join(base, 'is-a-directory');
    mkdirSync(file);
    const errors: string[] = [];
    const audit = openAudit({ file, redactKeys: [] }, { onError: (error) => errors.push(error.message) });
    audit.write(call(1));
    await new Promise((done) => setTimeout(done, 50));
    await audit.close();
    expect(errors.join(' ')).toMatch(/cannot be written/);
    expect(errors.join(' ')).toContain(file);
  });
});
