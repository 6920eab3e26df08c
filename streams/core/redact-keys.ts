/** A copy of a value with whatever sits under the named keys replaced, at any depth: secrets kept out of the audit log. */

const MAX_DEPTH = 64;

/** the names, lowercased: a key matches whatever its case */
export const keySet = (names: readonly string[]): ReadonlySet<string> => new Set(names.map((name) => name.toLowerCase()));

export function redactKeys(value: unknown, keys: ReadonlySet<string>, replacement = '[redacted]'): unknown {
  if (keys.size === 0) return value;
  const seen = new WeakSet<object>();
  const walk = (node: unknown, depth: number): unknown => {
    if (node === null || typeof node !== 'object') return node;
    if (depth > MAX_DEPTH) return '[too deep]';
    if (seen.has(node)) return '[cycle]';
    seen.add(node);
    let copy: unknown;
    if (Array.isArray(node)) copy = node.map((item) => walk(item, depth + 1));
    else if (Object.getPrototypeOf(node) === Object.prototype || Object.getPrototypeOf(node) === null) {
      const out: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(node)) out[key] = keys.has(key.toLowerCase()) ? replacement : walk(item, depth + 1);
      copy = out;
    } else copy = node;
    seen.delete(node);
    return copy;
  };
  return walk(value, 0);
}
