// Input meant to break the relay: hostile backends and hostile config files. The relay answers, explains and stays up.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startBackend } from '../fixtures/mcp-ws-backend.js';
import { startRawBackend } from '../fixtures/raw-ws-backend.js';
import { bigTool, echoTool, sleep } from '../fixtures/tools.js';
import { backendsYaml, configFile, eventually, INITIALIZE, startRawRelay, startSdkRelay, status, textOf, type RawRelay } from './relay-process.js';

/** JSON text of a schema nested `levels` deep, built as text: JSON.stringify itself would overflow here */
const deep = (levels: number): string => `${'{"type":"object","properties":{"next":'.repeat(levels)}{"type":"object"}${'}}'.repeat(levels)}`;

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('hostile backends', () => {
  it('survives a tool definition and a tool result nested 20,000 levels deep', async () => {
    const evil = await startRawBackend({
      onMessage: (message, send) => {
        const request = message as { id?: number; method?: string; params?: { name?: string } };
        if (request.method === 'initialize') send({ jsonrpc: '2.0', id: request.id, result: { protocolVersion: '2025-06-18', capabilities: { tools: {} }, serverInfo: { name: 'evil', version: '1' } } });
        if (request.method === 'tools/list') {
          send(`{"jsonrpc":"2.0","id":${request.id},"result":{"tools":[{"name":"deep_def","description":"x","inputSchema":${deep(20_000)}},{"name":"deep_result","description":"x","inputSchema":{"type":"object"}}]}}`);
        }
        if (request.method === 'tools/call') send(`{"jsonrpc":"2.0","id":${request.id},"result":{"content":[],"structuredContent":${deep(20_000)}}}`);
      },
    });
    cleanups.push(() => evil.close());
    const relay = startRawRelay(['--config', configFile(backendsYaml([{ name: 'evil', url: evil.url }])).file]);
    cleanups.push(() => relay.stop());
    await relay.request(1, 'initialize', INITIALIZE);
    const list = await relay.request(2, 'tools/list', {});
    const names = ((list['result'] as { tools: Array<{ name: string }> }).tools ?? []).map((tool) => tool.name);
    expect(names).toContain('deep_result');
    expect(names).not.toContain('deep_def');
    const call = await relay.request(3, 'tools/call', { name: 'deep_result', arguments: {} });
    // the backend's own frame is passed on with the id swapped, so even this result reaches the client unchanged
    let depth = 0;
    for (let node = (call['result'] as Record<string, unknown>)['structuredContent']; node && typeof node === 'object'; node = (node as { properties?: { next?: unknown } }).properties?.next) depth += 1;
    expect(depth).toBe(20_001);
    expect((await relay.request(4, 'ping'))['result']).toEqual({});
    expect(relay.child.exitCode).toBeNull();
    // survived, not rebuilt: the graph never errored
    expect(relay.events.filter((event) => /^relay\.(crash|uncaught)$/.test(event.event))).toEqual([]);
  });

  it('names maxMessageBytes when a backend sends a frame over it', async () => {
    const big = await startBackend({ name: 'big', tools: [bigTool('big', 300_000), echoTool('small')] });
    cleanups.push(() => big.close());
    const relay = await startSdkRelay(configFile(backendsYaml([{ name: 'big', url: big.url, extra: '    maxMessageBytes: 100000\n' }])).file);
    cleanups.push(() => relay.close());
    await relay.client.listTools();
    await expect(relay.client.callTool({ name: 'big', arguments: {} })).rejects.toThrow(/a message from the backend was larger than maxMessageBytes \(100000 bytes\)/);
    await eventually(async () => expect(textOf(await relay.client.callTool({ name: 'small', arguments: {} }))).toBe('small:{}'));
  });
});

describe('hostile or half-written config files', () => {
  let relay: RawRelay | undefined;
  afterEach(async () => relay?.stop());

  it('keeps the backends through a truncate-then-write save that leaves the file empty for a while', async () => {
    const a = await startBackend({ name: 'a', tools: [echoTool('a_tool')] });
    cleanups.push(() => a.close());
    const { file } = configFile(backendsYaml([{ name: 'a', url: a.url }]));
    const sdk = await startSdkRelay(file);
    cleanups.push(() => sdk.close());
    await sdk.client.listTools();
    writeFileSync(file, '');
    await eventually(async () => expect((await status(sdk.client)).config_error).toMatch(/the file is empty/));
    expect((await status(sdk.client)).servers[0]).toMatchObject({ name: 'a', health: 'healthy' });
    await sleep(300);
    writeFileSync(file, backendsYaml([{ name: 'a', url: a.url }]));
    await eventually(async () => expect((await status(sdk.client)).config_error).toBeUndefined());
    expect(a.connectionsTotal()).toBe(1);
    expect(sdk.listChanged()).toBe(0);
  });

  it('treats a YAML alias bomb as an invalid file', async () => {
    const letters = 'abcdefghij';
    const lines = [`a: &a [${Array(10).fill('x').join(', ')}]`];
    for (let i = 1; i < letters.length; i++) lines.push(`${letters[i]}: &${letters[i]} [${Array(10).fill(`*${letters[i - 1]}`).join(', ')}]`);
    const { file } = configFile(`${lines.join('\n')}\nbackends: []\n`);
    relay = startRawRelay(['--config', file]);
    await relay.request(1, 'initialize', INITIALIZE);
    const answer = await relay.request(2, 'tools/call', { name: 'relay_get_status', arguments: {} });
    expect(JSON.stringify(answer)).toMatch(/config_error.*alias/i);
  });

  it('picks up a config whose folder does not exist yet when both appear', async () => {
    const { dir } = configFile('');
    const file = join(dir, 'later', 'backends.yaml');
    const a = await startBackend({ name: 'a', tools: [echoTool('a_tool')] });
    cleanups.push(() => a.close());
    const sdk = await startSdkRelay(file);
    cleanups.push(() => sdk.close());
    expect((await status(sdk.client)).config_error).toMatch(/file not found/);
    mkdirSync(join(dir, 'later'));
    writeFileSync(file, backendsYaml([{ name: 'a', url: a.url }]));
    await eventually(async () => expect((await status(sdk.client)).servers.map((server) => server.health)).toEqual(['healthy']));
  });
});
