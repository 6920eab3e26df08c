// Issue 11, "100 backends flapping": 100 WebSocket backends on loopback go down (connections cut, listening socket
// closed: connects are refused) and come back on the same port every few hundred ms, with the built relay in front.
// The issue asks for 30 s of it, and this runs the 30 s: the relay's RSS climbs for the first 10 to 20 s of flapping
// while V8 sizes its heap (107 MB to about 130 MB, then level between 128 and 167 MB over a 120 s run, with the live
// heap in snapshots 2 MB larger, compiled code), so a 15 s window cannot tell that climb from a leak; the trend is
// judged on the last two thirds. Over the window the relay's CPU (utime + stime from /proc/<pid>/stat) and RSS
// (VmRSS) are sampled; every reconnect it logs is checked against the backoff schedule (streams/backend/backoff.ts:
// the wait before attempt n after n - 1 consecutive failures is initialMs * 2^(n-2), capped at maxMs, jittered by
// ±20% in src/main.ts, and reset by a healthy connection); once every backend is up to stay, the catalogue must settle:
// every backend's tool listed, every backend healthy in relay_get_status, and a call to each one answered.
import { describe, expect, it, onTestFinished } from 'vitest';
import { readFileSync } from 'node:fs';
import { startFlappingBackends } from '../fixtures/flapping-backends.js';
import { backendsYaml, configFile, eventually, INITIALIZE, startRawRelay, type RawRelay, type RelayEventLine, type StatusJson } from './relay-process.js';

const BACKENDS = 100;
const FLAP_MS = 30_000;
/** up 300-700 ms, down 150-450 ms: every backend drops some 35 times in the window */
const TIMING = { upMs: [300, 700], downMs: [150, 450] } as const;
const BACKOFF = { initialMs: 250, maxMs: 2_000 };
/** src/main.ts: every wait is the backoff delay × [0.8, 1.2] */
const JITTER_LOW = 0.8;
/** log times are Date.now() in whole ms, taken where the event is emitted */
const CLOCK_SLACK_MS = 10;
/** the relay may use up to this many CPU seconds per wall second while 100 backends flap */
const CPU_CORES_BOUND = 1;
const BREAKER_COOLDOWN_MS = 1_000;

const delayMs = (failures: number) => Math.min(BACKOFF.initialMs * 2 ** Math.max(0, failures - 1), BACKOFF.maxMs);
const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime, in clock ticks (USER_HZ, 100 on Linux)
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const rssMB = (pid: number): number => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;


let nextId = 1;
async function call(relay: RawRelay, method: string, params: unknown): Promise<Record<string, unknown>> {
  const response = await relay.request(nextId++, method, params);
  if ('error' in response) throw new Error(`${method}: ${JSON.stringify(response['error'])}`);
  return response['result'] as Record<string, unknown>;
}

async function toolNames(relay: RawRelay): Promise<string[]> {
  const names: string[] = [];
  let cursor: unknown;
  for (let page = 0; page < 20; page++) {
    const result = await call(relay, 'tools/list', cursor === undefined ? {} : { cursor });
    names.push(...((result['tools'] as Array<{ name: string }> | undefined) ?? []).map((tool) => tool.name));
    cursor = result['nextCursor'];
    if (cursor === undefined) break;
  }
  return names;
}

async function statusOf(relay: RawRelay): Promise<StatusJson> {
  const result = await call(relay, 'tools/call', { name: 'relay_get_status', arguments: {} });
  return JSON.parse((result['content'] as Array<{ text: string }>)[0]?.text ?? '{}') as StatusJson;
}

interface BackoffReport {
  /** connection attempts after the first, per backend, in the window */
  attempts: Map<string, number>;
  /** reconnects that came sooner than the schedule allows */
  early: string[];
  /** attempt numbers that skipped one: a reconnect the log never showed */
  gaps: string[];
}

/**
 * Walks each backend's backend.reconnect and backend.state events in order. A reconnect is the start of an attempt
 * after `failures` consecutive failed ones; it must come at least 0.8 × delay(failures) after what started the wait:
 * the previous attempt's start, or the drop of a healthy connection (a healthy connection resets the count).
 */
