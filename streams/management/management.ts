/** The relay's own tools: inspect and change the set of backends at run time. */
import { catchError, combineLatest, defer, filter, map, of, switchMap, take, throwError, timeout, timer, type Observable } from 'rxjs';
import type { BackendStates } from '../backend/backends.js';
import type { Catalogue } from '../catalogue/catalogue.js';
import type { ConfigState } from '../config/config.js';
import { errorMessage } from '../core/errors.js';
import { BACKEND_NAME, DEFAULT_SETTINGS } from '../config/schema.js';
import { buildStatus, healthOf, type Health, type RelayStatus } from '../catalogue/status.js';
import { redactUrl } from '../core/redact.js';
import type { ClientStatus } from '../catalogue/status.js';

export type ConfigEdit = { kind: 'add'; name: string; url: string } | { kind: 'remove'; name: string };

export interface ManagementDeps {
  file: string;
  config$: Observable<ConfigState>;
  states$: Observable<BackendStates>;
  catalogue$: Observable<Catalogue>;
  /** changes backends.yaml on disk and feeds the new text to the config stream; completes once both are done */
  editConfig: (edit: ConfigEdit) => Observable<unknown>;
  restart: (name: string) => void;
  /** the clients connected now (stdio and network), for status */
  clients?: () => ClientStatus[];
  /** the fronts' refusals by kind, for status (admins only) */
  security?: () => Record<string, number>;
}

export type ToolResult = Record<string, unknown>;

const nameArg = { name: { type: 'string', description: 'The backend name, as in backends.yaml and relay_get_status' } };

export const MANAGEMENT_TOOLS = [
  {
    name: 'relay_get_status',
    description: 'Status of every MCP backend behind this relay: connection, health, tools and the last error, as JSON.',
    inputSchema: { type: 'object', properties: {} },
  },
  {
    name: 'relay_list_servers',
    description: 'A readable summary of every MCP backend behind this relay: health, URL, valid and invalid tool counts, error.',
    inputSchema: { type: 'object', properties: {} },
  },
  {
    name: 'relay_reconnect_server',
    description: 'Close and reconnect one backend, re-list its tools, and report its new health and tool count.',
    inputSchema: { type: 'object', properties: nameArg, required: ['name'] },
  },
  {
    name: 'relay_add_server',
    description: 'Add a WebSocket MCP backend to backends.yaml and connect it; answers once it is connected or has failed.',
    inputSchema: {
      type: 'object',
      properties: { ...nameArg, url: { type: 'string', description: 'ws:// or wss:// URL of the backend' } },
      required: ['name', 'url'],
    },
  },
  {
    name: 'relay_remove_server',
    description: 'Remove a backend from backends.yaml, close its connection and drop its tools.',
    inputSchema: { type: 'object', properties: nameArg, required: ['name'] },
  },
  {
    name: 'relay_search_tools',
    description:
      'Search every tool behind this relay by words in its name or description; returns name, backend, description and input schema. For clients whose tool list is stale (a backend added mid-session): call the tool found with relay_call_tool.',
    inputSchema: {
      type: 'object',
      properties: { query: { type: 'string', description: 'Words to look for; every word must match. Empty lists every tool.' } },
      required: ['query'],
    },
  },
  {
    name: 'relay_call_tool',
    description: 'Call any tool behind this relay by name, with the same routing, timeouts and errors as calling it directly. Use relay_search_tools to find names and schemas.',
    inputSchema: {
      type: 'object',
      properties: {
        name: { type: 'string', description: 'The tool name, as relay_search_tools shows it' },
        arguments: { type: 'object', description: "The tool's arguments, per its input schema" },
      },
      required: ['name'],
    },
  },
] as const;

export const MANAGEMENT_TOOL_NAMES: ReadonlySet<string> = new Set(MANAGEMENT_TOOLS.map((tool) => tool.name));

const text = (body: string, isError = false): ToolResult => (isError ? { content: [{ type: 'text', text: body }], isError: true } : { content: [{ type: 'text', text: body }] });

const current = <T>(value$: Observable<T>): Observable<T> => value$.pipe(take(1));

function status$(deps: ManagementDeps): Observable<RelayStatus> {
  return combineLatest([deps.config$, deps.states$, deps.catalogue$]).pipe(
    take(1),
    map(([config, states, catalogue]) => buildStatus(deps.file, config, states, catalogue, deps.clients?.(), deps.security?.())),
  );
}

