// Resources and prompts through the relay: aggregate lists (paged by the relay itself), reads and subscriptions
// routed by URI (listed, or matched by a template), prompts and completions routed by name or ref, list_changed.
import {
  PromptListChangedNotificationSchema,
  ResourceListChangedNotificationSchema,
  ResourceUpdatedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { fullScope } from './full-scope.js';
import type { FullBackend, FullTool, PromptDef } from '../fixtures/full-backend.js';
import { backendsYaml, configFile, eventually, type RawRelay } from './relay-process.js';

type Json = Record<string, unknown>;

const { backend, sdkRelay, rawRelay } = fullScope();

const configFor = (backends: FullBackend[]): string => configFile(backendsYaml(backends.map((b) => ({ name: b.name, url: b.url })))).file;

const resultOf = (response: Json): Json => {
  if (!('result' in response)) throw new Error(`expected a result, got ${JSON.stringify(response)}`);
  return response['result'] as Json;
};
const errorOf = (response: Json): { code: number; message: string } => {
  if (!('error' in response)) throw new Error(`expected an error, got ${JSON.stringify(response)}`);
  return response['error'] as { code: number; message: string };
};
const paramsOf = (message: Json): Json => (message['params'] ?? {}) as Json;

/** alpha: file:///alpha/..., mem://alpha/status, template file:///notes/{name}, prompts greet and summarize */
const startAlpha = () => backend({ name: 'alpha' });

/** beta: file:///beta/..., mem://beta/status, template beta://items/{id}, prompt translate; its tools are b_-named */
const startBeta = () =>
  backend({
    name: 'beta',
    toolPrefix: 'b_',
    resourceTemplates: [{ uriTemplate: 'beta://items/{id}', name: 'item' }],
    prompts: [{ name: 'translate', description: 'Translates text', arguments: [{ name: 'text', required: true }, { name: 'to' }] }],
    completions: { 'prompt:translate:to': ['french', 'finnish', 'german'], 'resource:beta://items/{id}:id': ['41', '42', '420'] },
  });

const uris = (b: string) => [`file:///${b}/readme.md`, `file:///${b}/guide.md`, `mem://${b}/status`];

describe('resources', () => {
  it('lists the resources and templates of every backend, in config order', async () => {
    const [alpha, beta] = [await startAlpha(), await startBeta()];
    const { client } = await sdkRelay(configFor([alpha, beta]));
    const { resources } = await client.listResources();
    expect(resources.map((r) => r.uri)).toEqual([...uris('alpha'), ...uris('beta')]);
    const { resourceTemplates } = await client.listResourceTemplates();
    expect(resourceTemplates.map((t) => t.uriTemplate)).toEqual(['file:///notes/{name}', 'beta://items/{id}']);
  });

  it('passes list items and read results through untouched, unknown fields included', async () => {
    const [alpha, beta] = [await startAlpha(), await startBeta()];
    const relay = await rawRelay(configFor([alpha, beta]));
    const listed = resultOf(await relay.request('l', 'resources/list'));
    expect(listed['resources']).toEqual([
      { uri: 'file:///alpha/readme.md', name: 'readme', mimeType: 'text/markdown' },
      { uri: 'file:///alpha/guide.md', name: 'guide', mimeType: 'text/markdown', annotations: { audience: ['user'] } },
      { uri: 'mem://alpha/status', name: 'status', mimeType: 'application/json', 'x-extra': { backend: 'alpha' } },
      { uri: 'file:///beta/readme.md', name: 'readme', mimeType: 'text/markdown' },
      { uri: 'file:///beta/guide.md', name: 'guide', mimeType: 'text/markdown', annotations: { audience: ['user'] } },
      { uri: 'mem://beta/status', name: 'status', mimeType: 'application/json', 'x-extra': { backend: 'beta' } },
    ]);
    const read = resultOf(await relay.request('r', 'resources/read', { uri: 'mem://beta/status' }));
    const sentByBeta = beta.sent().map((f) => f.message).find((m) => m['id'] === beta.requests('resources/read')[0]?.['id'] && 'result' in m);
    expect(read).toEqual(sentByBeta?.['result']);
    expect(read).toMatchObject({ _meta: { backend: 'beta' }, 'x-result-extra': { via: 'listed' }, contents: [{ 'x-content-extra': 1 }] });
  });

  it('routes resources/read by listed URI, and by template for URIs no backend lists', async () => {
    const [alpha, beta] = [await startAlpha(), await startBeta()];
    const { client } = await sdkRelay(configFor([alpha, beta]));
    const textOfRead = async (uri: string) => {
      const { contents } = await client.readResource({ uri });
      return (contents[0] as { text?: string }).text;
    };
    expect(await textOfRead('file:///alpha/guide.md')).toBe('alpha:file:///alpha/guide.md (listed)');
    expect(await textOfRead('mem://beta/status')).toBe('beta:mem://beta/status (listed)');
    expect(await textOfRead('file:///notes/todo')).toBe('alpha:file:///notes/todo (template file:///notes/{name})');
    expect(await textOfRead('beta://items/42')).toBe('beta:beta://items/42 (template beta://items/{id})');
    expect(alpha.requests('resources/read').map((r) => paramsOf(r)['uri'])).toEqual(['file:///alpha/guide.md', 'file:///notes/todo']);
    expect(beta.requests('resources/read').map((r) => paramsOf(r)['uri'])).toEqual(['mem://beta/status', 'beta://items/42']);
  });

  it('answers -32602 for a URI no backend lists or matches, without asking any backend', async () => {
    const [alpha, beta] = [await startAlpha(), await startBeta()];
    const relay = await rawRelay(configFor([alpha, beta]));
    await relay.request('l', 'resources/list');
    const error = errorOf(await relay.request('r', 'resources/read', { uri: 'gopher://nowhere/x' }));
    expect(error.code).toBe(-32602);
    expect(error.message).toContain('gopher://nowhere/x');
    expect([...alpha.requests('resources/read'), ...beta.requests('resources/read')]).toEqual([]);
  });

  it("passes a backend's own error for a read through, code and data", async () => {
    const alpha = await startAlpha();
    const relay = await rawRelay(configFor([alpha]));
    // matches alpha's template as the relay reads RFC 6570 (an empty variable), so it is routed there; alpha has no such note
    const error = errorOf(await relay.request('r', 'resources/read', { uri: 'file:///notes/' }));
    const sentByAlpha = alpha.sent().map((f) => f.message).find((m) => m['id'] === alpha.requests('resources/read')[0]?.['id'] && 'error' in m);
    expect(sentByAlpha?.['error']).toMatchObject({ code: -32002, data: { uri: 'file:///notes/' } });
    expect(error).toEqual(sentByAlpha?.['error']);
  });

  it('routes subscribe and unsubscribe to the owner and forwards notifications/resources/updated', async () => {
    const [alpha, beta] = [await startAlpha(), await startBeta()];
    const { client } = await sdkRelay(configFor([alpha, beta]));
    const updates: string[] = [];
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void updates.push(n.params.uri));

    expect(await client.subscribeResource({ uri: 'mem://beta/status' })).toEqual({});
    expect(await client.subscribeResource({ uri: 'file:///notes/todo' })).toEqual({});
    expect(beta.subscriptions()).toEqual(['mem://beta/status']);
    expect(alpha.subscriptions()).toEqual(['file:///notes/todo']);

    await beta.resourceUpdated('mem://beta/status');
    await alpha.resourceUpdated('file:///notes/todo');
    await eventually(() => expect(updates.sort()).toEqual(['file:///notes/todo', 'mem://beta/status']));

    expect(await client.unsubscribeResource({ uri: 'mem://beta/status' })).toEqual({});
    expect(beta.subscriptions()).toEqual([]);
    expect(beta.requests('resources/unsubscribe').map(paramsOf)).toEqual([{ uri: 'mem://beta/status' }]);
    expect(alpha.requests('resources/unsubscribe')).toEqual([]);
  });

  it('keeps a subscription across a backend reconnect: updates still reach the client after a blip', async () => {
    const beta = await startBeta();
    const { client } = await sdkRelay(configFor([beta]));
    const updates: string[] = [];
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void updates.push(n.params.uri));
    await client.subscribeResource({ uri: 'mem://beta/status' });

    beta.dropConnections();
    await eventually(() => expect([beta.connections(), beta.connectionsTotal()]).toEqual([1, 2]), 10_000);
    // the new session knows nothing of the old one's subscriptions unless the relay tells it again
    await eventually(() => expect(beta.subscriptions()).toEqual(['mem://beta/status']), 5_000);
    await beta.resourceUpdated('mem://beta/status');
    await eventually(() => expect(updates).toEqual(['mem://beta/status']));
    expect(beta.received().filter((f) => f.connection === 2 && f.message['method'] === 'resources/subscribe').map((f) => paramsOf(f.message))).toEqual([{ uri: 'mem://beta/status' }]);
  });

  it('does not subscribe a reconnected backend again to what the client unsubscribed', async () => {
    const beta = await startBeta();
    const { client } = await sdkRelay(configFor([beta]));
    await client.subscribeResource({ uri: 'mem://beta/status' });
    await client.subscribeResource({ uri: 'beta://items/7' });
    await client.unsubscribeResource({ uri: 'mem://beta/status' });
    beta.dropConnections();
    await eventually(() => expect([beta.connections(), beta.connectionsTotal()]).toEqual([1, 2]), 10_000);
    await eventually(() => expect(beta.subscriptions()).toEqual(['beta://items/7']), 5_000);
    await new Promise((done) => setTimeout(done, 200));
    expect(beta.subscriptions()).toEqual(['beta://items/7']);
  });

  it('sends notifications/resources/list_changed when a backend changes its resources or templates, and routes the new ones', async () => {
    const [alpha, beta] = [await startAlpha(), await startBeta()];
    const { client } = await sdkRelay(configFor([alpha, beta]));
    let changes = 0;
    client.setNotificationHandler(ResourceListChangedNotificationSchema, () => void (changes += 1));
    await client.listResources();

    await alpha.setResources([{ uri: 'file:///alpha/new.md', name: 'new' }]);
    await eventually(() => expect(changes).toBe(1));
    expect((await client.listResources()).resources.map((r) => r.uri)).toEqual(['file:///alpha/new.md', ...uris('beta')]);
    expect((await client.readResource({ uri: 'file:///alpha/new.md' })).contents[0]).toMatchObject({ text: 'alpha:file:///alpha/new.md (listed)' });

    await beta.setResources(
      [{ uri: 'mem://beta/status', name: 'status' }],
      [{ uriTemplate: 'beta://things/{id}', name: 'thing' }],
    );
    // resources and templates are re-listed together: one change, one list_changed
    await eventually(() => expect(changes).toBe(2));
    await eventually(async () => expect((await client.listResourceTemplates()).resourceTemplates.map((t) => t.uriTemplate)).toEqual(['file:///notes/{name}', 'beta://things/{id}']));
    expect((await client.listResources()).resources.map((r) => r.uri)).toEqual(['file:///alpha/new.md', 'mem://beta/status']);
    expect((await client.readResource({ uri: 'beta://things/9' })).contents[0]).toMatchObject({ text: 'beta:beta://things/9 (template beta://things/{id})' });
    expect(changes).toBe(2);
  });
});

