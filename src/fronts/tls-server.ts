/**
 * The server a network front listens with: plain node:http for ws:// and http://; for wss:// and https:// an
 * https.Server whose certificate follows its files, so a renewed pair serves new connections without a restart.
 *
 * What callers must know:
 * - `server` is typed as http.Server so listenOn(), 'request', 'upgrade', close(), closeAllConnections() and
 *   closeIdleConnections() are used exactly as before. For TLS it is really an https.Server: `instanceof http.Server`
 *   is false there (test `instanceof tls.Server`), and an 'upgrade' socket is a TLSSocket.
 * - `close()` stops watching the files; it does not close the server (the front still does that).
 * - A renewal reaches new connections only; open ones keep the certificate they shook hands with.
 * - Paths are used as given: main.ts resolves relative ones against backends.yaml's folder first.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer as createHttpServer, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { resolve } from 'node:path';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import { watch } from 'chokidar';
import type { EmitEvent } from '../../streams/catalogue/events.js';
import type { ListenSpec } from '../../streams/config/listen.js';
import type { TlsSettings } from '../../streams/config/schema.js';

export interface CertificateInfo {
  /** ISO 8601 */
  validTo: string;
  fingerprint256: string;
}

export interface FrontServer {
  server: Server;
  /** stops watching the certificate files (the server itself is closed by its owner) */
  close(): Promise<void>;
  /** the certificate being served to new connections; null without TLS */
  describe(): CertificateInfo | null;
}

export interface WatchTiming {
  /** how often the files are stat'ed (default 1000) */
  pollMs?: number;
  /** quiet time after the last change seen before reloading, on top of one poll (default 500) */
  settleMs?: number;
}

type TlsField = 'tls' | 'tls.cert' | 'tls.key' | 'tls.passphrase';

/** A certificate or key that cannot be served: which setting, which file, and what to do about it. */
export class TlsConfigError extends Error {
  override readonly name = 'TlsConfigError';
  constructor(
    readonly field: TlsField,
    readonly file: string | null,
    detail: string,
  ) {
    super(`${field}${file === null ? '' : ` (${file})`}: ${detail}`);
  }
}

interface Loaded {
  cert: Buffer;
  key: Buffer;
  options: SecureContextOptions;
  info: CertificateInfo;
}

const READ_HINTS: Record<string, string> = {
  ENOENT: 'no such file: give the path of the PEM file in tls: in backends.yaml',
  EACCES: 'permission denied: make the file readable by the user the relay runs as',
  EISDIR: 'is a directory: give the PEM file inside it',
};

async function readPem(field: TlsField, file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (error: unknown) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    throw new TlsConfigError(field, file, READ_HINTS[code] ?? `cannot read it (${code || String(error)})`);
  }
}

function certificateOf(pem: Buffer, file: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch {
    throw new TlsConfigError('tls.cert', file, 'not a PEM certificate: expected -----BEGIN CERTIFICATE----- (the certificate or fullchain.pem, not the key)');
  }
}

/** The key is parsed on its own first, so the error can say whether the file or the passphrase is wrong. */
function privateKeyOf(pem: Buffer, file: string, passphrase: string | null): KeyObject {
  try {
    return createPrivateKey({ key: pem, ...(passphrase === null ? {} : { passphrase }) });
  } catch (error: unknown) {
    const code = (error as { code?: string }).code ?? '';
    if (code === 'ERR_OSSL_BAD_DECRYPT') throw new TlsConfigError('tls.passphrase', file, 'the passphrase does not decrypt this key: check the environment variable tls.passphrase names');
    if (code === 'ERR_MISSING_PASSPHRASE' || code === 'ERR_OSSL_CRYPTO_INTERRUPTED_OR_CANCELLED' || (passphrase === null && pem.includes('ENCRYPTED'))) {
      throw new TlsConfigError('tls.passphrase', file, 'the key is encrypted: add passphrase: ${ENV_VAR} to tls: in backends.yaml and set that variable');
    }
    throw new TlsConfigError('tls.key', file, `not a PEM private key: expected -----BEGIN PRIVATE KEY----- (or EC/RSA PRIVATE KEY)${code ? ` (${code})` : ''}`);
  }
}

