// The admin listener, for real: the built relay with --admin on a free loopback port, a real backend and a real
// WebSocket client; /healthz, /readyz, /metrics, /status and /events read over HTTP as an operator's tools would.
import { spawnSync } from 'node:child_process';
import { freePort } from './backend-process.js';
import { afterEach, describe, expect, it } from 'vitest';
import { startBackend } from '../fixtures/mcp-ws-backend.js';
import { echoTool } from '../fixtures/tools.js';
import { startAdminRelay } from './admin-relay.js';
import { spawnRelay, wsClient } from './network-relay.js';
import { configFile, eventually, FAST_DEFAULTS, RELAY_MAIN, textOf } from './relay-process.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function relayWithAdmin(head = FAST_DEFAULTS, env: Record<string, string> = {}) {
  const work = await startBackend({ name: 'work', tools: [echoTool('echo')] });
  cleanups.push(() => work.close());
  const started = await startAdminRelay([{ name: 'work', url: work.url }], { head, env });
  cleanups.push(() => started.stop());
  return { ...started, work };
}

describe('the admin listener', () => {
  it('answers health at once, readiness once the backend is connected, and metrics, status and events after a call', async () => {
    const { admin, ws } = await relayWithAdmin();
    expect((await fetch(`${admin}/healthz`)).status).toBe(200);
    // no client has initialized yet, so no handshake has started (they wait up to 2 s for one): not ready, and why
    const early = await fetch(`${admin}/readyz`);
    expect(early.status).toBe(503);
    expect(await early.json()).toMatchObject({ ready: false, reason: 'waiting for the first connection attempt of some backends', untried: ['work'] });
    const client = await wsClient(ws);
    cleanups.push(() => client.client.close());
    await eventually(async () => {
      const ready = await fetch(`${admin}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ ready: true, connected: ['work'] });
    });
    expect(textOf(await client.client.callTool({ name: 'echo', arguments: { n: 1 } }))).toBe('echo:{"n":1}');

    await eventually(async () => {
      const metrics = await (await fetch(`${admin}/metrics`)).text();
      expect(metrics).toContain('mcp_relay_calls_total{backend="work",tool="echo",outcome="ok"} 1');
      expect(metrics).toMatch(/mcp_relay_call_duration_seconds_count\{backend="work",outcome="ok"\} 1/);
      expect(metrics).toContain('mcp_relay_backend_health{backend="work",state="healthy"} 1');
      expect(metrics).toContain('mcp_relay_breaker_state{backend="work",state="closed"} 1');
      expect(metrics).toContain('mcp_relay_clients{front="ws"} 1');
      // in: initialize, notifications/initialized, the call (and what the readiness wait did not send); out: their answers
      expect(Number(/mcp_relay_messages_total\{front="ws",direction="in"\} (\d+)/.exec(metrics)?.[1])).toBeGreaterThanOrEqual(3);
      expect(Number(/mcp_relay_messages_total\{front="ws",direction="out"\} (\d+)/.exec(metrics)?.[1])).toBeGreaterThanOrEqual(2);
      expect(metrics).toContain('process_cpu_user_seconds_total');
    });
    const status = (await (await fetch(`${admin}/status`)).json()) as { servers: Array<{ name: string; health: string }>; clients: Array<{ front: string; calls_done: number }> };
    expect(status.servers).toMatchObject([{ name: 'work', health: 'healthy' }]);
    expect(status.clients).toMatchObject([{ front: 'ws', calls_done: 1 }]);

    // the event log: the last events newest first, then live
    const controller = new AbortController();
    cleanups.push(() => controller.abort());
    const stream = await fetch(`${admin}/events`, { signal: controller.signal });
    expect(stream.headers.get('content-type')).toBe('text/event-stream');
    const reader = (stream.body as ReadableStream<Uint8Array>).getReader();
    let text = '';
    const readUntil = async (pattern: RegExp) => {
      while (!pattern.test(text)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`the event stream ended: ${text}`);
        text += new TextDecoder().decode(value);
      }
    };
    await readUntil(/"event":"call\.done"/);
    // each message: `id: <its place in the log>` and `data: <its JSON>`
    const messages = text.split('\n\n').filter(Boolean).map((message) => ({ id: Number(/^id: (\d+)$/m.exec(message)?.[1]), data: /^data: (.*)$/m.exec(message)?.[1] ?? '' }));
    const replayed = messages.map((message) => JSON.parse(message.data) as { event: string; time: string; level: string });
    expect((replayed[0]?.time ?? '') >= (replayed.at(-1)?.time ?? '')).toBe(true);
    const ids = messages.map((message) => message.id);
    expect(ids.every((id, index) => Number.isInteger(id) && (index === 0 || id < (ids[index - 1] as number)))).toBe(true);
    expect(replayed.some((event) => event.event === 'call.done' && event.level === 'info')).toBe(true);
    const second = await wsClient(ws);
    cleanups.push(() => second.client.close());
    await readUntil(/"event":"client\.connect"[^\n]*\n\n[\s\S]*"event":"client\.initialize"/);
  });

  it('asks for admin.token as a bearer header (not on /healthz), and refuses a listener beyond loopback without one', async () => {
    const head = `${FAST_DEFAULTS}admin: { listen: "127.0.0.1:0", token: "\${ADMIN_TOKEN}" }\n`;
    const { admin } = await relayWithAdmin(head, { ADMIN_TOKEN: 'ops-secret-123' });
    expect((await fetch(`${admin}/healthz`)).status).toBe(200);
    const refused = await fetch(`${admin}/metrics`);
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect((await fetch(`${admin}/metrics`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    expect((await fetch(`${admin}/metrics`, { headers: { authorization: 'Bearer ops-secret-123' } })).status).toBe(200);

    const open = spawnRelay(['--config', configFile('backends: []\n').file, '--no-stdio', '--admin', '0.0.0.0:0']);
    let stderr = '';
    open.child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    expect((await open.exited).code).toBe(1);
    expect(stderr).toMatch(/--admin 0\.0\.0\.0:0 is beyond loopback: set admin\.token/);
  });

  it('mcp-relay status prints the backends and clients as tables, or JSON with --json, and exits 1 with what to check when the relay is not there', async () => {
    const { admin, ws } = await relayWithAdmin();
    const client = await wsClient(ws);
    cleanups.push(() => client.client.close());
    await eventually(async () => expect((await fetch(`${admin}/readyz`)).status).toBe(200));
    expect(textOf(await client.client.callTool({ name: 'echo', arguments: {} }))).toBe('echo:{}');
    const address = admin.replace(/^http:\/\//, '');
    const run = (...args: string[]) => spawnSync(process.execPath, [RELAY_MAIN, 'status', ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });

    const tables = run('--admin', address);
    expect(tables.status).toBe(0);
    const lines = tables.stdout.split('\n');
    expect(lines.find((line) => line.startsWith('BACKEND'))).toMatch(/^BACKEND\s+HEALTH\s+TOOLS\s+CALLS\s+ERRORS\s+RECONNECTS\s+LAST RECONNECT\s+BREAKER\s+ERROR$/);
    // never reconnected: "-" under LAST RECONNECT
    expect(lines.find((line) => line.startsWith('work'))).toMatch(/^work\s+healthy\s+1\s+1\s+0\s+0\s+-\s+closed\s*$/);
    expect(lines.find((line) => line.startsWith('CLIENT'))).toBeDefined();
    expect(tables.stdout).not.toContain('\u001b[');

    const json = JSON.parse(run('--admin', address, '--json').stdout) as { servers: Array<{ name: string }>; calls: Record<string, { calls: number }> };
    expect(json.servers.map((server) => server.name)).toEqual(['work']);
    expect(json.calls['work']).toMatchObject({ calls: 1 });

    // a port nothing listens on
    const absent = run('--admin', `127.0.0.1:${await freePort()}`);
    expect(absent.status).toBe(1);
    expect(absent.stderr).toMatch(/cannot reach the relay's admin listener at http:\/\/127\.0\.0\.1:\d+ \(.*\)\.\nCheck that the relay runs with --admin/);
  });
});