describe('prompts', () => {
  it('lists every backend prompt with its arguments and routes prompts/get to its owner', async () => {
    const [alpha, beta] = [await startAlpha(), await startBeta()];
    const { client } = await sdkRelay(configFor([alpha, beta]));
    const { prompts } = await client.listPrompts();
    expect(prompts).toEqual([
      { name: 'greet', description: 'Greets someone', arguments: [{ name: 'who', required: true }, { name: 'tone' }] },
      { name: 'summarize', description: 'Summarizes a topic', arguments: [{ name: 'topic' }] },
      { name: 'translate', description: 'Translates text', arguments: [{ name: 'text', required: true }, { name: 'to' }] },
    ]);

    const greet = await client.getPrompt({ name: 'greet', arguments: { who: 'Ada', tone: 'warm' } });
    expect(greet.messages).toEqual([{ role: 'user', content: { type: 'text', text: 'alpha:greet:{"who":"Ada","tone":"warm"}' } }]);
    const translate = await client.getPrompt({ name: 'translate', arguments: { text: 'hi', to: 'french' } });
    expect(translate.messages[0]?.content).toEqual({ type: 'text', text: 'beta:translate:{"text":"hi","to":"french"}' });
    expect(alpha.requests('prompts/get').map(paramsOf)).toEqual([{ name: 'greet', arguments: { who: 'Ada', tone: 'warm' } }]);
    expect(beta.requests('prompts/get').map(paramsOf)).toEqual([{ name: 'translate', arguments: { text: 'hi', to: 'french' } }]);
  });

  it("passes a prompt result through untouched, and the backend's error for bad arguments", async () => {
    const alpha = await startAlpha();
    const relay = await rawRelay(configFor([alpha]));
    const result = resultOf(await relay.request('g', 'prompts/get', { name: 'greet', arguments: { who: 'Ada' } }));
    expect(result).toEqual({ description: 'Greets someone', messages: [{ role: 'user', content: { type: 'text', text: 'alpha:greet:{"who":"Ada"}' } }], 'x-prompt-extra': true });
    const error = errorOf(await relay.request('bad', 'prompts/get', { name: 'greet', arguments: {} }));
    expect(error.code).toBe(-32602);
    expect(error.message).toContain('Missing required argument: who');
  });

  it('answers -32602 for an unknown prompt, without asking any backend', async () => {
    const [alpha, beta] = [await startAlpha(), await startBeta()];
    const relay = await rawRelay(configFor([alpha, beta]));
    await relay.request('l', 'prompts/list');
    const error = errorOf(await relay.request('g', 'prompts/get', { name: 'no_such_prompt' }));
    expect(error.code).toBe(-32602);
    expect(error.message).toContain('no_such_prompt');
    expect([...alpha.requests('prompts/get'), ...beta.requests('prompts/get')]).toEqual([]);
  });

  it('sends notifications/prompts/list_changed when a backend changes its prompts, and routes the new ones', async () => {
    const [alpha, beta] = [await startAlpha(), await startBeta()];
    const { client } = await sdkRelay(configFor([alpha, beta]));
    let changes = 0;
    client.setNotificationHandler(PromptListChangedNotificationSchema, () => void (changes += 1));
    await client.listPrompts();

    const next: PromptDef[] = [{ name: 'translate', arguments: [{ name: 'text', required: true }] }, { name: 'farewell', description: 'Says goodbye' }];
    await beta.setPrompts(next);
    await eventually(() => expect(changes).toBe(1));
    expect((await client.listPrompts()).prompts.map((p) => p.name)).toEqual(['greet', 'summarize', 'translate', 'farewell']);
    const farewell = await client.getPrompt({ name: 'farewell' });
    expect(farewell.messages[0]?.content).toEqual({ type: 'text', text: 'beta:farewell:{}' });
  });
});

