// What observability costs a call (issue 12's benchmark): the same relay throughput at 64 in flight, over the stdio
// front and the WebSocket front, three ways: plain; with the admin listener open and /metrics scraped every second;
// with every call traced (two spans a call, sampled always) and exported over OTLP/HTTP to a local receiver; and
// traced with one trace in ten sampled (OTEL_TRACES_SAMPLER=parentbased_traceidratio, 0.1), as a busy service runs it.
// The three relays run side by side and are measured interleaved in slices, so the machine's drift hits all alike.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DirectClient, RELAY_MAIN, RelayClient, type BenchClient } from './clients.js';
import { saturate } from './load.js';
import { startPool } from './pool-process.js';
import { median } from './stats.js';

export interface ObservabilityRow {
  front: 'stdio' | 'ws';
  inFlight: number;
  plain: number;
  metered: number;
  traced: number;
  sampled: number;
  /** metered / plain calls/s */
  ratio: number;
  /** traced / plain calls/s */
  tracedRatio: number;
  /** sampled / plain calls/s */
  sampledRatio: number;
  /** spans the receiver took in (over both fronts), so a row with nothing exported cannot pass for a cheap one */
  spansExported?: number;
}

const PATHS = ['plain', 'metered', 'traced', 'sampled'] as const;
type Path = (typeof PATHS)[number];
const TOKEN = 'bench-observability-token-0123456789';

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((done) => probe.listen(0, '127.0.0.1', done));
  const port = (probe.address() as { port: number }).port;
  await new Promise((done) => probe.close(done));
  return port;
}

/** a collector's front door: takes OTLP/HTTP JSON exports and counts their spans (a real collector does more, elsewhere) */
async function startReceiver(): Promise<{ url: string; spans: () => number; close: () => Promise<void> }> {
  let spans = 0;
  const server = createHttpServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      // the span ids in the JSON, counted without parsing it all
      spans += Buffer.concat(chunks).toString('utf8').split('"spanId"').length - 1;
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    spans: () => spans,
    close: () => new Promise((done) => server.close(() => done())),
  };
}

export async function observability(options: { rounds: number; slices: number; throughputMs: number }): Promise<ObservabilityRow[]> {
  const pool = await startPool('sdk', 1, 2);
  const dir = mkdtempSync(join(tmpdir(), 'relay-bench-observability-'));
  const file = join(dir, 'backends.yaml');
  // the limits a shared service would default to would measure the limits, not the relay: the bench lifts them
  writeFileSync(
    file,
    `startupGraceMs: 10000
auth:
  tokens:
    - { name: bench, token: "\${BENCH_OBSERVABILITY_TOKEN}", admin: true }
limits:
  maxInFlightPerClient: 100000
  rateLimit: { requestsPerSecond: 10000000, perPrincipal: { requestsPerSecond: 10000000 } }
backends:
  - name: b0
    url: ${pool.urls[0]}
`,
  );
  const receiver = await startReceiver();
  const port = await freePort();
  const listen = ['--listen', 'ws://127.0.0.1:0/mcp'];
  const env = { BENCH_OBSERVABILITY_TOKEN: TOKEN };
  const relays: Record<Path, RelayClient> = {
    plain: new RelayClient(file, env, [RELAY_MAIN, '--config', file, ...listen]),
    metered: new RelayClient(file, env, [RELAY_MAIN, '--config', file, ...listen, '--admin', `127.0.0.1:${port}`]),
    traced: new RelayClient(file, { ...env, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SERVICE_NAME: 'mcp-relay-bench' }, [RELAY_MAIN, '--config', file, ...listen]),
    sampled: new RelayClient(file, { ...env, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SERVICE_NAME: 'mcp-relay-bench', OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1' }, [RELAY_MAIN, '--config', file, ...listen]),
  };
  await Promise.all(PATHS.map((path) => relays[path].start()));
  await Promise.all(PATHS.map((path) => relays[path].call('tools/list', {})));
  for (let i = 0; i < 300 && PATHS.some((path) => !relays[path].listening.has('ws')); i++) await new Promise((done) => setTimeout(done, 10));
  const ws = {} as Record<Path, BenchClient>;
  for (const path of PATHS) {
    const url = relays[path].listening.get('ws');
    if (url === undefined) throw new Error(`the ${path} relay did not report its WebSocket listener`);
    ws[path] = await DirectClient.connect(url, TOKEN);
  }
  const clients = { stdio: relays, ws };
  // Prometheus's habit, sped up: a scrape a second
  const scraper = setInterval(() => void fetch(`http://127.0.0.1:${port}/metrics`).then((response) => response.text()).catch(() => ''), 1_000);
  const inFlight = 64;
  const none = (): Record<Path, number[]> => ({ plain: [], metered: [], traced: [], sampled: [] });
  const rates = { stdio: none(), ws: none() };
  try {
    for (const front of ['stdio', 'ws'] as const) for (const path of PATHS) await saturate(clients[front][path], inFlight, 300);
    for (let round = 0; round < options.rounds; round++) {
      for (const front of ['stdio', 'ws'] as const) {
        const done = { plain: 0, metered: 0, traced: 0, sampled: 0 };
        for (let slice = 0; slice < options.slices; slice++) {
          const turn = (round + slice) % PATHS.length;
          for (const path of [...PATHS.slice(turn), ...PATHS.slice(0, turn)]) done[path] += (await saturate(clients[front][path], inFlight, options.throughputMs / options.slices)) / options.slices;
        }
        for (const path of PATHS) rates[front][path].push(done[path]);
      }
    }
  } finally {
    clearInterval(scraper);
    for (const path of PATHS) await ws[path].close();
    await Promise.all(PATHS.map((path) => relays[path].close()));
    await receiver.close();
    await pool.stop();
  }
  return (['stdio', 'ws'] as const).map((front) => {
    const plain = median(rates[front].plain);
    const metered = median(rates[front].metered);
    const traced = median(rates[front].traced);
    const sampled = median(rates[front].sampled);
    return { front, inFlight, plain, metered, traced, sampled, ratio: metered / plain, tracedRatio: traced / plain, sampledRatio: sampled / plain, spansExported: receiver.spans() };
  });
}
