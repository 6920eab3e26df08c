// The two kinds of client the benchmark compares: a raw newline-JSON client of the relay over stdio (as Claude Code
// is), and the same raw JSON-RPC client talking to a backend directly over WebSocket. Neither validates results.
// Both write requests as the SDK's Client does (and so Claude Code): method, params, jsonrpc, then id.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import WebSocket from 'ws';
import { lines$ } from '../src/stdio.js';

export type Json = Record<string, unknown>;

export const RELAY_MAIN = resolve(import.meta.dirname, '../src/main.js');
export const FLOOR_MAIN = resolve(import.meta.dirname, 'floor.js');

const INITIALIZE = { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bench', version: '1' } };

/** Matches responses to requests by id; what both clients share. */
class Pending {
  private next = 1;
  private readonly waiting = new Map<number, (message: Json) => void>();

  track(): { id: number; answer: Promise<Json> } {
    const id = this.next++;
    return { id, answer: new Promise<Json>((done) => this.waiting.set(id, done)) };
  }

  settle(message: Json): boolean {
    const id = message['id'];
    const done = typeof id === 'number' ? this.waiting.get(id) : undefined;
    if (!done) return false;
    this.waiting.delete(id as number);
    done(message);
    return true;
  }
}

export interface BenchClient {
  call(method: string, params: Json): Promise<Json>;
  close(): Promise<void>;
}

export class RelayClient implements BenchClient {
  readonly child: ChildProcessWithoutNullStreams;
  private readonly pending = new Pending();
  private readonly notified: Array<(message: Json) => void> = [];
  private readonly exited: Promise<void>;
  /** the URL each network front listens on (--listen on port 0), by front */
  readonly listening = new Map<string, string>();

  /** `program` replaces the relay (bench/floor.js: the cost of the hop alone) */
  constructor(configFile: string, env: Record<string, string> = {}, program: string[] = [RELAY_MAIN, '--config', configFile]) {
    // BENCH_RELAY_NODE_ARGS="--cpu-prof --cpu-prof-dir=prof" profiles the relay under benchmark load
    const nodeArgs = (process.env['BENCH_RELAY_NODE_ARGS'] ?? '').split(' ').filter(Boolean);
    this.child = spawn(process.execPath, [...nodeArgs, ...program], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    // drained (a full pipe must never stall the relay); the listeners' bound URLs are read from it
    lines$(this.child.stderr).subscribe((line) => {
      if (!line.includes('"front.listen"')) return;
      const event = JSON.parse(line) as { front: string; url: string };
      this.listening.set(event.front, event.url);
    });
    this.exited = new Promise((done) => this.child.once('exit', () => done()));
    // the relay's own line framing, so a large result is joined once
    lines$(this.child.stdout).subscribe((line) => {
      if (line === '') return;
      const message = JSON.parse(line) as Json;
      if (!this.pending.settle(message)) for (const listener of this.notified.splice(0)) listener(message);
    });
  }

  async start(): Promise<void> {
    await this.call('initialize', INITIALIZE);
    this.child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })}\n`);
  }

  call(method: string, params: Json): Promise<Json> {
    const { id, answer } = this.pending.track();
    this.child.stdin.write(`${JSON.stringify({ method, params, jsonrpc: '2.0', id })}\n`);
    return answer;
  }

  /** the next message that is not a response */
  nextNotification(): Promise<Json> {
    return new Promise((done) => this.notified.push(done));
  }

  rssBytes(): number {
    const status = readFileSync(`/proc/${this.child.pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
  }

  async close(): Promise<void> {
    this.child.stdin.end();
    // a relay with network listeners goes on serving after stdin ends: it is stopped as a service is
    if (this.listening.size > 0) this.child.kill('SIGTERM');
    await this.exited;
  }
}

export class DirectClient implements BenchClient {
  private readonly pending = new Pending();

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data) => this.pending.settle(JSON.parse(data.toString()) as Json));
  }

  /** a token goes as the relay's network fronts take it from a non-browser client: Authorization: Bearer */
  static async connect(url: string, token?: string): Promise<DirectClient> {
    const socket = new WebSocket(url, ['mcp'], { perMessageDeflate: false, maxPayload: 64 * 1024 * 1024, ...(token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } }) });
    await new Promise((done, fail) => socket.once('open', done).once('error', fail));
    const client = new DirectClient(socket);
    await client.call('initialize', INITIALIZE);
    socket.send(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }));
    return client;
  }

  call(method: string, params: Json): Promise<Json> {
    const { id, answer } = this.pending.track();
    this.socket.send(JSON.stringify({ method, params, jsonrpc: '2.0', id }));
    return answer;
  }

  async close(): Promise<void> {
    this.socket.terminate();
  }
}
