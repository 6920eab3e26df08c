/**
 * The per-client backends one principal gets sessions of: only those it may use, and a per-principal backend with
 * the principal's own credentials on top of the entry's (its headers, or a command's environment). A principal with
 * no credentials for a per-principal backend gets none: it is absent from its view, never reached with the relay's
 * own credentials. The stdio user, and a relay without auth, use the entry as written.
 */
import type { BackendEntry } from '../config/schema.js';
import type { Principal } from './access.js';

export function ownEntries(entries: readonly BackendEntry[], principal: Principal): readonly BackendEntry[] {
  if (principal.access.full && principal.kind !== 'token' && principal.kind !== 'jwt') return entries;
  const { access } = principal;
  const own: BackendEntry[] = [];
  for (const entry of entries) {
    if (!access.backend(entry.name)) continue;
    if (entry.credentials !== 'per-principal' || principal.kind === 'local' || principal.kind === 'anonymous') {
      own.push(entry);
      continue;
    }
    const credentials = access.credentials[entry.name];
    if (!credentials) continue;
    own.push({
      ...entry,
      headers: { ...entry.headers, ...credentials.headers },
      command: entry.command && { ...entry.command, env: { ...entry.command.env, ...credentials.env } },
    });
  }
  return own;
}
