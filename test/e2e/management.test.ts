// The five relay_* tools, called the way a model calls them, and the limits that keep a prompt injection in check.
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startBackend, type RunningBackend } from '../fixtures/mcp-ws-backend.js';
import { echoTool } from '../fixtures/tools.js';
import { backendsYaml, configFile, eventually, FAST_DEFAULTS, startSdkRelay, status, textOf, type SdkRelay } from './relay-process.js';

const call = async (relay: SdkRelay, name: string, args: Record<string, unknown> = {}) => {
  const result = await relay.client.callTool({ name, arguments: args });
  return { text: textOf(result), isError: result.isError === true };
};

describe('management tools', () => {
  let a: RunningBackend;
  let b: RunningBackend;
  let relay: SdkRelay;

  beforeAll(async () => {
    a = await startBackend({ name: 'a', tools: [echoTool('a_tool')] });
    b = await startBackend({ name: 'b', tools: [echoTool('b_one'), echoTool('b_two')] });
  });
  afterEach(async () => relay?.close());
  afterAll(async () => Promise.all([a, b].map((backend) => backend?.close())));

  it('relay_get_status and relay_list_servers describe every backend, without secrets', async () => {
    const { file } = configFile(
      backendsYaml([
        { name: 'a', url: `${a.url}/?token=s3cret`, extra: '    headers:\n      Authorization: Bearer ${RELAY_TEST_TOKEN}\n' },
        { name: 'down', url: 'ws://user:pw@127.0.0.1:1/' },
      ]),
    );
    relay = await startSdkRelay(file, { RELAY_TEST_TOKEN: 'tok-123' });
    await relay.client.listTools(); // the first list waits for the first connection attempts
    const s = await status(relay.client);
    expect(s).toMatchObject({ total_servers: 2, connected_servers: 1, total_tools: 1 });
    expect(s.servers[0]).toMatchObject({ name: 'a', connected: true, health: 'healthy', tools: 1, tool_names: ['a_tool'] });
    expect(s.servers[1]).toMatchObject({ name: 'down', connected: false, health: 'failed', tools: 0 });
    expect(s.servers[1]?.error).toMatch(/ECONNREFUSED/);
    const everything = JSON.stringify(s) + (await call(relay, 'relay_list_servers')).text + JSON.stringify(relay.events);
    expect(everything).not.toMatch(/s3cret|tok-123|Bearer|user:pw/);
    expect(s.servers[0]?.url).toContain('token=***');

    const list = await call(relay, 'relay_list_servers');
    expect(list.isError).toBe(false);
    expect(list.text).toMatch(/1\/2 backends connected, 1 tools/);
    expect(list.text).toMatch(/- a: healthy, ws:\/\/127\.0\.0\.1:\d+\/\?token=\*\*\*, 1 valid tools, 0 invalid/);
    expect(list.text).toMatch(/- down: failed \(not connected\).*\n {2}error: .*ECONNREFUSED/);
  });

  it('relay_reconnect_server closes and reopens one backend and reports its health and tools', async () => {
    const { file } = configFile(backendsYaml([{ name: 'a', url: a.url }, { name: 'b', url: b.url }]));
    relay = await startSdkRelay(file);
    await relay.client.listTools();
    const aBefore = a.connectionsTotal();
    const bBefore = b.connectionsTotal();
    const answer = await call(relay, 'relay_reconnect_server', { name: 'b' });
    expect(answer).toEqual({ text: "Backend 'b' reconnected: health: healthy, valid tools: 2.", isError: false });
    expect(b.connectionsTotal()).toBe(bBefore + 1);
    await eventually(() => expect(b.connections()).toBe(1));
    expect(a.connectionsTotal()).toBe(aBefore);
    expect(textOf(await relay.client.callTool({ name: 'b_two', arguments: {} }))).toBe('b_two:{}');
    expect(relay.listChanged()).toBe(0);

    const unknown = await call(relay, 'relay_reconnect_server', { name: 'nope' });
    expect(unknown.isError).toBe(true);
    expect(unknown.text).toMatch(/No backend named "nope" is configured/);
  });

  it('relay_add_server and relay_remove_server change backends.yaml on disk, keep its comments, and wait for the effect', async () => {
    const { file } = configFile(`# top comment\n${FAST_DEFAULTS}backends:\n  # the first one\n  - name: a\n    url: ${a.url} # inline\n`);
    relay = await startSdkRelay(file);
    await relay.client.listTools();

    const added = await call(relay, 'relay_add_server', { name: 'b', url: b.url });
    expect(added.isError).toBe(false);
    expect(added.text).toMatch(/Backend 'b' added to .*backends\.yaml .*: health: healthy, valid tools: 2\./);
    const onDisk = readFileSync(file, 'utf8');
    expect(onDisk).toMatch(/# top comment/);
    expect(onDisk).toMatch(/# the first one/);
    expect(onDisk).toMatch(/# inline/);
    expect(onDisk.indexOf('name: a')).toBeLessThan(onDisk.indexOf('name: b'));
    const tools = (await relay.client.listTools()).tools.map((tool) => tool.name);
    expect(tools).toEqual(expect.arrayContaining(['a_tool', 'b_one', 'b_two']));
    await eventually(() => expect(relay.listChanged()).toBe(1));

    const failedAdd = await call(relay, 'relay_add_server', { name: 'dead', url: 'ws://127.0.0.1:1' });
    expect(failedAdd.isError).toBe(false);
    expect(failedAdd.text).toMatch(/Backend 'dead' added .*health: failed, valid tools: 0, error: .*ECONNREFUSED/);

    const removed = await call(relay, 'relay_remove_server', { name: 'b' });
    expect(removed).toEqual({ text: `Backend 'b' removed from ${file}; its connection is closed and its tools are gone.`, isError: false });
    expect(readFileSync(file, 'utf8')).not.toMatch(/name: b\b/);
    expect((await relay.client.listTools()).tools.map((tool) => tool.name)).not.toContain('b_one');
    await eventually(() => expect(b.connections()).toBe(0));
    await expect(relay.client.callTool({ name: 'b_one', arguments: {} })).rejects.toThrow(/Unknown tool 'b_one'/);
  });

  it('serializes concurrent changes: both land in the file', async () => {
    const { file } = configFile(backendsYaml([{ name: 'a', url: a.url }]));
    relay = await startSdkRelay(file);
    await relay.client.listTools();
    const [one, two] = await Promise.all([
      call(relay, 'relay_add_server', { name: 'x1', url: b.url }),
      call(relay, 'relay_add_server', { name: 'x2', url: b.url }),
    ]);
    expect(one.isError || two.isError).toBe(false);
    const onDisk = readFileSync(file, 'utf8');
    expect(onDisk).toMatch(/name: x1/);
    expect(onDisk).toMatch(/name: x2/);
    const s = await status(relay.client);
    expect(s.servers.map((server) => server.name)).toEqual(['a', 'x1', 'x2']);
    // the same tools from two backends: the first listed keeps them, the other is degraded with the reason
    expect(s.servers[2]).toMatchObject({ health: 'degraded', tools: 0, invalid_tools: 2 });
    expect(s.servers[2]?.error).toMatch(/name conflict: 'b_one' is already provided by backend 'x1'/);
  });

  it('rejects bad names, bad URLs, duplicates and unknown names with a clear tool error', async () => {
    const { file } = configFile(backendsYaml([{ name: 'a', url: a.url }]));
    relay = await startSdkRelay(file);
    const before = readFileSync(file, 'utf8');
    const cases: Array<[string, Record<string, unknown>, RegExp]> = [
      ['relay_add_server', { name: 'a', url: b.url }, /already exists/],
      ['relay_add_server', { name: 'has space', url: b.url }, /Invalid name/],
      ['relay_add_server', { name: 'ok' }, /Invalid url/],
      ['relay_add_server', { name: 'ok', url: 'http://127.0.0.1:1' }, /only ws:\/\/ and wss:\/\//],
      ['relay_add_server', { name: 'ok', url: 'file:///etc/passwd' }, /only ws:\/\/ and wss:\/\//],
      ['relay_remove_server', { name: 'ghost' }, /No backend named "ghost"/],
      ['relay_reconnect_server', {}, /No backend named null/],
    ];
    for (const [tool, args, message] of cases) {
      const answer = await call(relay, tool, args);
      expect(answer.isError, `${tool} ${JSON.stringify(args)}`).toBe(true);
      expect(answer.text).toMatch(message);
    }
    expect(readFileSync(file, 'utf8')).toBe(before);
  });

  it('management.allowChanges: false refuses add, remove and reconnect but still reports status', async () => {
    const { file } = configFile(`management: { allowChanges: false }\n${backendsYaml([{ name: 'a', url: a.url }])}`);
    relay = await startSdkRelay(file);
    const before = readFileSync(file, 'utf8');
    for (const [tool, args] of [
      ['relay_add_server', { name: 'b', url: b.url }],
      ['relay_remove_server', { name: 'a' }],
      ['relay_reconnect_server', { name: 'a' }],
    ] as const) {
      const answer = await call(relay, tool, args);
      expect(answer.isError).toBe(true);
      expect(answer.text).toMatch(/refused: management changes are disabled \(management\.allowChanges: false/);
    }
    expect(readFileSync(file, 'utf8')).toBe(before);
    expect((await status(relay.client)).servers).toHaveLength(1);
    writeFileSync(file, before);
  });
});

describe('call-by-name fallback for clients that never re-list', () => {
  it('relay_search_tools finds a tool added mid-session and relay_call_tool calls it like a direct call', async () => {
    const a = await startBackend({ name: 'a', tools: [echoTool('a_tool')] });
    const late = await startBackend({ name: 'late', tools: [{ definition: { name: 'weather_now', description: 'Current weather for a city', inputSchema: { type: 'object', properties: { city: { type: 'string' } } } } }] });
    const { file } = configFile(backendsYaml([{ name: 'a', url: a.url }]));
    const relay = await startSdkRelay(file);
    try {
      await relay.client.listTools();
      await call(relay, 'relay_add_server', { name: 'late', url: late.url });
      const found = JSON.parse((await call(relay, 'relay_search_tools', { query: 'WEATHER city' })).text) as { matches: Array<Record<string, unknown>> };
      expect(found.matches).toEqual([{ name: 'weather_now', backend: 'late', description: 'Current weather for a city', inputSchema: { type: 'object', properties: { city: { type: 'string' } } } }]);
      expect(JSON.parse((await call(relay, 'relay_search_tools', { query: '' })).text).matches.map((match: { name: string }) => match.name)).toEqual(['a_tool', 'weather_now']);

      const result = await relay.client.callTool({ name: 'relay_call_tool', arguments: { name: 'weather_now', arguments: { city: 'Oslo' } } });
      expect(textOf(result)).toBe('weather_now:{"city":"Oslo"}');
      expect(late.calls()).toEqual([{ tool: 'weather_now', args: { city: 'Oslo' } }]);
      await expect(relay.client.callTool({ name: 'relay_call_tool', arguments: { name: 'nope', arguments: {} } })).rejects.toThrow(/Unknown tool 'nope'.*relay_get_status/);
      const refused = await call(relay, 'relay_call_tool', { name: 'relay_add_server', arguments: {} });
      expect(refused.isError).toBe(true);
    } finally {
      await relay.close();
      await Promise.all([a.close(), late.close()]);
    }
  });
});
