/** Per-backend tool lists -> one catalogue: validated tools, a deterministic conflict policy, a routing table. */
import type { BackendStates } from '../backend/backends.js';
import { exposedKey } from './exposed-key.js';
import type { BackendEntry } from '../config/schema.js';
import { makeFilter } from '../core/glob.js';
import { CLAUDE_TOOL_NAME, claudeNameWarning, validateTool } from './validate.js';

export interface ToolFinding {
  backend: string;
  tool: string | null;
  level: 'invalid' | 'warning';
  reason: string;
}

export interface BackendTools {
  /** exposed names */
  valid: string[];
  invalid: number;
  /** left out by the backend's tools include/exclude filter */
  filtered: number;
}

export interface Catalogue {
  /** exposed definitions, exactly as their backends sent them, in config order */
  tools: readonly unknown[];
  /** exposed tool name -> owning backend */
  routes: ReadonlyMap<string, string>;
  /** exposed name -> the backend's own name, for prefixed backends only */
  originals: ReadonlyMap<string, string>;
  findings: readonly ToolFinding[];
  perBackend: ReadonlyMap<string, BackendTools>;
  /** canonical form of the exposed tools: equal keys, identical catalogues */
  key: string;
}

const RELAY = 'mcp-relay (management tool)';

function conflict(name: string | null, backend: string, reserved: ReadonlySet<string>, routes: ReadonlyMap<string, string>): string[] {
  if (name === null) return [];
  const owner = reserved.has(name) ? RELAY : routes.get(name);
  if (owner === undefined) return [];
  if (owner === backend) return [`name conflict: backend '${backend}' lists '${name}' more than once; the first copy is kept`];
  return [`name conflict: '${name}' is already provided by ${owner === RELAY ? owner : `backend '${owner}'`}, listed earlier; '${backend}' loses it`];
}

/**
 * The backend listed first in backends.yaml keeps a contested name, whoever connected first;
 * `reserved` names (the relay's own tools) beat every backend.
 */
export function buildCatalogue(order: readonly BackendEntry[], states: BackendStates, reserved: ReadonlySet<string>): Catalogue {
  const tools: unknown[] = [];
  const routes = new Map<string, string>();
  const originals = new Map<string, string>();
  const findings: ToolFinding[] = [];
  const perBackend = new Map<string, BackendTools>();
  const keyParts: string[] = [];
  for (const entry of order) {
    const list = states.get(entry.name)?.tools;
    if (!list) continue;
    const summary: BackendTools = { valid: [], invalid: 0, filtered: 0 };
    const firstExposed = tools.length;
    perBackend.set(entry.name, summary);
    const wanted = makeFilter(entry.toolFilter);
    for (const tool of list) {
      const check = validateTool(tool);
      if (check.name !== null && !wanted(check.name)) {
        summary.filtered += 1;
        continue;
      }
      const exposed = check.name === null ? null : entry.prefix + check.name;
      // with a prefix, the name Claude sees is the exposed one: warn about that one only
      const warnings =
        exposed !== null && entry.prefix
          ? [...check.warnings.filter((warning) => !warning.startsWith('name does not match')), ...(CLAUDE_TOOL_NAME.test(exposed) ? [] : [claudeNameWarning(exposed)])]
          : check.warnings;
      for (const warning of warnings) findings.push({ backend: entry.name, tool: exposed, level: 'warning', reason: warning });
      const problems = [...check.problems, ...conflict(exposed, entry.name, reserved, routes)];
      if (problems.length > 0 || check.name === null || exposed === null) {
        summary.invalid += 1;
        for (const reason of problems) findings.push({ backend: entry.name, tool: exposed, level: 'invalid', reason });
        continue;
      }
      routes.set(exposed, entry.name);
      summary.valid.push(exposed);
      if (entry.prefix) {
        originals.set(exposed, check.name);
        // exposed exactly as sent, but for the name the client must use
        tools.push({ ...(tool as Record<string, unknown>), name: exposed });
      } else tools.push(tool);
    }
    if (summary.valid.length > 0) keyParts.push(exposedKey(list, summary.valid, tools.slice(firstExposed)));
  }
  return { tools, routes, originals, findings, perBackend, key: keyParts.join('\n') };
}
