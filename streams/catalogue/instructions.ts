/**
 * The relay's `instructions` in its initialize result. Claude Code defers tool schemas and loads only tool names and
 * each server's instructions at start, so this is how a model learns what lies behind the relay: one short section
 * per backend the client may use (its name, and what its tools are for: its own instructions, or else its tool
 * names), and a line on the relay's own tools, all within maxChars. Built at each initialize from the view in force.
 */
import type { BackendStates } from '../backend/backends.js';
import type { Catalogue } from './catalogue.js';

const RELAY_LINE =
  "mcp-relay's own tools: relay_search_tools finds a tool by words in its name or description, relay_call_tool calls any tool by name, relay_get_status shows every backend's health and tools.";

/** whitespace folded to single spaces: a section is one paragraph */
const oneLine = (text: string): string => text.replace(/\s+/g, ' ').trim();

const cut = (text: string, max: number): string => (text.length <= max ? text : `${text.slice(0, Math.max(0, max - 1)).trimEnd()}…`);

/** what one backend's section says, before it is fitted to its share */
function describe(name: string, states: BackendStates, catalogue: Pick<Catalogue, 'perBackend'>): string {
  const state = states.get(name);
  const own = state?.instructions;
  if (own) return oneLine(own);
  const tools = catalogue.perBackend.get(name)?.valid ?? [];
  if (tools.length > 0) return `Tools: ${tools.join(', ')}.`;
  return state?.phase === 'connected' ? 'No tools.' : 'Not connected yet: relay_get_status shows its state, and its tools appear once it is.';
}

export function buildInstructions(states: BackendStates, catalogue: Pick<Catalogue, 'perBackend'>, maxChars: number): string {
  const names = [...states.keys()];
  const head = `This server is mcp-relay, in front of ${names.length} MCP server${names.length === 1 ? '' : 's'}; each section below is one of them.`;
  const fixed = `${head}\n\n${RELAY_LINE}`;
  if (names.length === 0 || fixed.length >= maxChars) return cut(fixed, maxChars);
  // what is left is shared out evenly; a short section gives its unused share to the ones after it
  let left = maxChars - fixed.length;
  const sections: string[] = [];
  names.forEach((name, index) => {
    const share = Math.floor(left / (names.length - index));
    const title = `\n\n## ${name}\n`;
    const section = title.length >= share ? '' : `${title}${cut(describe(name, states, catalogue), share - title.length)}`;
    sections.push(section);
    left -= section.length;
  });
  return `${head}${sections.join('')}\n\n${RELAY_LINE}`;
}
