// Per-backend naming in backends.yaml: `prefix:` (tools and prompts exposed as <prefix><name>, called with the
// backend's own name) and `tools: {include, exclude}` globs (matched against the backend's own tool names).
import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fullScope } from './full-scope.js';
import type { FullBackend, FullTool } from '../fixtures/full-backend.js';
import { backendsYaml, configFile, eventually, textOf, type SdkRelay } from './relay-process.js';

type Json = Record<string, unknown>;

const { backend, sdkRelay, rawRelay } = fullScope();

const yamlFor = (backends: Array<{ b: FullBackend; extra?: string }>): string =>
  backendsYaml(backends.map(({ b, extra }) => ({ name: b.name, url: b.url, ...(extra === undefined ? {} : { extra }) })));

const paramsOf = (message: Json): Json => (message['params'] ?? {}) as Json;

/** the backend tools in the relay's list: its own management tools (relay_*) left out */
const backendToolNames = async (relay: SdkRelay): Promise<string[]> =>
  (await relay.client.listTools()).tools.map((tool) => tool.name).filter((name) => !name.startsWith('relay_'));

const BUILT_IN = ['echo', 'progress', 'late_progress', 'slow', 'stubborn', 'log', 'sample', 'elicit', 'roots', 'ping_client'];

const fileTools: FullTool[] = ['read_file', 'write_file', 'delete_file', 'list_dir', 'list_dirs', 'echo'].map((name) => ({
  definition: { name, description: `${name} of the files backend`, inputSchema: { type: 'object' } },
  handler: ({ args }) => ({ content: [{ type: 'text', text: `files:${name}:${JSON.stringify(args)}` }] }),
}));

describe('prefix', () => {
  it('exposes tools as <prefix><name> and calls the backend with its own name', async () => {
    const alpha = await backend({ name: 'alpha' });
    const beta = await backend({ name: 'beta' });
    const relay = await sdkRelay(configFile(yamlFor([{ b: alpha, extra: '    prefix: a_\n' }, { b: beta, extra: '    prefix: b_\n' }])).file);
    expect(await backendToolNames(relay)).toEqual([...BUILT_IN.map((name) => `a_${name}`), ...BUILT_IN.map((name) => `b_${name}`)]);

    expect(textOf(await relay.client.callTool({ name: 'a_echo', arguments: { n: 1 } }))).toBe('alpha:echo:{"n":1}');
    expect(textOf(await relay.client.callTool({ name: 'b_echo', arguments: { n: 2 } }))).toBe('beta:echo:{"n":2}');
    expect(alpha.requests('tools/call').map((r) => paramsOf(r)['name'])).toEqual(['echo']);
    expect(beta.requests('tools/call').map((r) => paramsOf(r)['name'])).toEqual(['echo']);
    // the unprefixed name is not a tool of the relay
    await expect(relay.client.callTool({ name: 'echo', arguments: {} })).rejects.toThrow(/Unknown tool 'echo'/);
  });

  it('keeps every other field of a prefixed tool definition as the backend sent it', async () => {
    const rich: FullTool = {
      definition: { name: 'rich', title: 'Rich', description: 'd', inputSchema: { type: 'object', properties: { a: { type: 'number' } } }, annotations: { readOnlyHint: true }, _meta: { m: 1 }, 'x-custom': [1] },
      handler: () => ({ content: [] }),
    };
    const alpha = await backend({ name: 'alpha', onlyTools: [rich] });
    const relay = await rawRelay(configFile(yamlFor([{ b: alpha, extra: '    prefix: a_\n' }])).file);
    const listed = ((await relay.request('l', 'tools/list'))['result'] as { tools: Json[] }).tools.find((tool) => tool['name'] === 'a_rich');
    expect(listed).toEqual({ ...rich.definition, name: 'a_rich' });
  });

  it('without prefixes, the backend listed first keeps a contested name; prefixes make both reachable', async () => {
    const alpha = await backend({ name: 'alpha' });
    const beta = await backend({ name: 'beta' });
    const relay = await sdkRelay(configFile(yamlFor([{ b: alpha }, { b: beta }])).file);
    expect(await backendToolNames(relay)).toEqual(BUILT_IN);
    expect(textOf(await relay.client.callTool({ name: 'echo', arguments: {} }))).toBe('alpha:echo:{}');
    expect(beta.requests('tools/call')).toEqual([]);
  });

  it('prefixes prompt names too, and restores the backend name in prompts/get and completion/complete', async () => {
    const alpha = await backend({ name: 'alpha' });
    const beta = await backend({ name: 'beta' });
    const relay = await sdkRelay(configFile(yamlFor([{ b: alpha, extra: '    prefix: a_\n' }, { b: beta, extra: '    prefix: b_\n' }])).file);
    const { prompts } = await relay.client.listPrompts();
    expect(prompts.map((p) => p.name)).toEqual(['a_greet', 'a_summarize', 'b_greet', 'b_summarize']);
    expect(prompts[2]).toEqual({ name: 'b_greet', description: 'Greets someone', arguments: [{ name: 'who', required: true }, { name: 'tone' }] });

    const got = await relay.client.getPrompt({ name: 'b_greet', arguments: { who: 'Ada' } });
    expect(got.messages[0]?.content).toEqual({ type: 'text', text: 'beta:greet:{"who":"Ada"}' });
    expect(beta.requests('prompts/get').map(paramsOf)).toEqual([{ name: 'greet', arguments: { who: 'Ada' } }]);
    expect(alpha.requests('prompts/get')).toEqual([]);

    const completed = await relay.client.complete({ ref: { type: 'ref/prompt', name: 'a_greet' }, argument: { name: 'who', value: 'b' } });
    expect(completed.completion.values).toEqual(['bob']);
    expect(alpha.requests('completion/complete').map(paramsOf)).toEqual([{ ref: { type: 'ref/prompt', name: 'greet' }, argument: { name: 'who', value: 'b' } }]);
    await expect(relay.client.getPrompt({ name: 'greet', arguments: { who: 'x' } })).rejects.toThrow(/greet/);
  });

  it('maps progress and cancellation for a prefixed tool like any other', async () => {
    const alpha = await backend({ name: 'alpha' });
    const relay = await rawRelay(configFile(yamlFor([{ b: alpha, extra: '    prefix: a_\n' }])).file);
    const response = await relay.request('p', 'tools/call', { name: 'a_progress', arguments: { steps: 2 }, _meta: { progressToken: 'tok' } });
    expect(textOf(response['result'])).toBe('alpha:progress done after 2 steps');
    const progress = await relay.next((m) => m['method'] === 'notifications/progress' && paramsOf(m)['progress'] === 2);
    expect(paramsOf(progress)['progressToken']).toBe('tok');

    relay.send({ jsonrpc: '2.0', id: 'c', method: 'tools/call', params: { name: 'a_slow', arguments: { ms: 20_000 } } });
    const call = await eventually(() => {
      const found = alpha.requests('tools/call').find((r) => paramsOf(r)['name'] === 'slow');
      expect(found).toBeDefined();
      return found!;
    });
    relay.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'c' } });
    await eventually(() => expect(alpha.aborts().map((a) => a.requestId)).toEqual([call['id']]));
  });
});

