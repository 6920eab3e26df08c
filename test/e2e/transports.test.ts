// The same relay over every backend transport: a real third-party stdio server from npm, a stdio fixture that
// exits and must be restarted (and never orphaned), and Streamable HTTP backends.
import { resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CreateMessageRequestSchema, ListRootsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { startHttpBackend } from '../fixtures/http-backend.js';
import { echoTool } from '../fixtures/tools.js';
import { configFile, eventually, FAST_DEFAULTS, startSdkRelay, status, textOf, type SdkRelay } from './relay-process.js';

const EVERYTHING = resolve(import.meta.dirname, '../../node_modules/@modelcontextprotocol/server-everything/dist/index.js');
const STDIO_FIXTURE = resolve(import.meta.dirname, '../../dist/test/fixtures/stdio-backend.js');

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function relayWith(yaml: string, capabilities?: Record<string, unknown>): Promise<SdkRelay> {
  const relay = await startSdkRelay(configFile(yaml).file, {}, capabilities);
  cleanups.push(() => relay.close());
  return relay;
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('a real third-party MCP server from npm (@modelcontextprotocol/server-everything) as a command: backend', () => {
  it('shows its tools, prompts, resources and templates, and they work through the relay', async () => {
    const relay = await relayWith(
      `${FAST_DEFAULTS}backends:\n  - name: everything\n    command: ${process.execPath}\n    args: [${EVERYTHING}, stdio]\n`,
      { sampling: {}, roots: { listChanged: true } },
    );
    relay.client.setRequestHandler(CreateMessageRequestSchema, (request) => ({
      model: 'test-model',
      role: 'assistant',
      content: { type: 'text', text: `sampled: ${JSON.stringify(request.params.messages[0]?.content)}` },
    }));
    relay.client.setRequestHandler(ListRootsRequestSchema, () => ({ roots: [{ uri: 'file:///work/project', name: 'project' }] }));

    const tools = (await relay.client.listTools()).tools.map((tool) => tool.name);
    expect(tools).toEqual(expect.arrayContaining(['echo', 'get-sum', 'trigger-sampling-request', 'get-roots-list']));
    expect(textOf(await relay.client.callTool({ name: 'echo', arguments: { message: 'through the relay' } }))).toBe('Echo: through the relay');
    expect(textOf(await relay.client.callTool({ name: 'get-sum', arguments: { a: 2, b: 40 } }))).toMatch(/42/);

    const prompts = (await relay.client.listPrompts()).prompts.map((prompt) => prompt.name);
    expect(prompts).toEqual(expect.arrayContaining(['simple-prompt', 'args-prompt']));
    const prompt = await relay.client.getPrompt({ name: 'simple-prompt' });
    expect(prompt.messages.length).toBeGreaterThan(0);

    const resources = (await relay.client.listResources()).resources;
    expect(resources.length).toBeGreaterThan(0);
    const first = resources[0]!;
    const read = await relay.client.readResource({ uri: first.uri });
    expect(read.contents[0]?.uri).toBe(first.uri);
    const templates = (await relay.client.listResourceTemplates()).resourceTemplates.map((template) => template.uriTemplate);
    expect(templates).toContain('demo://resource/dynamic/text/{resourceId}');
    // a URI that no listed resource has, owned through its template
    const dynamic = await relay.client.readResource({ uri: 'demo://resource/dynamic/text/7' });
    expect(dynamic.contents[0]?.uri).toBe('demo://resource/dynamic/text/7');

    // server-to-client requests: the backend asks the client (sampling, roots) through the relay
    const sampled = await relay.client.callTool({ name: 'trigger-sampling-request', arguments: { prompt: 'hello', maxTokens: 10 } });
    expect(JSON.stringify(sampled)).toMatch(/sampled: /);
    const roots = await relay.client.callTool({ name: 'get-roots-list', arguments: {} });
    expect(JSON.stringify(roots)).toMatch(/file:\/\/\/work\/project/);

    await eventually(() => expect(relay.events.some((event) => event.event === 'backend.stderr' && event['backend'] === 'everything')).toBe(true));
  });
});

describe('command: backends', () => {
  it('restarts a server that exits, and ends it when the backend is removed: no orphan', async () => {
    const relay = await relayWith(`${FAST_DEFAULTS}backends:\n  - name: local\n    command: ${process.execPath}\n    args: [${STDIO_FIXTURE}]\n    env: { FIXTURE_FLAVOUR: plain }\n`);
    await relay.client.listTools();
    const pid = Number(textOf(await relay.client.callTool({ name: 'pid', arguments: {} })));
    expect(alive(pid)).toBe(true);
    expect(textOf(await relay.client.callTool({ name: 'env', arguments: { name: 'FIXTURE_FLAVOUR' } }))).toMatch(/plain/);

    await expect(relay.client.callTool({ name: 'exit', arguments: { code: 3 } })).rejects.toThrow(/process exited with code 3/);
    await eventually(async () => expect((await status(relay.client)).servers[0]?.health).toBe('healthy'));
    const restarted = Number(textOf(await relay.client.callTool({ name: 'pid', arguments: {} })));
    expect(restarted).not.toBe(pid);

    await relay.client.callTool({ name: 'relay_remove_server', arguments: { name: 'local' } });
    await eventually(() => expect(alive(restarted)).toBe(false));
  });

  it('ends its servers when the relay exits', async () => {
    const relay = await startSdkRelay(configFile(`${FAST_DEFAULTS}backends:\n  - name: local\n    command: ${process.execPath}\n    args: [${STDIO_FIXTURE}]\n`).file);
    await relay.client.listTools();
    const pid = Number(textOf(await relay.client.callTool({ name: 'pid', arguments: {} })));
    await relay.close();
    await eventually(() => expect(alive(pid)).toBe(false));
  });
});

describe('Streamable HTTP backends', () => {
  it.each(['SSE', 'JSON'] as const)('lists and calls tools over HTTP with %s answers, with the session id and configured headers', async (flavour) => {
    const backend = await startHttpBackend({ name: 'web', tools: [echoTool('web_echo')] });
    cleanups.push(() => backend.close());
    const url = flavour === 'SSE' ? backend.url : backend.jsonUrl;
    const relay = await relayWith(`${FAST_DEFAULTS}backends:\n  - name: web\n    url: ${url}\n    headers: { X-Api-Key: k-123 }\n`);
    expect((await relay.client.listTools()).tools.map((tool) => tool.name)).toContain('web_echo');
    expect(textOf(await relay.client.callTool({ name: 'web_echo', arguments: { via: 'http' } }))).toBe('web_echo:{"via":"http"}');
    const calls = backend.requests().filter((request) => request.rpcMethod === 'tools/call');
    expect(calls).toHaveLength(1);
    expect(calls[0]?.sessionId).toBe(backend.sessions()[0]);
    expect(calls[0]?.headers['x-api-key']).toBe('k-123');
    expect((await status(relay.client)).servers[0]).toMatchObject({ health: 'healthy', connected: true, tools: 1 });
  });

  it('re-lists when the HTTP backend announces a change, and reconnects after its session expires', async () => {
    const backend = await startHttpBackend({ name: 'web', tools: [echoTool('one')] });
    cleanups.push(() => backend.close());
    const relay = await relayWith(`${FAST_DEFAULTS}backends:\n  - name: web\n    url: ${backend.url}\n`);
    await relay.client.listTools();
    await backend.addTool(echoTool('two'));
    await eventually(() => expect(relay.listChanged()).toBe(1));
    await backend.forgetSessions();
    await eventually(async () => expect(textOf(await relay.client.callTool({ name: 'two', arguments: {} }))).toBe('two:{}'));
    expect(backend.sessions().length).toBeGreaterThanOrEqual(1);
  });
});
