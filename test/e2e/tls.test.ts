// TLS on the network fronts, against the real relay (--no-stdio, --listen wss:// and https:// on loopback): a
// self-signed pair made by openssl, named in backends.yaml by paths relative to the config's own folder; clients that
// trust it are served MCP, clients that do not are refused by TLS; a renewed pair written over the files is served to
// new connections without a restart while an open session goes on (and a broken one is not served); a TLS listener
// without a certificate is an error that says what to add; an encrypted key's passphrase comes from the environment.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { Agent, fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startFullBackend, type FullBackend } from '../fixtures/full-backend.js';
import { generateSelfSigned, type SelfSigned } from '../fixtures/self-signed.js';
import { spawnRelay } from './network-relay.js';
import { configFile, eventually, FAST_DEFAULTS, type RelayEventLine } from './relay-process.js';

type Json = Record<string, unknown>;

const INITIALIZE = { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'tls-test', version: '1' } };

let backend: FullBackend;
/** every relay a test starts, stopped in afterAll whatever happened */
const relays: Array<{ stop: () => Promise<void> }> = [];

beforeAll(async () => {
  backend = await startFullBackend({ name: 'full' });
});

afterAll(async () => {
  await Promise.all(relays.map((relay) => relay.stop()));
  await backend?.close();
});

interface Spawned {
  events: RelayEventLine[];
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop: () => Promise<void>;
}

function spawn(args: string[], env: Record<string, string> = {}): Spawned {
  const relay = spawnRelay(args, env);
  let stderr = '';
  relay.child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const stop = async () => {
    if (relay.child.exitCode !== null || relay.child.signalCode !== null) return;
    relay.child.kill('SIGTERM');
    const timer = setTimeout(() => relay.child.kill('SIGKILL'), 3_000);
    await relay.exited;
    clearTimeout(timer);
  };
  const spawned = { events: relay.events, stderr: () => stderr, exited: relay.exited, stop };
  relays.push(spawned);
  return spawned;
}

/** the bound URL of the listener whose URL starts with `scheme` (from its front.listen event) */
const bound = (events: RelayEventLine[], scheme: string): string | undefined =>
  events.filter((event) => event.event === 'front.listen').map((event) => String(event['url'])).find((url) => url.startsWith(scheme));

async function listening(relay: Spawned, schemes: string[]): Promise<string[]> {
  return eventually(() =>
    schemes.map((scheme) => {
      const url = bound(relay.events, scheme);
      if (url === undefined) throw new Error(`no ${scheme} listener: ${JSON.stringify(relay.events.slice(-4))}`);
      return url;
    }),
  );
}

/** a raw MCP peer over wss (or ws) trusting `ca`, initialized; `call` answers by id within 10 s */
async function wssPeer(url: string, ca: string | undefined): Promise<{ socket: WebSocket; call: (method: string, params?: Json) => Promise<Json>; initialized: Json }> {
  const socket = new WebSocket(url, ['mcp'], { ...(ca === undefined ? {} : { ca }), handshakeTimeout: 5_000 });
  const received: Json[] = [];
  socket.on('message', (data) => received.push(JSON.parse(String(data)) as Json));
  await new Promise<void>((done, fail) => socket.once('open', () => done()).once('error', fail));
  let next = 0;
  const call = async (method: string, params: Json = {}) => {
    const id = ++next;
    socket.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
    return eventually(() => {
      const answer = received.find((message) => message['id'] === id);
      if (!answer) throw new Error(`no answer to ${method} (${id})`);
      return answer;
    });
  };
  const initialized = await call('initialize', INITIALIZE);
  socket.send(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }));
  return { socket, call, initialized };
}

const toolsOf = (answer: Json): string[] => ((answer['result'] as { tools?: Array<{ name: string }> } | undefined)?.tools ?? []).map((tool) => tool.name);

/** what a NEW TLS connection to `url` is shown: the certificate's SHA-256 fingerprint (no trust decision) */
function presented(url: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((done, fail) => {
    const socket = tlsConnect({ host: hostname, port: Number(port), servername: 'localhost', rejectUnauthorized: false, timeout: 5_000 }, () => {
      done(socket.getPeerCertificate().fingerprint256);
      socket.end();
    });
    socket.once('error', fail);
    socket.once('timeout', () => fail(new Error('TLS handshake timed out')));
  });
}

