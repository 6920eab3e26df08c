/**
 * `mcp-relay status`: a running relay's backends and clients, read from its admin listener (/status, and /metrics for
 * the call counts), as aligned tables for a person (colours on a terminal, plain when piped) or as JSON for a script.
 * Exit 1, with what to check, when the relay cannot be reached.
 */
import type { AdminAddress } from '../streams/config/listen.js';

export interface StatusOptions {
  admin: AdminAddress;
  json: boolean;
  /** the admin listener's bearer token (RELAY_ADMIN_TOKEN), when it asks for one */
  token: string | null;
  color: boolean;
  write: (text: string) => void;
  fail: (text: string) => void;
  /** this machine's clock, for "12s ago" */
  now?: () => number;
}

interface ServerRow {
  name: string;
  health: string;
  tools: number;
  error?: string;
  breaker?: { state: string };
  /** when the relay last tried it again after a failure (ISO 8601); absent: never */
  last_reconnect?: string;
}

interface ClientRow {
  id: string;
  front: string;
  principal?: string;
  connected_since: string;
  calls_in_flight: number;
  calls_done: number;
}

interface Counts {
  calls: number;
  errors: number;
  reconnects: number;
}

const OK_OUTCOMES = new Set(['ok', 'tool-error']);

/** per backend: calls, calls that did not end well, reconnects, from the Prometheus text */
export function countsFromMetrics(text: string): Map<string, Counts> {
  const counts = new Map<string, Counts>();
  const of = (backend: string): Counts => counts.get(backend) ?? (counts.set(backend, { calls: 0, errors: 0, reconnects: 0 }).get(backend) as Counts);
  for (const line of text.split('\n')) {
    const call = /^mcp_relay_calls_total\{backend="([^"]*)",tool="[^"]*",outcome="([^"]*)"\} (\d+(?:\.\d+)?)/.exec(line);
    if (call) {
      const row = of(call[1] as string);
      const value = Number(call[3]);
      row.calls += value;
      if (!OK_OUTCOMES.has(call[2] as string)) row.errors += value;
      continue;
    }
    const reconnect = /^mcp_relay_backend_reconnects_total\{backend="([^"]*)"\} (\d+(?:\.\d+)?)/.exec(line);
    if (reconnect) of(reconnect[1] as string).reconnects += Number(reconnect[2]);
  }
  return counts;
}

/** columns padded to their widest cell; colour codes do not count toward the width */
export function table(header: string[], rows: string[][]): string {
  // eslint-disable-next-line no-control-regex -- the colour codes this file writes itself
  const visible = (cell: string) => cell.replace(/\u001b\[[0-9;]*m/g, '').length;
  const widths = header.map((title, index) => Math.max(visible(title), ...rows.map((row) => visible(row[index] ?? ''))));
  const line = (cells: string[]) => cells.map((cell, index) => (index === cells.length - 1 ? cell : cell + ' '.repeat((widths[index] ?? 0) - visible(cell)))).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}

/** how long ago `iso` was, as a person reads it at a glance: "now", "12s ago", "3m ago", "2h ago", "4d ago"; "-" for never */
export function ago(iso: string | undefined, now: number): string {
  const then = iso === undefined ? NaN : Date.parse(iso);
  if (Number.isNaN(then)) return '-';
  const seconds = Math.max(0, Math.round((now - then) / 1000));
  if (seconds < 1) return 'now';
  if (seconds < 60) return `${seconds}s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h ago`;
  return `${Math.floor(seconds / 86_400)}d ago`;
}

const COLOURS: Record<string, string> = { healthy: '32', degraded: '33', failed: '31', connecting: '36', unknown: '90', open: '31', 'half-open': '33' };

export async function statusCommand(options: StatusOptions): Promise<number> {
  const host = options.admin.host.includes(':') ? `[${options.admin.host}]` : options.admin.host;
  const base = `http://${host}:${options.admin.port}`;
  const headers: Record<string, string> = options.token === null ? {} : { authorization: `Bearer ${options.token}` };
  let status: { config_file: string; servers: ServerRow[]; clients?: ClientRow[] };
  let metrics = '';
  try {
    const response = await fetch(`${base}/status`, { headers, signal: AbortSignal.timeout(5_000) });
    if (response.status === 401) {
      options.fail(`mcp-relay status: the admin listener at ${base} asks for a token: set RELAY_ADMIN_TOKEN to its admin.token\n`);
      return 1;
    }
    if (!response.ok) {
      options.fail(`mcp-relay status: ${base}/status answered HTTP ${response.status}: is that mcp-relay's admin listener?\n`);
      return 1;
    }
    status = (await response.json()) as typeof status;
    const scraped = await fetch(`${base}/metrics`, { headers, signal: AbortSignal.timeout(5_000) });
    if (scraped.ok) metrics = await scraped.text();
  } catch (error: unknown) {
    const reason = error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error);
    options.fail(
      `mcp-relay status: cannot reach the relay's admin listener at ${base} (${reason}).\nCheck that the relay runs with --admin ${options.admin.text} (or admin.listen in its backends.yaml), or pass the address it uses: mcp-relay status --admin HOST:PORT\n`,
    );
    return 1;
  }
  const counts = countsFromMetrics(metrics);
  if (options.json) {
    options.write(`${JSON.stringify({ ...status, calls: Object.fromEntries(counts) }, null, 2)}\n`);
    return 0;
  }
  const paint = (word: string) => (options.color && COLOURS[word] ? `\u001b[${COLOURS[word]}m${word}\u001b[0m` : word);
  const now = (options.now ?? Date.now)();
  const servers = status.servers.map((server) => {
    const count = counts.get(server.name);
    return [server.name, paint(server.health), String(server.tools), String(count?.calls ?? 0), String(count?.errors ?? 0), String(count?.reconnects ?? 0), ago(server.last_reconnect, now), paint(server.breaker?.state ?? '-'), server.error ?? ''];
  });
  const clients = (status.clients ?? []).map((client) => [client.id.slice(0, 8), client.front, client.principal ?? 'local', client.connected_since, String(client.calls_in_flight), String(client.calls_done)]);
  options.write(`${status.config_file}\n\n${table(['BACKEND', 'HEALTH', 'TOOLS', 'CALLS', 'ERRORS', 'RECONNECTS', 'LAST RECONNECT', 'BREAKER', 'ERROR'], servers)}\n\n`);
  options.write(clients.length === 0 ? 'no clients connected\n' : `${table(['CLIENT', 'FRONT', 'PRINCIPAL', 'SINCE', 'IN FLIGHT', 'DONE'], clients)}\n`);
  return 0;
}
