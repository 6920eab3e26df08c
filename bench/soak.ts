// npm run soak: one relay process under a long mixed load, on loopback only. Backends in their own processes
// (bench/soak-backend.js), the built relay (dist/src/main.js) with its stdio client and a WebSocket listener, and
// `clients` clients (the stdio one and the rest over WebSocket, raw JSON-RPC peers) keeping `concurrency` calls in
// flight over the backends: `warmupCalls` calls with no faults, then `calls` calls during which backends are killed
// and started again, backends.yaml is rewritten (one backend more, then one less) and WebSocket clients leave and come
// back, so a leak per call, per client, per reconnect or per reload shows in the relay's RSS (sampled every 100 ms
// from /proc/<pid>/status) at the end against the end of the warm-up.
//
// Every answer is checked against the request it claims to answer: each connection keeps its own ledger of ids
// (numeric on some connections, strings on others, overlapping across connections by construction), and the echo
// carries the backend's name, the connection's tag and the call's sequence number. An answer to an id not in flight
// is a duplicate (answered before) or misrouted (never sent on that connection); a call never answered is lost.
//
//   node dist/bench/soak.js [--calls 100000] [--concurrency 1000] [--clients 50] [--backends 10] [--restarts 6]
//                           [--reloads 10] [--churn 10] [--warmup 150000]
// Prints a table on stdout; exits 1 when a call was lost, duplicated or misrouted, a fault could not be injected, the
// relay logged a crash, or the relay's RSS at the end is over `rssLimit` × its RSS after warm-up.
import { spawn, type ChildProcess, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createReadStream, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { lines$ } from '../src/stdio.js';
import { median, round } from './stats.js';

type Json = Record<string, unknown>;
type Id = number | string;

/** the built files, from dist/bench (node dist/bench/soak.js) or from bench/ (a test imports this module) */
const DIST = existsSync(resolve(import.meta.dirname, '../src/main.js')) ? resolve(import.meta.dirname, '..') : resolve(import.meta.dirname, '../dist');
export const SOAK_RELAY_MAIN = join(DIST, 'src/main.js');
const SOAK_BACKEND_MAIN = join(DIST, 'bench/soak-backend.js');

export interface SoakOptions {
  /** the soak's calls, after the warm-up's */
  calls: number;
  /** calls kept in flight at once, spread over the clients */
  concurrency: number;
  /** clients in all: the relay's stdio client and clients - 1 WebSocket clients */
  clients: number;
  /** backends the calls go to, round robin */
  backends: number;
  /** backends killed (SIGKILL) and started again on their port during the run */
  restarts: number;
  /** rewrites of backends.yaml during the run: a spare backend added, then removed */
  reloads: number;
  /** WebSocket clients that close and connect again during the run (after their calls are answered) */
  churn: number;
  /**
   * calls before the soak's own, with no faults, after which the relay's RSS is the reference: V8 sizes its heap to the
   * load lazily, and the relay's RSS only levels off after some 150,000 calls at 1,000 in flight (a 1,000,000-call run:
   * 127 MB at 65,000 calls, 172 MB at 175,000, then between 163 and 189 MB to the end, 165 MB after it)
   */
  warmupCalls: number;
  /** the RSS target: RSS at the end at most this times RSS after warm-up */
  rssLimit: number;
  /** a call not answered within this is lost (the relay's own timeoutMs is set below it) */
  callDeadlineMs: number;
  /** the whole run ends by this, whatever is left in flight counting as lost */
  maxDurationMs: number;
  /** progress lines (stderr by default in the CLI; none in tests) */
  log: (line: string) => void;
}

export const SOAK_DEFAULTS: SoakOptions = {
  calls: 100_000,
  concurrency: 1_000,
  clients: 50,
  backends: 10,
  restarts: 6,
  reloads: 10,
  churn: 10,
  warmupCalls: 150_000,
  rssLimit: 1.2,
  callDeadlineMs: 30_000,
  maxDurationMs: 15 * 60_000,
  log: () => undefined,
};

export interface RssSample {
  /** ms since the load began */
  ms: number;
  /** calls answered so far */
  answered: number;
  bytes: number;
}

export interface SoakResult {
  options: Omit<SoakOptions, 'log'>;
  /** calls sent, the warm-up's and the soak's */
  calls: number;
  ok: number;
  /** answers that were errors (JSON-RPC errors or isError results), by kind */
  errors: Record<string, number>;
  lost: number;
  duplicated: number;
  misrouted: number;
  /** a few of the misrouted or duplicated answers, for the report */
  samples: string[];
  /** answers that came after their call had been counted lost */
  late: number;
  notifications: number;
  durationMs: number;
  rss: { warmup: number; end: number; ratio: number; afterDrain: number; peak: number; series: RssSample[] };
  relayCpuSeconds: number;
  restarts: number;
  reloads: number;
  clientReconnects: number;
  /** faults the soak could not inject (a backend that would not start again, a client that could not reconnect) */
  faultErrors: string[];
  /** what the relay logged meanwhile */
  relay: {
    reconnects: number;
    configReloads: number;
    clientConnects: number;
    /** log lines the relay dropped (log.dropped): the counts above are then lower bounds */
    droppedLines: number;
    crashes: string[];
    warnings: Record<string, number>;
  };
}

/** the RSS reference and the end figure are medians over this share of the soak's calls each */
const RSS_WINDOW = 0.5;

/** every process the soak started and has not seen exit, and its temporary directories: cleared if it is interrupted */
const children = new Set<ChildProcess>();
const directories = new Set<string>();
const track = <T extends ChildProcess>(child: T): T => {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
};

const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

function rssOf(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

/** user + system CPU seconds of a process so far (/proc/<pid>/stat, in clock ticks of 1/100 s on Linux) */
export function cpuSecondsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name may hold spaces: fields count from after its closing parenthesis
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

/** an error answer's kind: its code and message with the numbers taken out, so one cause is one row */
function errorKind(message: Json): string {
  if ('error' in message) {
    const error = (message['error'] ?? {}) as { code?: unknown; message?: unknown };
    return `error ${String(error.code)}: ${String(error.message).replace(/\d+/g, 'N').slice(0, 160)}`;
  }
  const content = ((message['result'] as Json | undefined)?.['content'] ?? []) as Array<{ text?: string }>;
  return `isError: ${String(content[0]?.text ?? '').replace(/\d+/g, 'N').slice(0, 160)}`;
}

// ---------------------------------------------------------------------------------------------------------------
// backends

interface SoakBackend {
  name: string;
  port: number;
  url: string;
  child: ChildProcess;
}

async function spawnBackend(name: string, port: number, deadline: number): Promise<SoakBackend> {
  for (let attempt = 0; ; attempt++) {
    const child = track(spawn(process.execPath, [SOAK_BACKEND_MAIN, '--name', name, '--port', String(port)], { stdio: ['pipe', 'pipe', 'ignore'] }));
    const url = await new Promise<string | null>((done) => {
      const subscription = lines$(child.stdout as NonNullable<typeof child.stdout>).subscribe((line) => {
        subscription.unsubscribe();
        done((JSON.parse(line) as { url: string }).url);
      });
      child.once('exit', () => done(null));
    });
    if (url !== null) return { name, port: Number(new URL(url).port), url, child };
    // the killed process may hold the port for a moment
    if (Date.now() > deadline || attempt > 200) throw new Error(`backend ${name} did not start on port ${port}`);
    await sleep(25);
  }
}

function stopProcess(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
  return exited.then(() => clearTimeout(timer));
}

// ---------------------------------------------------------------------------------------------------------------
// the relay

interface RelayProcess {
  child: ChildProcessWithoutNullStreams;
  /** the WebSocket listener's URL, once the relay has logged it */
  ws(timeoutMs: number): Promise<string>;
  /** stops the relay (its log is complete then) and reads what the soak counts from the log */
  stop(): Promise<SoakResult['relay']>;
}

/**
 * The relay logs to a file (LOG_FILE), read once it has stopped: a stderr pipe read by this process, busy with the
 * load on the same cores, fell behind the relay's one call.done line per call, and the lines waiting in the relay's
 * log writer (19 MB after 300,000 calls) showed as RSS growth that was this reader's, not the relay's.
 */
function startRelay(file: string, logFile: string): RelayProcess {
  // SOAK_RELAY_NODE_ARGS="--heapsnapshot-signal=SIGUSR2" lets a person look inside the relay under soak load
  const nodeArgs = (process.env['SOAK_RELAY_NODE_ARGS'] ?? '').split(' ').filter(Boolean);
  const child = track(
    spawn(process.execPath, [...nodeArgs, SOAK_RELAY_MAIN, '--config', file, '--listen', 'ws://127.0.0.1:0/mcp'], {
      env: { ...process.env, LOG_LEVEL: 'info', LOG_FILE: logFile },
      stdio: ['pipe', 'pipe', 'pipe'],
    }),
  );
  // nothing should come here with LOG_FILE set; whatever does is reported
  const stderr: string[] = [];
  lines$(child.stderr).subscribe((line) => (line !== '' && stderr.length < 20 ? stderr.push(line) : undefined));
  const ws = async (timeoutMs: number): Promise<string> => {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const text = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
      const listen = text.split('\n').find((line) => line.includes('"event":"front.listen"') && line.includes('"front":"ws"'));
      if (listen) return String((JSON.parse(listen) as Json)['url']);
      if (Date.now() > until) throw new Error(`the relay did not log its WebSocket listener within ${timeoutMs} ms: ${[...stderr, text.slice(-500)].join('\n')}`);
      await sleep(50);
    }
  };
  let stopped: Promise<SoakResult['relay']> | null = null;
  const stop = async (): Promise<SoakResult['relay']> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.stdin.end();
      await stopProcess(child);
    }
    const log: SoakResult['relay'] = { reconnects: 0, configReloads: 0, clientConnects: 0, droppedLines: 0, crashes: stderr.map((line) => `on stderr: ${line.slice(0, 300)}`), warnings: {} };
    if (!existsSync(logFile)) return log;
    const lines = createInterface({ input: createReadStream(logFile, 'utf8'), crlfDelay: Infinity });
    for await (const line of lines) {
      // call.done, one a call, is skipped unread unless it is a warning
      if (line === '' || (line.includes('"event":"call.done"') && line.startsWith('{"level":30'))) continue;
      let event: Json;
      try {
        event = JSON.parse(line) as Json;
      } catch {
        log.crashes.push(`not JSON in the log: ${line.slice(0, 200)}`);
        continue;
      }
      const name = String(event['event']);
      if (name === 'backend.reconnect') log.reconnects++;
      else if (name === 'config.reloaded') log.configReloads++;
      else if (name === 'client.connect') log.clientConnects++;
      else if (name === 'log.dropped') log.droppedLines += Number(event['lines'] ?? 0);
      else if (name === 'relay.crash' || name === 'relay.uncaught' || name === 'session.crash') log.crashes.push(`${name}: ${String(event['error']).slice(0, 300)}`);
      if (Number(event['level']) >= 40) log.warnings[name] = (log.warnings[name] ?? 0) + 1;
    }
    return log;
  };
  return { child, ws, stop: () => (stopped ??= stop()) };
}