/** a TLS handshake that verifies the server against `ca` (and the name 127.0.0.1): resolves null or the error code */
function verify(url: string, ca: string | undefined): Promise<string | null> {
  const { hostname, port } = new URL(url);
  return new Promise((done) => {
    const socket = tlsConnect({ host: hostname, port: Number(port), ...(ca === undefined ? {} : { ca }), rejectUnauthorized: true, timeout: 5_000 }, () => {
      done(null);
      socket.end();
    });
    socket.once('error', (error: NodeJS.ErrnoException) => done(error.code ?? error.message));
    socket.once('timeout', () => {
      done('timeout');
      socket.destroy();
    });
  });
}

async function httpsInitialize(url: string, dispatcher: Agent): Promise<{ status: number; session: string | null; body: string }> {
  const response = await undiciFetch(url, {
    dispatcher,
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: INITIALIZE }),
  });
  return { status: response.status, session: response.headers.get('mcp-session-id'), body: await response.text() };
}

/** the first JSON-RPC message of a response that is JSON or an SSE stream */
function firstMessage(body: string): Json {
  const data = body.split('\n').find((line) => line.startsWith('data:'));
  return JSON.parse(data === undefined ? body : data.slice('data:'.length)) as Json;
}

describe('a relay serving wss:// and https:// with a certificate named relative to backends.yaml', () => {
  let relay: Spawned;
  let pair: SelfSigned;
  let dir: string;
  let wss: string;
  let https: string;

  beforeAll(async () => {
    ({ dir } = configFile(''));
    // the pair sits in a folder beside backends.yaml and is named relatively: the relay's working directory is this
    // repository, which has no such files, so only resolving against the config's folder finds them
    mkdirSync(join(dir, 'certs'));
    pair = generateSelfSigned(join(dir, 'certs'));
    expect(existsSync(resolve('certs/cert.pem'))).toBe(false);
    const file = join(dir, 'backends.yaml');
    writeFileSync(file, `${FAST_DEFAULTS}tls: { cert: certs/cert.pem, key: ./certs/key.pem }\nbackends:\n  - name: full\n    url: ${backend.url}\n`);
    relay = spawn(['--config', file, '--no-stdio', '--listen', 'wss://127.0.0.1:0/mcp', '--listen', 'https://127.0.0.1:0/mcp']);
    [wss = '', https = ''] = await listening(relay, ['wss://', 'https://']);
  });

  it('names its listeners wss:// and https:// with the bound ports, and shows the configured certificate', async () => {
    expect(wss).toMatch(/^wss:\/\/127\.0\.0\.1:[1-9]\d*\/mcp$/);
    expect(https).toMatch(/^https:\/\/127\.0\.0\.1:[1-9]\d*\/mcp$/);
    expect(await presented(wss)).toBe(pair.fingerprint256);
    expect(await presented(https)).toBe(pair.fingerprint256);
  });

  it('serves MCP over wss:// to a ws client that trusts the certificate: initialize, then tools/list', async () => {
    const peer = await wssPeer(wss, pair.certPem);
    expect(peer.socket.protocol).toBe('mcp');
    expect(peer.initialized['result']).toMatchObject({ protocolVersion: '2025-11-25', serverInfo: { name: expect.any(String) } });
    expect(toolsOf(await peer.call('tools/list'))).toEqual(expect.arrayContaining(['echo', 'slow', 'relay_get_status']));
    const echoed = (await peer.call('tools/call', { name: 'echo', arguments: { over: 'wss' } }))['result'] as { content: Array<{ text: string }> };
    expect(echoed.content[0]?.text).toContain('"over":"wss"');
    peer.socket.close();
  });

  it('serves Streamable HTTP over https:// to a client that trusts the certificate: initialize answers with an Mcp-Session-Id the session then goes on with', async () => {
    const dispatcher = new Agent({ connect: { ca: pair.certPem } });
    try {
      const initialized = await httpsInitialize(https, dispatcher);
      expect(initialized.status).toBe(200);
      expect(initialized.session).toMatch(/^[0-9a-f-]{36}$/);
      expect(firstMessage(initialized.body)['result']).toMatchObject({ protocolVersion: '2025-11-25' });
      const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': initialized.session ?? '', 'mcp-protocol-version': '2025-11-25' };
      const notified = await undiciFetch(https, { dispatcher, method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) });
      expect(notified.status).toBe(202);
      await notified.text();
      const listed = await undiciFetch(https, { dispatcher, method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }) });
      expect(listed.status).toBe(200);
      expect(toolsOf(firstMessage(await listed.text()))).toContain('echo');
      const ended = await undiciFetch(https, { dispatcher, method: 'DELETE', headers });
      expect(ended.status).toBe(200);
      await ended.text();
    } finally {
      await dispatcher.close();
    }
  });

  it('is refused by TLS to a client that does not trust the certificate, and speaks no plaintext on its TLS ports', async () => {
    // ws with the system's trust store only
    const socket = new WebSocket(wss, ['mcp'], { handshakeTimeout: 5_000 });
    const error = await new Promise<NodeJS.ErrnoException>((done) => {
      socket.once('error', done);
      socket.once('open', () => done(Object.assign(new Error('opened'), { code: 'OPENED' })));
    });
    expect(error.code).toBe('DEPTH_ZERO_SELF_SIGNED_CERT');
    // fetch (undici) with the system's trust store only
    const refused = await undiciFetch(https, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }).then(
      () => null,
      (failure: Error & { cause?: { code?: string } }) => failure.cause?.code ?? failure.message,
    );
    expect(refused).toBe('DEPTH_ZERO_SELF_SIGNED_CERT');
    // a client that trusts some other certificate is refused too
    const stranger = generateSelfSigned();
    expect(await verify(https, stranger.certPem)).toBe('DEPTH_ZERO_SELF_SIGNED_CERT');
    expect(await verify(https, pair.certPem)).toBeNull();
    // plain HTTP and a plain WebSocket upgrade on the TLS ports get no answer at all (the TLS handshake fails)
    const plain = await fetch(https.replace(/^https:/, 'http:'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}', signal: AbortSignal.timeout(5_000) }).then(
      (response) => response.status,
      () => 'failed',
    );
    expect(plain).toBe('failed');
    const plainWs = new WebSocket(wss.replace(/^wss:/, 'ws:'), ['mcp'], { handshakeTimeout: 5_000 });
    const plainOutcome = await new Promise<string>((done) => {
      plainWs.once('open', () => done('opened'));
      plainWs.once('unexpected-response', (_request, response) => done(`status ${response.statusCode}`));
      plainWs.once('error', () => done('failed'));
    });
    plainWs.terminate();
    expect(plainOutcome).toBe('failed');
  });

  it('serves a renewed pair written over the files to NEW connections within 10 s, logging tls.reload, while an open wss session goes on', async () => {
    const before = await wssPeer(wss, pair.certPem);
    expect(await presented(wss)).toBe(pair.fingerprint256);
    const reloads = relay.events.filter((event) => event.event === 'tls.reload').length;
    const renewed = generateSelfSigned();
    expect(renewed.fingerprint256).not.toBe(pair.fingerprint256);
    // in place, as a renewal job that does not rename would: the key first, then the certificate
    writeFileSync(join(dir, 'certs', 'key.pem'), renewed.keyPem);
    writeFileSync(join(dir, 'certs', 'cert.pem'), renewed.certPem);
    await eventually(async () => expect(await presented(https)).toBe(renewed.fingerprint256), 10_000, 250);
    expect(await presented(wss)).toBe(renewed.fingerprint256);
    const reload = await eventually(() => {
      const found = relay.events.filter((event) => event.event === 'tls.reload').slice(reloads);
      expect(found.length).toBeGreaterThanOrEqual(1);
      return found.at(-1);
    });
    expect(reload).toMatchObject({ fingerprint256: renewed.fingerprint256, cert: join(dir, 'certs', 'cert.pem'), validTo: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
    expect(JSON.stringify(relay.events)).not.toContain(renewed.keyPem.split('\n')[1] ?? 'never');
    // the session that shook hands with the old certificate is not cut
    expect(before.socket.readyState).toBe(WebSocket.OPEN);
    expect(await before.call('ping')).toMatchObject({ result: {} });
    expect(toolsOf(await before.call('tools/list'))).toContain('echo');
    before.socket.close();
    // new clients trust the new certificate, and one that trusts only the old one is refused now
    expect(await verify(wss, renewed.certPem)).toBeNull();
    expect(await verify(wss, pair.certPem)).not.toBeNull();
    const after = await wssPeer(wss, renewed.certPem);
    expect(toolsOf(await after.call('tools/list'))).toContain('echo');
    after.socket.close();
    pair = renewed;
  });

  it('keeps serving the current certificate when the files are renewed with a key that does not belong to it, and says so (tls.error)', async () => {
    const errors = relay.events.filter((event) => event.event === 'tls.error').length;
    const unrelated = generateSelfSigned();
    writeFileSync(join(dir, 'certs', 'key.pem'), unrelated.keyPem);
    const error = await eventually(() => {
      const found = relay.events.filter((event) => event.event === 'tls.error').slice(errors);
      expect(found.length).toBeGreaterThanOrEqual(1);
      return found[0];
    }, 10_000);
    expect(String(error?.['error'])).toMatch(/does not belong to the certificate.*still serving the previous certificate/);
    expect(JSON.stringify(relay.events)).not.toContain(unrelated.keyPem.split('\n')[1] ?? 'never');
    expect(await presented(https)).toBe(pair.fingerprint256);
    const peer = await wssPeer(wss, pair.certPem);
    expect(toolsOf(await peer.call('tools/list'))).toContain('echo');
    peer.socket.close();
  });
});

