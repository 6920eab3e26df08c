// The relay's instructions in its initialize result, for real: the SDK Client's getInstructions() over WebSocket, a
// section per backend from its own instructions or its tool names, the relay's line, within instructions.maxChars.
import { afterEach, describe, expect, it } from 'vitest';
import { startBackend, type RunningBackend } from '../fixtures/mcp-ws-backend.js';
import { echoTool } from '../fixtures/tools.js';
import { startNetworkRelay, wsClient } from './network-relay.js';
import { backendsYaml, configFile, eventually, FAST_DEFAULTS } from './relay-process.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function backend(name: string, instructions?: string): Promise<RunningBackend> {
  const running = await startBackend({ name, tools: [echoTool(`${name}_echo`), echoTool(`${name}_other`)], ...(instructions === undefined ? {} : { instructions }) });
  cleanups.push(() => running.close());
  return running;
}

describe('server instructions', () => {
  it("names every backend at the first initialize, then says what each one's tools are for, within maxChars", async () => {
    const notes = await backend('notes', 'Notes the team keeps: add one, list them, search them by words.');
    const calc = await backend('calc');
    const { file } = configFile(backendsYaml([{ name: 'notes', url: notes.url }, { name: 'calc', url: calc.url }], `${FAST_DEFAULTS}instructions: { maxChars: 600 }\n`));
    const relay = await startNetworkRelay(file);
    cleanups.push(() => relay.stop());

    // the first client's initialize is what starts the handshakes: the configured names, not yet what they offer
    const first = await wsClient(relay.ws);
    cleanups.push(() => first.client.close());
    const before = first.client.getInstructions() ?? '';
    expect(before).toContain('## notes\nNot connected yet');
    expect(before).toContain('## calc\nNot connected yet');

    await eventually(async () => expect((await first.client.listTools()).tools.map((tool) => tool.name)).toContain('calc_echo'));
    // a client that initializes now learns what each backend is for
    const second = await wsClient(relay.ws);
    cleanups.push(() => second.client.close());
    const after = second.client.getInstructions() ?? '';
    expect(after).toMatch(/^This server is mcp-relay, in front of 2 MCP servers/);
    expect(after).toContain('## notes\nNotes the team keeps: add one, list them, search them by words.');
    expect(after).toContain('## calc\nTools: calc_echo, calc_other.');
    expect(after).toContain("mcp-relay's own tools: relay_search_tools");
    expect(after.length).toBeLessThanOrEqual(600);
  });
});