function backendsYaml(backends: readonly SoakBackend[], callDeadlineMs: number): string {
  return `startupGraceMs: 10000
defaults:
  connectWaitMs: 5000
  timeoutMs: ${Math.max(1_000, Math.floor(callDeadlineMs * 0.6))}
  backoff: { initialMs: 100, maxMs: 1000 }
  # a killed backend's calls in flight open its breaker; a short cooldown puts it back in the load within the run
  circuitBreaker: { cooldownMs: 1000 }
# the limits a shared service would set (100 requests/s a connection) would measure the limits, not the relay
limits:
  maxConnections: 100000
  maxConnectionsPerToken: 100000
  maxInFlightPerClient: 100000
  rateLimit: { requestsPerSecond: 10000000, perPrincipal: { requestsPerSecond: 10000000 } }
backends:
${backends.map((backend) => `  - name: ${backend.name}\n    url: ${backend.url}\n`).join('')}`;
}

// ---------------------------------------------------------------------------------------------------------------
// clients

interface Outcome {
  kind: 'ok' | 'error' | 'lost';
}

interface Waiting {
  backend: string;
  seq: number;
  sentAt: number;
  done: (outcome: Outcome) => void;
}

/** One connection's own table of calls in flight; what it saw goes into the shared tally. */
class Connection {
  private next = 0;
  readonly pending = new Map<Id, Waiting>();
  private readonly answered = new Set<Id>();
  private readonly expired = new Set<Id>();
  /** the client's own requests around the load (initialize, tools/list), answered apart from the calls */
  private readonly setup = new Map<Id, (message: Json) => void>();
  private closedWith: string | null = null;

