// The admin listener follows backends.yaml when the file names it: a reload moves it (the new port answers, the old
// one is closed, the counters carry on), an address it cannot bind leaves it where it was with an admin.error, and
// removing admin: closes it. With --admin on the command line, the file's admin.listen is not followed.
import { writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startBackend } from '../fixtures/mcp-ws-backend.js';
import { echoTool } from '../fixtures/tools.js';
import { freePort } from './backend-process.js';
import { spawnRelay, wsClient } from './network-relay.js';
import { backendsYaml, configFile, eventually, FAST_DEFAULTS, type RelayEventLine } from './relay-process.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const refused = async (url: string): Promise<boolean> =>
  fetch(url, { signal: AbortSignal.timeout(2_000) }).then(
    () => false,
    () => true,
  );

function nth(events: RelayEventLine[], name: string, index: number): RelayEventLine {
  const found = events.filter((event) => event.event === name)[index];
  if (found === undefined) throw new Error(`no ${name} #${index + 1} yet: ${JSON.stringify(events.slice(-4))}`);
  return found;
}

describe('the admin listener on reload', () => {
  it('moves to a new admin.listen, keeps its counters, stays put on a port it cannot bind, and closes when removed', async () => {
    const work = await startBackend({ name: 'work', tools: [echoTool('echo')] });
    cleanups.push(() => work.close());
    const [first, second] = [await freePort(), await freePort()];
    const yaml = (admin: string) => backendsYaml([{ name: 'work', url: work.url }], `${FAST_DEFAULTS}${admin}`);
    const { file } = configFile(yaml(`admin: { listen: "127.0.0.1:${first}" }\n`));
    const relay = spawnRelay(['--config', file, '--no-stdio', '--listen', 'ws://127.0.0.1:0/mcp']);
    cleanups.push(async () => {
      relay.child.kill('SIGKILL');
      await relay.exited;
    });
    const firstUrl = `http://127.0.0.1:${first}`;
    expect(await eventually(() => nth(relay.events, 'admin.listen', 0)['url'])).toBe(firstUrl);
    const ws = String(await eventually(() => nth(relay.events, 'front.listen', 0)['url']));
    const { client } = await wsClient(ws);
    cleanups.push(() => client.close());
    await eventually(async () => expect((await client.listTools()).tools.map((tool) => tool.name)).toContain('echo'));
    await client.callTool({ name: 'echo', arguments: {} });
    await eventually(async () => expect(await (await fetch(`${firstUrl}/metrics`)).text()).toContain('mcp_relay_calls_total{backend="work",tool="echo",outcome="ok"} 1'));

    // moved: the new port serves, the old one no longer does, and the count went with it
    writeFileSync(file, yaml(`admin: { listen: "127.0.0.1:${second}" }\n`));
    const secondUrl = `http://127.0.0.1:${second}`;
    const moved = await eventually(() => nth(relay.events, 'admin.listen', 1));
    expect(moved).toMatchObject({ url: secondUrl, previous: firstUrl });
    await client.callTool({ name: 'echo', arguments: {} });
    await eventually(async () => expect(await (await fetch(`${secondUrl}/metrics`)).text()).toContain('mcp_relay_calls_total{backend="work",tool="echo",outcome="ok"} 2'));
    expect(await refused(`${firstUrl}/healthz`)).toBe(true);

    // a port another program holds: the listener stays where it was, and the log says why
    const holder = createServer();
    await new Promise<void>((done) => holder.listen(0, '127.0.0.1', done));
    cleanups.push(() => new Promise((done) => holder.close(done)));
    const taken = (holder.address() as AddressInfo).port;
    writeFileSync(file, yaml(`admin: { listen: "127.0.0.1:${taken}" }\n`));
    const error = await eventually(() => nth(relay.events, 'admin.error', 0));
    expect(String(error['error'])).toMatch(new RegExp(`127\\.0\\.0\\.1:${taken}.*EADDRINUSE`));
    expect((await fetch(`${secondUrl}/healthz`)).status).toBe(200);

    // removed: closed
    writeFileSync(file, yaml(''));
    await eventually(() => nth(relay.events, 'admin.close', 0));
    expect(await refused(`${secondUrl}/healthz`)).toBe(true);
    // and the relay serves on
    expect((await client.callTool({ name: 'echo', arguments: { n: 3 } })).isError).toBeFalsy();
  });

  it('--admin on the command line stays, whatever the file says', async () => {
    const work = await startBackend({ name: 'work', tools: [echoTool('echo')] });
    cleanups.push(() => work.close());
    const port = await freePort();
    const { file } = configFile(backendsYaml([{ name: 'work', url: work.url }]));
    const relay = spawnRelay(['--config', file, '--no-stdio', '--listen', 'ws://127.0.0.1:0/mcp', '--admin', `127.0.0.1:${port}`]);
    cleanups.push(async () => {
      relay.child.kill('SIGKILL');
      await relay.exited;
    });
    await eventually(() => nth(relay.events, 'admin.listen', 0));
    const other = await freePort();
    writeFileSync(file, backendsYaml([{ name: 'work', url: work.url }], `${FAST_DEFAULTS}admin: { listen: "127.0.0.1:${other}" }\n`));
    await eventually(() => nth(relay.events, 'config.reloaded', 1));
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    expect(await refused(`http://127.0.0.1:${other}/healthz`)).toBe(true);
    expect(relay.events.filter((event) => event.event === 'admin.listen')).toHaveLength(1);
  });
});