function summary(status: RelayStatus): string {
  const lines = [`${status.connected_servers}/${status.total_servers} backends connected, ${status.total_tools} tools (config: ${status.config_file})`];
  if (status.config_error) lines.push(`config error (last good config still in force): ${status.config_error}`);
  for (const server of status.servers) {
    lines.push(`- ${server.name}: ${server.health}${server.connected ? '' : ' (not connected)'}, ${server.url}, ${server.tools} valid tools, ${server.invalid_tools} invalid`);
    if (server.error) lines.push(`  error: ${server.error}`);
  }
  return lines.join('\n');
}

const stringArg = (args: Record<string, unknown>, key: string): string | null => (typeof args[key] === 'string' ? (args[key] as string) : null);

interface Settled {
  /** null: gone from the config, or still connecting when the wait ran out */
  health: Health | null;
  summary: string;
  /** gone from the config: another save replaced the file right after the edit */
  gone?: boolean;
}

/** a hand save racing a management edit lands within milliseconds: this long after, the edit is looked for again */
const OVERWRITE_CHECK_MS = 200;

/** Waits until the backend's attempt count passes `after` and it is not mid-attempt, then describes it. */
function settled$(deps: ManagementDeps, name: string, after: number, waitMs: number): Observable<Settled> {
  return deps.states$.pipe(
    filter((states) => {
      const state = states.get(name);
      return !state || (state.attempts > after && state.phase !== 'connecting');
    }),
    take(1),
    switchMap((states) =>
      current(deps.catalogue$).pipe(
        map((catalogue): Settled => {
          const state = states.get(name);
          if (!state) return { health: null, summary: `backend '${name}' is no longer configured`, gone: true };
          const health = healthOf(state, catalogue);
          const tools = catalogue.perBackend.get(name)?.valid.length ?? 0;
          return { health, summary: `health: ${health}, valid tools: ${tools}${state.error ? `, error: ${state.error}` : ''}` };
        }),
      ),
    ),
    timeout({ first: waitMs, with: () => of<Settled>({ health: null, summary: `still connecting after ${waitMs} ms; call relay_get_status later` }) }),
  );
}

function reconnect(args: Record<string, unknown>, deps: ManagementDeps): Observable<ToolResult> {
  const name = stringArg(args, 'name');
  return combineLatest([deps.config$, deps.states$]).pipe(
    take(1),
    switchMap(([config, states]) => {
      const state = name === null ? undefined : states.get(name);
      if (name !== null && config.config.backends.some((entry) => entry.name === name && !entry.enabled)) {
        return of(text(`Backend '${name}' is disabled (enabled: false in ${deps.file}); set enabled: true to connect it.`, true));
      }
      if (!state || name === null) return of(text(`No backend named ${JSON.stringify(name)} is configured. Call relay_list_servers to see the names.`, true));
      deps.restart(name);
      return settled$(deps, name, state.attempts, state.entry.settings.connectWaitMs * 3).pipe(
        map(({ health, summary }) => text(`Backend '${name}' ${health === 'failed' ? 'did not reconnect' : 'reconnected'}: ${summary}.`, health === 'failed')),
      );
    }),
  );
}

