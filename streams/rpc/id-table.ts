/**
 * A table from JSON-RPC ids (numbers and strings, never equal to each other) to values, for what lives as long as
 * one call: the calls in flight by id. Open addressing over plain arrays, with linear probing and backward-shift
 * deletion, so a deleted entry leaves nothing behind.
 *
 * Why not a Map: V8 rehashes a Map with steady set/delete churn every few dozen entries and drops the old backing
 * table without clearing it. Once that table is in old space, the young values it still holds survive the next
 * scavenge, are promoted, and keep what they point to alive in turn. Under load that promoted every call's objects:
 * about 1.5 MB per scavenge, 3 ms scavenges and a mark-compact a second, where this table promotes none of them.
 * Here a freed slot is cleared at once, and arrays that are replaced are emptied first.
 */
import type { JsonRpcId } from '../core/jsonrpc.js';

const MIN_CAPACITY = 16;
const SHRINK_ABOVE = 4_096;

/** murmur3's finalizer: every input bit reaches every output bit, so the seed is mixed into all of them */
function mix(hash: number): number {
  hash = Math.imul(hash ^ (hash >>> 16), 0x85ebca6b);
  hash = Math.imul(hash ^ (hash >>> 13), 0xc2b2ae35);
  return hash ^ (hash >>> 16);
}

/** FNV-1a over the UTF-16 units (ids are short), started from the seed and mixed at the end */
function hashString(text: string, seed: number): number {
  let hash = 0x811c9dc5 ^ seed;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return mix(hash ^ text.length);
}

/**
 * A client chooses the ids: without a secret seed it could pick ids that all land in one probe run and make every
 * lookup on the table linear. With a seed per process it cannot know which ids collide.
 */
function hashId(id: JsonRpcId, seed: number): number {
  if (typeof id === 'string') return hashString(id, seed);
  // -0 and 0 are one key (as === and Map have it): -0 | 0 is 0. Beyond 32 bits, and fractions, hash by their text.
  return (id | 0) === id ? mix((id | 0) ^ seed) : hashString(String(id), seed);
}

export class IdTable<V> {
  private keys: Array<JsonRpcId | undefined>;
  private values: Array<V | undefined>;
  private shift: number;
  private count = 0;

  /** @param seed a per-process random number where a client chooses the ids (0: tables whose ids the relay picks) */
  constructor(private readonly seed = 0) {
    this.keys = new Array<JsonRpcId | undefined>(MIN_CAPACITY).fill(undefined);
    this.values = new Array<V | undefined>(MIN_CAPACITY).fill(undefined);
    this.shift = 32 - Math.log2(MIN_CAPACITY);
  }

  get size(): number {
    return this.count;
  }

  get(id: JsonRpcId): V | undefined {
    const slot = this.find(id);
    return slot === -1 ? undefined : this.values[slot];
  }

  has(id: JsonRpcId): boolean {
    return this.find(id) !== -1;
  }

  set(id: JsonRpcId, value: V): void {
    const mask = this.keys.length - 1;
    let slot = this.home(id);
    for (;;) {
      const key = this.keys[slot];
      if (key === undefined) break;
      if (key === id) {
        this.values[slot] = value;
        return;
      }
      slot = (slot + 1) & mask;
    }
    this.keys[slot] = id;
    this.values[slot] = value;
    // at most half full: probes stay short
    if (++this.count * 2 > this.keys.length) this.resize(this.keys.length * 2);
  }

  /** true when the id was there */
  delete(id: JsonRpcId): boolean {
    let slot = this.find(id);
    if (slot === -1) return false;
    const mask = this.keys.length - 1;
    // backward shift: move later entries of the same probe run into the hole, so lookups never need tombstones
    let next = (slot + 1) & mask;
    for (;;) {
      const key = this.keys[next];
      if (key === undefined) break;
      const home = this.home(key);
      // the entry at `next` may fill the hole unless its home lies cyclically in (slot, next]
      if (slot <= next ? home <= slot || home > next : home <= slot && home > next) {
        this.keys[slot] = key;
        this.values[slot] = this.values[next];
        slot = next;
      }
      next = (next + 1) & mask;
    }
    this.keys[slot] = undefined;
    this.values[slot] = undefined;
    this.count--;
    // a few thousand slots cost less than resizing back and forth as bursts of calls come and go
    if (this.keys.length > SHRINK_ABOVE && this.count * 16 < this.keys.length) this.resize(this.keys.length / 2);
    return true;
  }

  /** the entries as they are now, in no particular order: the caller may change the table while it goes through them */
  entriesNow(): Array<[JsonRpcId, V]> {
    const entries: Array<[JsonRpcId, V]> = [];
    for (let slot = 0; slot < this.keys.length; slot++) {
      const key = this.keys[slot];
      if (key !== undefined) entries.push([key, this.values[slot] as V]);
    }
    return entries;
  }

  clear(): void {
    this.keys.fill(undefined);
    this.values.fill(undefined);
    this.count = 0;
  }

  private home(id: JsonRpcId): number {
    return hashId(id, this.seed) >>> this.shift;
  }

  private find(id: JsonRpcId): number {
    const mask = this.keys.length - 1;
    let slot = this.home(id);
    for (;;) {
      const key = this.keys[slot];
      if (key === undefined) return -1;
      if (key === id) return slot;
      slot = (slot + 1) & mask;
    }
  }

  private resize(capacity: number): void {
    const keys = this.keys;
    const values = this.values;
    this.keys = new Array<JsonRpcId | undefined>(capacity).fill(undefined);
    this.values = new Array<V | undefined>(capacity).fill(undefined);
    this.shift = 32 - Math.log2(capacity);
    this.count = 0;
    for (let slot = 0; slot < keys.length; slot++) {
      const key = keys[slot];
      if (key !== undefined) this.set(key, values[slot] as V);
    }
    // emptied before they are dropped: see the header
    keys.fill(undefined);
    values.fill(undefined);
  }
}
