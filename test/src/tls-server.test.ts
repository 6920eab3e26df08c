// TLS for the network fronts against real servers on 127.0.0.1: verified clients, wss upgrades, and certificates
// renewed on disk (in place, by rename, by symlink swap) reaching new connections without a restart.
import { mkdirSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { createFrontServer, TlsConfigError, type FrontServer, type WatchTiming } from '../../src/fronts/tls-server.js';
import type { RelayEvent } from '../../streams/catalogue/events.js';
import { parseListen, type ListenSpec } from '../../streams/config/listen.js';
import type { TlsSettings } from '../../streams/config/schema.js';
import { generateSelfSigned, type SelfSigned } from '../fixtures/self-signed.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const FAST: WatchTiming = { pollMs: 100, settleMs: 100 };

function specOf(url: string): ListenSpec {
  const spec = parseListen(url);
  if (typeof spec === 'string') throw new Error(spec);
  return spec;
}

function pair(options: { passphrase?: string; dir?: string } = {}): SelfSigned {
  const generated = generateSelfSigned(options.dir, options);
  if (options.dir === undefined) cleanups.push(() => rmSync(generated.dir, { recursive: true, force: true }));
  return generated;
}

const settingsOf = (certs: Pick<SelfSigned, 'certFile' | 'keyFile'>, passphrase: string | null = null): TlsSettings => ({ cert: certs.certFile, key: certs.keyFile, passphrase });

interface Started {
  front: FrontServer;
  port: number;
  events: RelayEvent[];
}

async function start(url: string, settings: TlsSettings | null, timing: WatchTiming = FAST): Promise<Started> {
  const events: RelayEvent[] = [];
  const front = await createFrontServer(specOf(url), settings, (event) => events.push(event), (_request, response) => response.end('ok'), timing);
  cleanups.push(() => front.close());
  // long enough that a keep-alive connection outlives the slowest renewal wait
  front.server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => front.server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        front.server.close(() => resolve());
        front.server.closeAllConnections();
      }),
  );
  const address = front.server.address();
  if (typeof address !== 'object' || address === null) throw new Error('not listening');
  return { front, port: address.port, events };
}

/** The fingerprint a new connection is shown (not verified: a renewal changes which CA would be right). */
function peerFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', rejectUnauthorized: false }, () => {
      resolve(socket.getPeerCertificate().fingerprint256);
      socket.end();
    });
    socket.setTimeout(2_000, () => socket.destroy(new Error('TLS handshake timed out')));
    socket.on('error', reject);
  });
}

interface Got {
  status: number | undefined;
  body: string;
  fingerprint256: string;
  reusedSocket: boolean;
}

function get(port: number, options: https.RequestOptions): Promise<Got> {
  return new Promise((resolve, reject) => {
    const request = https.get({ host: '127.0.0.1', port, path: '/mcp', servername: 'localhost', timeout: 2_000, ...options }, (response) => {
      const fingerprint256 = (response.socket as tls.TLSSocket).getPeerCertificate().fingerprint256;
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode, body, fingerprint256, reusedSocket: request.reusedSocket }));
    });
    request.on('timeout', () => request.destroy(new Error('request timed out')));
    request.on('error', reject);
  });
}

async function until(probe: () => Promise<boolean> | boolean, what: string, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const served = (port: number, fingerprint: string) => async () => (await peerFingerprint(port)) === fingerprint;

describe('createFrontServer', () => {
  it('gives a plain http server for ws:// and http://', async () => {
    const { front, port } = await start('http://127.0.0.1:0/mcp', null);
    expect(front.server).toBeInstanceOf(http.Server);
    expect(front.server).not.toBeInstanceOf(tls.Server);
    expect(front.describe()).toBeNull();
    const body = await new Promise<string>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port, path: '/mcp', timeout: 2_000 }, (response) => response.setEncoding('utf8').on('data', resolve)).on('error', reject);
    });
    expect(body).toBe('ok');
  });

  it('serves https that a client verifies against the certificate', async () => {
    const certs = pair();
    const { front, port, events } = await start('https://127.0.0.1:0/mcp', settingsOf(certs));
    expect(front.server).toBeInstanceOf(tls.Server);
    const got = await get(port, { ca: certs.certPem, agent: false });
    expect(got).toMatchObject({ status: 200, body: 'ok', fingerprint256: certs.fingerprint256 });
    expect(front.describe()).toEqual({ fingerprint256: certs.fingerprint256, validTo: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
    expect(events).toEqual([]);
  });

  it('upgrades wss connections through the server', async () => {
    const certs = pair();
    const { front, port } = await start('wss://127.0.0.1:0/mcp', settingsOf(certs));
    const wss = new WebSocketServer({ noServer: true });
    cleanups.push(() => wss.close());
    front.server.on('upgrade', (request, socket, head) => wss.handleUpgrade(request, socket, head, (ws) => ws.on('message', (data) => ws.send(`echo ${String(data)}`))));
    // the certificate's IP:127.0.0.1 entry is what the client checks here
    const client = new WebSocket(`wss://127.0.0.1:${port}/mcp`, { ca: certs.certPem });
    cleanups.push(() => client.terminate());
    const reply = await new Promise<string>((resolve, reject) => {
      client.on('open', () => client.send('hi'));
      client.on('message', (data) => resolve(String(data)));
      client.on('error', reject);
    });
    expect(reply).toBe('echo hi');
  });
});

