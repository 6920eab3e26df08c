import { describe, expect, it } from 'vitest';
import { canonicalJson, diffBackends } from '../../streams/config/diff.js';
import type { BackendEntry } from '../../streams/config/schema.js';
import { entry } from './helpers.js';

/** The same entry with its keys (and its headers' keys) written in another order, as YAML may. */
function reordered(original: BackendEntry): BackendEntry {
  const headers = Object.fromEntries(Object.entries(original.headers).reverse());
  const settings = Object.fromEntries(Object.entries(original.settings).reverse()) as unknown as BackendEntry['settings'];
  return Object.fromEntries(Object.entries({ ...original, headers, settings }).reverse()) as unknown as BackendEntry;
}

describe('diffBackends', () => {
  const a = entry('a');
  const b = entry('b', { headers: { Authorization: 'Bearer x', 'X-Team': 'blue' } });
  const c = entry('c');

  it('sorts every name into added, removed, changed or unchanged', () => {
    const bMoved = { ...b, url: 'ws://elsewhere.test/mcp' };
    const d = entry('d');
    expect(diffBackends([a, b, c], [bMoved, c, d])).toEqual({
      removed: ['a'],
      changed: [bMoved],
      added: [d],
      unchanged: ['c'],
    });
  });

  it('starts from nothing: everything is added', () => {
    expect(diffBackends([], [a, b])).toEqual({ removed: [], changed: [], added: [a, b], unchanged: [] });
  });

  it('ends with nothing: everything is removed', () => {
    expect(diffBackends([a, b], [])).toEqual({ removed: ['a', 'b'], changed: [], added: [], unchanged: [] });
  });

  it('does not count key order as a change, at any depth', () => {
    const next = [reordered(b), reordered(a)];
    expect(Object.keys(next[0]!)).not.toEqual(Object.keys(b));
    expect(diffBackends([a, b], next)).toEqual({ removed: [], changed: [], added: [], unchanged: ['b', 'a'] });
  });

  it('does not count a reordered list of backends as a change', () => {
    expect(diffBackends([a, b, c], [c, a, b])).toEqual({ removed: [], changed: [], added: [], unchanged: ['c', 'a', 'b'] });
  });

  it.each<[string, Partial<BackendEntry>]>([
    ['url', { url: 'ws://a.test/other' }],
    ['subprotocol', { subprotocol: null }],
    ['a header value', { headers: { Authorization: 'Bearer y' } }],
    ['enabled', { enabled: false }],
    ['a nested setting', { settings: { ...a.settings, backoff: { initialMs: 1, maxMs: a.settings.backoff.maxMs } } }],
  ])('counts a different %s as a change', (_what, change) => {
    const next = { ...a, ...change };
    expect(diffBackends([a], [next])).toEqual({ removed: [], changed: [next], added: [], unchanged: [] });
  });

  it('canonicalJson keeps array order: it is meaning, not layout', () => {
    expect(canonicalJson({ b: [2, 1], a: 1 })).toBe('{"a":1,"b":[2,1]}');
    expect(canonicalJson([1, 2])).not.toBe(canonicalJson([2, 1]));
  });
});
