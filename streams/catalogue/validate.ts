/** Tool definition rules: what makes a tool unusable (not exposed) and what only earns a warning. */
import { canonicalJson } from '../config/diff.js';
import { isObjectRecord } from '../core/jsonrpc.js';

export interface ToolCheck {
  name: string | null;
  /** reasons the tool is not exposed */
  problems: string[];
  /** exposed anyway: the MCP spec allows these */
  warnings: string[];
}

/** Claude's API accepts only these tool names; Claude Code also prefixes mcp__<server>__. */
export const CLAUDE_TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

export const claudeNameWarning = (name: string): string => `name '${name}' does not match ${CLAUDE_TOOL_NAME.source}: Claude's API will reject it`;

/** A definition nested deep enough to overflow the stack (a hostile backend) cannot be compared or sent on. */
function serializable(tool: unknown): boolean {
  try {
    canonicalJson(tool);
    return true;
  } catch {
    return false;
  }
}

/** A tool object's verdict never changes: the catalogue is rebuilt on every backend state change, tools are not. */
const verdicts = new WeakMap<object, ToolCheck>();

export function validateTool(tool: unknown): ToolCheck {
  if (typeof tool !== 'object' || tool === null) return checkTool(tool);
  const known = verdicts.get(tool);
  if (known) return known;
  const check = checkTool(tool);
  verdicts.set(tool, check);
  return check;
}

function checkTool(tool: unknown): ToolCheck {
  if (!isObjectRecord(tool)) return { name: null, problems: ['tool definition is not an object'], warnings: [] };
  if (!serializable(tool)) return { name: typeof tool['name'] === 'string' ? tool['name'] : null, problems: ['definition is nested too deeply to compare or send'], warnings: [] };
  const name = typeof tool['name'] === 'string' && tool['name'] !== '' ? tool['name'] : null;
  const problems: string[] = [];
  const warnings: string[] = [];
  if (name === null) problems.push('no string name');
  const schema = tool['inputSchema'];
  if (!isObjectRecord(schema)) problems.push('no inputSchema object');
  else {
    if (schema['type'] !== 'object') problems.push(`inputSchema.type is ${JSON.stringify(schema['type'])}, not "object"`);
    const properties = schema['properties'];
    if ('properties' in schema && !isObjectRecord(properties)) problems.push('inputSchema.properties is not an object');
    const required = schema['required'];
    if ('required' in schema && !(Array.isArray(required) && required.every((item) => typeof item === 'string'))) {
      problems.push('inputSchema.required is not an array of strings');
    } else if (Array.isArray(required)) {
      const known = isObjectRecord(properties) ? properties : {};
      for (const field of required as string[]) {
        if (!Object.hasOwn(known, field)) warnings.push(`required field '${field}' is not in inputSchema.properties`);
      }
    }
  }
  if (typeof tool['description'] !== 'string' || tool['description'] === '') warnings.push('no description');
  if (name !== null && !CLAUDE_TOOL_NAME.test(name)) warnings.push(`name does not match ${CLAUDE_TOOL_NAME.source}: Claude's API will reject it`);
  return { name, problems, warnings };
}