/** Reads and checks the pair; the key's bytes and the passphrase never reach an error message. */
async function load(files: { cert: string; key: string }, passphrase: string | null): Promise<Loaded> {
  const [cert, key] = await Promise.all([readPem('tls.cert', files.cert), readPem('tls.key', files.key)]);
  const certificate = certificateOf(cert, files.cert);
  if (!certificate.checkPrivateKey(privateKeyOf(key, files.key, passphrase))) {
    throw new TlsConfigError('tls.key', files.key, `does not belong to the certificate in ${files.cert}: give the key it was issued for (when renewing, replace both files)`);
  }
  const options: SecureContextOptions = { cert, key, minVersion: 'TLSv1.2', ...(passphrase === null ? {} : { passphrase }) };
  try {
    createSecureContext(options);
  } catch (error: unknown) {
    throw new TlsConfigError('tls', files.cert, `the certificate and key cannot be served together: ${error instanceof Error ? error.message : String(error)}`);
  }
  const validTo = new Date(certificate.validTo);
  return { cert, key, options, info: { validTo: Number.isNaN(validTo.getTime()) ? certificate.validTo : validTo.toISOString(), fingerprint256: certificate.fingerprint256 } };
}

export async function createFrontServer(spec: ListenSpec, tls: TlsSettings | null, emit: EmitEvent, handler: RequestListener, timing: WatchTiming = {}): Promise<FrontServer> {
  if (!spec.tls) return { server: createHttpServer(handler), close: () => Promise.resolve(), describe: () => null };
  if (tls === null) throw new TlsConfigError('tls', null, `${spec.url} needs a certificate: add tls: { cert: FILE, key: FILE } to backends.yaml`);
  const { pollMs = 1_000, settleMs = 500 } = timing;
  const files = { cert: resolve(tls.cert), key: resolve(tls.key) };
  // Polling, not inotify: certbot swaps the symlinks in live/, and inotify follows a symlink to the old file, so it
  // never sees the swap; a stat follows the link every time. It also sees rename-replace and k8s secret updates.
  // Two stats a second is nothing. Watching starts before the first read, so no renewal falls between the two.
  const watcher = watch([files.cert, files.key], { ignoreInitial: true, usePolling: true, interval: pollMs, binaryInterval: pollMs, persistent: false });
  await new Promise<void>((ready) => watcher.once('ready', ready));
  let current: Loaded;
  try {
    current = await load(files, tls.passphrase);
  } catch (error: unknown) {
    await watcher.close();
    throw error;
  }
  const server = createHttpsServer(current.options, handler);

  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let reloading = Promise.resolve();
  const reload = async (): Promise<void> => {
    try {
      const next = await load(files, tls.passphrase);
      if (closed || (next.cert.equals(current.cert) && next.key.equals(current.key))) return;
      server.setSecureContext(next.options);
      current = next;
      const expired = Date.parse(next.info.validTo) < Date.now();
      emit({ event: 'tls.reload', cert: files.cert, ...next.info, ...(expired ? { warning: 'the new certificate has already expired: clients will refuse it' } : {}), level: expired ? 'warn' : 'info' });
    } catch (error: unknown) {
      if (!closed) emit({ event: 'tls.error', cert: files.cert, error: `${error instanceof Error ? error.message : String(error)}; still serving the previous certificate`, level: 'error' });
    }
  };
  // A renewal writes two files (and an in-place write can be seen half done): wait until both have been quiet.
  const schedule = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      reloading = reloading.then(reload);
    }, pollMs + settleMs);
    timer.unref();
  };
  watcher.on('all', schedule);
  watcher.on('error', (error: unknown) => {
    emit({ event: 'tls.error', cert: files.cert, error: `cannot watch the certificate files (${String(error)}): a renewed certificate needs a restart`, level: 'error' });
  });

  return {
    server,
    close: async () => {
      closed = true;
      clearTimeout(timer);
      await watcher.close();
      await reloading;
    },
    describe: () => current.info,
  };
}