function add(args: Record<string, unknown>, deps: ManagementDeps): Observable<ToolResult> {
  const name = stringArg(args, 'name');
  const url = stringArg(args, 'url');
  if (name === null || !BACKEND_NAME.test(name)) return of(text(`Invalid name ${JSON.stringify(args['name'])}: use 1-64 letters, digits, _ or -.`, true));
  if (url === null || !/^wss?:\/\//i.test(url) || !URL.canParse(url)) return of(text(`Invalid url ${JSON.stringify(args['url'])}: only ws:// and wss:// URLs are accepted.`, true));
  return current(deps.config$).pipe(
    switchMap((config) => {
      if (config.config.backends.some((entry) => entry.name === name)) return of(text(`A backend named '${name}' already exists. Remove it first, or pick another name.`, true));
      return deps.editConfig({ kind: 'add', name, url }).pipe(
        switchMap(() => combineLatest([deps.config$, deps.states$]).pipe(take(1))),
        switchMap(([config, states]) => {
          const waitMs = (config.config.backends.find((entry) => entry.name === name)?.settings ?? DEFAULT_SETTINGS).connectWaitMs;
          // connect, handshake and list each get up to connectWaitMs
          return settled$(deps, name, states.get(name)?.attempts ?? 0, waitMs * 3);
        }),
        map(({ summary, gone }) =>
          gone === true
            ? text(`Backend '${name}' was written to ${deps.file}, but the file changed right after (another save replaced it) and '${name}' is not in it now. Add it again, or edit the file.`, true)
            : text(`Backend '${name}' added to ${deps.file} (${redactUrl(url)}): ${summary}.`),
        ),
      );
    }),
  );
}

function remove(args: Record<string, unknown>, deps: ManagementDeps): Observable<ToolResult> {
  const name = stringArg(args, 'name');
  return current(deps.config$).pipe(
    switchMap((config) => {
      if (name === null || !config.config.backends.some((entry) => entry.name === name)) {
        return of(text(`No backend named ${JSON.stringify(name)} in ${deps.file}. Call relay_list_servers to see the names.`, true));
      }
      return deps.editConfig({ kind: 'remove', name }).pipe(
        switchMap(() => deps.states$.pipe(filter((states) => !states.has(name)), take(1))),
        // a save made from the file as it was before this edit puts the backend back: say so rather than "removed"
        switchMap(() => timer(OVERWRITE_CHECK_MS).pipe(switchMap(() => current(deps.config$)))),
        map((after) =>
          after.config.backends.some((entry) => entry.name === name)
            ? text(`Backend '${name}' was removed from ${deps.file}, but the file changed right after (another save replaced it) and '${name}' is back in it. Remove it again, or edit the file.`, true)
            : text(`Backend '${name}' removed from ${deps.file}; its connection is closed and its tools are gone.`),
        ),
      );
    }),
  );
}

interface ToolMatch {
  name: string;
  backend: string;
  description?: string;
  inputSchema: unknown;
}

/** Every word of the query must appear in the name or the description, case-insensitively. */
export function searchTools(catalogue: Catalogue, query: unknown): { query: string; matches: ToolMatch[] } {
  const text = typeof query === 'string' ? query : '';
  const words = text.toLowerCase().split(/\s+/).filter(Boolean);
  const matches: ToolMatch[] = [];
  for (const tool of catalogue.tools as Array<Record<string, unknown>>) {
    const name = tool['name'] as string;
    const description = typeof tool['description'] === 'string' ? tool['description'] : undefined;
    const haystack = `${name} ${description ?? ''}`.toLowerCase();
    if (!words.every((word) => haystack.includes(word))) continue;
    matches.push({ name, backend: catalogue.routes.get(name) ?? '?', ...(description === undefined ? {} : { description }), inputSchema: tool['inputSchema'] });
  }
  return { query: text, matches };
}

/** the tools that change the relay: refused with management.allowChanges: false, and an admin's alone */
export const ADMIN_TOOL_NAMES: ReadonlySet<string> = new Set(['relay_reconnect_server', 'relay_add_server', 'relay_remove_server']);

export function callManagementTool(name: string, args: Record<string, unknown>, deps: ManagementDeps): Observable<ToolResult> {
  return defer(() => {
    if (ADMIN_TOOL_NAMES.has(name)) {
      return current(deps.config$).pipe(
        switchMap((config) => {
          if (!config.config.management.allowChanges) {
            return of(text(`${name} is refused: management changes are disabled (management.allowChanges: false in ${deps.file}). Edit the file by hand instead.`, true));
          }
          if (name === 'relay_reconnect_server') return reconnect(args, deps);
          if (name === 'relay_add_server') return add(args, deps);
          return remove(args, deps);
        }),
      );
    }
    if (name === 'relay_get_status') return status$(deps).pipe(map((status) => text(JSON.stringify(status, null, 2))));
    if (name === 'relay_list_servers') return status$(deps).pipe(map((status) => text(summary(status))));
    if (name === 'relay_search_tools') return current(deps.catalogue$).pipe(map((catalogue) => text(JSON.stringify(searchTools(catalogue, args['query']), null, 2))));
    return throwError(() => new Error(`unknown management tool ${name}`));
  }).pipe(catchError((error: unknown) => of(text(`${name} failed: ${errorMessage(error)}`, true))));
}
