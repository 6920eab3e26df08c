// The network fronts against the stdio front, on one relay process and one backend: latency and throughput per
// front (interleaved, as the stdio rows are), the memory an idle WebSocket client costs, and fairness between many
// busy clients. Raw JSON-RPC clients, none validating results, so the figures are the relay's.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { take } from 'rxjs';
import { lines$ } from '../src/stdio.js';
import { Agent, request } from 'undici';
import WebSocket from 'ws';
import { DirectClient, RELAY_MAIN, RelayClient, type BenchClient } from './clients.js';
import { startPool } from './pool-process.js';
import { saturate, sequential } from './load.js';
import { median, percentile } from './stats.js';

type Json = Record<string, unknown>;

const INITIALIZE = { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'bench', version: '1' } };
/**
 * the relay's three fronts; a WebSocket client whose token limits it to some tools (every call goes through its
 * principal's filtered catalogue); then two HTTP servers with no relay and no backend: the ceiling of HTTP itself
 */
const FRONTS = ['stdio', 'ws', 'ws-scoped', 'http', 'http-floor-bare', 'http-floor-sdk'] as const;
/** the network clients authenticate, as they must on a shared relay: one token with full access, one scoped */
const TOKENS = { BENCH_TOKEN: 'bench-token-0123456789abcdef', BENCH_SCOPED_TOKEN: 'bench-scoped-token-fedcba9876543210' };
type FrontName = (typeof FRONTS)[number];
const HTTP_FLOOR_MAIN = resolve(import.meta.dirname, 'http-floor.js');

/** bench/http-floor.js in its own process, as the relay is */
async function httpFloor(kind: 'bare' | 'sdk'): Promise<{ url: string; stop: () => void }> {
  const child = spawn(process.execPath, [HTTP_FLOOR_MAIN, '--kind', kind], { stdio: ['pipe', 'pipe', 'inherit'] });
  const url = await new Promise<string>((done) => lines$(child.stdout).pipe(take(1)).subscribe((line) => done((JSON.parse(line) as { url: string }).url)));
  return { url, stop: () => child.stdin.end() };
}

/** Streamable HTTP, as an MCP client does it: one POST per message, the answer as JSON, over kept-alive connections. */
class HttpFrontClient implements BenchClient {
  private next = 1;
  private session = '';
  private readonly agent = new Agent({ connections: 256, pipelining: 1, keepAliveTimeout: 30_000 });

  constructor(
    private readonly url: string,
    private readonly token?: string,
  ) {}

  async start(): Promise<void> {
    const response = await request(this.url, { method: 'POST', dispatcher: this.agent, headers: this.headers(), body: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: INITIALIZE }) });
    this.session = String(response.headers['mcp-session-id'] ?? '');
    await response.body.text();
    const initialized = await request(this.url, { method: 'POST', dispatcher: this.agent, headers: this.headers(), body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) });
    await initialized.body.text();
  }

  async call(method: string, params: Json): Promise<Json> {
    const id = this.next++;
    const response = await request(this.url, { method: 'POST', dispatcher: this.agent, headers: this.headers(), body: JSON.stringify({ method, params, jsonrpc: '2.0', id }) });
    return (await response.body.json()) as Json;
  }

  async close(): Promise<void> {
    await request(this.url, { method: 'DELETE', dispatcher: this.agent, headers: this.headers() }).then((response) => response.body.text()).catch(() => undefined);
    await this.agent.close();
  }

  private headers(): Record<string, string> {
    return {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2025-11-25',
      ...(this.session ? { 'mcp-session-id': this.session } : {}),
      ...(this.token === undefined ? {} : { authorization: `Bearer ${this.token}` }),
    };
  }
}

function rssOf(pid: number | undefined): number {
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
}

export interface FrontRow {
  front: FrontName;
  p50: number;
  p99: number;
  callsPerSecond: number;
  /** against the stdio front, same run */
  p50Ratio: number;
  p99Ratio: number;
  throughputRatio: number;
}