  constructor(
    readonly tag: string,
    private readonly stringIds: boolean,
    private readonly write: (line: string) => void,
    private readonly tally: Tally,
  ) {}

  /** the raw send; resolves with the call's outcome */
  call(backend: string): Promise<Outcome> {
    const seq = ++this.next;
    const id: Id = this.stringIds ? `req-${seq}` : seq;
    const args: Json = { c: this.tag, s: seq };
    // one call in ten is answered a few ms late, so answers overtake each other on the backend connection
    if (seq % 10 === 0) args['d'] = 1 + (seq % 4);
    return new Promise<Outcome>((done) => {
      this.tally.sent++;
      if (this.closedWith !== null) {
        this.tally.lost++;
        this.tally.flaw(`${this.tag}: call ${seq} to ${backend} not sent: the connection had ended (${this.closedWith})`);
        return done({ kind: 'lost' });
      }
      this.pending.set(id, { backend, seq, sentAt: performance.now(), done });
      this.write(JSON.stringify({ method: 'tools/call', params: { name: `${backend}_echo`, arguments: args }, jsonrpc: '2.0', id }));
    });
  }

  request(method: string, params: Json): Promise<Json> {
    const id = `setup-${++this.next}`;
    return new Promise<Json>((done, fail) => {
      const timer = setTimeout(() => fail(new Error(`${this.tag}: no answer to ${method} within 15 s`)), 15_000);
      this.setup.set(id, (message) => {
        clearTimeout(timer);
        done(message);
      });
      this.write(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
    });
  }

  notify(method: string): void {
    this.write(JSON.stringify({ jsonrpc: '2.0', method }));
  }

  receive(line: string): void {
    let message: Json;
    try {
      message = JSON.parse(line) as Json;
    } catch {
      this.tally.flaw(`${this.tag}: not JSON: ${line.slice(0, 200)}`);
      this.tally.misrouted++;
      return;
    }
    if ('method' in message) {
      this.tally.notifications++;
      return;
    }
    const id = message['id'] as Id;
    const setup = this.setup.get(id);
    if (setup) {
      this.setup.delete(id);
      setup(message);
      return;
    }
    const waiting = this.pending.get(id);
    if (!waiting) {
      if (this.answered.has(id)) {
        this.tally.duplicated++;
        this.tally.flaw(`${this.tag}: a second answer to ${JSON.stringify(id)}: ${line.slice(0, 200)}`);
      } else if (this.expired.has(id)) {
        this.tally.late++;
      } else {
        this.tally.misrouted++;
        this.tally.flaw(`${this.tag}: an answer to ${JSON.stringify(id)}, never sent on this connection: ${line.slice(0, 200)}`);
      }
      return;
    }
    this.pending.delete(id);
    this.answered.add(id);
    const result = message['result'] as { content?: Array<{ text?: string }>; isError?: boolean } | undefined;
    if ('error' in message || result?.isError === true) {
      const kind = errorKind(message);
      this.tally.errors[kind] = (this.tally.errors[kind] ?? 0) + 1;
      waiting.done({ kind: 'error' });
      return;
    }
    let echo: { backend?: unknown; args?: { c?: unknown; s?: unknown } } = {};
    try {
      echo = JSON.parse(result?.content?.[0]?.text ?? '') as typeof echo;
    } catch {
      // not an echo at all: misrouted below
    }
    if (echo.backend !== waiting.backend || echo.args?.c !== this.tag || echo.args?.s !== waiting.seq) {
      this.tally.misrouted++;
      this.tally.flaw(`${this.tag}: ${JSON.stringify(id)} (call ${waiting.seq} to ${waiting.backend}) was answered with ${line.slice(0, 200)}`);
      waiting.done({ kind: 'error' });
      return;
    }
    this.tally.ok++;
    waiting.done({ kind: 'ok' });
  }

  /** calls older than the deadline are lost; a late answer to one is counted apart */
  expire(now: number, deadlineMs: number): void {
    for (const [id, waiting] of this.pending) {
      if (now - waiting.sentAt < deadlineMs) continue;
      this.pending.delete(id);
      this.expired.add(id);
      this.tally.lost++;
      this.tally.flaw(`${this.tag}: ${JSON.stringify(id)} (call ${waiting.seq} to ${waiting.backend}) had no answer within ${deadlineMs} ms`);
      waiting.done({ kind: 'lost' });
    }
  }

  /** the connection ended: what it had in flight is lost, unless it was closed on purpose with nothing in flight */
  closed(reason: string): void {
    if (this.closedWith !== null) return;
    this.closedWith = reason;
    for (const [id, waiting] of this.pending) {
      this.tally.lost++;
      this.tally.flaw(`${this.tag}: ${JSON.stringify(id)} (call ${waiting.seq} to ${waiting.backend}) lost: the connection ended (${reason})`);
      waiting.done({ kind: 'lost' });
    }
    this.pending.clear();
  }
}

class Tally {
  sent = 0;
  ok = 0;
  lost = 0;
  duplicated = 0;
  misrouted = 0;
  late = 0;
  notifications = 0;
  readonly errors: Record<string, number> = {};
  readonly samples: string[] = [];
  flaw(text: string): void {
    if (this.samples.length < 20) this.samples.push(text);
  }
  get answered(): number {
    return this.ok + this.lost + this.misrouted + Object.values(this.errors).reduce((a, b) => a + b, 0);
  }
}

interface ClientSlot {
  index: number;
  connection: Connection;
  /** resolves when the client may send: a reconnecting client holds its workers here */
  gate: Promise<void>;
  generation: number;
  close(): void;
}

async function openWsConnection(url: string, tag: string, stringIds: boolean, tally: Tally): Promise<{ connection: Connection; socket: WebSocket }> {
  const socket = new WebSocket(url, ['mcp'], { perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 });
  await new Promise((done, fail) => socket.once('open', done).once('error', fail));
  const connection = new Connection(tag, stringIds, (line) => socket.send(line), tally);
  socket.on('message', (data) => connection.receive(data.toString()));
  socket.on('close', (code, reason) => connection.closed(`WebSocket closed ${code} ${reason.toString()}`));
  socket.on('error', () => undefined);
  return { connection, socket };
}

async function initialize(connection: Connection): Promise<void> {
  const answer = await connection.request('initialize', { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: `soak-${connection.tag}`, version: '1' } });
  if (!('result' in answer)) throw new Error(`${connection.tag}: initialize failed: ${JSON.stringify(answer).slice(0, 300)}`);
  connection.notify('notifications/initialized');
}

