// The hand-built event line must read exactly as pino's own line for the same event: tools that tail the log
// (pino-pretty, jq) cannot tell them apart.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { eventLine, LEVEL_VALUES } from '../../src/event-line.js';
import type { RelayEvent } from '../../streams/catalogue/events.js';

function pinoLine(event: RelayEvent): Record<string, unknown> {
  const lines: string[] = [];
  const logger = pino({ level: 'debug', base: { pid: 4242 }, timestamp: () => ',"time":1000' }, { write: (line: string) => lines.push(line) });
  const { level = 'info', msg, ...fields } = event;
  logger[level](fields, msg ?? fields.event);
  return JSON.parse(lines[0] as string) as Record<string, unknown>;
}

const parsed = (event: RelayEvent) => {
  const line = eventLine(LEVEL_VALUES[event.level ?? 'info'], 1000, 4242, event);
  expect(line?.endsWith('}\n')).toBe(true);
  expect(line?.slice(0, -1)).not.toContain('\n');
  return JSON.parse(line as string) as Record<string, unknown>;
};

describe('eventLine', () => {
  it.each<[string, RelayEvent]>([
    ['call.done', { event: 'call.done', tool: 't0_echo', backend: 'b0', ms: 0.3, outcome: 'ok', level: 'info' }],
    ['a warning with nested fields', { event: 'backend.state', backend: 'a', health: 'failed', tools: 0, error: 'connect ECONNREFUSED', level: 'warn' }],
    ['arrays, booleans, null, quotes and line breaks', { event: 'catalogue.changed', added: ['a', 'b"c'], removed: [], flag: true, nothing: null, text: 'two\nlines', level: 'debug' }],
    ['an explicit msg', { event: 'relay.start', msg: 'hello', version: '1', level: 'error' }],
    ['no level (info)', { event: 'config.reloaded', backends: ['x'] }],
  ])('reads as pino writes it: %s', (_name, event) => {
    expect(parsed(event)).toEqual(pinoLine(event));
  });

  it('leaves out undefined fields and writes non-finite numbers as null, as JSON.stringify does', () => {
    expect(parsed({ event: 'x', gone: undefined, ratio: Number.NaN, big: Number.POSITIVE_INFINITY })).toEqual({ level: 30, time: 1000, pid: 4242, event: 'x', ratio: null, big: null, msg: 'x' });
  });

  it('gives null for an event it cannot serialize, so the caller hands it to pino', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    expect(eventLine(30, 1000, 4242, { event: 'x', cyclic })).toBeNull();
    expect(eventLine(30, 1000, 4242, { event: 'x', count: 10n })).toBeNull();
  });
});