function checkBackoff(events: readonly RelayEventLine[], from: number, to: number): BackoffReport {
  const report: BackoffReport = { attempts: new Map(), early: [], gaps: [] };
  const byBackend = new Map<string, RelayEventLine[]>();
  for (const event of events) {
    if (event.event !== 'backend.reconnect' && event.event !== 'backend.state') continue;
    const name = String(event['backend']);
    const list = byBackend.get(name) ?? [];
    list.push(event);
    byBackend.set(name, list);
  }
  for (const [name, list] of byBackend) {
    let failures = 0;
    let connected = false;
    let since = Number.NEGATIVE_INFINITY;
    let lastAttempt: number | null = null;
    for (const event of list) {
      const time = Number(event['time']);
      if (event.event === 'backend.state') {
        if (event['phase'] === 'connected') {
          failures = 0;
          connected = true;
        } else if (event['phase'] === 'failed' && connected) {
          connected = false;
          since = time;
        }
        continue;
      }
      failures += 1;
      const attempt = Number(event['attempt']);
      if (lastAttempt !== null && attempt !== lastAttempt + 1) report.gaps.push(`${name}: attempt ${lastAttempt} then ${attempt}`);
      lastAttempt = attempt;
      const wanted = JITTER_LOW * delayMs(failures);
      if (time - since < wanted - CLOCK_SLACK_MS) report.early.push(`${name}: attempt ${attempt} after ${failures} failures came ${time - since} ms after the last attempt or drop; the backoff waits at least ${wanted} ms`);
      since = time;
      if (time >= from && time <= to) report.attempts.set(name, (report.attempts.get(name) ?? 0) + 1);
    }
  }
  return report;
}