describe('certificate renewal', () => {
  it('serves a pair overwritten in place to new connections, keeping open ones (default timing)', async () => {
    const first = pair();
    const { front, port, events } = await start('https://127.0.0.1:0/mcp', settingsOf(first), {});
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    cleanups.push(() => agent.destroy());
    expect(await get(port, { agent, ca: first.certPem })).toMatchObject({ status: 200, reusedSocket: false });

    const second = pair();
    writeFileSync(first.certFile, second.certPem);
    writeFileSync(first.keyFile, second.keyPem);
    await until(served(port, second.fingerprint256), 'the renewed certificate');

    // the keep-alive connection from before still works, on the certificate it started with
    expect(await get(port, { agent, ca: first.certPem })).toMatchObject({ status: 200, reusedSocket: true, fingerprint256: first.fingerprint256 });
    expect(await get(port, { agent: false, ca: second.certPem })).toMatchObject({ status: 200, fingerprint256: second.fingerprint256 });
    expect(events).toEqual([expect.objectContaining({ event: 'tls.reload', cert: first.certFile, fingerprint256: second.fingerprint256, level: 'info' })]);
    expect(front.describe()?.fingerprint256).toBe(second.fingerprint256);
  });

  it('follows new files renamed over the old ones', async () => {
    const first = pair();
    const { port, events } = await start('https://127.0.0.1:0/mcp', settingsOf(first));
    const second = pair();
    writeFileSync(`${first.certFile}.new`, second.certPem);
    writeFileSync(`${first.keyFile}.new`, second.keyPem);
    renameSync(`${first.certFile}.new`, first.certFile);
    renameSync(`${first.keyFile}.new`, first.keyFile);
    await until(served(port, second.fingerprint256), 'the renamed-in certificate');
    expect(events.map((event) => event.event)).toEqual(['tls.reload']);
  });

  it('follows a certbot-style symlink swap', async () => {
    const first = pair();
    const second = pair();
    const live = join(first.dir, 'live');
    mkdirSync(live);
    const links = { certFile: join(live, 'fullchain.pem'), keyFile: join(live, 'privkey.pem') };
    symlinkSync(first.certFile, links.certFile);
    symlinkSync(first.keyFile, links.keyFile);
    const { port } = await start('https://127.0.0.1:0/mcp', settingsOf(links));
    for (const [link, target] of [
      [links.certFile, second.certFile],
      [links.keyFile, second.keyFile],
    ] as const) {
      unlinkSync(link);
      symlinkSync(target, link);
    }
    await until(served(port, second.fingerprint256), 'the certificate behind the new symlinks');
  });

  it('keeps the old certificate when the renewed one is broken, and says why', async () => {
    const first = pair();
    const { front, port, events } = await start('https://127.0.0.1:0/mcp', settingsOf(first));
    writeFileSync(first.certFile, 'garbage\n');
    await until(() => events.length > 0, 'tls.error');
    expect(events).toEqual([expect.objectContaining({ event: 'tls.error', cert: first.certFile, level: 'error' })]);
    expect(events[0]?.error).toMatch(/tls\.cert .*cert\.pem.*not a PEM certificate.*still serving the previous certificate/);
    expect(await peerFingerprint(port)).toBe(first.fingerprint256);
    expect(front.describe()?.fingerprint256).toBe(first.fingerprint256);

    // a good pair afterwards is taken up
    const second = pair();
    writeFileSync(first.certFile, second.certPem);
    writeFileSync(first.keyFile, second.keyPem);
    await until(served(port, second.fingerprint256), 'the repaired certificate');
    expect(events.map((event) => event.event)).toEqual(['tls.error', 'tls.reload']);
    expect(JSON.stringify(events)).not.toMatch(/PRIVATE KEY/);
  });
});

describe('TLS configuration errors', () => {
  const url = 'https://127.0.0.1:0/mcp';

  it('asks for tls: settings when a TLS listener has none', async () => {
    const failure = createFrontServer(specOf('wss://127.0.0.1:0/mcp'), null, () => undefined, () => undefined);
    await expect(failure).rejects.toBeInstanceOf(TlsConfigError);
    await expect(failure).rejects.toMatchObject({ field: 'tls', file: null, message: expect.stringMatching(/add tls: \{ cert: FILE, key: FILE \} to backends\.yaml/) });
  });

  it('names a missing file', async () => {
    const certs = pair();
    const missing = join(certs.dir, 'nope.pem');
    await expect(start(url, { ...settingsOf(certs), cert: missing })).rejects.toMatchObject({ name: 'TlsConfigError', field: 'tls.cert', file: missing, message: expect.stringMatching(/no such file/) });
  });

  it('names a key that does not belong to the certificate', async () => {
    const [a, b] = [pair(), pair()];
    await expect(start(url, { cert: a.certFile, key: b.keyFile, passphrase: null })).rejects.toMatchObject({ field: 'tls.key', file: b.keyFile, message: expect.stringMatching(/does not belong to the certificate/) });
  });

  it('decrypts a key with its passphrase, and says which setting to fix when it cannot', async () => {
    const certs = pair({ passphrase: 'correct horse' });
    expect(certs.keyPem).toMatch(/ENCRYPTED PRIVATE KEY/);
    const { front } = await start(url, settingsOf(certs, 'correct horse'));
    expect(front.describe()?.fingerprint256).toBe(certs.fingerprint256);

    const wrong = start(url, settingsOf(certs, 'battery staple'));
    await expect(wrong).rejects.toMatchObject({ field: 'tls.passphrase', message: expect.stringMatching(/does not decrypt this key/) });
    await expect(wrong).rejects.not.toMatchObject({ message: expect.stringMatching(/battery|horse/) });
    await expect(start(url, settingsOf(certs))).rejects.toMatchObject({ field: 'tls.passphrase', message: expect.stringMatching(/the key is encrypted: add passphrase/) });
  });
});
