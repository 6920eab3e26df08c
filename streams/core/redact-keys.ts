/** A copy of a value with whatever sits under the named keys replaced, at any depth: secrets kept out of the audit log. */

const MAX_DEPTH = 64;

/** the names, lowercased: a key matches whatever its case */
export const keySet = (names: readonly string[]): ReadonlySet<string> => new Set(names.map((name) => name.toLowerCase()));

const isPlain = (node: object): boolean => {
  const proto: unknown = Object.getPrototypeOf(node);
  return proto === Object.prototype || proto === null;
};

/**
 * Objects and arrays are copied (the input is never changed); other values, class instances included, are kept as
 * they are. A cycle becomes '[cycle]' and anything nested deeper than 64 levels '[too deep]'. With no keys, the value
 * itself comes back.
 */
export function redactKeys(value: unknown, keys: ReadonlySet<string>, replacement = '[redacted]'): unknown {
  if (keys.size === 0 || value === null || typeof value !== 'object') return value;
  // the objects on the path from the root: a shared (not cyclic) reference is copied wherever it appears
  const path = new WeakSet<object>();
  const walk = (node: unknown, depth: number): unknown => {
    if (node === null || typeof node !== 'object') return node;
    const isArray = Array.isArray(node);
    if (!isArray && !isPlain(node)) return node;
    if (depth > MAX_DEPTH) return '[too deep]';
    if (path.has(node)) return '[cycle]';
    path.add(node);
    try {
      if (isArray) return node.map((item: unknown) => walk(item, depth + 1));
      // fromEntries defines own properties, so a "__proto__" key (JSON.parse makes those) stays a key
      return Object.fromEntries(Object.entries(node).map(([key, item]) => [key, keys.has(key.toLowerCase()) ? replacement : walk(item, depth + 1)]));
    } finally {
      path.delete(node);
    }
  };
  return walk(value, 0);
}