describe('a TLS listener without a certificate', () => {
  it('in backends.yaml (listen: [wss://...], no tls:) is a config error naming the line and what to add; nothing listens there until the file is fixed', async () => {
    const { dir, file } = configFile(`${FAST_DEFAULTS}listen: [wss://127.0.0.1:0/mcp]\nbackends:\n  - name: full\n    url: ${backend.url}\n`);
    const relay = spawn(['--config', file, '--no-stdio', '--listen', 'http://127.0.0.1:0/mcp']);
    const [http = ''] = await listening(relay, ['http://']);
    const invalid = await eventually(() => {
      const found = relay.events.find((event) => event.event === 'config.invalid');
      expect(found).toBeDefined();
      return found;
    });
    // the line of `listen:`, the first after the FAST_DEFAULTS block
    expect(invalid).toMatchObject({ field: 'listen[0]', line: FAST_DEFAULTS.split('\n').length });
    expect(String(invalid?.['error'])).toMatch(/wss:\/\/127\.0\.0\.1:0\/mcp needs a certificate: add tls: \{ cert: FILE, key: FILE \}/);
    // the relay runs on (its --listen is up), but the file never loaded: no wss listener, and no client is admitted
    await new Promise((done) => setTimeout(done, 500));
    expect(bound(relay.events, 'wss://')).toBeUndefined();
    const refused = await fetch(http, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: INITIALIZE }) });
    expect(refused.status).toBe(503);
    expect(await refused.text()).toMatch(/backends\.yaml has not loaded/);
    // the fix (a certificate) is picked up live: the wss listener comes up and serves
    const pair = generateSelfSigned(dir);
    writeFileSync(file, `${FAST_DEFAULTS}listen: [wss://127.0.0.1:0/mcp]\ntls: { cert: cert.pem, key: key.pem }\nbackends:\n  - name: full\n    url: ${backend.url}\n`);
    const [wss = ''] = await listening(relay, ['wss://']);
    const peer = await wssPeer(wss, pair.certPem);
    expect(toolsOf(await peer.call('tools/list'))).toContain('echo');
    peer.socket.close();
    await relay.stop();
  });

  it('on the command line (--listen wss://, no tls: in the file) stops the relay at start with exit code 1 and says what to add', async () => {
    const { file } = configFile(`${FAST_DEFAULTS}backends: []\n`);
    const relay = spawn(['--config', file, '--no-stdio', '--listen', 'wss://127.0.0.1:0/mcp', '--listen', 'http://127.0.0.1:0/mcp']);
    const exited = await Promise.race([relay.exited, new Promise<null>((done) => setTimeout(() => done(null), 10_000))]);
    expect(exited).toEqual({ code: 1, signal: null });
    expect(relay.stderr()).toMatch(/mcp-relay: cannot listen on wss:\/\/127\.0\.0\.1:0\/mcp: .*needs a certificate: add tls: \{ cert: FILE, key: FILE \}/);
    expect(relay.events.find((event) => event.event === 'front.error')).toMatchObject({ url: 'wss://127.0.0.1:0/mcp' });
    expect(bound(relay.events, 'wss://')).toBeUndefined();
  });
});

