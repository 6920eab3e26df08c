/**
 * Who a client is and what it may use. A principal is the stdio user (everything), a static token's holder, or a
 * JWT's subject; its access is the globs of its token entry or of the first access rule its claims match, compiled
 * once per config (every connection of a principal shares the one object, and the catalogue views cached on it).
 */
import { makeFilter } from '../core/glob.js';
import type { AccessSettings, BackendCredentials } from '../config/schema.js';

export interface Access {
  /** true: nothing is filtered (the stdio user; an unauthenticated loopback relay) */
  readonly full: boolean;
  readonly backend: (name: string) => boolean;
  readonly tool: (name: string) => boolean;
  readonly resource: (uri: string) => boolean;
  readonly prompt: (name: string) => boolean;
  readonly admin: boolean;
  /** per backend: the principal's own credentials for a per-principal backend */
  readonly credentials: Readonly<Record<string, BackendCredentials>>;
}

export type PrincipalKind = 'local' | 'anonymous' | 'token' | 'jwt';

export interface Principal {
  /** the token entry's name, or the JWT's name claim; 'local' for stdio, 'anonymous' without auth */
  readonly name: string;
  readonly kind: PrincipalKind;
  readonly access: Access;
}

const everything = () => true;

export const FULL_ACCESS: Access = { full: true, backend: everything, tool: everything, resource: everything, prompt: everything, admin: true, credentials: {} };

/** the stdio client: the local user, who could edit backends.yaml anyway */
export const LOCAL_PRINCIPAL: Principal = { name: 'local', kind: 'local', access: FULL_ACCESS };

/** a network client of a relay with no auth block (loopback, or allowUnauthenticated) */
export const ANONYMOUS_PRINCIPAL: Principal = { name: 'anonymous', kind: 'anonymous', access: FULL_ACCESS };

const compiled = new WeakMap<AccessSettings, Access>();

/** one Access per settings object: a reload makes new settings, and so new caches */
export function compileAccess(settings: AccessSettings): Access {
  let access = compiled.get(settings);
  if (!access) {
    const unfiltered = [settings.backends, settings.tools, settings.resources, settings.prompts].every((filter) => filter.include.length === 0 && filter.exclude.length === 0);
    access = {
      full: unfiltered && settings.admin,
      backend: makeFilter(settings.backends),
      tool: makeFilter(settings.tools),
      resource: makeFilter(settings.resources),
      prompt: makeFilter(settings.prompts),
      admin: settings.admin,
      credentials: settings.credentials,
    };
    compiled.set(settings, access);
  }
  return access;
}
