// `mcp-relay status` against a stand-in admin listener with a known /status and /metrics: the LAST RECONNECT column
// reads "12s ago" (or "-" for a backend never tried again), and --json passes last_reconnect through untouched.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ago, statusCommand } from '../../src/status-command.js';

const NOW = Date.parse('2026-05-01T12:00:00.000Z');

const STATUS = {
  config_file: '/etc/relay/backends.yaml',
  servers: [
    { name: 'notes', health: 'healthy', tools: 3, breaker: { state: 'closed' }, last_reconnect: '2026-05-01T11:59:48.000Z', reconnects: 2, history: [] },
    { name: 'calc', health: 'failed', tools: 3, error: 'connect ECONNREFUSED 127.0.0.1:7302', reconnects: 0, history: [] },
  ],
  clients: [],
};
const METRICS = 'mcp_relay_calls_total{backend="notes",tool="notes_add",outcome="ok"} 4\nmcp_relay_backend_reconnects_total{backend="notes"} 2\n';

let server: Server | null = null;
afterEach(async () => {
  await new Promise((done) => server?.close(done) ?? done(undefined));
  server = null;
});

async function standIn(): Promise<{ host: string; port: number; text: string }> {
  server = createServer((request, response) => {
    if (request.url === '/status') return void response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(STATUS));
    if (request.url === '/metrics') return void response.writeHead(200, { 'content-type': 'text/plain' }).end(METRICS);
    response.writeHead(404).end();
  });
  await new Promise<void>((done) => server?.listen(0, '127.0.0.1', done));
  const port = (server.address() as AddressInfo).port;
  return { host: '127.0.0.1', port, text: `127.0.0.1:${port}` };
}

async function run(json: boolean): Promise<{ code: number; out: string }> {
  let out = '';
  const code = await statusCommand({ admin: await standIn(), json, token: null, color: false, write: (text) => (out += text), fail: (text) => (out += text), now: () => NOW });
  return { code, out };
}

describe('mcp-relay status', () => {
  it('shows when each backend was last tried again, as a person reads it', async () => {
    const { code, out } = await run(false);
    expect(code).toBe(0);
    const lines = out.split('\n');
    expect(lines.find((line) => line.startsWith('BACKEND'))).toMatch(/^BACKEND\s+HEALTH\s+TOOLS\s+CALLS\s+ERRORS\s+RECONNECTS\s+LAST RECONNECT\s+BREAKER\s+ERROR$/);
    expect(lines.find((line) => line.startsWith('notes'))).toMatch(/^notes\s+healthy\s+3\s+4\s+0\s+2\s+12s ago\s+closed\s*$/);
    expect(lines.find((line) => line.startsWith('calc'))).toMatch(/^calc\s+failed\s+3\s+0\s+0\s+0\s+-\s+-\s+connect ECONNREFUSED 127\.0\.0\.1:7302$/);
  });

  it('passes last_reconnect through as it came with --json', async () => {
    const { code, out } = await run(true);
    expect(code).toBe(0);
    const parsed = JSON.parse(out) as { servers: Array<{ name: string; last_reconnect?: string; reconnects: number }> };
    expect(parsed.servers).toMatchObject([
      { name: 'notes', last_reconnect: '2026-05-01T11:59:48.000Z', reconnects: 2 },
      { name: 'calc', reconnects: 0 },
    ]);
    expect(parsed.servers[1]).not.toHaveProperty('last_reconnect');
  });

  it('says how long ago in the largest whole unit, and "-" for never', () => {
    const before = (ms: number) => new Date(NOW - ms).toISOString();
    expect(ago(undefined, NOW)).toBe('-');
    expect(ago('not a time', NOW)).toBe('-');
    expect(ago(before(300), NOW)).toBe('now');
    expect(ago(before(12_000), NOW)).toBe('12s ago');
    expect(ago(before(3 * 60_000 + 59_000), NOW)).toBe('3m ago');
    expect(ago(before(2 * 3600_000), NOW)).toBe('2h ago');
    expect(ago(before(4 * 86_400_000), NOW)).toBe('4d ago');
    // a clock a little behind the relay's: not "in the future"
    expect(ago(before(-2_000), NOW)).toBe('now');
  });
});
