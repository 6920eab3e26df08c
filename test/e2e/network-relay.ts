// Runs the built relay as a network service (--no-stdio, --listen on port 0) and connects real clients to it: the
// SDK's Client over Streamable HTTP and over WebSocket, and raw peers for what the SDK will not send.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import type { Readable } from 'node:stream';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { lines$ } from '../../src/stdio.js';
import { WebSocketClientTransport } from '../fixtures/ws-client-transport.js';
import { eventually, RELAY_MAIN, type RelayEventLine } from './relay-process.js';

export interface NetworkRelay {
  child: ChildProcessWithoutNullStreams;
  events: RelayEventLine[];
  /** the bound URLs, by front */
  ws: string;
  http: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop: () => Promise<void>;
}

export function spawnRelay(args: string[], env: Record<string, string> = {}): { child: ChildProcessWithoutNullStreams; events: RelayEventLine[]; exited: NetworkRelay['exited'] } {
  const child = spawn(process.execPath, [RELAY_MAIN, ...args], { env: { ...process.env, LOG_LEVEL: 'debug', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  const events: RelayEventLine[] = [];
  lines$(child.stderr as Readable).subscribe((line) => {
    if (line === '') return;
    try {
      events.push(JSON.parse(line) as RelayEventLine);
    } catch {
      events.push({ event: 'non-json-stderr', line });
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => child.once('exit', (code, signal) => done({ code, signal })));
  return { child, events, exited };
}

/** A relay with a WebSocket and a Streamable HTTP listener on free loopback ports. */
export async function startNetworkRelay(file: string, { stdio = false, env = {} }: { stdio?: boolean; env?: Record<string, string> } = {}): Promise<NetworkRelay> {
  const { child, events, exited } = spawnRelay(['--config', file, ...(stdio ? [] : ['--no-stdio']), '--listen', 'ws://127.0.0.1:0/mcp', '--listen', 'http://127.0.0.1:0/mcp'], env);
  const bound = await eventually(() => {
    const listening = events.filter((event) => event.event === 'front.listen');
    const ws = listening.find((event) => event['front'] === 'ws');
    const http = listening.find((event) => event['front'] === 'http');
    if (!ws || !http) throw new Error(`the relay did not listen: ${JSON.stringify(events.slice(-5))}`);
    return { ws: ws['url'] as string, http: http['url'] as string };
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
    await exited;
    clearTimeout(timer);
  };
  return { child, events, ...bound, exited, stop };
}

/** the SDK's Client over Streamable HTTP; a token goes as Authorization: Bearer on every request */
export async function httpClient(url: string, capabilities: Record<string, unknown> = {}, name = 'http-client', token?: string): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const transport = new StreamableHTTPClientTransport(new URL(url), token === undefined ? {} : { requestInit: { headers: { authorization: `Bearer ${token}` } } });
  const client = new Client({ name, version: '1.0.0' }, { capabilities });
  await client.connect(transport);
  return { client, transport };
}

/** the SDK's Client over WebSocket; a token goes as a browser sends it, the subprotocol bearer.<token> beside mcp */
export async function wsClient(url: string, capabilities: Record<string, unknown> = {}, name = 'ws-client', token?: string): Promise<{ client: Client; transport: WebSocketClientTransport }> {
  const transport = new WebSocketClientTransport(url, token === undefined ? ['mcp'] : ['mcp', `bearer.${token}`]);
  const client = new Client({ name, version: '1.0.0' }, { capabilities });
  await client.connect(transport);
  return { client, transport };
}
