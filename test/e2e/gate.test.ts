// Every forwarded call goes through its backend's gate: a circuit breaker, a bounded queue, a cap on calls in flight,
// and instances of one service (urls:). Real backends on 127.0.0.1, the built relay, what the client sees.
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { backendProcess, freePort } from './backend-process.js';
import type { ServerStatus } from '../../streams/catalogue/status.js';
import { afterEach, describe, expect, it } from 'vitest';
import { startBackend, type FixtureTool, type RunningBackend } from '../fixtures/mcp-ws-backend.js';
import { echoTool, hangTool, sleep } from '../fixtures/tools.js';
import { backendsYaml, configFile, eventually, FAST_DEFAULTS, startSdkRelay, status, textOf, type RelayEventLine, type SdkRelay, type StatusJson } from './relay-process.js';


/** a failure the relay answers without asking the backend: well under any call timeout in this file */
const FAST_MS = 250;

/** a server as relay_get_status shows it, with the gate's fields (the types status.ts declares) */
type ServerJson = StatusJson['servers'][number] & Required<Pick<ServerStatus, 'breaker' | 'queue' | 'forwarded_in_flight' | 'max_in_flight'>> & Pick<ServerStatus, 'instances'>;

async function server(relay: SdkRelay, index = 0): Promise<ServerJson> {
  const found = (await status(relay.client)).servers[index] as ServerJson | undefined;
  if (found === undefined) throw new Error(`no server ${index} in status`);
  return found;
}



const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function relayOver(backends: Array<{ name: string; url: string; extra?: string }>): Promise<SdkRelay> {
  return relayWith(backendsYaml(backends, FAST_DEFAULTS));
}

async function relayWith(yaml: string): Promise<SdkRelay> {
  const relay = await startSdkRelay(configFile(yaml).file);
  cleanups.push(() => relay.close());
  return relay;
}

async function backend(name: string, tools: FixtureTool[], options: Partial<Parameters<typeof startBackend>[0]> = {}): Promise<RunningBackend> {
  const running = await startBackend({ name, tools, ...options });
  cleanups.push(() => running.close());
  return running;
}

/** a killable backend process, killed -9 at the end of the test whatever state it is in */
async function killable(port: number, tools: string): Promise<{ kill: () => void; restart: () => Promise<void> }> {
  let child = await backendProcess(port, tools);
  cleanups.push(() => child.kill('SIGKILL'));
  return {
    kill: () => void child.kill('SIGKILL'),
    restart: async () => {
      child = await backendProcess(port, tools);
    },
  };
}

/** the call's JSON-RPC error (it must fail) and how long the client waited for it */
async function failure(relay: SdkRelay, name: string, args: Record<string, unknown> = {}): Promise<{ error: McpError; ms: number }> {
  const started = performance.now();
  try {
    const result = await relay.client.callTool({ name, arguments: args });
    throw new Error(`expected '${name}' to fail, it answered ${JSON.stringify(result)}`);
  } catch (error: unknown) {
    if (!(error instanceof McpError)) throw error;
    return { error, ms: performance.now() - started };
  }
}

/** the ISO time in a -32058 message: when the next probe may go */
function retryAtOf(message: string): string {
  const match = /until (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z), when one probe call may try again/.exec(message);
  if (!match?.[1]) throw new Error(`no retry time in: ${message}`);
  return match[1];
}

const eventsNamed = (relay: SdkRelay, name: string, backendName: string): RelayEventLine[] =>
  relay.events.filter((event) => event.event === name && event['backend'] === backendName);

/** until the breaker's cooldown has passed (its next_probe_at is the relay's own clock, the same machine's) */
const untilProbe = (iso: string): Promise<void> => sleep(Math.max(0, Date.parse(iso) - Date.now() + 30));

