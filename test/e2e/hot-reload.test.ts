// backends.yaml is watched: every kind of save takes effect live, and a bad file never takes backends down.
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startBackend, type RunningBackend } from '../fixtures/mcp-ws-backend.js';
import { echoTool } from '../fixtures/tools.js';
import { backendsYaml, configFile, eventually, startSdkRelay, status, textOf, type SdkRelay } from './relay-process.js';

const toolNames = async (relay: SdkRelay) => (await relay.client.listTools()).tools.map((tool) => tool.name).filter((name) => !name.startsWith('relay_'));

describe('hot reload of backends.yaml', () => {
  let a: RunningBackend;
  let b: RunningBackend;
  let c: RunningBackend;
  let relay: SdkRelay;

  beforeAll(async () => {
    a = await startBackend({ name: 'a', tools: [echoTool('a_tool')] });
    b = await startBackend({ name: 'b', tools: [echoTool('b_tool')] });
    c = await startBackend({ name: 'c', tools: [echoTool('c_tool')] });
  });
  afterEach(async () => relay?.close());
  afterAll(async () => Promise.all([a, b, c].map((backend) => backend?.close())));

  it('adds, re-points and removes backends live, without touching the ones that stayed', async () => {
    const { file } = configFile(backendsYaml([{ name: 'a', url: a.url }]));
    relay = await startSdkRelay(file);
    expect(await toolNames(relay)).toEqual(['a_tool']);
    const aConnections = a.connectionsTotal();

    writeFileSync(file, backendsYaml([{ name: 'a', url: a.url }, { name: 'b', url: b.url }]));
    await eventually(async () => expect(await toolNames(relay)).toEqual(['a_tool', 'b_tool']));
    expect(textOf(await relay.client.callTool({ name: 'b_tool', arguments: {} }))).toBe('b_tool:{}');
    await eventually(() => expect(relay.listChanged()).toBe(1));

    // same name, new URL: that backend alone reconnects, to the new server
    writeFileSync(file, backendsYaml([{ name: 'a', url: a.url }, { name: 'b', url: c.url }]));
    await eventually(async () => expect(await toolNames(relay)).toEqual(['a_tool', 'c_tool']));
    await eventually(() => expect(b.connections()).toBe(0));

    writeFileSync(file, backendsYaml([{ name: 'a', url: a.url }]));
    await eventually(async () => expect(await toolNames(relay)).toEqual(['a_tool']));
    await eventually(() => expect(c.connections()).toBe(0));
    await expect(relay.client.callTool({ name: 'c_tool', arguments: {} })).rejects.toThrow(/Unknown tool 'c_tool'/);

    expect(a.connectionsTotal()).toBe(aConnections);
    expect(a.connections()).toBe(1);
    await eventually(() => expect(relay.listChanged()).toBe(3));
    await eventually(() => expect(relay.events.filter((event) => event.event === 'config.reloaded').length).toBe(4));
  });

  it('keeps the last good config when the file turns invalid, and says so in status', async () => {
    const { file } = configFile(backendsYaml([{ name: 'a', url: a.url }]));
    relay = await startSdkRelay(file);
    expect(await toolNames(relay)).toEqual(['a_tool']);

    writeFileSync(file, 'backends:\n  - name: a\n    url: ftp://not-a-websocket\n');
    await eventually(async () => expect((await status(relay.client)).config_error).toMatch(/backends\.yaml:3: backends\[0\]\.url: must be a ws:\/\/, wss:\/\/, http:\/\/ or https:\/\/ URL/));
    expect(await toolNames(relay)).toEqual(['a_tool']);
    expect(textOf(await relay.client.callTool({ name: 'a_tool', arguments: {} }))).toBe('a_tool:{}');
    await eventually(() => expect(relay.events.some((event) => event.event === 'config.invalid' && event['line'] === 3)).toBe(true));

    writeFileSync(file, 'backends: [ {name: a\n');
    await eventually(async () => expect((await status(relay.client)).config_error).toMatch(/invalid YAML/));

    writeFileSync(file, backendsYaml([{ name: 'a', url: a.url }, { name: 'b', url: b.url }]));
    await eventually(async () => {
      const s = await status(relay.client);
      expect(s.config_error).toBeUndefined();
      expect(s.servers.map((server) => server.name)).toEqual(['a', 'b']);
    });
    // the bad files changed nothing the client sees; adding b is the one change
    await eventually(() => expect(relay.listChanged()).toBe(1));
  });

  it('follows editor saves: write-to-temp-and-rename, truncate-then-write, delete-then-recreate', async () => {
    const { dir, file } = configFile(backendsYaml([{ name: 'a', url: a.url }]));
    relay = await startSdkRelay(file);
    expect(await toolNames(relay)).toEqual(['a_tool']);

    const temporary = join(dir, '.backends.yaml.swp');
    writeFileSync(temporary, backendsYaml([{ name: 'b', url: b.url }]));
    renameSync(temporary, file);
    await eventually(async () => expect(await toolNames(relay)).toEqual(['b_tool']));

    writeFileSync(file, '');
    writeFileSync(file, backendsYaml([{ name: 'c', url: c.url }]));
    await eventually(async () => expect(await toolNames(relay)).toEqual(['c_tool']));

    rmSync(file);
    writeFileSync(file, backendsYaml([{ name: 'a', url: a.url }]));
    await eventually(async () => expect(await toolNames(relay)).toEqual(['a_tool']));
  });

  it('settles a burst of rapid edits into one reload', async () => {
    const { file } = configFile(backendsYaml([{ name: 'a', url: a.url }]));
    relay = await startSdkRelay(file);
    await relay.client.listTools();
    await eventually(() => expect(relay.events.filter((event) => event.event === 'config.reloaded')).toHaveLength(1));
    for (let i = 0; i < 10; i++) writeFileSync(file, backendsYaml([{ name: 'a', url: a.url }, { name: 'b', url: b.url, extra: `    timeoutMs: ${1000 + i}\n` }]));
    await eventually(async () => expect(await toolNames(relay)).toEqual(['a_tool', 'b_tool']));
    await new Promise((done) => setTimeout(done, 500));
    expect(relay.events.filter((event) => event.event === 'config.reloaded')).toHaveLength(2);
    expect(b.connectionsTotal()).toBeGreaterThan(0);
  });

  it('starts with no backends when the file is missing, and picks it up when it appears', async () => {
    const { dir } = configFile('');
    const file = join(dir, 'later.yaml');
    relay = await startSdkRelay(file);
    const before = await status(relay.client);
    expect(before.total_servers).toBe(0);
    expect(before.config_error).toMatch(/later\.yaml: file not found/);
    writeFileSync(file, backendsYaml([{ name: 'a', url: a.url }]));
    await eventually(async () => expect(await toolNames(relay)).toEqual(['a_tool']));
    expect((await status(relay.client)).config_error).toBeUndefined();
  });
});