export interface FrontsResult {
  rows: FrontRow[];
  idle: { clients: number; rssPerClientKB: number };
  fairness: { clients: number; inFlightEach: number; seconds: number; totalCallsPerSecond: number; medianPerClient: number; p99PerClient: number; p99OverMedian: number; minPerClient: number };
}

export async function fronts(options: { rounds: number; calls: number; throughputMs: number; idleClients: number; busyClients: number; busyMs: number; log: (line: string) => void }): Promise<FrontsResult> {
  const pool = await startPool('sdk', 1, 2);
  const dir = mkdtempSync(join(tmpdir(), 'relay-bench-fronts-'));
  const file = join(dir, 'backends.yaml');
  // the limits a shared service would default to (100 requests/s a connection, 1,000 connections a listener) would
  // measure the limits, not the relay: the bench lifts them
  writeFileSync(
    file,
    `startupGraceMs: 10000
auth:
  tokens:
    - { name: bench, token: "\${BENCH_TOKEN}", admin: true }
    - { name: scoped, token: "\${BENCH_SCOPED_TOKEN}", tools: ["t0_*", "!t0_none"], resources: ["none://*"], prompts: [] }
limits:
  maxConnections: 100000
  maxConnectionsPerToken: 100000
  maxInFlightPerClient: 100000
  rateLimit: { requestsPerSecond: 10000000, perPrincipal: { requestsPerSecond: 10000000 } }
backends:
  - name: b0
    url: ${pool.urls[0]}
`,
  );
  const relay = new RelayClient(file, TOKENS, [RELAY_MAIN, '--config', file, '--listen', 'ws://127.0.0.1:0/mcp', '--listen', 'http://127.0.0.1:0/mcp']);
  await relay.start();
  await relay.call('tools/list', {});
  for (let i = 0; i < 200 && relay.listening.size < 2; i++) await new Promise((done) => setTimeout(done, 10));
  const wsUrl = relay.listening.get('ws');
  const httpUrl = relay.listening.get('http');
  if (!wsUrl || !httpUrl) throw new Error('the relay did not report its listeners');
  const ws = await DirectClient.connect(wsUrl, TOKENS.BENCH_TOKEN);
  const wsScoped = await DirectClient.connect(wsUrl, TOKENS.BENCH_SCOPED_TOKEN);
  const http = new HttpFrontClient(httpUrl, TOKENS.BENCH_TOKEN);
  await http.start();
  const floors = { bare: await httpFloor('bare'), sdk: await httpFloor('sdk') };
  const floorBare = new HttpFrontClient(floors.bare.url);
  await floorBare.start();
  const floorSdk = new HttpFrontClient(floors.sdk.url);
  await floorSdk.start();
  const clients: Record<FrontName, BenchClient> = { stdio: relay, ws, 'ws-scoped': wsScoped, http, 'http-floor-bare': floorBare, 'http-floor-sdk': floorSdk };
  const none = () => Object.fromEntries(FRONTS.map((front) => [front, []])) as unknown as Record<FrontName, number[]>;
  const rotated = (turn: number) => [...FRONTS.slice(turn % FRONTS.length), ...FRONTS.slice(0, turn % FRONTS.length)];

  options.log('fronts: latency…');
  const latency = Object.fromEntries(FRONTS.map((front) => [front, { p50: [] as number[], p99: [] as number[] }])) as Record<FrontName, { p50: number[]; p99: number[] }>;
  for (const front of FRONTS) await sequential(clients[front], 't0_echo', 300);
  for (let r = 0; r < options.rounds; r++) {
    const samples = none();
    for (let block = 0; block * 100 < options.calls; block++) {
      for (const front of rotated(r + block)) samples[front].push(...(await sequential(clients[front], 't0_echo', Math.min(100, options.calls - block * 100))));
    }
    for (const front of FRONTS) {
      const sorted = samples[front].sort((a, b) => a - b);
      latency[front].p50.push(percentile(sorted, 50));
      latency[front].p99.push(percentile(sorted, 99));
    }
  }

  options.log('fronts: throughput at 64 in flight…');
  const rates = none();
  for (const front of FRONTS) await saturate(clients[front], 64, 300);
  for (let r = 0; r < options.rounds; r++) {
    const done = Object.fromEntries(FRONTS.map((front) => [front, 0])) as Record<FrontName, number>;
    for (let slice = 0; slice < 4; slice++) {
      for (const front of rotated(r + slice)) done[front] += (await saturate(clients[front], 64, options.throughputMs / 4)) / 4;
    }
    for (const front of FRONTS) rates[front].push(done[front]);
  }
  const base = { p50: median(latency.stdio.p50), p99: median(latency.stdio.p99), rate: median(rates.stdio) };
  const rows = FRONTS.map((front): FrontRow => {
    const p50 = median(latency[front].p50);
    const p99 = median(latency[front].p99);
    const callsPerSecond = median(rates[front]);
    return { front, p50, p99, callsPerSecond, p50Ratio: p50 / base.p50, p99Ratio: p99 / base.p99, throughputRatio: callsPerSecond / base.rate };
  });
  await Promise.all([ws.close(), wsScoped.close(), http.close(), floorBare.close(), floorSdk.close()]);
  floors.bare.stop();
  floors.sdk.stop();

  options.log(`fronts: ${options.idleClients} idle WebSocket clients…`);
  const idle = await idleClients(wsUrl, relay, options.idleClients);

  options.log(`fronts: ${options.busyClients} busy clients for ${options.busyMs / 1000} s…`);
  const fairness = await busyClients(wsUrl, options.busyClients, 10, options.busyMs);

  await relay.close();
  await pool.stop();
  return { rows, idle, fairness };
}