/** a tool whose calls wait until the test releases them (every call from then on answers at once), counting how many run */
function heldTool(name: string): FixtureTool & { running: () => number; most: () => number; release: () => void } {
  let running = 0;
  let most = 0;
  let release: () => void = () => undefined;
  const released = new Promise<void>((done) => (release = done));
  return {
    definition: { name, description: 'Answers when the test releases it', inputSchema: { type: 'object' } },
    handler: async (args, { signal }) => {
      running++;
      most = Math.max(most, running);
      try {
        await Promise.race([released, sleep(Infinity, signal)]);
      } finally {
        running--;
      }
      return { content: [{ type: 'text', text: `${name}:${JSON.stringify(args)}` }] };
    },
    running: () => running,
    most: () => most,
    release: () => release(),
  };
}

/** a tool that answers after `ms`, counting how many of its calls run at once */
function countedSlowTool(name: string, ms: number): FixtureTool & { most: () => number } {
  let running = 0;
  let most = 0;
  return {
    definition: { name, description: `Answers after ${ms} ms`, inputSchema: { type: 'object' } },
    handler: async (args, { signal }) => {
      running++;
      most = Math.max(most, running);
      try {
        await sleep(ms, signal);
      } finally {
        running--;
      }
      return { content: [{ type: 'text', text: `${name}:${JSON.stringify(args)}` }] };
    },
    most: () => most,
  };
}

