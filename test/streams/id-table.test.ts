// The calls-in-flight table: it must answer exactly as a Map would, through growth, shrinking and probe-run deletes.
import { describe, expect, it } from 'vitest';
import { IdTable } from '../../streams/rpc/id-table.js';
import type { JsonRpcId } from '../../streams/core/jsonrpc.js';

/** a small deterministic generator (mulberry32), so a failure replays */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sorted = (entries: Array<[JsonRpcId, unknown]>) => entries.map(([key, value]) => `${typeof key}:${String(key)}=${String(value)}`).sort();

describe('IdTable', () => {
  it('keeps number and string ids apart, and 0 and -0 together, as JSON-RPC and Map do', () => {
    const table = new IdTable<string>();
    table.set(1, 'number');
    table.set('1', 'string');
    table.set(-0, 'zero');
    expect(table.get(1)).toBe('number');
    expect(table.get('1')).toBe('string');
    expect(table.get(0)).toBe('zero');
    expect(table.size).toBe(3);
    expect(table.delete(1)).toBe(true);
    expect(table.get('1')).toBe('string');
    expect(table.has(1)).toBe(false);
    expect(table.delete(1)).toBe(false);
  });

  // small ranges keep the table small, where probe runs often wrap around its end
  it.each([12, 40, 300])('answers as a Map would through 20,000 random sets and deletes of mixed ids (%i distinct numbers)', (range) => {
    const next = random(range);
    const table = new IdTable<number>();
    const model = new Map<JsonRpcId, number>();
    // small integers (the usual ids), huge and fractional numbers, and strings, in a narrow range so they repeat
    const anyId = (): JsonRpcId => {
      const n = Math.floor(next() * range);
      const kind = next();
      return kind < 0.5 ? n : kind < 0.6 ? n * 2 ** 40 : kind < 0.7 ? n + 0.5 : `req-${n}`;
    };
    for (let step = 0; step < 20_000; step++) {
      const id = anyId();
      // phases of growth and of draining, so the table grows and shrinks several times
      const deleting = Math.floor(step / 2_500) % 2 === 1 ? next() < 0.8 : next() < 0.2;
      if (deleting) expect(table.delete(id)).toBe(model.delete(id));
      else {
        table.set(id, step);
        model.set(id, step);
      }
      if (step % 97 === 0) for (const [key, value] of model) expect(table.get(key)).toBe(value);
      const probe = anyId();
      expect(table.get(probe)).toBe(model.get(probe));
      expect(table.size).toBe(model.size);
    }
    expect(sorted(table.entriesNow())).toEqual(sorted([...model]));
  });

  it('finds every id after deleting from the middle of long probe runs (sequential ids, a full and an emptied table)', () => {
    const table = new IdTable<number>();
    for (let id = 1; id <= 5_000; id++) table.set(id, id * 10);
    for (let id = 1; id <= 5_000; id += 3) table.delete(id);
    for (let id = 1; id <= 5_000; id++) expect(table.get(id)).toBe((id - 1) % 3 === 0 ? undefined : id * 10);
    for (let id = 1; id <= 5_000; id++) table.delete(id);
    expect(table.size).toBe(0);
    expect(table.entriesNow()).toEqual([]);
    table.set('again', 1);
    expect(table.get('again')).toBe(1);
  });

  it('answers as a Map would while 6,000 mixed ids are added and then removed in random order (the table grows and shrinks)', () => {
    const next = random(99);
    const table = new IdTable<number>();
    const model = new Map<JsonRpcId, number>();
    const ids: JsonRpcId[] = Array.from({ length: 6_000 }, (_, i) => (i % 3 === 0 ? `id-${i}` : i % 3 === 1 ? i * 7919 : -i - 0.25));
    ids.forEach((id, value) => {
      table.set(id, value);
      model.set(id, value);
    });
    // Fisher-Yates with the seeded generator
    for (let i = ids.length - 1; i > 0; i--) {
      const j = Math.floor(next() * (i + 1));
      [ids[i], ids[j]] = [ids[j] as JsonRpcId, ids[i] as JsonRpcId];
    }
    ids.forEach((id, step) => {
      expect(table.delete(id)).toBe(model.delete(id));
      if (step % 500 === 0) for (const [key, value] of model) expect(table.get(key)).toBe(value);
    });
    expect(table.size).toBe(0);
  });

  it('hands out a snapshot of its entries that stays whole while the table changes', () => {
    const table = new IdTable<string>();
    for (let id = 0; id < 40; id++) table.set(id, `v${id}`);
    const seen: string[] = [];
    for (const [id, value] of table.entriesNow()) {
      table.delete(id);
      seen.push(value);
    }
    expect(seen.sort()).toEqual(Array.from({ length: 40 }, (_, id) => `v${id}`).sort());
    expect(table.size).toBe(0);
  });

  it('clear empties it and leaves it usable', () => {
    const table = new IdTable<number>();
    for (let id = 0; id < 100; id++) table.set(`s${id}`, id);
    table.clear();
    expect(table.size).toBe(0);
    expect(table.get('s5')).toBeUndefined();
    table.set('s5', 5);
    expect(table.get('s5')).toBe(5);
  });
});
