/**
 * The management tools as one principal sees them: status and the server list show only the backends it may use;
 * the tools that change the relay (add, remove, reconnect) need admin: true; the client list is an admin's alone.
 */
import { map, type Observable } from 'rxjs';
import type { BackendStates } from '../backend/backends.js';
import type { Catalogue } from '../catalogue/catalogue.js';
import type { Access } from '../access/access.js';
import type { ManagementDeps } from './management.js';

export function restrictManagement(deps: ManagementDeps, access: Access, own: { states$: Observable<BackendStates>; catalogue$: Observable<Catalogue> }): ManagementDeps {
  if (access.full) return deps;
  return {
    ...deps,
    config$: deps.config$.pipe(map((state) => ({ ...state, config: { ...state.config, backends: state.config.backends.filter((entry) => access.backend(entry.name)) } }))),
    // the session's own view, already restricted (and with its per-client backends)
    states$: own.states$,
    catalogue$: own.catalogue$,
    // who else is connected, and what was refused: an admin's business
    ...(access.admin ? {} : { clients: undefined, security: undefined }),
  };
}