describe('completion/complete', () => {
  it('routes by ref: a prompt argument to the prompt owner, a template variable to the template owner', async () => {
    const [alpha, beta] = [await startAlpha(), await startBeta()];
    const { client } = await sdkRelay(configFor([alpha, beta]));
    const complete = async (ref: { type: 'ref/prompt'; name: string } | { type: 'ref/resource'; uri: string }, name: string, value: string) =>
      (await client.complete({ ref, argument: { name, value } })).completion.values;

    expect(await complete({ type: 'ref/prompt', name: 'greet' }, 'who', 'al')).toEqual(['alice', 'albert']);
    expect(await complete({ type: 'ref/prompt', name: 'translate' }, 'to', 'f')).toEqual(['french', 'finnish']);
    expect(await complete({ type: 'ref/resource', uri: 'file:///notes/{name}' }, 'name', 'to')).toEqual(['todo', 'today']);
    expect(await complete({ type: 'ref/resource', uri: 'beta://items/{id}' }, 'id', '42')).toEqual(['42', '420']);

    expect(alpha.requests('completion/complete').map(paramsOf)).toEqual([
      { ref: { type: 'ref/prompt', name: 'greet' }, argument: { name: 'who', value: 'al' } },
      { ref: { type: 'ref/resource', uri: 'file:///notes/{name}' }, argument: { name: 'name', value: 'to' } },
    ]);
    expect(beta.requests('completion/complete').map(paramsOf)).toEqual([
      { ref: { type: 'ref/prompt', name: 'translate' }, argument: { name: 'to', value: 'f' } },
      { ref: { type: 'ref/resource', uri: 'beta://items/{id}' }, argument: { name: 'id', value: '42' } },
    ]);
  });

  it('answers -32602 for a ref no backend owns', async () => {
    const alpha = await startAlpha();
    const relay = await rawRelay(configFor([alpha]));
    await relay.request('l', 'prompts/list');
    const unknownPrompt = errorOf(await relay.request('c1', 'completion/complete', { ref: { type: 'ref/prompt', name: 'nope' }, argument: { name: 'x', value: '' } }));
    expect(unknownPrompt.code).toBe(-32602);
    const unknownUri = errorOf(await relay.request('c2', 'completion/complete', { ref: { type: 'ref/resource', uri: 'nope://{x}' }, argument: { name: 'x', value: '' } }));
    expect(unknownUri.code).toBe(-32602);
    expect(alpha.requests('completion/complete')).toEqual([]);
  });
});

