// Runs the built relay as a child process, the way Claude Code does: the SDK Client over stdio,
// or a raw newline-JSON peer when a test must see the bytes. stderr is drained into `events`.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { lines$ } from '../../src/stdio.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';

export const RELAY_MAIN = resolve(import.meta.dirname, '../../dist/src/main.js');

export interface RelayEventLine {
  event: string;
  [key: string]: unknown;
}

/** Settings that make tests fast, with the same keys a user writes; no hidden test switches. */
export const FAST_DEFAULTS = `defaults:
  connectWaitMs: 3000
  pingIntervalMs: 30000
  backoff: { initialMs: 100, maxMs: 400 }
startupGraceMs: 3000
`;

export function configFile(text: string): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'relay-test-'));
  const file = join(dir, 'backends.yaml');
  writeFileSync(file, text);
  return { dir, file };
}

export const backendsYaml = (backends: Array<{ name: string; url: string; extra?: string }>, head = FAST_DEFAULTS): string =>
  `${head}backends:\n${backends.map((b) => `  - name: ${b.name}\n    url: ${b.url}\n${b.extra ?? ''}`).join('')}`;

/** every line of a relay's stderr as an event (a line that is not JSON kept as non-json-stderr) */
export function eventCollector(stream: NodeJS.ReadableStream): RelayEventLine[] {
  const events: RelayEventLine[] = [];
  lines$(stream as Readable).subscribe((line) => {
    if (line === '') return;
    try {
      events.push(JSON.parse(line) as RelayEventLine);
    } catch {
      events.push({ event: 'non-json-stderr', line });
    }
  });
  return events;
}

export interface SdkRelay {
  client: Client;
  events: RelayEventLine[];
  listChanged: () => number;
  close: () => Promise<void>;
}

export async function startSdkRelay(file: string, env: Record<string, string> = {}, capabilities: Record<string, unknown> = {}): Promise<SdkRelay> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [RELAY_MAIN, '--config', file],
    env: { ...(process.env as Record<string, string>), LOG_LEVEL: 'debug', ...env },
    stderr: 'pipe',
  });
  const client = new Client({ name: 'relay-e2e', version: '1.0.0' }, { capabilities });
  let changes = 0;
  client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
    changes += 1;
  });
  const stderr = transport.stderr;
  // drained from the start, so a full pipe can never stall the relay
  const events = stderr ? eventCollector(stderr as unknown as NodeJS.ReadableStream) : [];
  await client.connect(transport);
  return { client, events, listChanged: () => changes, close: () => client.close() };
}

/** A raw newline-JSON peer: sends lines, reads parsed lines, for bytes the SDK would strip or reject. */
export interface RawRelay {
  child: ChildProcessWithoutNullStreams;
  events: RelayEventLine[];
  send: (message: unknown) => void;
  sendLine: (line: string) => void;
  /** resolves with the next message that matches */
  next: (match: (message: Record<string, unknown>) => boolean, timeoutMs?: number) => Promise<Record<string, unknown>>;
  received: Array<Record<string, unknown>>;
  request: (id: number | string, method: string, params?: unknown) => Promise<Record<string, unknown>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop: () => Promise<void>;
}

export function startRawRelay(args: string[], env: Record<string, string> = {}): RawRelay {
  const child = spawn(process.execPath, [RELAY_MAIN, ...args], {
    env: { ...process.env, LOG_LEVEL: 'debug', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const events = eventCollector(child.stderr);
  const received: Array<Record<string, unknown>> = [];
  const waiters: Array<{ match: (m: Record<string, unknown>) => boolean; resolve: (m: Record<string, unknown>) => void }> = [];
  lines$(child.stdout).subscribe((line) => {
    if (line === '') return;
    const message = JSON.parse(line) as Record<string, unknown>;
    received.push(message);
    const index = waiters.findIndex((waiter) => waiter.match(message));
    if (index !== -1) waiters.splice(index, 1)[0]?.resolve(message);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => child.once('exit', (code, signal) => done({ code, signal })));
  const next = (match: (m: Record<string, unknown>) => boolean, timeoutMs = 15_000) =>
    new Promise<Record<string, unknown>>((done, fail) => {
      const already = received.find(match);
      if (already) {
        received.splice(received.indexOf(already), 1);
        return done(already);
      }
      const timer = setTimeout(() => fail(new Error(`no matching message within ${timeoutMs} ms; received ${JSON.stringify(received).slice(0, 500)}`)), timeoutMs);
      waiters.push({
        match,
        resolve: (m) => {
          clearTimeout(timer);
          received.splice(received.indexOf(m), 1);
          done(m);
        },
      });
    });
  const sendLine = (line: string) => child.stdin.write(`${line}\n`);
  const send = (message: unknown) => sendLine(JSON.stringify(message));
  const request = (id: number | string, method: string, params?: unknown) => {
    send(params === undefined ? { jsonrpc: '2.0', id, method } : { jsonrpc: '2.0', id, method, params });
    return next((m) => m['id'] === id && !('method' in m));
  };
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.stdin.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
      await exited;
      clearTimeout(timer);
    }
  };
  return { child, events, send, sendLine, next, received, request, exited, stop };
}

export const INITIALIZE = {
  protocolVersion: '2025-11-25',
  capabilities: {},
  clientInfo: { name: 'raw-peer', version: '1.0.0' },
};

/** Polls until `check` passes or the time runs out; the last failure is the error. */
export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 10_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error: unknown) {
      if (Date.now() > deadline) throw error;
      await new Promise((done) => setTimeout(done, everyMs));
    }
  }
}

export interface StatusJson {
  total_servers: number;
  connected_servers: number;
  total_tools: number;
  config_error?: string;
  servers: Array<{ name: string; url: string; connected: boolean; health: string; tools: number; tool_names: string[]; invalid_tools: number; error?: string; warnings?: string[] }>;
}

export async function status(client: Client): Promise<StatusJson> {
  const result = await client.callTool({ name: 'relay_get_status', arguments: {} });
  const content = result.content as Array<{ type: string; text: string }>;
  return JSON.parse(content[0]?.text ?? '{}') as StatusJson;
}

export const textOf = (result: unknown): string =>
  (((result as { content?: unknown }).content as Array<{ type: string; text?: string }>) ?? []).map((part) => part.text ?? '').join('\n');
