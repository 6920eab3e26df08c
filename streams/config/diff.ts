/** Compares two backend lists by name: what to close, what to reconnect, what to open, what to leave alone. */
import type { BackendEntry } from './schema.js';

export interface BackendDiff {
  removed: string[];
  changed: BackendEntry[];
  added: BackendEntry[];
  unchanged: string[];
}

/** Key order in YAML must not count as a change. */
export const canonicalJson = (value: unknown): string =>
  JSON.stringify(value, (_key, inner: unknown) =>
    inner && typeof inner === 'object' && !Array.isArray(inner)
      ? Object.fromEntries(Object.entries(inner as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : inner,
  );

export function diffBackends(previous: readonly BackendEntry[], next: readonly BackendEntry[]): BackendDiff {
  const before = new Map(previous.map((entry) => [entry.name, canonicalJson(entry)]));
  const after = new Set(next.map((entry) => entry.name));
  const diff: BackendDiff = { removed: [], changed: [], added: [], unchanged: [] };
  for (const name of before.keys()) if (!after.has(name)) diff.removed.push(name);
  for (const entry of next) {
    const old = before.get(entry.name);
    if (old === undefined) diff.added.push(entry);
    else if (old !== canonicalJson(entry)) diff.changed.push(entry);
    else diff.unchanged.push(entry.name);
  }
  return diff;
}
