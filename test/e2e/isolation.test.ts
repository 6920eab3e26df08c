// isolation: per-client: each client its own backend session (its own connection, or its own process for a command:
// backend), opened when it initializes and closed when it leaves; a backend's requests then reach exactly the client
// whose session it is, however many call at once.
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { CreateMessageRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { startFullBackend, type FullBackend } from '../fixtures/full-backend.js';
import { configFile, eventually, FAST_DEFAULTS, textOf } from './relay-process.js';
import { httpClient, startNetworkRelay, wsClient, type NetworkRelay } from './network-relay.js';

const STDIO_BACKEND = resolve(import.meta.dirname, '../../dist/test/fixtures/stdio-backend.js');

let shared: FullBackend;
let isolated: FullBackend;
let relay: NetworkRelay;

beforeAll(async () => {
  shared = await startFullBackend({ name: 'shared', toolPrefix: 'shared_' });
  isolated = await startFullBackend({ name: 'mine', toolPrefix: 'mine_' });
  const yaml = `${FAST_DEFAULTS}backends:
  - name: shared
    url: ${shared.url}
  - name: mine
    url: ${isolated.url}
    isolation: per-client
  - name: proc
    command: ${process.execPath}
    args: [${STDIO_BACKEND}]
    isolation: per-client
    prefix: proc_
`;
  relay = await startNetworkRelay(configFile(yaml).file);
});

afterAll(async () => {
  await relay.stop();
  await shared.close();
  await isolated.close();
});

const statusOf = async (client: Client) => JSON.parse(textOf(await client.callTool({ name: 'relay_get_status', arguments: {} }))) as { servers: Array<Record<string, unknown>>; clients: Array<Record<string, unknown>> };

const processAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('isolation: per-client', () => {
  it('gives each client its own connection and process, in its catalogue only, and closes them when it leaves', async () => {
    const before = isolated.connectionsTotal();
    const first = await wsClient(relay.ws, {}, 'first');
    const second = await httpClient(relay.http, {}, 'second');
    for (const { client } of [first, second]) {
      await eventually(async () => expect((await client.listTools()).tools.map((tool) => tool.name)).toEqual(expect.arrayContaining(['shared_echo', 'mine_echo', 'proc_echo'])));
    }
    // one shared connection for both; one connection each to the per-client backend
    expect(shared.connectionsTotal()).toBe(1);
    expect(isolated.connectionsTotal() - before).toBe(2);
    const pids = await Promise.all([first, second].map(async ({ client }) => Number(textOf(await client.callTool({ name: 'proc_pid', arguments: {} })))));
    expect(pids[0]).not.toBe(pids[1]);
    expect(pids.every(processAlive)).toBe(true);

    const status = await statusOf(first.client);
    expect(status.servers.find((server) => server['name'] === 'mine')).toMatchObject({ isolation: 'per-client' });
    const mine = status.clients.find((client) => (client['client_info'] as { name: string }).name === 'first');
    expect(mine?.['backends']).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'mine', connected: true, health: 'healthy' }), expect.objectContaining({ name: 'proc', connected: true, health: 'healthy' })]),
    );

    await first.client.close();
    await eventually(() => expect(processAlive(pids[0] as number)).toBe(false));
    await eventually(() => expect(isolated.connections()).toBe(1));
    expect(processAlive(pids[1] as number)).toBe(true);
    await second.transport.terminateSession();
    await eventually(() => expect(processAlive(pids[1] as number)).toBe(false));
  });

  it("sends each backend request to the client whose own session asked, with calls of several clients in flight at once", async () => {
    const clients = await Promise.all(
      ['ann', 'ben', 'cat'].map(async (name, index) => {
        const { client } = await (index === 1 ? wsClient(relay.ws, { sampling: {} }, name) : httpClient(relay.http, { sampling: {} }, name));
        client.setRequestHandler(CreateMessageRequestSchema, async () => {
          await new Promise((done) => setTimeout(done, 30));
          return { role: 'assistant', model: name, content: { type: 'text', text: `from ${name}` } };
        });
        return { name, client };
      }),
    );
    const answers = await Promise.all(clients.map(async ({ name, client }) => ({ name, answer: JSON.parse(textOf(await client.callTool({ name: 'mine_sample', arguments: {} }))) as { result: { model: string } } })));
    for (const { name, answer } of answers) expect(answer.result.model).toBe(name);
    await Promise.all(clients.map(({ client }) => client.close()));
  });
});
