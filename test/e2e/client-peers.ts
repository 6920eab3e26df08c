// Raw client peers for the client-side fault tests (client-faults.test.ts, client-fuzz.test.ts). Each one checks every
// message the relay sends it: well-formed UTF-8, one JSON-RPC 2.0 object per stdout line or text frame, a response
// with an id (or null) and exactly one of result and error. What is not is kept in `problems`, never thrown, so a test
// can go on and report it. They also send what no SDK would: raw bytes on stdin, any text or bytes in a frame, any
// headers on an HTTP POST.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { WebSocket } from 'ws';
import { sseParser } from '../../src/sse.js';
import { eventCollector, RELAY_MAIN, type RelayEventLine } from './relay-process.js';

export type Json = Record<string, unknown>;
export type Id = string | number;

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** the key of an id in the tables below: 1 and "1" differ, -0 and 0 do not (both are written 0) */
export const idKey = (id: unknown): string => JSON.stringify(id) ?? 'undefined';

const preview = (text: string): string => (text.length > 300 ? `${text.slice(0, 300)}... (${text.length} chars)` : text);

/** One message from the relay, checked: a JSON-RPC 2.0 request, notification or response; otherwise the problem. */
export function checkMessage(bytes: Uint8Array): { message: Json } | { problem: string } {
  let text: string;
  try {
    text = strictUtf8.decode(bytes);
  } catch {
    return { problem: `not UTF-8: ${preview(Buffer.from(bytes).toString('hex'))}` };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { problem: `not JSON: ${preview(text)}` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { problem: `not a JSON object: ${preview(text)}` };
  const message = value as Json;
  if (message['jsonrpc'] !== '2.0') return { problem: `jsonrpc is not "2.0": ${preview(text)}` };
  if (typeof message['method'] === 'string') return { message };
  const id = message['id'];
  if (!(typeof id === 'string' || typeof id === 'number' || id === null)) return { problem: `a response without a valid id: ${preview(text)}` };
  if (('result' in message) === ('error' in message)) return { problem: `a response needs exactly one of result and error: ${preview(text)}` };
  if ('result' in message && (typeof message['result'] !== 'object' || message['result'] === null || Array.isArray(message['result']))) return { problem: `a result that is not an object: ${preview(text)}` };
  if ('error' in message) {
    const error = message['error'] as Json | null;
    if (typeof error !== 'object' || error === null || !Number.isInteger(error['code']) || typeof error['message'] !== 'string') return { problem: `a malformed error object: ${preview(text)}` };
  }
  return { message };
}

/** What a peer has received, and a way to wait on it that gives up at once when the relay is gone. */
export class Inbox {
  readonly responses: Json[] = [];
  readonly notifications: Json[] = [];
  readonly problems: string[] = [];
  private readonly byId = new Map<string, Json[]>();
  private checks = new Set<() => void>();
  private gone: string | null = null;

  take(bytes: Uint8Array): void {
    const checked = checkMessage(bytes);
    if ('problem' in checked) this.problems.push(checked.problem);
    else if (typeof checked.message['method'] === 'string') this.notifications.push(checked.message);
    else {
      this.responses.push(checked.message);
      const key = idKey(checked.message['id']);
      const list = this.byId.get(key);
      if (list) list.push(checked.message);
      else this.byId.set(key, [checked.message]);
    }
    this.recheck();
  }

  problem(text: string): void {
    this.problems.push(text);
    this.recheck();
  }

  /** every response with this id so far */
  answersTo(id: Id | null): Json[] {
    return this.byId.get(idKey(id)) ?? [];
  }

  /** the first response with this id at or after index `from` of `responses` */
  answerFrom(from: number, id: Id | null): Json | undefined {
    const key = idKey(id);
    for (let index = from; index < this.responses.length; index++) if (idKey(this.responses[index]?.['id']) === key) return this.responses[index];
    return undefined;
  }

  /** the peer is gone (process exited, socket closed): waits fail at once with this reason */
  end(reason: string): void {
    this.gone = reason;
    this.recheck();
  }

  get ended(): string | null {
    return this.gone;
  }

  /** Resolves once `check` passes, checked on each message; rejects after timeoutMs or when the peer is gone. */
  until(check: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
    return new Promise((resolve, reject) => {
      let done = false;
      const finish = (error?: Error) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.checks.delete(test);
        if (error) reject(error);
        else resolve();
      };
      const test = () => {
        if (check()) finish();
        else if (this.gone !== null) finish(new Error(`${this.gone} while waiting for ${what()}`));
      };
      const timer = setTimeout(() => finish(new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`)), timeoutMs);
      this.checks.add(test);
      test();
    });
  }

  /** the first response with this id at or after `from` */
  async answer(id: Id | null, from = 0, timeoutMs = 15_000): Promise<Json> {
    await this.until(() => this.answerFrom(from, id) !== undefined, timeoutMs, () => `an answer to id ${idKey(id)}; last received ${preview(JSON.stringify(this.responses.slice(-3)))}`);
    return this.answerFrom(from, id) as Json;
  }

  private recheck(): void {
    for (const check of [...this.checks]) check();
  }
}

/** Calls `onLine` with each \n-terminated line of a byte stream, as bytes (nothing decoded, so bad UTF-8 shows). */
function byteLines(stream: Readable, onLine: (line: Buffer) => void): void {
  let pending: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => {
    let start = 0;
    let newline = chunk.indexOf(10);
    while (newline !== -1) {
      pending.push(chunk.subarray(start, newline));
      const line = pending.length === 1 ? (pending[0] as Buffer) : Buffer.concat(pending);
      pending = [];
      onLine(line);
      start = newline + 1;
      newline = chunk.indexOf(10, start);
    }
    if (start < chunk.length) pending.push(Buffer.from(chunk.subarray(start)));
  });
  stream.on('end', () => {
    if (pending.length > 0) onLine(Buffer.concat(pending));
  });
}

export const collectEvents = (stream: Readable): RelayEventLine[] => eventCollector(stream);

/** events of a crash the relay survived (an exception that reached the top, a session that died, a stray stderr line) */
export const CRASH_EVENTS = ['relay.uncaught', 'relay.crash', 'session.crash', 'non-json-stderr'];
export const crashes = (events: RelayEventLine[]): RelayEventLine[] => events.filter((event) => CRASH_EVENTS.includes(event.event));
/** events of an exception the relay caught where it was thrown: a client's bad input is no internal error */
export const INTERNAL_ERROR_EVENTS = ['relay.error', 'front.error', 'http.error'];
export const internalErrors = (events: RelayEventLine[]): RelayEventLine[] => events.filter((event) => INTERNAL_ERROR_EVENTS.includes(event.event));

export interface StdioPeer {
  child: ChildProcessWithoutNullStreams;
  inbox: Inbox;
  events: RelayEventLine[];
  /** raw bytes or text to stdin, as they are */
  write(data: string | Uint8Array): void;
  send(message: unknown): void;
  /** sends a request and waits for its answer (the first with its id from now on) */
  request(id: Id, method: string, params?: unknown, timeoutMs?: number): Promise<Json>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(): Promise<void>;
}

/** The built relay on stdio, read as bytes: every stdout line is checked (a line that is not JSON-RPC is a problem). */
export function startStdioPeer(file: string, env: Record<string, string> = {}): StdioPeer {
  const child = spawn(process.execPath, [RELAY_MAIN, '--config', file], { env: { ...process.env, LOG_LEVEL: 'debug', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  const inbox = new Inbox();
  const events = collectEvents(child.stderr);
  byteLines(child.stdout, (line) => {
    if (line.length === 0) inbox.problem('an empty line on stdout');
    else inbox.take(line);
  });
  // a relay that closed its stdin early makes writes fail with EPIPE: the test's expectations report that, not a throw
  child.stdin.on('error', () => undefined);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.once('exit', (code, signal) => {
      inbox.end(`the relay exited (code ${code}, signal ${signal})`);
      done({ code, signal });
    }),
  );
  const write = (data: string | Uint8Array) => {
    child.stdin.write(data);
  };
  const send = (message: unknown) => write(`${JSON.stringify(message)}\n`);
  const request = (id: Id, method: string, params?: unknown, timeoutMs = 15_000) => {
    const from = inbox.responses.length;
    send(params === undefined ? { jsonrpc: '2.0', id, method } : { jsonrpc: '2.0', id, method, params });
    return inbox.answer(id, from, timeoutMs);
  };
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.stdin.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
    await exited;
    clearTimeout(timer);
  };
  return { child, inbox, events, write, send, request, exited, stop };
}

export interface WsPeer {
  socket: WebSocket;
  inbox: Inbox;
  closed: Promise<{ code: number; reason: string }>;
  /** a text frame, whatever its bytes (a Buffer is sent as a text frame too, unchecked) */
  sendText(data: string | Buffer): void;
  send(message: unknown): void;
  request(id: Id, method: string, params?: unknown, timeoutMs?: number): Promise<Json>;
}

/** A raw WebSocket peer: every frame it receives is checked; a binary frame from the relay is a problem. */
export function openWsPeer(url: string, protocols: string[] = ['mcp']): Promise<WsPeer> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, protocols);
    const inbox = new Inbox();
    socket.on('message', (data, isBinary) => {
      const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as Buffer);
      if (isBinary) inbox.problem(`a binary frame from the relay: ${bytes.subarray(0, 100).toString('hex')}`);
      else inbox.take(bytes);
    });
    const closed = new Promise<{ code: number; reason: string }>((done) =>
      socket.on('close', (code, reason) => {
        inbox.end(`the socket closed (${code} ${String(reason)})`);
        done({ code, reason: String(reason) });
      }),
    );
    socket.on('error', (error) => reject(error));
    socket.once('unexpected-response', (_request, response) => reject(new Error(`upgrade refused: ${response.statusCode}`)));
    socket.on('open', () => {
      const sendText = (data: string | Buffer) => {
        if (socket.readyState === WebSocket.OPEN) socket.send(data, { binary: false });
      };
      const send = (message: unknown) => sendText(JSON.stringify(message));
      resolve({
        socket,
        inbox,
        closed,
        sendText,
        send,
        request: (id, method, params, timeoutMs = 15_000) => {
          const from = inbox.responses.length;
          send(params === undefined ? { jsonrpc: '2.0', id, method } : { jsonrpc: '2.0', id, method, params });
          return inbox.answer(id, from, timeoutMs);
        },
      });
    });
  });
}

export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One HTTP request with exactly these headers (no defaults added but Host and Content-Length), on its own connection. */
export function rawHttp(url: string, { method = 'POST', headers = {}, body }: { method?: string; headers?: Record<string, string>; body?: string | Buffer }, timeoutMs = 15_000): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const bytes = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(body);
    const request = httpRequest(url, { method, agent: false, headers: { ...headers, ...(bytes ? { 'content-length': String(bytes.length) } : {}) } }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        clearTimeout(timer);
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString('utf8') });
      });
      response.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
    const timer = setTimeout(() => {
      request.destroy();
      reject(new Error(`no complete HTTP answer within ${timeoutMs} ms to ${method} ${url} ${JSON.stringify(headers)}`));
    }, timeoutMs);
    request.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    request.end(bytes);
  });
}

/** The JSON-RPC messages of an HTTP answer: its JSON body, or the data of its SSE events. */
export function messagesOfHttp(answer: HttpAnswer): Array<{ message: Json } | { problem: string }> {
  const type = String(answer.headers['content-type'] ?? '');
  if (type.startsWith('text/event-stream')) {
    const events = sseParser({ maxEventBytes: 64 * 1024 * 1024 })(answer.body);
    return events.filter((event) => event.data !== '').map((event) => checkMessage(Buffer.from(event.data)));
  }
  if (answer.body === '') return [];
  return [checkMessage(Buffer.from(answer.body))];
}

/** the resident set size of a process, in bytes (Linux) */
export function rssOf(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match?.[1] ?? 0) * 1024;
}

export const sleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));
