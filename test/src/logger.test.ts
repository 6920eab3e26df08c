// The event log batches lines as bytes before they reach the file: every line must still arrive whole, in order,
// multi-byte text intact, a line larger than a batch included, and a flush must leave nothing behind.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createEventLog } from '../../src/logger.js';

const readLines = (file: string) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);

describe('createEventLog', () => {
  it('writes every event whole and in order across many batches, all of it by the time it is closed', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'relay-log-')), 'relay.log');
    const log = createEventLog({ LOG_FILE: file });
    const huge = 'é'.repeat(50_000); // 100 KB of UTF-8, more than one batch
    for (let i = 0; i < 3_000; i++) log.emit({ event: 'call.done', tool: `tool-✓-${i}`, ms: i / 10, outcome: 'ok', level: 'info' });
    log.emit({ event: 'big', text: huge, level: 'warn' });
    log.emit({ event: 'hidden', level: 'debug' });
    log.emit({ event: 'last', level: 'error' });
    await log.close();
    const lines = readLines(file);
    expect(lines).toHaveLength(3_002);
    expect(lines.slice(0, 3_000).map((line) => line['tool'])).toEqual(Array.from({ length: 3_000 }, (_, i) => `tool-✓-${i}`));
    expect(lines[3_000]).toMatchObject({ event: 'big', text: huge, level: 40 });
    expect(lines[3_001]).toMatchObject({ event: 'last', level: 50, msg: 'last' });
  });

  it('logs an event it cannot serialize by hand through pino, in its place among the others, stamped when emitted', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'relay-log-')), 'relay.log');
    const log = createEventLog({ LOG_FILE: file });
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic['self'] = cyclic;
    const emitted = Date.now();
    log.emit({ event: 'before', level: 'info' });
    log.emit({ event: 'odd', cyclic, level: 'warn' });
    log.emit({ event: 'after', level: 'info' });
    await new Promise((done) => setTimeout(done, 30));
    await log.close();
    const lines = readLines(file);
    expect(lines.map((line) => line['event'])).toEqual(['before', 'odd', 'after']);
    expect(lines[1]).toMatchObject({ level: 40, cyclic: { name: 'loop', self: '[Circular]' } });
    expect(lines[0]?.['time']).toBeLessThan(emitted + 25);
  });

  it('writes within the flush period when little happens, without a flush call', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'relay-log-')), 'relay.log');
    const log = createEventLog({ LOG_FILE: file, LOG_LEVEL: 'debug' });
    log.emit({ event: 'quiet', level: 'debug' });
    await expect.poll(() => readLines(file).map((line) => line['event']), { timeout: 2_000 }).toEqual(['quiet']);
  });
});