describe('100 backends flapping', () => {
  it(`keep the relay's CPU and memory bounded for ${FLAP_MS / 1000} s; its reconnects follow the backoff; the catalogue settles once they are up`, { timeout: 120_000 }, async () => {
    const pool = await startFlappingBackends(BACKENDS);
    onTestFinished(() => pool.close());
    const head = `defaults:
  connectWaitMs: 3000
  pingIntervalMs: 30000
  backoff: { initialMs: ${BACKOFF.initialMs}, maxMs: ${BACKOFF.maxMs} }
  # the connection failures open every breaker; it closes on a probe call after the cooldown, not on a reconnect,
  # so the default 30 s would fail the calls below fast for that long after the backends are back
  circuitBreaker: { cooldownMs: ${BREAKER_COOLDOWN_MS} }
startupGraceMs: 10000
`;
    const { file } = configFile(backendsYaml(pool.backends.map((backend) => ({ name: backend.name, url: backend.url })), head));
    // info, not the tests' usual debug: the window's events are what is counted, and debug would add per-frame lines
    const relay = startRawRelay(['--config', file], { LOG_LEVEL: 'info' });
    onTestFinished(() => relay.stop());
    const pid = relay.child.pid as number;
    await relay.request(nextId++, 'initialize', INITIALIZE);
    relay.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    const tools = pool.backends.map((backend) => backend.tool);

    // every backend connected and listed before the flapping starts
    await eventually(
      async () => {
        const status = await statusOf(relay);
        expect(status.servers.filter((server) => server.health === 'healthy')).toHaveLength(BACKENDS);
      },
      30_000,
      250,
    );
    expect(await toolNames(relay)).toEqual(expect.arrayContaining(tools));

    // the window: no client calls meanwhile (a call to a reconnecting backend cuts its backoff short, by design)
    const listChangedBefore = relay.received.filter((message) => message['method'] === 'notifications/tools/list_changed').length;
    const rss: Array<{ at: number; mb: number }> = [{ at: 0, mb: rssMB(pid) }];
    const cpuBefore = cpuSeconds(pid);
    const started = Date.now();
    let sampling = true;
    const sampler = (async () => {
      // bounded: one sample per 500 ms, at most until the window's end plus a minute
      for (let i = 0; sampling && i < (FLAP_MS + 60_000) / 500; i++) {
        await sleep(500);
        rss.push({ at: Date.now() - started, mb: rssMB(pid) });
      }
    })();
    try {
      await pool.flap(FLAP_MS, TIMING);
    } finally {
      sampling = false;
      await sampler;
    }
    const ended = Date.now();
    const wallSeconds = (ended - started) / 1000;
    const cpu = cpuSeconds(pid) - cpuBefore;
    const downs = pool.backends.reduce((sum, backend) => sum + backend.downs, 0);
    const figures = `${downs} drops in ${wallSeconds.toFixed(1)} s; relay CPU ${cpu.toFixed(2)} s (${(cpu / wallSeconds).toFixed(2)} cores); RSS samples (MB): ${rss.map((sample) => sample.mb.toFixed(0)).join(' ')}`;
    expect(downs, figures).toBeGreaterThan(BACKENDS * 5);

    // CPU: bounded per wall second
    expect(cpu / wallSeconds, figures).toBeLessThan(CPU_CORES_BOUND);
    // memory: no growth trend once V8 has sized its heap (the last third of the window against the middle one), and no
    // blow-up against the start. RSS here is a sawtooth (it climbs some 5 MB/s between major GCs, 110 to 190 MB, then
    // drops back), so what is compared is each third's floor, what a collection leaves: the medians of the thirds
    // depended on where the teeth fell (CI 22:51: middle 139, last 171, with the last third's floor back at 128).
    // V8 may also keep growing its heap through the window without returning pages (a run went 177 -> 213 MB, flat at
    // the top), so the margin is 30%: a leak of 50 KB a drop (some 6 MB/s, 60 MB over a third) still goes past it.
    const floor = (from: number, to: number) => Math.min(...rss.filter((sample) => sample.at >= from && sample.at < to).map((sample) => sample.mb));
    const middle = floor(FLAP_MS / 3, (2 * FLAP_MS) / 3);
    const last = floor((2 * FLAP_MS) / 3, Infinity);
    expect(last, figures).toBeLessThan(middle * 1.3);
    expect(Math.max(...rss.map((sample) => sample.mb)), figures).toBeLessThan((rss[0] as { mb: number }).mb + 100);

    // the catalogue settles: every backend healthy and listed again, and each one answers a call
    await eventually(
      async () => {
        const status = await statusOf(relay);
        const unhealthy = status.servers.filter((server) => server.health !== 'healthy' || !server.connected);
        expect(unhealthy.map((server) => `${server.name}: ${server.health} ${server.error ?? ''}`)).toEqual([]);
        expect(status.total_servers).toBe(BACKENDS);
      },
      // the longest wait left is maxMs × 1.2, then a connect and a handshake
      BACKOFF.maxMs * 1.2 + 10_000,
      250,
    );
    expect(await toolNames(relay)).toEqual(expect.arrayContaining(tools));
    // each one answers a call, once its breaker's cooldown has let a probe through
    for (const backend of pool.backends) {
      await eventually(
        async () => {
          const result = await call(relay, 'tools/call', { name: backend.tool, arguments: { n: 1 } });
          expect((result['content'] as Array<{ text: string }>)[0]?.text).toBe(`${backend.name}:{"n":1}`);
        },
        BREAKER_COOLDOWN_MS * 3 + 2_000,
        100,
      );
    }
    // a drop is a blip, not a catalogue change (DESIGN.md): the client was never told its list changed
    const listChanged = relay.received.filter((message) => message['method'] === 'notifications/tools/list_changed').length - listChangedBefore;
    expect(listChanged, 'notifications/tools/list_changed while backends flapped').toBe(0);

    // the reconnects follow the backoff schedule, and no more of them than it allows in the window
    const backoff = checkBackoff(relay.events, started, ended);
    expect(backoff.early.slice(0, 10), figures).toEqual([]);
    expect(backoff.gaps.slice(0, 10)).toEqual([]);
    const most = Math.max(...backoff.attempts.values());
    // every attempt is at least 0.8 × initialMs after the one before (or after a drop): no more than this fit
    const allowed = Math.ceil((ended - started) / (JITTER_LOW * BACKOFF.initialMs - CLOCK_SLACK_MS)) + 1;
    expect(most, `reconnects of the busiest backend in ${wallSeconds.toFixed(1)} s`).toBeLessThanOrEqual(allowed);
    // and the relay did reconnect them all along
    expect(backoff.attempts.size, figures).toBe(BACKENDS);
    expect(relay.events.filter((event) => event.event === 'relay.crash' || event.event === 'relay.uncaught')).toEqual([]);
  });
});
