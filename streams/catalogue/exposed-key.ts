/**
 * The canonical form of what one backend list exposes. A list keeps its identity until the backend lists again, and
 * what it exposes only changes with what it won (names or URIs not taken by a backend listed earlier), so the
 * serialization is done once per (list, won), not on every rebuild of the catalogue.
 */
import { canonicalJson } from '../config/diff.js';

const keys = new WeakMap<readonly unknown[], Map<string, string>>();

export function exposedKey(list: readonly unknown[], won: readonly string[], exposed: readonly unknown[]): string {
  let byWon = keys.get(list);
  if (!byWon) keys.set(list, (byWon = new Map()));
  const wonKey = won.join('\u0000');
  let key = byWon.get(wonKey);
  if (key === undefined) byWon.set(wonKey, (key = canonicalJson(exposed)));
  return key;
}