describe('circuit breaker', () => {
  it('opens after failureThreshold call timeouts, fails fast while open, and a probe after the cooldown decides: a timeout reopens it, an answer closes it', async () => {
    const hang = hangTool('hang');
    const server1 = await backend('brk', [hang, echoTool('brk_echo')]);
    const relay = await relayOver([{ name: 'brk', url: server1.url, extra: '    timeoutMs: 1000\n    circuitBreaker: { failureThreshold: 3, cooldownMs: 1500 }\n' }]);
    await relay.client.listTools();

    // three transport failures in a row (call timeouts) open it
    const timeouts = await Promise.all([0, 1, 2].map((i) => failure(relay, 'hang', { i })));
    for (const { error } of timeouts) expect(error.code).toBe(-32052);
    const opened = await eventually(() => {
      const events = eventsNamed(relay, 'breaker.open', 'brk');
      expect(events).toHaveLength(1);
      return events[0] as RelayEventLine;
    });
    expect(opened).toMatchObject({ backend: 'brk', failures: 3 });
    expect(String(opened['reason'])).not.toBe('');
    expect(Date.parse(String(opened['retry_at']))).toBeGreaterThan(Date.now());

    // while open: an error that says so and when it retries, long before any timeout, and the backend never sees the call
    const callsBefore = server1.calls().length;
    const fast = await failure(relay, 'brk_echo', { while: 'open' });
    expect(fast.ms).toBeLessThan(FAST_MS);
    expect(fast.error.code).toBe(-32058);
    expect(fast.error.message).toMatch(/backend 'brk', tool 'brk_echo': the circuit breaker is open after 3 consecutive failures .*until \S+, when one probe call may try again/);
    const retryAt = retryAtOf(fast.error.message);
    expect(retryAt).toBe(opened['retry_at']);
    expect(server1.calls()).toHaveLength(callsBefore);

    const whileOpen = await server(relay);
    expect(whileOpen.breaker).toMatchObject({ state: 'open', consecutive_failures: 3, failure_threshold: 3, cooldown_ms: 1500, opened: 1, rejected: 1, next_probe_at: retryAt });
    expect(whileOpen.breaker.last_failure).toEqual(expect.any(String));
    expect(whileOpen.connected).toBe(true);

    // after the cooldown the next call is the one probe: while it runs, others still fail fast; its timeout reopens the breaker
    await untilProbe(retryAt);
    const probe = failure(relay, 'hang', { probe: 1 });
    await eventually(async () => expect((await server(relay)).breaker.state).toBe('half-open'));
    const during = await failure(relay, 'brk_echo', { during: 'probe' });
    expect(during.ms).toBeLessThan(FAST_MS);
    expect(during.error.code).toBe(-32058);
    expect(during.error.message).toMatch(/circuit breaker is open .*while one probe call decides/);
    expect((await probe).error.code).toBe(-32052);
    await eventually(() => expect(eventsNamed(relay, 'breaker.open', 'brk')).toHaveLength(2));
    const reopened = await server(relay);
    expect(reopened.breaker).toMatchObject({ state: 'open', opened: 2, consecutive_failures: 4 });
    const again = await failure(relay, 'brk_echo', {});
    expect(again.ms).toBeLessThan(FAST_MS);
    expect(again.error.code).toBe(-32058);
    const secondRetry = retryAtOf(again.error.message);
    expect(secondRetry).toBe(reopened.breaker.next_probe_at);

    // the next probe gets an answer: closed, counters reset, calls flow again
    await untilProbe(secondRetry);
    expect(textOf(await relay.client.callTool({ name: 'brk_echo', arguments: { probe: 2 } }))).toBe('brk_echo:{"probe":2}');
    await eventually(() => expect(eventsNamed(relay, 'breaker.close', 'brk')).toHaveLength(1));
    const closed = await server(relay);
    expect(closed.breaker).toMatchObject({ state: 'closed', consecutive_failures: 0, opened: 2 });
    expect(closed.breaker.next_probe_at).toBeUndefined();
    expect(textOf(await relay.client.callTool({ name: 'brk_echo', arguments: { after: true } }))).toBe('brk_echo:{"after":true}');
  });

  it('opens when a killed backend keeps failing to connect, a probe while it is still down reopens it, and once it is back the probe closes it', async () => {
    const port = await freePort();
    const proc = await killable(port, 'proc_echo');
    const relay = await relayOver([{ name: 'proc', url: `ws://127.0.0.1:${port}`, extra: '    circuitBreaker: { failureThreshold: 3, cooldownMs: 1200 }\n' }]);
    await relay.client.listTools();
    expect(textOf(await relay.client.callTool({ name: 'proc_echo', arguments: { up: 1 } }))).toBe('proc_echo:{"up":1}');

    proc.kill();
    // the session dropping and the reconnect attempts that fail are the consecutive failures
    const opened = await eventually(() => {
      const events = eventsNamed(relay, 'breaker.open', 'proc');
      expect(events).toHaveLength(1);
      return events[0] as RelayEventLine;
    });
    expect(opened).toMatchObject({ backend: 'proc', failures: 3, retry_at: expect.any(String) });
    expect(String(opened['reason'])).not.toBe('');

    const fast = await failure(relay, 'proc_echo', {});
    expect(fast.ms).toBeLessThan(FAST_MS);
    expect(fast.error.code).toBe(-32058);
    expect(fast.error.message).toMatch(/backend 'proc', tool 'proc_echo': the circuit breaker is open after \d+ consecutive failures .*until \S+, when one probe call may try again/);
    const down = await server(relay);
    expect(down).toMatchObject({ connected: false, health: 'failed' });
    expect(down.breaker).toMatchObject({ state: 'open', failure_threshold: 3, cooldown_ms: 1200, opened: 1 });
    expect(down.breaker.consecutive_failures).toBeGreaterThanOrEqual(3);
    expect(down.breaker.rejected).toBeGreaterThanOrEqual(1);

    // the probe after the cooldown, while the backend is still down: it fails and the breaker opens again
    await untilProbe(retryAtOf(fast.error.message));
    const stillDown = await failure(relay, 'proc_echo', { probe: 1 });
    expect(stillDown.error.code).toBe(-32058);
    await eventually(() => expect(eventsNamed(relay, 'breaker.open', 'proc')).toHaveLength(2));
    expect((await server(relay)).breaker).toMatchObject({ state: 'open', opened: 2 });

    // back on the same port: connected again, but only a probe call closes the breaker
    await proc.restart();
    await eventually(async () => expect((await server(relay)).connected).toBe(true));
    const reconnected = await server(relay);
    expect(reconnected.breaker.state).toBe('open');
    expect(eventsNamed(relay, 'breaker.close', 'proc')).toHaveLength(0);
    await untilProbe(reconnected.breaker.next_probe_at ?? new Date().toISOString());
    expect(textOf(await relay.client.callTool({ name: 'proc_echo', arguments: { probe: 2 } }))).toBe('proc_echo:{"probe":2}');
    await eventually(() => expect(eventsNamed(relay, 'breaker.close', 'proc')).toHaveLength(1));
    expect((await server(relay)).breaker).toMatchObject({ state: 'closed', consecutive_failures: 0, opened: 2 });
  });

  it('says how many failures opened it while a reconnected backend waits for its probe', async () => {
    const port = await freePort();
    const proc = await killable(port, 'proc_echo');
    const relay = await relayOver([{ name: 'proc', url: `ws://127.0.0.1:${port}`, extra: '    circuitBreaker: { failureThreshold: 3, cooldownMs: 20000 }\n' }]);
    await relay.client.listTools();
    proc.kill();
    await eventually(() => expect(eventsNamed(relay, 'breaker.open', 'proc')).toHaveLength(1));
    await proc.restart();
    await eventually(async () => expect((await server(relay)).connected).toBe(true));
    // still open (the probe is 20 s away): the error must still say why it opened, not "after 0 consecutive failures"
    const fast = await failure(relay, 'proc_echo', {});
    expect(fast.error.code).toBe(-32058);
    expect(fast.error.message).toMatch(/the circuit breaker is open after ([3-9]|\d\d+) consecutive failures/);
  });

  it("never opens on a tool's isError result or a JSON-RPC error the backend answers with", async () => {
    const failing: FixtureTool = {
      definition: { name: 'tool_fails', description: 'always isError', inputSchema: { type: 'object' } },
      handler: () => ({ content: [{ type: 'text', text: 'it went wrong' }], isError: true }),
    };
    const throwing: FixtureTool = {
      definition: { name: 'tool_throws', description: 'always a JSON-RPC error', inputSchema: { type: 'object' } },
      handler: () => {
        throw new McpError(-32602, 'bad arguments, says the backend');
      },
    };
    const server1 = await backend('iserr', [failing, throwing, echoTool('iserr_echo')]);
    const relay = await relayOver([{ name: 'iserr', url: server1.url, extra: '    circuitBreaker: { failureThreshold: 2, cooldownMs: 60000 }\n' }]);
    await relay.client.listTools();
    for (let i = 0; i < 4; i++) {
      const result = await relay.client.callTool({ name: 'tool_fails', arguments: { i } });
      expect(result.isError).toBe(true);
      expect(textOf(result)).toBe('it went wrong');
      const { error } = await failure(relay, 'tool_throws', { i });
      expect(error.code).toBe(-32602);
      expect(error.message).toMatch(/bad arguments, says the backend/);
    }
    expect(textOf(await relay.client.callTool({ name: 'iserr_echo', arguments: {} }))).toBe('iserr_echo:{}');
    expect((await server(relay)).breaker).toMatchObject({ state: 'closed', consecutive_failures: 0, opened: 0, rejected: 0 });
    expect(eventsNamed(relay, 'breaker.open', 'iserr')).toHaveLength(0);
    expect(server1.calls()).toHaveLength(9);
  });
});