describe('tools include/exclude', () => {
  it('exposes the tools an include glob matches, minus those an exclude glob matches (* and ?)', async () => {
    const files = await backend({ name: 'files', onlyTools: fileTools });
    const extra = `    tools:\n      include: ['*_file', 'list_di?']\n      exclude: ['delete_*']\n`;
    const relay = await sdkRelay(configFile(yamlFor([{ b: files, extra }])).file);
    expect(await backendToolNames(relay)).toEqual(['read_file', 'write_file', 'list_dir']);
    expect(textOf(await relay.client.callTool({ name: 'read_file', arguments: { path: '/x' } }))).toBe('files:read_file:{"path":"/x"}');
  });

  it('never sends a call for a filtered-out tool to the backend', async () => {
    const files = await backend({ name: 'files', onlyTools: fileTools });
    const relay = await sdkRelay(configFile(yamlFor([{ b: files, extra: `    tools:\n      exclude: ['delete_*', 'write_*']\n` }])).file);
    expect(await backendToolNames(relay)).toEqual(['read_file', 'list_dir', 'list_dirs', 'echo']);
    await expect(relay.client.callTool({ name: 'delete_file', arguments: {} })).rejects.toThrow(/Unknown tool 'delete_file'/);
    expect(files.requests('tools/call')).toEqual([]);
  });

  it('with only include, exposes just what it matches; an exact name is a glob too', async () => {
    const files = await backend({ name: 'files', onlyTools: fileTools });
    const relay = await sdkRelay(configFile(yamlFor([{ b: files, extra: `    tools:\n      include: [echo, 'list_*']\n` }])).file);
    expect(await backendToolNames(relay)).toEqual(['list_dir', 'list_dirs', 'echo']);
  });

  it("matches the backend's own names, before the prefix is added", async () => {
    const files = await backend({ name: 'files', onlyTools: fileTools });
    const extra = `    prefix: fs_\n    tools:\n      include: ['read_*', echo]\n`;
    const relay = await sdkRelay(configFile(yamlFor([{ b: files, extra }])).file);
    expect(await backendToolNames(relay)).toEqual(['fs_read_file', 'fs_echo']);
    expect(textOf(await relay.client.callTool({ name: 'fs_read_file', arguments: {} }))).toBe('files:read_file:{}');
    expect(files.requests('tools/call').map((r) => paramsOf(r)['name'])).toEqual(['read_file']);
  });

  it('applies an edited filter from backends.yaml without a restart, and says tools/list_changed', async () => {
    const files = await backend({ name: 'files', onlyTools: fileTools });
    const { file } = configFile(yamlFor([{ b: files, extra: `    tools:\n      include: ['read_*']\n` }]));
    const relay = await sdkRelay(file);
    expect(await backendToolNames(relay)).toEqual(['read_file']);

    writeFileSync(file, yamlFor([{ b: files, extra: `    tools:\n      include: ['read_*', 'write_*']\n` }]));
    await eventually(() => expect(relay.listChanged()).toBeGreaterThan(0), 10_000);
    expect(await backendToolNames(relay)).toEqual(['read_file', 'write_file']);
  });
});