// ---------------------------------------------------------------------------------------------------------------
// the run

export async function soak(given: Partial<SoakOptions> = {}): Promise<SoakResult> {
  const options: SoakOptions = { ...SOAK_DEFAULTS, ...given };
  const { log } = options;
  if (options.clients < 1 || options.concurrency < options.clients || options.calls < options.concurrency || options.backends < 1 || options.warmupCalls < 0) {
    throw new Error(`soak: need clients >= 1, concurrency >= clients, calls >= concurrency, backends >= 1 (got ${JSON.stringify({ ...options, log: undefined })})`);
  }
  const startedAt = Date.now();
  const hardDeadline = startedAt + options.maxDurationMs;
  const dir = mkdtempSync(join(tmpdir(), 'relay-soak-'));
  directories.add(dir);
  const file = join(dir, 'backends.yaml');
  const backends: SoakBackend[] = [];
  const sockets: WebSocket[] = [];
  let relay: RelayProcess | null = null;
  let sampler: ReturnType<typeof setInterval> | undefined;
  let watchdog: ReturnType<typeof setInterval> | undefined;
  const faults: Array<Promise<void>> = [];
  try {
    log(`starting ${options.backends} backends and a spare`);
    const names = [...Array.from({ length: options.backends }, (_, i) => `s${i}`), 'spare'];
    backends.push(...(await Promise.all(names.map((name) => spawnBackend(name, 0, hardDeadline)))));
    const serving = backends.slice(0, options.backends);
    const spare = backends[options.backends] as SoakBackend;
    writeFileSync(file, backendsYaml(serving, options.callDeadlineMs));
    relay = startRelay(file, join(dir, 'relay.log'));
    const relayPid = relay.child.pid as number;
    const tally = new Tally();

    // the stdio client first: the relay's own stdin and stdout
    const stdio = new Connection('stdio', false, (line) => relay?.child.stdin.write(`${line}\n`), tally);
    lines$(relay.child.stdout).subscribe({ next: (line) => (line === '' ? undefined : stdio.receive(line)), complete: () => stdio.closed('the relay closed its stdout') });
    await initialize(stdio);
    // every backend's tool in the catalogue before the load starts
    const wanted = serving.map((backend) => `${backend.name}_echo`);
    for (;;) {
      const listed = await stdio.request('tools/list', {});
      const tools = ((listed['result'] as { tools?: Array<{ name: string }> } | undefined)?.tools ?? []).map((tool) => tool.name);
      if (wanted.every((name) => tools.includes(name))) break;
      if (Date.now() > startedAt + 30_000) throw new Error(`the catalogue never listed every backend's tool: ${tools.join(', ')}`);
      await sleep(100);
    }
    const wsUrl = await relay.ws(15_000);

    const clients: ClientSlot[] = [{ index: 0, connection: stdio, gate: Promise.resolve(), generation: 0, close: () => undefined }];
    const connections: Connection[] = [stdio];
    for (let index = 1; index < options.clients; index++) {
      const tag = `ws${index}`;
      const { connection, socket } = await openWsConnection(wsUrl, tag, index % 2 === 1, tally);
      sockets.push(socket);
      connections.push(connection);
      await initialize(connection);
      clients.push({ index, connection, gate: Promise.resolve(), generation: 0, close: () => socket.close() });
    }
    const total = options.warmupCalls + options.calls;
    log(`${options.clients} clients connected; ${options.warmupCalls} calls of warm-up, then ${options.calls} calls with faults, ${options.concurrency} in flight`);

    // the faults, each at its share of the soak's calls, spread over its first 80%: the last 20% is the end window
    type Fault = { at: number; run: () => Promise<void>; name: string };
    const spread = (count: number, offset: number): number[] =>
      Array.from({ length: count }, (_, i) => options.warmupCalls + Math.floor((options.calls * 0.8 * (i + offset)) / Math.max(1, count)));
    let restarts = 0;
    let reloads = 0;
    let clientReconnects = 0;
    const schedule: Fault[] = [
      ...spread(options.restarts, 0.5).map((at, i): Fault => ({
        at,
        name: 'restart',
        run: async () => {
          const index = i % serving.length;
          const backend = serving[index] as SoakBackend;
          backend.child.kill('SIGKILL');
          await new Promise<void>((done) => (backend.child.exitCode !== null || backend.child.signalCode !== null ? done() : backend.child.once('exit', () => done())));
          await sleep(50 + (i % 4) * 50);
          serving[index] = await spawnBackend(backend.name, backend.port, hardDeadline);
          backends[index] = serving[index] as SoakBackend;
          restarts++;
        },
      })),
      ...spread(options.reloads, 0.25).map((at, i): Fault => ({
        at,
        name: 'reload',
        run: async () => {
          writeFileSync(file, backendsYaml(i % 2 === 0 ? [...serving, spare] : serving, options.callDeadlineMs));
          reloads++;
        },
      })),
      ...spread(Math.min(options.churn, options.clients - 1), 0.75).map((at, i): Fault => ({
        at,
        name: 'client reconnect',
        run: async () => {
          const slot = clients[1 + (i % (options.clients - 1))] as ClientSlot;
          let open: () => void = () => undefined;
          slot.gate = new Promise<void>((done) => (open = done));
          try {
            // its workers hold; what it has in flight is answered first
            // (a worker already past the gate sends in this turn: look only after it has)
            const until = Date.now() + options.callDeadlineMs;
            do await sleep(5);
            while (slot.connection.pending.size > 0 && Date.now() < until);
            slot.close();
            slot.generation++;
            const { connection, socket } = await openWsConnection(wsUrl, `ws${slot.index}.${slot.generation}`, slot.index % 2 === 1, tally);
            sockets.push(socket);
            connections.push(connection);
            await initialize(connection);
            slot.connection = connection;
            slot.close = () => socket.close();
            clientReconnects++;
          } finally {
            // a reconnect that failed leaves the closed connection: its calls count as lost, none waits forever
            open();
          }
        },
      })),
    ].sort((a, b) => a.at - b.at);

    // RSS over time, and the calls lost to the deadline
    const loadStarted = performance.now();
    const series: RssSample[] = [];
    const sample = () => series.push({ ms: Math.round(performance.now() - loadStarted), answered: tally.answered, bytes: rssOf(relayPid) });
    sample();
    sampler = setInterval(sample, 100);
    watchdog = setInterval(() => {
      const now = performance.now();
      for (const connection of connections) connection.expire(now, options.callDeadlineMs);
    }, 1_000);
    const cpuBefore = cpuSecondsOf(relayPid);

    let issued = 0;
    let nextFault = 0;
    const faultErrors: string[] = [];
    let reported = 0;
    const worker = async (slot: ClientSlot): Promise<void> => {
      while (issued < total && Date.now() < hardDeadline) {
        await slot.gate;
        if (issued >= total) return;
        const n = issued++;
        while (nextFault < schedule.length && (schedule[nextFault] as Fault).at <= n) {
          const fault = schedule[nextFault++] as Fault;
          faults.push(fault.run().catch((error: unknown) => void faultErrors.push(`${fault.name} failed: ${error instanceof Error ? error.message : String(error)}`)));
        }
        if (n - reported >= total / 10) {
          reported = n;
          log(`${n} calls sent, ${tally.answered} answered, relay RSS ${round(rssOf(relayPid) / 1_048_576, 1)} MB`);
        }
        await slot.connection.call(`s${n % options.backends}`);
      }
    };
    await Promise.all(Array.from({ length: options.concurrency }, (_, k) => worker(clients[k % clients.length] as ClientSlot)));
    await Promise.all(faults);
    const durationMs = performance.now() - loadStarted;
    clearInterval(sampler);
    sample();
    const relayCpuSeconds = cpuSecondsOf(relayPid) - cpuBefore;
    // what is left in flight (a worker whose call was lost) is lost; let the relay settle, then its idle RSS
    for (const connection of connections) connection.expire(Number.POSITIVE_INFINITY, 0);
    await sleep(1_000);
    const afterDrain = rssOf(relayPid);
    for (const socket of sockets) socket.terminate();
    const relayLog = await relay.stop();

    const window = (from: number, to: number): number => {
      const inside = series.filter((s) => s.answered >= from && s.answered <= to).map((s) => s.bytes);
      if (inside.length > 0) return median(inside);
      // a short run may have no sample inside: the one nearest the window's start
      const nearest = [...series].sort((a, b) => Math.abs(a.answered - from) - Math.abs(b.answered - from))[0];
      return nearest?.bytes ?? 0;
    };
    // two windows of the same size, half the soak's calls: the end of the warm-up, and the end of the soak. RSS is a
    // sawtooth between major GCs (±15% over a few seconds at full load): a window must span more than one tooth
    const span = options.calls * RSS_WINDOW;
    const warmup = window(Math.max(0, options.warmupCalls - span), options.warmupCalls);
    const end = window(total - span, total);
    const { log: _log, ...settings } = options;
    return {
      options: settings,
      calls: tally.sent,
      ok: tally.ok,
      errors: tally.errors,
      lost: tally.lost,
      duplicated: tally.duplicated,
      misrouted: tally.misrouted,
      samples: tally.samples,
      late: tally.late,
      notifications: tally.notifications,
      durationMs,
      rss: { warmup, end, ratio: end / warmup, afterDrain, peak: Math.max(...series.map((s) => s.bytes)), series },
      relayCpuSeconds,
      restarts,
      reloads,
      clientReconnects,
      faultErrors,
      relay: relayLog,
    };
  } finally {
    clearInterval(sampler);
    clearInterval(watchdog);
    await Promise.allSettled(faults);
    for (const socket of sockets) socket.terminate();
    await relay?.stop();
    await Promise.all(backends.map((backend) => stopProcess(backend.child)));
    rmSync(dir, { recursive: true, force: true });
    directories.delete(dir);
  }
}

