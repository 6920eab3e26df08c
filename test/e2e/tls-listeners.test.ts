// TLS listeners against the real relay: wss:// and https:// with a self-signed pair the test makes, a client that
// does not trust it refused, a renewed certificate used for new connections without a restart while open sessions
// go on, an encrypted key's passphrase from the environment, and a TLS listener without a certificate refused.
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { Agent, fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startFullBackend, type FullBackend } from '../fixtures/full-backend.js';
import { generateSelfSigned, type SelfSigned } from '../fixtures/self-signed.js';
import { configFile, eventually, FAST_DEFAULTS, type RelayEventLine } from './relay-process.js';
import { spawnRelay } from './network-relay.js';

let backend: FullBackend;

beforeAll(async () => {
  backend = await startFullBackend({ name: 'full' });
});

afterAll(async () => {
  await backend.close();
});

interface TlsRelay {
  wss: string;
  https: string;
  events: RelayEventLine[];
  stop: () => Promise<void>;
}

/** a relay with its certificate next to backends.yaml (named relatively in it) and two TLS listeners */
async function startTlsRelay(pair: (dir: string) => SelfSigned, env: Record<string, string> = {}, extra = ''): Promise<TlsRelay & { pair: SelfSigned; dir: string }> {
  const { dir, file } = configFile(`${FAST_DEFAULTS}tls: { cert: cert.pem, key: key.pem${extra} }\nbackends:\n  - name: full\n    url: ${backend.url}\n`);
  const made = pair(dir);
  const relay = spawnRelay(['--config', file, '--no-stdio', '--listen', 'wss://127.0.0.1:0/mcp', '--listen', 'https://127.0.0.1:0/mcp'], env);
  const urls = await eventually(() => {
    const listening = relay.events.filter((event) => event.event === 'front.listen').map((event) => String(event['url']));
    const wss = listening.find((url) => url.startsWith('wss://'));
    const https = listening.find((url) => url.startsWith('https://'));
    if (!wss || !https) throw new Error(`not listening yet: ${JSON.stringify(relay.events.slice(-3))}`);
    return { wss, https };
  });
  return {
    ...urls,
    pair: made,
    dir,
    events: relay.events,
    stop: async () => {
      relay.child.kill('SIGTERM');
      await relay.exited;
    },
  };
}

/** a raw wss client trusting `ca`, initialized; answers by id */
async function wssPeer(url: string, ca: string): Promise<{ socket: WebSocket; call: (id: number, method: string, params?: object) => Promise<Record<string, unknown>> }> {
  const socket = new WebSocket(url, ['mcp'], { ca });
  const received: Array<Record<string, unknown>> = [];
  socket.on('message', (data) => received.push(JSON.parse(String(data)) as Record<string, unknown>));
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  const call = async (id: number, method: string, params: object = {}) => {
    socket.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
    return eventually(() => {
      const answer = received.find((message) => message['id'] === id);
      if (!answer) throw new Error(`no answer to ${id}`);
      return answer;
    });
  };
  await call(0, 'initialize', { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'tls', version: '1' } });
  socket.send(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }));
  return { socket, call };
}

/** the fingerprint of the certificate a new TLS connection to `url` is shown */
function presented(url: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: hostname, port: Number(port), servername: 'localhost', rejectUnauthorized: false }, () => {
      resolve(socket.getPeerCertificate().fingerprint256);
      socket.end();
    });
    socket.on('error', reject);
  });
}

describe('TLS listeners', () => {
  let relay: Awaited<ReturnType<typeof startTlsRelay>>;

  beforeAll(async () => {
    relay = await startTlsRelay((dir) => generateSelfSigned(dir));
  });

  afterAll(async () => {
    await relay.stop();
  });

  it('serves MCP over wss:// and https:// to a client that trusts the certificate', async () => {
    const peer = await wssPeer(relay.wss, relay.pair.certPem);
    expect(((await peer.call(1, 'tools/list')) as { result: { tools: Array<{ name: string }> } }).result.tools.map((tool) => tool.name)).toContain('echo');
    peer.socket.close();
    const dispatcher = new Agent({ connect: { ca: relay.pair.certPem } });
    const response = await undiciFetch(relay.https, {
      dispatcher,
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'tls', version: '1' } } }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('mcp-session-id')).toMatch(/^[0-9a-f-]{36}$/);
    await response.text();
    await dispatcher.close();
  });

  it('is refused by a client that does not trust the certificate', async () => {
    const socket = new WebSocket(relay.wss, ['mcp']);
    const error = await new Promise<Error>((resolve) => socket.once('error', resolve));
    expect(error.message).toMatch(/self-signed|self signed|unable to verify/i);
  });

  it('uses a renewed certificate for new connections without a restart, while an open session goes on', async () => {
    const open = await wssPeer(relay.wss, relay.pair.certPem);
    expect(await presented(relay.wss)).toBe(relay.pair.fingerprint256);
    const renewed = generateSelfSigned(mkdtempSync(join(tmpdir(), 'relay-renewed-')));
    copyFileSync(renewed.certFile, join(relay.dir, 'cert.pem'));
    copyFileSync(renewed.keyFile, join(relay.dir, 'key.pem'));
    await eventually(async () => expect(await presented(relay.https)).toBe(renewed.fingerprint256), 15_000, 250);
    expect(await presented(relay.wss)).toBe(renewed.fingerprint256);
    await eventually(() => expect(relay.events.filter((event) => event.event === 'tls.reload').length).toBeGreaterThanOrEqual(1));
    // the session opened on the old certificate is not cut
    expect(await open.call(2, 'ping')).toMatchObject({ result: {} });
    open.socket.close();
    const fresh = await wssPeer(relay.wss, renewed.certPem);
    fresh.socket.close();
  });
});

describe('TLS settings', () => {
  it('reads an encrypted key with its passphrase from the environment', async () => {
    const relay = await startTlsRelay((dir) => generateSelfSigned(dir, { passphrase: 'correct horse' }), { TLS_PASS: 'correct horse' }, ', passphrase: "${TLS_PASS}"');
    const peer = await wssPeer(relay.wss, relay.pair.certPem);
    peer.socket.close();
    await relay.stop();
  });

  it('stops at start when a TLS --listen has no certificate to serve, saying what to add', async () => {
    const { file } = configFile(`${FAST_DEFAULTS}backends: []\n`);
    const relay = spawnRelay(['--config', file, '--no-stdio', '--listen', 'wss://127.0.0.1:0/mcp']);
    let stderr = '';
    relay.child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    expect((await relay.exited).code).toBe(1);
    expect(stderr).toMatch(/tls: \{ cert/);
  });
});