describe('paging of the aggregate lists', () => {
  const COUNT = 600;
  const anyObject = { type: 'object' };

  /** follows nextCursor from the relay until the last page; returns each page's size and every item */
  async function allPages(relay: RawRelay, method: string, field: string): Promise<{ sizes: number[]; items: Json[] }> {
    const sizes: number[] = [];
    const items: Json[] = [];
    let cursor: unknown;
    for (let page = 0; page < 10; page++) {
      const result = resultOf(await relay.request(`${method}-${page}`, method, cursor === undefined ? {} : { cursor }));
      const pageItems = result[field] as Json[];
      sizes.push(pageItems.length);
      items.push(...pageItems);
      cursor = result['nextCursor'];
      if (cursor === undefined) return { sizes, items };
      expect(typeof cursor).toBe('string');
    }
    throw new Error(`${method}: more than 10 pages`);
  }

  it('pages big tools, resources and prompts lists with nextCursor (after reading every page of the backend)', async () => {
    const tools: FullTool[] = Array.from({ length: COUNT }, (_, i) => ({ definition: { name: `t${i}`, description: `tool ${i}`, inputSchema: anyObject }, handler: () => ({ content: [] }) }));
    const big = await backend({
      name: 'big',
      pageSize: 100,
      onlyTools: tools,
      resources: Array.from({ length: COUNT }, (_, i) => ({ uri: `mem://big/${i}`, name: `r${i}` })),
      prompts: Array.from({ length: COUNT }, (_, i) => ({ name: `p${i}` })),
    });
    const relay = await rawRelay(configFor([big]));

    const toolPages = await allPages(relay, 'tools/list', 'tools');
    const backendTools = toolPages.items.map((t) => t['name']).filter((name) => !String(name).startsWith('relay_'));
    expect(backendTools).toEqual(tools.map((t) => t.definition['name']));
    expect(toolPages.sizes.length).toBeGreaterThan(1);
    expect(toolPages.sizes[0]).toBeLessThan(toolPages.items.length);

    const resourcePages = await allPages(relay, 'resources/list', 'resources');
    expect(resourcePages.items.map((r) => r['uri'])).toEqual(Array.from({ length: COUNT }, (_, i) => `mem://big/${i}`));
    expect(resourcePages.sizes.length).toBeGreaterThan(1);

    const promptPages = await allPages(relay, 'prompts/list', 'prompts');
    expect(promptPages.items.map((p) => p['name'])).toEqual(Array.from({ length: COUNT }, (_, i) => `p${i}`));
    expect(promptPages.sizes.length).toBeGreaterThan(1);
  });

  it('answers -32602 for a cursor it did not hand out', async () => {
    const alpha = await startAlpha();
    const relay = await rawRelay(configFor([alpha]));
    for (const method of ['tools/list', 'resources/list', 'resources/templates/list', 'prompts/list']) {
      expect(errorOf(await relay.request(`bad-${method}`, method, { cursor: 'not-a-cursor' })).code, method).toBe(-32602);
    }
  });
});