describe('queue', () => {
  it('holds calls made while a backend is down and answers them once it is back on the same port', async () => {
    const port = await freePort();
    const proc = await killable(port, 'proc_echo');
    const relay = await relayOver([{ name: 'proc', url: `ws://127.0.0.1:${port}`, extra: '    queue: { maxLength: 10, maxWaitMs: 8000 }\n    circuitBreaker: { failureThreshold: 1000 }\n' }]);
    await relay.client.listTools();
    proc.kill();
    await eventually(async () => expect(await server(relay)).toMatchObject({ connected: false, health: 'failed' }));

    const pending = [1, 2, 3].map((i) => relay.client.callTool({ name: 'proc_echo', arguments: { i } }));
    // a rejection is a failed expectation below, never an unhandled one
    for (const call of pending) call.catch(() => undefined);
    await eventually(async () => expect((await server(relay)).queue).toMatchObject({ length: 3, max_length: 10, max_wait_ms: 8000 }));

    await proc.restart();
    const answers = await Promise.all(pending);
    expect(answers.map(textOf)).toEqual(['proc_echo:{"i":1}', 'proc_echo:{"i":2}', 'proc_echo:{"i":3}']);
    const after = await server(relay);
    expect(after.queue).toMatchObject({ length: 0, rejected: 0, timed_out: 0 });
    expect(after.connected).toBe(true);
  });

  it('refuses a call past queue.maxLength at once, and answers ping and relay_get_status while the queue is full', async () => {
    const held = heldTool('held');
    const server1 = await backend('full', [held]);
    const relay = await relayOver([{ name: 'full', url: server1.url, extra: '    maxInFlight: 1\n    queue: { maxLength: 2, maxWaitMs: 10000 }\n' }]);
    await relay.client.listTools();

    const first = [1, 2, 3].map((i) => relay.client.callTool({ name: 'held', arguments: { i } }));
    for (const call of first) call.catch(() => undefined);
    await eventually(async () => {
      const s = await server(relay);
      expect(s.forwarded_in_flight).toBe(1);
      expect(s.queue.length).toBe(2);
    });
    await eventually(() => expect(held.running()).toBe(1));

    const refused = await failure(relay, 'held', { i: 4 });
    expect(refused.ms).toBeLessThan(FAST_MS);
    expect(refused.error.code).toBe(-32059);
    expect(refused.error.message).toMatch(/backend 'full', tool 'held': 2 calls already wait for this backend \(queue\.maxLength 2\), so this one was not queued; they wait because the backend has 1 calls in flight \(maxInFlight 1\)\. To fix: .*queue\.maxLength/);

    // the relay's own answers never wait behind a full queue
    let started = performance.now();
    await relay.client.ping();
    expect(performance.now() - started).toBeLessThan(FAST_MS);
    started = performance.now();
    const full = await server(relay);
    expect(performance.now() - started).toBeLessThan(FAST_MS);
    expect(full).toMatchObject({ forwarded_in_flight: 1, max_in_flight: 1, queue: { length: 2, max_length: 2, max_wait_ms: 10000, rejected: 1, timed_out: 0 } });

    held.release();
    expect((await Promise.all(first)).map(textOf)).toEqual(['held:{"i":1}', 'held:{"i":2}', 'held:{"i":3}']);
    // the refused call never reached the backend
    expect(server1.calls().map((entry) => entry.args['i'])).toEqual([1, 2, 3]);
  });

  it('fails a call that waits for a free slot past queue.maxWaitMs, never sending it', async () => {
    const held = heldTool('held');
    const server1 = await backend('brief', [held]);
    const relay = await relayOver([{ name: 'brief', url: server1.url, extra: '    maxInFlight: 1\n    queue: { maxWaitMs: 1000 }\n' }]);
    await relay.client.listTools();
    // one call holds the only slot; the next waits maxWaitMs and fails
    const holding = relay.client.callTool({ name: 'held', arguments: { i: 1 } });
    holding.catch(() => undefined);
    await eventually(() => expect(held.running()).toBe(1));
    const waited = await failure(relay, 'held', { i: 2 });
    expect(waited.error.code).toBe(-32060);
    expect(waited.ms).toBeGreaterThanOrEqual(950);
    expect(waited.error.message).toMatch(/backend 'brief', tool 'held': the call waited 1000 ms in the backend's queue \(queue\.maxWaitMs 1000\) and was never sent, because the backend has 1 calls in flight \(maxInFlight 1\)\. To fix: .*queue\.maxWaitMs/);
    expect((await server(relay)).queue).toMatchObject({ length: 0, rejected: 0, timed_out: 1 });
    held.release();
    expect(textOf(await holding)).toBe('held:{"i":1}');
    expect(server1.calls().map((entry) => entry.args['i'])).toEqual([1]);
  });

  it('fails a call with -32060 naming queue.maxWaitMs when a killed backend is not back in time', async () => {
    const port = await freePort();
    const proc = await killable(port, 'proc_echo');
    const relay = await relayOver([{ name: 'proc', url: `ws://127.0.0.1:${port}`, extra: '    queue: { maxWaitMs: 600 }\n    circuitBreaker: { failureThreshold: 1000 }\n' }]);
    await relay.client.listTools();
    proc.kill();
    await eventually(async () => expect((await server(relay)).connected).toBe(false));
    const waited = await failure(relay, 'proc_echo', {});
    expect(waited.error.code).toBe(-32060);
    expect(waited.ms).toBeGreaterThanOrEqual(550);
    expect(waited.error.message).toMatch(/the call waited 600 ms in the backend's queue \(queue\.maxWaitMs 600\) and was never sent, because the backend is not connected \(last error: .+\)/);
    expect((await server(relay)).queue).toMatchObject({ length: 0, timed_out: 1 });
  });
});

describe('maxInFlight', () => {
  it('answers 6 concurrent slow calls with maxInFlight 2, never more than 2 at once on the backend, the rest queued in order', async () => {
    const slow = countedSlowTool('slow', 700);
    const server1 = await backend('capped', [slow]);
    const relay = await relayOver([{ name: 'capped', url: server1.url, extra: '    maxInFlight: 2\n' }]);
    await relay.client.listTools();

    const calls = [0, 1, 2, 3, 4, 5].map((i) => relay.client.callTool({ name: 'slow', arguments: { i } }));
    for (const call of calls) call.catch(() => undefined);
    await eventually(async () => {
      const s = await server(relay);
      expect(s).toMatchObject({ forwarded_in_flight: 2, max_in_flight: 2 });
      expect(s.queue.length).toBe(4);
    }, 600, 20);

    const answers = await Promise.all(calls);
    expect(answers.map(textOf)).toEqual([0, 1, 2, 3, 4, 5].map((i) => `slow:{"i":${i}}`));
    expect(slow.most()).toBe(2);
    // FIFO: the backend saw them in the order the client sent them
    expect(server1.calls().map((entry) => entry.args['i'])).toEqual([0, 1, 2, 3, 4, 5]);
    expect(await server(relay)).toMatchObject({ forwarded_in_flight: 0, queue: { length: 0, rejected: 0, timed_out: 0 } });
  });
});

describe('replicas (urls:)', () => {
  const replicated = (a: string, b: string, extra = ''): string => `${FAST_DEFAULTS}backends:\n  - name: svc\n    urls: [${a}, ${b}]\n${extra}`;

  it('spreads calls over both instances, keeps answering on one when the other dies (no list_changed), and uses it again once it is back', async () => {
    const tools = () => [countedSlowTool('svc_slow', 300), echoTool('svc_echo')];
    let a = await startBackend({ name: 'svc-a', tools: tools() });
    cleanups.push(() => a.close());
    const b = await backend('svc-b', tools());
    // this test is about routing; the next one is about an instance's failures and the backend's breaker
    const relay = await relayWith(replicated(a.url, b.url, '    circuitBreaker: { failureThreshold: 1000 }\n'));
    expect((await relay.client.listTools()).tools.map((tool) => tool.name)).toEqual(expect.arrayContaining(['svc_slow', 'svc_echo']));
    await eventually(async () => expect((await server(relay)).instances?.map((instance) => instance.connected)).toEqual([true, true]));

    // concurrent calls go to the instance with the fewest in flight: two each
    const spread = await Promise.all([0, 1, 2, 3].map((i) => relay.client.callTool({ name: 'svc_slow', arguments: { i } })));
    expect(spread.map(textOf)).toEqual([0, 1, 2, 3].map((i) => `svc_slow:{"i":${i}}`));
    expect(a.calls()).toHaveLength(2);
    expect(b.calls()).toHaveLength(2);

    const port = a.port;
    await a.close();
    await eventually(async () => {
      const s = await server(relay);
      expect(s.instances?.[0]).toMatchObject({ connected: false, error: expect.any(String) });
      expect(s.instances?.[1]).toMatchObject({ connected: true });
    });
    // for a couple of seconds, while the dead instance is retried with the backoff, every call is answered by the live one
    const deadline = Date.now() + 2_000;
    let answered = 0;
    while (Date.now() < deadline) {
      expect(textOf(await relay.client.callTool({ name: 'svc_echo', arguments: { n: answered } }))).toBe(`svc_echo:{"n":${answered}}`);
      answered++;
      await sleep(100);
    }
    expect(b.calls().filter((entry) => entry.tool === 'svc_echo')).toHaveLength(answered);
    const oneDown = await server(relay);
    expect(oneDown).toMatchObject({ connected: true, health: 'healthy' });
    expect(oneDown.breaker.state).toBe('closed');
    expect(oneDown.instances?.[0]?.url).toBe(`ws://127.0.0.1:${port}`);
    expect(relay.listChanged()).toBe(0);
    expect((await relay.client.listTools()).tools.map((tool) => tool.name)).toEqual(expect.arrayContaining(['svc_slow', 'svc_echo']));

    // back on the same port: it takes calls again
    a = await startBackend({ name: 'svc-a', tools: tools(), port });
    await eventually(async () => expect((await server(relay)).instances?.map((instance) => instance.connected)).toEqual([true, true]));
    const bBefore = b.calls().length;
    await Promise.all([0, 1, 2, 3].map((i) => relay.client.callTool({ name: 'svc_slow', arguments: { back: i } })));
    expect(a.calls()).toHaveLength(2);
    expect(b.calls().length - bBefore).toBe(2);
    expect(relay.listChanged()).toBe(0);
  });

  it("never opens the backend's breaker while one instance is dead and another serves, even when no call comes for a while", async () => {
    const a = await backend('svc-a', [echoTool('svc_echo')]);
    const b = await backend('svc-b', [echoTool('svc_echo')]);
    const relay = await relayWith(replicated(a.url, b.url, '    circuitBreaker: { failureThreshold: 3, cooldownMs: 30000 }\n'));
    await relay.client.listTools();
    await eventually(async () => expect((await server(relay)).instances?.map((instance) => instance.connected)).toEqual([true, true]));
    await a.close();
    await eventually(async () => expect((await server(relay)).instances?.[0]).toMatchObject({ connected: false, error: expect.any(String) }));
    // an idle spell (the fixed wait is the point: no call succeeds in between) in which the dead instance's reconnect
    // attempts (backoff 100-400 ms) fail more often than failureThreshold
    await sleep(1_500);
    expect(textOf(await relay.client.callTool({ name: 'svc_echo', arguments: { after: 'idle' } }))).toBe('svc_echo:{"after":"idle"}');
    const s = await server(relay);
    expect(s).toMatchObject({ connected: true, health: 'healthy' });
    expect(s.breaker).toMatchObject({ state: 'closed', opened: 0 });
    expect(eventsNamed(relay, 'breaker.open', 'svc')).toHaveLength(0);
    expect(b.calls()).toHaveLength(1);
  });

  it('shows each instance with its calls in flight', async () => {
    const held = heldTool('svc_held');
    const a = await backend('svc-a', [held]);
    const b = await backend('svc-b', [held]);
    const relay = await relayWith(replicated(a.url, b.url));
    await relay.client.listTools();
    await eventually(async () => expect((await server(relay)).instances?.map((instance) => instance.connected)).toEqual([true, true]));
    const calls = [0, 1, 2].map((i) => relay.client.callTool({ name: 'svc_held', arguments: { i } }));
    for (const call of calls) call.catch(() => undefined);
    await eventually(() => expect(held.running()).toBe(3));
    const s = await server(relay);
    expect(s.instances?.map((instance) => instance.calls_in_flight)).toEqual([2, 1]);
    expect(s.forwarded_in_flight).toBe(3);
    held.release();
    await Promise.all(calls);
  });
});