/** why the run fails its targets; empty when it passes */
export function soakFailures(result: SoakResult, rssLimit = result.options.rssLimit): string[] {
  const failures: string[] = [];
  if (result.lost > 0) failures.push(`${result.lost} calls lost`);
  if (result.duplicated > 0) failures.push(`${result.duplicated} answers duplicated`);
  if (result.misrouted > 0) failures.push(`${result.misrouted} answers misrouted`);
  const wanted = result.options.warmupCalls + result.options.calls;
  if (result.calls !== wanted) failures.push(`${result.calls} calls sent of ${wanted}`);
  if (!(result.rss.ratio <= rssLimit)) failures.push(`RSS at the end is ${round(result.rss.ratio)}× RSS after warm-up (target ≤ ${rssLimit}×)`);
  if (result.faultErrors.length > 0) failures.push(`faults not injected: ${result.faultErrors.slice(0, 3).join(' | ')}`);
  if (result.relay.crashes.length > 0) failures.push(`the relay logged ${result.relay.crashes.length} crashes: ${result.relay.crashes.slice(0, 3).join(' | ')}`);
  return failures;
}

const mb = (bytes: number) => `${round(bytes / 1_048_576, 1)} MB`;

export function renderSoak(result: SoakResult): string {
  const { options } = result;
  const errors = Object.entries(result.errors).sort((a, b) => b[1] - a[1]);
  const errorCount = errors.reduce((sum, [, count]) => sum + count, 0);
  // RSS over time: ten points spread over the run
  const step = Math.max(1, Math.floor(result.rss.series.length / 10));
  const points = result.rss.series.filter((_, i) => i % step === 0 || i === result.rss.series.length - 1);
  const failures = soakFailures(result);
  const lines = [
    `mcp-relay soak, ${new Date().toISOString()}, Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'unknown'}`,
    '',
    '| soak | figure |',
    '|---|---|',
    `| calls | ${result.calls} sent (${options.warmupCalls} warm-up, then ${options.calls} with faults); ${result.ok} ok, ${errorCount} errors |`,
    `| lost / duplicated / misrouted | ${result.lost} / ${result.duplicated} / ${result.misrouted}${result.late > 0 ? ` (${result.late} answered after the ${options.callDeadlineMs} ms deadline)` : ''} |`,
    `| clients | ${options.clients} (1 stdio, ${options.clients - 1} WebSocket); ${result.clientReconnects} WebSocket reconnects; the relay logged ${result.relay.clientConnects} client.connect |`,
    `| load | ${options.concurrency} calls in flight over ${options.backends} backends |`,
    `| duration | ${round(result.durationMs / 1000, 1)} s, ${round(result.calls / (result.durationMs / 1000), 0)} calls/s |`,
    `| relay CPU | ${round(result.relayCpuSeconds, 1)} s (${round(result.relayCpuSeconds / (result.durationMs / 1000), 2)} cores) |`,
    `| RSS after warm-up (median over its last ${round(options.calls * RSS_WINDOW, 0)} calls) | ${mb(result.rss.warmup)} |`,
    `| RSS at the end (median over the last ${round(options.calls * RSS_WINDOW, 0)} calls) | ${mb(result.rss.end)}: ${round(result.rss.ratio, 3)}× warm-up (target ≤ ${options.rssLimit}×) |`,
    `| RSS after the load, idle 1 s | ${mb(result.rss.afterDrain)}; peak ${mb(result.rss.peak)} |`,
    `| backend restarts (kill -9, same port) | ${result.restarts}; the relay logged ${result.relay.reconnects} backend.reconnect |`,
    `| config reloads (one backend more / less) | ${result.reloads}; the relay logged ${result.relay.configReloads} config.reloaded |`,
    `| notifications received (list_changed) | ${result.notifications} |`,
    '',
    '| errors by kind | count |',
    '|---|---|',
    ...(errors.length === 0 ? ['| none | 0 |'] : errors.map(([kind, count]) => `| ${kind.replace(/\|/g, '\\|')} | ${count} |`)),
    '',
    '| RSS over time: s | calls answered | RSS |',
    '|---|---|---|',
    ...points.map((point) => `| ${round(point.ms / 1000, 1)} | ${point.answered} | ${mb(point.bytes)} |`),
  ];
  if (result.relay.droppedLines > 0) lines.push('', `the relay dropped ${result.relay.droppedLines} log lines (log.dropped: its log writer fell behind), so the counts read from its log are lower bounds`);
  const warnings = Object.entries(result.relay.warnings);
  if (warnings.length > 0) lines.push('', `relay warnings: ${warnings.map(([name, count]) => `${name} ×${count}`).join(', ')}`);
  if (result.samples.length > 0) lines.push('', 'first problems seen:', ...result.samples.map((text) => `  ${text}`));
  lines.push('', failures.length === 0 ? 'PASS: every call answered once, to its own request; RSS within the target' : `FAIL: ${failures.join('; ')}`);
  return lines.join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      calls: { type: 'string' },
      concurrency: { type: 'string' },
      clients: { type: 'string' },
      backends: { type: 'string' },
      restarts: { type: 'string' },
      reloads: { type: 'string' },
      churn: { type: 'string' },
      warmup: { type: 'string' },
    },
  });
  // interrupted (Ctrl-C), the soak's finally never runs: the relay, which serves its listener past stdin's end, and
  // the backends are killed here instead
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      for (const child of children) child.kill('SIGKILL');
      for (const dir of directories) rmSync(dir, { recursive: true, force: true });
      process.exit(130);
    });
  }
  const given: Partial<SoakOptions> = { log: (line) => process.stderr.write(`soak: ${line}\n`) };
  for (const key of ['calls', 'concurrency', 'clients', 'backends', 'restarts', 'reloads', 'churn'] as const) if (values[key] !== undefined) given[key] = Number(values[key]);
  if (values.warmup !== undefined) given.warmupCalls = Number(values.warmup);
  const result = await soak(given);
  process.stdout.write(`${renderSoak(result)}\n`);
  process.exitCode = soakFailures(result).length > 0 ? 1 : 0;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