/** RSS of the relay with N initialized WebSocket clients doing nothing, minus before, per client */
async function idleClients(url: string, relay: RelayClient, count: number): Promise<FrontsResult['idle']> {
  const settle = () => new Promise((done) => setTimeout(done, 1_000));
  await settle();
  const before = rssOf(relay.child.pid);
  const sockets: WebSocket[] = [];
  // in batches, so the relay's accept queue is never the subject
  for (let i = 0; i < count; i += 50) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(50, count - i) }, async () => {
        const socket = new WebSocket(url, ['mcp'], { perMessageDeflate: false, headers: { authorization: `Bearer ${TOKENS.BENCH_TOKEN}` } });
        await new Promise((done, fail) => socket.once('open', done).once('error', fail));
        const answered = new Promise((done) => socket.once('message', done));
        socket.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: INITIALIZE }));
        await answered;
        socket.send(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }));
        return socket;
      }),
    );
    sockets.push(...batch);
  }
  await settle();
  const after = rssOf(relay.child.pid);
  for (const socket of sockets) socket.terminate();
  await settle();
  return { clients: count, rssPerClientKB: (after - before) / count / 1024 };
}

/** many clients, each keeping `inFlight` calls going for `ms`: the total rate, and how evenly it is shared */
async function busyClients(url: string, count: number, inFlight: number, ms: number): Promise<FrontsResult['fairness']> {
  const clients = await Promise.all(Array.from({ length: count }, () => DirectClient.connect(url, TOKENS.BENCH_TOKEN)));
  const rates = await Promise.all(clients.map((client) => saturate(client, inFlight, ms)));
  await Promise.all(clients.map((client) => client.close()));
  const sorted = [...rates].sort((a, b) => a - b);
  const medianRate = median(sorted);
  const p99 = percentile(sorted, 99);
  return {
    clients: count,
    inFlightEach: inFlight,
    seconds: ms / 1000,
    totalCallsPerSecond: rates.reduce((sum, rate) => sum + rate, 0),
    medianPerClient: medianRate,
    p99PerClient: p99,
    p99OverMedian: p99 / medianRate,
    minPerClient: sorted[0] ?? 0,
  };
}