describe('an encrypted key', () => {
  const PASSPHRASE = 'correct horse battery staple';
  const config = (dir: string, passphrase: string) => {
    const file = join(dir, 'backends.yaml');
    writeFileSync(file, `${FAST_DEFAULTS}tls: { cert: cert.pem, key: key.pem, passphrase: ${JSON.stringify(passphrase)} }\nbackends:\n  - name: full\n    url: ${backend.url}\n`);
    return file;
  };

  it('is decrypted with the passphrase tls.passphrase takes from the environment, and served', async () => {
    const { dir } = configFile('');
    const pair = generateSelfSigned(dir, { passphrase: PASSPHRASE });
    expect(readFileSync(pair.keyFile, 'utf8')).toMatch(/BEGIN ENCRYPTED PRIVATE KEY/);
    const relay = spawn(['--config', config(dir, '${TLS_KEY_PASSPHRASE}'), '--no-stdio', '--listen', 'wss://127.0.0.1:0/mcp'], { TLS_KEY_PASSPHRASE: PASSPHRASE });
    const [wss = ''] = await listening(relay, ['wss://']);
    expect(await presented(wss)).toBe(pair.fingerprint256);
    const peer = await wssPeer(wss, pair.certPem);
    expect(toolsOf(await peer.call('tools/list'))).toContain('echo');
    peer.socket.close();
    expect(relay.stderr()).not.toContain(PASSPHRASE);
    await relay.stop();
  });

  it('with a wrong passphrase in the environment stops the relay at start, naming tls.passphrase and never the passphrase', async () => {
    const { dir } = configFile('');
    generateSelfSigned(dir, { passphrase: PASSPHRASE });
    const wrong = 'not the right one at all';
    const relay = spawn(['--config', config(dir, '${TLS_KEY_PASSPHRASE}'), '--no-stdio', '--listen', 'https://127.0.0.1:0/mcp'], { TLS_KEY_PASSPHRASE: wrong });
    const exited = await Promise.race([relay.exited, new Promise<null>((done) => setTimeout(() => done(null), 10_000))]);
    expect(exited).toEqual({ code: 1, signal: null });
    expect(relay.stderr()).toMatch(/tls\.passphrase \(.*key\.pem\): the passphrase does not decrypt this key/);
    expect(relay.stderr()).not.toContain(wrong);
  });

  it('refuses a passphrase written in the file itself (it must come from ${ENV}) as a config error', async () => {
    const { dir } = configFile('');
    generateSelfSigned(dir, { passphrase: PASSPHRASE });
    const relay = spawn(['--config', config(dir, PASSPHRASE), '--no-stdio', '--listen', 'http://127.0.0.1:0/mcp']);
    const invalid = await eventually(() => {
      const found = relay.events.find((event) => event.event === 'config.invalid');
      expect(found).toBeDefined();
      return found;
    });
    expect(invalid).toMatchObject({ field: 'tls.passphrase' });
    expect(String(invalid?.['error'])).toMatch(/a secret is not written in the file: give \$\{ENV_VAR\}/);
    expect(relay.stderr()).not.toContain(PASSPHRASE);
    await relay.stop();
  });
});
