/** Per-backend tool lists -> one catalogue: validated tools, a deterministic conflict policy, a routing table. */
import type { BackendStates } from './backends.js';
import { canonicalJson } from './diff.js';
import type { BackendEntry } from './schema.js';
import { validateTool } from './validate.js';

export interface ToolFinding {
  backend: string;
  tool: string | null;
  level: 'invalid' | 'warning';
  reason: string;
}

export interface BackendTools {
  valid: string[];
  invalid: number;
}

export interface Catalogue {
  /** exposed definitions, exactly as their backends sent them, in config order */
  tools: readonly unknown[];
  /** tool name -> owning backend */
  routes: ReadonlyMap<string, string>;
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
  const findings: ToolFinding[] = [];
  const perBackend = new Map<string, BackendTools>();
  for (const entry of order) {
    const list = states.get(entry.name)?.tools;
    if (!list) continue;
    const summary: BackendTools = { valid: [], invalid: 0 };
    perBackend.set(entry.name, summary);
    for (const tool of list) {
      const check = validateTool(tool);
      for (const warning of check.warnings) findings.push({ backend: entry.name, tool: check.name, level: 'warning', reason: warning });
      const problems = [...check.problems, ...conflict(check.name, entry.name, reserved, routes)];
      if (problems.length > 0 || check.name === null) {
        summary.invalid += 1;
        for (const reason of problems) findings.push({ backend: entry.name, tool: check.name, level: 'invalid', reason });
        continue;
      }
      routes.set(check.name, entry.name);
      summary.valid.push(check.name);
      tools.push(tool);
    }
  }
  return { tools, routes, findings, perBackend, key: canonicalJson(tools) };
}
