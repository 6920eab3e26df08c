// The relay as Claude Code sees it: one catalogue over several real WebSocket MCP backends, calls routed to their owners.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBackend, type RunningBackend } from '../fixtures/mcp-ws-backend.js';
import { echoTool } from '../fixtures/tools.js';
import { backendsYaml, configFile, eventually, startSdkRelay, status, textOf, type SdkRelay } from './relay-process.js';

describe('catalogue and routing over stdio', () => {
  let alpha: RunningBackend;
  let beta: RunningBackend;
  let paged: RunningBackend;
  let relay: SdkRelay;

  beforeAll(async () => {
    alpha = await startBackend({ name: 'alpha', tools: [echoTool('alpha_echo'), echoTool('alpha_other')] });
    beta = await startBackend({ name: 'beta', tools: [echoTool('beta_echo')] });
    paged = await startBackend({ name: 'paged', tools: ['p1', 'p2', 'p3', 'p4', 'p5'].map(echoTool), pageSize: 2 });
    const { file } = configFile(
      backendsYaml([
        { name: 'alpha', url: alpha.url },
        { name: 'beta', url: beta.url },
        { name: 'paged', url: paged.url },
      ]),
    );
    relay = await startSdkRelay(file);
  });

  afterAll(async () => {
    await relay?.close();
    await Promise.all([alpha?.close(), beta?.close(), paged?.close()]);
  });

  it('lists every backend tool, following every page, after the seven management tools', async () => {
    const { tools } = await relay.client.listTools();
    expect(tools.map((tool) => tool.name)).toEqual([
      'relay_get_status',
      'relay_list_servers',
      'relay_reconnect_server',
      'relay_add_server',
      'relay_remove_server',
      'relay_search_tools',
      'relay_call_tool',
      'alpha_echo',
      'alpha_other',
      'beta_echo',
      'p1',
      'p2',
      'p3',
      'p4',
      'p5',
    ]);
  });

  it('routes each call to the backend that owns the tool, with its arguments', async () => {
    const a = await relay.client.callTool({ name: 'alpha_echo', arguments: { n: 1 } });
    const b = await relay.client.callTool({ name: 'beta_echo', arguments: { n: 2 } });
    const p = await relay.client.callTool({ name: 'p5', arguments: {} });
    expect(textOf(a)).toBe('alpha_echo:{"n":1}');
    expect(textOf(b)).toBe('beta_echo:{"n":2}');
    expect(textOf(p)).toBe('p5:{}');
    expect(alpha.calls()).toEqual([{ tool: 'alpha_echo', args: { n: 1 } }]);
    expect(beta.calls()).toEqual([{ tool: 'beta_echo', args: { n: 2 } }]);
  });

  it('runs calls concurrently over one backend connection', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => relay.client.callTool({ name: 'beta_echo', arguments: { i } })));
    expect(results.map(textOf)).toEqual(Array.from({ length: 20 }, (_, i) => `beta_echo:{"i":${i}}`));
    expect(beta.connectionsTotal()).toBe(1);
  });

  it('names an unknown tool and points to relay_get_status', async () => {
    await expect(relay.client.callTool({ name: 'no_such_tool', arguments: {} })).rejects.toThrow(/no_such_tool.*relay_get_status/);
  });

  it('reports every backend healthy in relay_get_status', async () => {
    const s = await status(relay.client);
    expect(s.total_servers).toBe(3);
    expect(s.connected_servers).toBe(3);
    expect(s.servers.map((server) => [server.name, server.health, server.tools])).toEqual([
      ['alpha', 'healthy', 2],
      ['beta', 'healthy', 1],
      ['paged', 'healthy', 5],
    ]);
    expect(s.servers[0]?.tool_names).toEqual(['alpha_echo', 'alpha_other']);
    expect(s.servers[0]?.url).toBe(alpha.url);
  });

  it('logs call.done with tool, backend, duration and outcome', async () => {
    await relay.client.callTool({ name: 'alpha_other', arguments: {} });
    // the event log is asynchronous on purpose: it never blocks the hot path
    const done = await eventually(() => {
      const lines = relay.events.filter((event) => event.event === 'call.done' && event['tool'] === 'alpha_other');
      expect(lines).toHaveLength(1);
      return lines;
    });
    expect(done[0]).toMatchObject({ backend: 'alpha', outcome: 'ok' });
    expect(typeof done[0]?.['ms']).toBe('number');
  });
});
