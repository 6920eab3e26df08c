// backends.yaml under fire (issue 11, "Faults to survive"): invalid YAML, wrong types, the file deleted and recreated,
// 200 edits in two seconds, and management tools racing a hand edit. Every backend here counts its connections, so
// "no backend is ever connected twice" is measured, not assumed: at most one open connection per backend at any
// moment, no reconnect of a backend whose entry did not change, no connection left open to a removed one.
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it, onTestFinished } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { parseDocument } from 'yaml';
import { echoResult } from '../fixtures/mcp-ws-backend.js';
import { echoTool, sleep } from '../fixtures/tools.js';
import { WebSocketServerTransport } from '../fixtures/ws-server-transport.js';
import { backendsYaml, configFile, eventually, FAST_DEFAULTS, startSdkRelay, status, textOf, type SdkRelay } from './relay-process.js';

/** A real MCP server over WebSocket on 127.0.0.1 with one echo tool, `${name}_tool`, that counts the relay's connections. */
interface CountingBackend {
  name: string;
  url: string;
  /** connections open now */
  live(): number;
  /** connections accepted since it started */
  total(): number;
  /** the most connections that were open at one moment */
  peak(): number;
  close(): Promise<void>;
}

const toolOf = (name: string): string => `${name}_tool`;

async function startCountingBackend(name: string): Promise<CountingBackend> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, handleProtocols: (offered) => (offered.has('mcp') ? 'mcp' : false) });
  await new Promise<void>((resolve, reject) => {
    wss.once('listening', resolve);
    wss.once('error', reject);
  });
  const sockets = new Set<WebSocket>();
  const open = (): number => [...sockets].filter((socket) => socket.readyState === WebSocket.OPEN).length;
  let total = 0;
  let peak = 0;
  wss.on('connection', (socket) => {
    total += 1;
    sockets.add(socket);
    // a connection the relay has closed (close frame received) is CLOSING here, so a clean replacement is not two
    peak = Math.max(peak, open());
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    const server = new Server({ name, version: '1.0.0' }, { capabilities: { tools: {} } });
    server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: [echoTool(toolOf(name)).definition] }) as never);
    server.setRequestHandler(CallToolRequestSchema, (request) => echoResult(request.params.name, request.params.arguments ?? {}) as never);
    server.onerror = () => {};
    server.connect(new WebSocketServerTransport(socket)).catch(() => socket.terminate());
  });
  let closed: Promise<void> | undefined;
  return {
    name,
    url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`,
    live: open,
    total: () => total,
    peak: () => peak,
    close: () => {
      closed ??= new Promise<void>((resolve) => {
        for (const socket of sockets) socket.terminate();
        wss.close(() => resolve());
      });
      return closed;
    },
  };
}

/** Backends for one test, each closed when the test ends, whatever happened. */
async function startPool(names: string[]): Promise<CountingBackend[]> {
  const pool: CountingBackend[] = [];
  onTestFinished(async () => {
    await Promise.all(pool.map((backend) => backend.close()));
  });
  for (const name of names) pool.push(await startCountingBackend(name));
  return pool;
}

async function startRelay(file: string): Promise<SdkRelay> {
  const relay = await startSdkRelay(file);
  onTestFinished(() => relay.close());
  return relay;
}

/** backends.yaml naming `names` (in that order), each pointing at the pool backend of that name */
const yamlFor = (pool: CountingBackend[], names: string[]): string =>
  backendsYaml(
    names.map((name) => {
      const backend = pool.find((candidate) => candidate.name === name);
      if (!backend) throw new Error(`no backend ${name} in the pool`);
      return { name, url: backend.url };
    }),
  );

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** the 1-based line of the first line of `text` that `match` accepts */
const lineOf = (text: string, match: (line: string) => boolean): number => text.split('\n').findIndex(match) + 1;

const toolNames = async (relay: SdkRelay): Promise<string[]> => (await relay.client.listTools()).tools.map((tool) => tool.name).filter((name) => !name.startsWith('relay_'));

const callEcho = async (relay: SdkRelay, name: string, args: Record<string, unknown>): Promise<string> => textOf(await relay.client.callTool({ name: toolOf(name), arguments: args }));

/**
 * What the client sees is exactly `names`: relay_get_status, relay_list_servers and tools/list, in the file's order,
 * every one healthy; and each pool backend has one open connection if named, none if not. `configError`: the text
 * status must show as the reason the file on disk is not in force (none when not given).
 */
async function expectServing(relay: SdkRelay, names: string[], pool: CountingBackend[], configError?: RegExp): Promise<void> {
  const s = await status(relay.client);
  if (configError) expect(s.config_error).toMatch(configError);
  else expect(s.config_error).toBeUndefined();
  expect(s.servers.map((server) => [server.name, server.health, server.connected])).toEqual(names.map((name) => [name, 'healthy', true]));
  expect(s).toMatchObject({ total_servers: names.length, connected_servers: names.length, total_tools: names.length });
  const list = textOf(await relay.client.callTool({ name: 'relay_list_servers', arguments: {} }));
  expect(list).toMatch(new RegExp(`^${names.length}/${names.length} backends connected, ${names.length} tools`));
  expect([...list.matchAll(/^- ([\w-]+): ([a-z]+),/gm)].map((match) => `${match[1]}: ${match[2]}`)).toEqual(names.map((name) => `${name}: healthy`));
  if (configError) expect(list).toMatch(/config error \(last good config still in force\): /);
  else expect(list).not.toMatch(/config error/);
  expect(await toolNames(relay)).toEqual(names.map(toolOf));
  expect(Object.fromEntries(pool.map((backend) => [backend.name, backend.live()]))).toEqual(Object.fromEntries(pool.map((backend) => [backend.name, names.includes(backend.name) ? 1 : 0])));
}

/** connections accepted per backend, for "nobody reconnected" checks */
const totals = (pool: CountingBackend[]): Record<string, number> => Object.fromEntries(pool.map((backend) => [backend.name, backend.total()]));

/** a management tool call with a deadline, so a call that never answers fails the test instead of hanging it */
async function manage(relay: SdkRelay, name: string, args: Record<string, unknown>): Promise<{ text: string; isError: boolean }> {
  const result = await relay.client.callTool({ name, arguments: args }, undefined, { timeout: 10_000 });
  return { text: textOf(result), isError: result.isError === true };
}

/** what an error must say when a management edit lost a race: that the file changed under it */
const LOST_EDIT = /changed|modified|edited|concurrent|conflict|race|retry|try again/i;

function expectNeverTwice(pool: CountingBackend[]): void {
  expect(Object.fromEntries(pool.map((backend) => [backend.name, backend.peak()]))).toEqual(Object.fromEntries(pool.map((backend) => [backend.name, Math.min(backend.total(), 1)])));
}

const eventsNamed = (relay: SdkRelay, name: string) => relay.events.filter((event) => event.event === name);

/**
 * a save as most editors make it (a temporary file renamed over): the watcher never sees a half-written file, so each
 * save is one config.invalid or one reload. (writeFileSync truncates first: under load the watcher may catch the empty
 * moment, which is a config.invalid of its own; hot-reload.test.ts covers that kind of save.)
 */
function save(file: string, text: string): void {
  const temporary = `${file}.saving`;
  writeFileSync(temporary, text);
  renameSync(temporary, file);
}

/** the backend names of a file on disk, in order; fails if the file is not valid YAML or not a config */
function namesOnDisk(file: string): string[] {
  const doc = parseDocument(readFileSync(file, 'utf8'));
  if (doc.errors.length > 0) throw new Error(`${file} is not valid YAML: ${doc.errors[0]?.message ?? ''}`);
  const backends = (doc.toJS() as { backends?: Array<{ name?: unknown }> | null } | null)?.backends ?? [];
  return backends.map((entry) => String(entry.name));
}

/** a seeded PRNG (mulberry32): the same edits on every run */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

describe('backends.yaml faults', () => {
  it('keeps the last good config through invalid YAML, says what and where, keeps calls working, then takes the fixed file', async () => {
    const pool = await startPool(['a', 'b', 'c']);
    const [a, b, c] = pool as [CountingBackend, CountingBackend, CountingBackend];
    const { file } = configFile(yamlFor(pool, ['a', 'b']));
    const relay = await startRelay(file);
    await eventually(() => expectServing(relay, ['a', 'b'], pool));
    const before = totals(pool);

    // meant to drop b and add c, but a tab indents c's url: not YAML at all
    const broken = `${FAST_DEFAULTS}backends:\n  - name: a\n    url: ${a.url}\n  - name: c\n\turl: ${c.url}\n`;
    const badLine = lineOf(broken, (line) => line.startsWith('\t'));
    save(file, broken);
    const where = new RegExp(`^${escape(file)}:${badLine}: invalid YAML: .*[Tt]ab`);
    await eventually(async () => expect((await status(relay.client)).config_error).toMatch(where));
    await eventually(() => expect(eventsNamed(relay, 'config.invalid')).toEqual([expect.objectContaining({ file, line: badLine, error: expect.stringMatching(where) })]));
    await expectServing(relay, ['a', 'b'], pool, where);
    expect(await callEcho(relay, 'a', { n: 1 })).toBe('a_tool:{"n":1}');
    expect(await callEcho(relay, 'b', { n: 2 })).toBe('b_tool:{"n":2}');
    await expect(relay.client.callTool({ name: 'c_tool', arguments: {} })).rejects.toThrow(/Unknown tool 'c_tool'/);

    // a second kind of broken YAML: a key given twice in one entry (it meant to rename a to c)
    const twice = `${FAST_DEFAULTS}backends:\n  - name: a\n    url: ${a.url}\n    name: c\n  - name: b\n    url: ${b.url}\n`;
    const twiceLine = lineOf(twice, (line) => line === '    name: c');
    save(file, twice);
    const twiceWhere = new RegExp(`^${escape(file)}:${twiceLine}: invalid YAML: .*unique`);
    await eventually(async () => expect((await status(relay.client)).config_error).toMatch(twiceWhere));
    await eventually(() => expect(eventsNamed(relay, 'config.invalid').map((event) => event['line'])).toEqual([badLine, twiceLine]));
    await expectServing(relay, ['a', 'b'], pool, twiceWhere);
    expect(await callEcho(relay, 'b', { n: 3 })).toBe('b_tool:{"n":3}');
    expect(totals(pool)).toEqual(before);
    expect(relay.listChanged()).toBe(0);

    // fixed: b goes, c comes, a is left alone
    save(file, yamlFor(pool, ['a', 'c']));
    await eventually(() => expectServing(relay, ['a', 'c'], pool));
    expect(await callEcho(relay, 'c', { n: 4 })).toBe('c_tool:{"n":4}');
    await expect(relay.client.callTool({ name: 'b_tool', arguments: {} })).rejects.toThrow(/Unknown tool 'b_tool'/);
    expect(totals(pool)).toEqual({ a: 1, b: 1, c: 1 });
    expectNeverTwice(pool);
    await eventually(() =>
      expect(eventsNamed(relay, 'config.reloaded').map((event) => event['backends'])).toEqual([
        ['a', 'b'],
        ['a', 'c'],
      ]),
    );
  });

  it('keeps the last good config through valid YAML with wrong types, naming the line and the field of each', async () => {
    const pool = await startPool(['a', 'b', 'c']);
    const [a, b] = pool as [CountingBackend, CountingBackend, CountingBackend];
    const { file } = configFile(yamlFor(pool, ['a', 'b']));
    const relay = await startRelay(file);
    await eventually(() => expectServing(relay, ['a', 'b'], pool));
    const before = totals(pool);

    const wrong: Array<{ text: string; line: number; field: string; message: RegExp }> = [];
    const add = (text: string, marker: string, field: string, message: RegExp) => wrong.push({ text, line: lineOf(text, (line) => line.includes(marker)), field, message });
    add(backendsYaml([{ name: 'a', url: a.url }, { name: 'b', url: b.url, extra: '    timeoutMs: soon\n' }]), 'timeoutMs: soon', 'backends[1].timeoutMs', /expected number/);
    add(`${FAST_DEFAULTS}backends:\n  name: a\n  url: ${a.url}\n`, 'backends:', 'backends', /expected array/);
    add(backendsYaml([{ name: 'a', url: a.url }, { name: 'b', url: '42' }]), 'url: 42', 'backends[1].url', /expected string/);
    add(backendsYaml([{ name: 'a', url: a.url, extra: '    enabled: "no"\n' }]), 'enabled:', 'backends[0].enabled', /expected boolean/);
    add(`${FAST_DEFAULTS}backends:\n  - name: [a]\n    url: ${a.url}\n`, 'name: [a]', 'backends[0].name', /expected string/);

    for (const [index, bad] of wrong.entries()) {
      save(file, bad.text);
      const where = new RegExp(`^${escape(file)}:${bad.line}: ${escape(bad.field)}: .*${bad.message.source}`);
      await eventually(async () => expect((await status(relay.client)).config_error).toMatch(where));
      await eventually(() => expect(eventsNamed(relay, 'config.invalid')[index]).toMatchObject({ file, line: bad.line, field: bad.field, error: expect.stringMatching(where) }));
      await expectServing(relay, ['a', 'b'], pool, where);
      expect(await callEcho(relay, 'a', { i: index })).toBe(`a_tool:{"i":${index}}`);
      expect(await callEcho(relay, 'b', { i: index })).toBe(`b_tool:{"i":${index}}`);
    }
    expect(eventsNamed(relay, 'config.invalid')).toHaveLength(wrong.length);
    expect(totals(pool)).toEqual(before);
    expect(relay.listChanged()).toBe(0);

    // fixed: a goes, c comes, b is left alone
    save(file, yamlFor(pool, ['b', 'c']));
    await eventually(() => expectServing(relay, ['b', 'c'], pool));
    expect(await callEcho(relay, 'c', {})).toBe('c_tool:{}');
    expect(totals(pool)).toEqual({ a: 1, b: 1, c: 1 });
    expectNeverTwice(pool);
    await eventually(() => expect(eventsNamed(relay, 'config.reloaded')).toHaveLength(2));
  });

  it('keeps serving while the file is deleted, then follows the file recreated with different content', async () => {
    const pool = await startPool(['a', 'b', 'c', 'd']);
    const [, b, c, d] = pool as [CountingBackend, CountingBackend, CountingBackend, CountingBackend];
    const { file } = configFile(yamlFor(pool, ['a', 'b', 'c']));
    const relay = await startRelay(file);
    await eventually(() => expectServing(relay, ['a', 'b', 'c'], pool));

    rmSync(file);
    const missing = new RegExp(`^${escape(file)}: file not found`);
    await eventually(async () => expect((await status(relay.client)).config_error).toMatch(missing));
    await eventually(() => expect(eventsNamed(relay, 'config.invalid')).toEqual([expect.objectContaining({ file, error: expect.stringMatching(missing) })]));
    await expectServing(relay, ['a', 'b', 'c'], pool, missing);
    expect(await callEcho(relay, 'a', {})).toBe('a_tool:{}');
    expect(totals(pool)).toEqual({ a: 1, b: 1, c: 1, d: 0 });

    // recreated: a removed, b unchanged, c changed (so it alone reconnects, once), d added; a new order
    const recreated = backendsYaml([
      { name: 'c', url: c.url, extra: '    timeoutMs: 20000\n' },
      { name: 'b', url: b.url },
      { name: 'd', url: d.url },
    ]);
    writeFileSync(file, recreated);
    await eventually(() => expectServing(relay, ['c', 'b', 'd'], pool));
    expect(await callEcho(relay, 'd', {})).toBe('d_tool:{}');
    await expect(relay.client.callTool({ name: 'a_tool', arguments: {} })).rejects.toThrow(/Unknown tool 'a_tool'/);
    expect(totals(pool)).toEqual({ a: 1, b: 1, c: 2, d: 1 });

    // deleted once more and recreated with the same text: nothing changes for anyone
    rmSync(file);
    await eventually(async () => expect((await status(relay.client)).config_error).toMatch(missing));
    writeFileSync(file, recreated);
    await eventually(() => expectServing(relay, ['c', 'b', 'd'], pool));
    expect(totals(pool)).toEqual({ a: 1, b: 1, c: 2, d: 1 });
    expectNeverTwice(pool);
    await eventually(() => expect(eventsNamed(relay, 'config.invalid')).toHaveLength(2));
  });

  it('settles 200 edits in two seconds into exactly the last file, never connecting a backend twice', async () => {
    const names = Array.from({ length: 10 }, (_, index) => `p${index}`);
    // anchor is in every file with the same entry: it must keep its one connection throughout
    const pool = await startPool(['anchor', ...names]);
    const { file } = configFile(yamlFor(pool, ['anchor', 'p0']));
    const relay = await startRelay(file);
    await eventually(() => expectServing(relay, ['anchor', 'p0'], pool));

    const next = random(11);
    const files: string[][] = [];
    let previous = 'anchor,p0';
    for (let edit = 0; edit < 200; edit++) {
      let chosen: string[];
      do {
        chosen = names.filter(() => next() < 0.5);
        chosen.splice(Math.floor(next() * (chosen.length + 1)), 0, 'anchor');
        // shuffled: the order of the file is part of what must match
        for (let i = chosen.length - 1; i > 0; i--) {
          const j = Math.floor(next() * (i + 1));
          [chosen[i], chosen[j]] = [chosen[j] as string, chosen[i] as string];
        }
      } while (chosen.join(',') === previous);
      previous = chosen.join(',');
      files.push(chosen);
    }
    const last = files[files.length - 1] ?? [];
    // bursts of quick saves with a pause after every tenth, so some of the configs in between are loaded and
    // torn down mid-connect, and the rest land inside the watcher's settle time
    const started = Date.now();
    for (const [edit, chosen] of files.entries()) {
      writeFileSync(file, yamlFor(pool, chosen));
      await sleep(edit % 10 === 9 ? 60 + Math.floor(next() * 30) : Math.floor(next() * 3));
    }
    const took = Date.now() - started;
    expect(took).toBeLessThan(3_500);

    await eventually(() => expectServing(relay, last, pool), 10_000);
    // the event lines on stderr may trail the answers on stdout
    await eventually(() => expect(eventsNamed(relay, 'config.reloaded').at(-1)?.['backends']).toEqual(last));
    const reloads = eventsNamed(relay, 'config.reloaded').map((event) => event['backends'] as string[]);
    // some of the configs in between were in force for a while: the test did exercise the diff
    expect(reloads.length).toBeGreaterThan(5);

    // a backend connects at most once per time it came (back) into the config in force, and never twice at once
    const comings: Record<string, number> = Object.fromEntries(pool.map((backend) => [backend.name, 0]));
    let inForce: string[] = [];
    for (const backends of reloads) {
      for (const name of backends) if (!inForce.includes(name)) comings[name] = (comings[name] ?? 0) + 1;
      inForce = backends;
    }
    for (const backend of pool) expect(backend.total(), `connections to ${backend.name}, which came into the config ${comings[backend.name]} times`).toBeLessThanOrEqual(comings[backend.name] ?? 0);
    expect(pool[0]?.total()).toBe(1);
    expectNeverTwice(pool);
    for (const name of last) expect(await callEcho(relay, name, { last: true })).toBe(`${toolOf(name)}:{"last":true}`);
    // settled for good: nothing more happens once the last file is in force
    await sleep(300);
    await expectServing(relay, last, pool);
    expect(eventsNamed(relay, 'config.reloaded')).toHaveLength(reloads.length);
  }, 20_000);

  it('two management edits racing a hand edit: the file holds every edit (or an error names the one that lost) and the relay serves the file', async () => {
    const pool = await startPool(['a', 'b', 'c', 'h']);
    const [a, b, c, h] = pool as [CountingBackend, CountingBackend, CountingBackend, CountingBackend];
    const base = yamlFor(pool, ['a', 'b']);
    const { file } = configFile(base);
    const relay = await startRelay(file);
    await eventually(() => expectServing(relay, ['a', 'b'], pool));

    // a person's save: read what is on disk now, add one entry at the end, write it back
    const handEdit = () => writeFileSync(file, `${readFileSync(file, 'utf8').replace(/\n?$/, '\n')}  - name: h\n    url: ${h.url}\n`);
    // the hand edit lands at a different moment of the two management edits each round
    const delays = [0, 1, 2, 3, 4, 6, 8, 12];
    let handLost = 0;
    for (const delayMs of delays) {
      const [added, removed] = await Promise.all([manage(relay, 'relay_add_server', { name: 'c', url: c.url }), manage(relay, 'relay_remove_server', { name: 'b' }), sleep(delayMs).then(handEdit)]);
      const round = `hand edit ${delayMs} ms after the calls; add: ${added.text}; remove: ${removed.text}; file:\n${readFileSync(file, 'utf8')}`;
      const onDisk = namesOnDisk(file);
      // the hand edit is a plain write, and there is no compare-and-swap on a file: the relay compares the file with
      // what its edit read and renames its text over it back to back, but a save landing between the two (a context
      // switch on a busy machine makes that window milliseconds: CI 23:05 lost it once in 8 rounds) is overwritten.
      // Nobody can report that loss, so it is not asserted; what is: the relay never claims an edit the file lacks,
      // never leaves one twice, and serves exactly what is on disk
      if (!onDisk.includes('h')) handLost++;
      if (added.isError) expect(added.text, round).toMatch(LOST_EDIT);
      else expect(onDisk, round).toContain('c');
      if (removed.isError) expect(removed.text, round).toMatch(LOST_EDIT);
      else expect(onDisk, round).not.toContain('b');
      expect(onDisk.filter((name) => name === 'h').length, round).toBeLessThanOrEqual(1);
      await eventually(() => expectServing(relay, namesOnDisk(file), pool));

      // back to a and b, by hand
      writeFileSync(file, base);
      await eventually(() => expectServing(relay, ['a', 'b'], pool));
    }
    // the race is narrow: most rounds keep the hand edit (losing it every time would be the old read-then-write bug)
    expect(handLost).toBeLessThan(delays.length / 2);
    // a was in every file: one connection from start to end; b left and came back at most once a round
    expect(a.total()).toBe(1);
    expect(b.total()).toBeLessThanOrEqual(delays.length + 1);
    expectNeverTwice(pool);
  });

  it('management edits while a hand save has left the file empty: what the person saves is kept, and no backend is dropped meanwhile', async () => {
    const pool = await startPool(['a', 'b', 'c']);
    const [a, b, c] = pool as [CountingBackend, CountingBackend, CountingBackend];
    const { file } = configFile(yamlFor(pool, ['a', 'b']));
    const relay = await startRelay(file);
    await eventually(() => expectServing(relay, ['a', 'b'], pool));

    // an editor's truncate-then-write, caught between the two: the relay keeps a and b and says the file is empty
    writeFileSync(file, '');
    await eventually(async () => expect((await status(relay.client)).config_error).toMatch(/the file is empty/));
    const calls = Promise.all([manage(relay, 'relay_add_server', { name: 'c', url: c.url }), manage(relay, 'relay_remove_server', { name: 'b' })]);
    // a relay may answer at once (done or refused) or hold the edits until the file is whole again: give it a moment
    let meanwhile = '(the calls were still waiting when the save completed)';
    await Promise.race([calls.then(() => (meanwhile = `file after the management edits:\n${readFileSync(file, 'utf8')}`)), sleep(1_000)]);
    // the save completes with what the person had in the editor
    writeFileSync(file, `# saved by hand\n${yamlFor(pool, ['a', 'b'])}`);
    const [added, removed] = await calls;
    const round = `add: ${added.text}; remove: ${removed.text}; ${meanwhile}\nfile now:\n${readFileSync(file, 'utf8')}`;
    const onDisk = namesOnDisk(file);
    // an edit refused because the file is mid-save must say so (not, say, that b is not configured)
    const refused = new RegExp(`empty|${LOST_EDIT.source}`, 'i');
    if (added.isError) expect(added.text, round).toMatch(refused);
    else expect(onDisk, round).toContain('c');
    if (removed.isError) expect(removed.text, round).toMatch(refused);
    else expect(onDisk, round).not.toContain('b');
    await eventually(() => expectServing(relay, onDisk, pool));
    // a and b were in every file the person wrote: neither was ever disconnected
    expect({ a: a.total(), b: b.total() }, round).toEqual({ a: 1, b: 1 });
    expectNeverTwice(pool);
  });
});
