/** What every network front shares: the hub, the event log, the settings in force, and how it binds. */
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { EmitEvent } from '../../streams/catalogue/events.js';
import { isLoopbackHost, type ListenSpec } from '../../streams/config/listen.js';
import type { HttpFrontSettings, LimitSettings, TlsSettings, WsFrontSettings } from '../../streams/config/schema.js';
import type { Principal } from '../../streams/access/access.js';
import { Admission } from '../../streams/access/admission.js';
import type { TokenBucket } from '../../streams/core/token-bucket.js';
import type { Authenticator } from '../auth/authenticator.js';
import type { AuditLog } from '../audit.js';
import type { Principals } from './principals.js';
import type { Hub } from '../../streams/hub.js';
import type { SessionDeps } from '../../streams/session.js';
import type { Front as FrontKind } from '../../streams/session/client-record.js';

export interface FrontSettings {
  http: HttpFrontSettings;
  websocket: WsFrontSettings;
  maxClientMessageBytes: number;
  limits: LimitSettings;
  tls: TlsSettings | null;
}

/** who may connect and how much: the config's auth in force, the per-principal counts, the audit log */
export interface FrontSecurity {
  authenticator: () => Authenticator;
  principals: Principals;
  /** null when no audit log is kept */
  audit: () => AuditLog | null;
  /** a per-process random seed for the tables keyed by client-chosen ids */
  idSeed: number;
}

export interface FrontContext {
  hub: Hub;
  emit: EmitEvent;
  /** a monotonic clock in ms */
  now: () => number;
  /** the settings in force (a reload changes them for what comes next) */
  settings: () => FrontSettings;
  security: FrontSecurity;
}

export interface RunningFront {
  readonly spec: ListenSpec;
  /** the URL actually bound (port 0 resolved) */
  readonly url: string;
  readonly sessions: () => number;
  /** after a reload: ends the sessions whose token was revoked (or whose access changed) */
  recheck(): void;
  /** ends every session (their calls cancelled) and stops listening */
  close(reason: string): Promise<void>;
}

/**
 * While the relay drains, the ports stay open and every new request or upgrade is answered 503 with this
 * Retry-After: a load balancer or client learns to go elsewhere (a closed port says nothing, and would also cut the
 * kept-alive connections that carry answers to calls still in flight).
 */
export const DRAINING_RETRY_AFTER_S = 5;

/** A port in use (or a host that is not this machine's) is a clear error, never a crash. */
export class ListenError extends Error {
  override readonly name = 'ListenError';
  constructor(
    readonly url: string,
    readonly code: string | undefined,
    detail: string,
  ) {
    super(`cannot listen on ${url}: ${detail}`);
  }
}

const LISTEN_HINTS: Record<string, string> = {
  EADDRINUSE: 'the port is in use by another program (pick another port, or stop the other program)',
  EADDRNOTAVAIL: 'this machine has no such address (bind 127.0.0.1 for local clients)',
  EACCES: 'permission denied (ports below 1024 need privileges)',
};

export function listenOn(server: Server, spec: ListenSpec): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => reject(new ListenError(spec.url, error.code, `${LISTEN_HINTS[error.code ?? ''] ?? error.message} (${error.code ?? 'error'})`));
    server.once('error', onError);
    server.listen({ host: spec.host, port: spec.port, exclusive: true }, () => {
      server.off('error', onError);
      const address = server.address();
      resolve(typeof address === 'object' && address !== null ? address.port : spec.port);
    });
  });
}

export const boundUrl = (spec: ListenSpec, port: number): string => `${spec.kind}${spec.tls ? 's' : ''}://${spec.host.includes(':') ? `[${spec.host}]` : spec.host}:${port}${spec.path}`;

/** per settings object and port: built once per config, not once per request (3% of the HTTP front's CPU) */
const originSets = new WeakMap<HttpFrontSettings, Map<number, ReadonlySet<string>>>();

/** The origins a browser page may call from: the configured ones, or the listener's own loopback origins. */
export function allowedOrigins(settings: HttpFrontSettings, port: number): ReadonlySet<string> {
  let byPort = originSets.get(settings);
  if (!byPort) originSets.set(settings, (byPort = new Map()));
  let origins = byPort.get(port);
  if (!origins) {
    origins =
      settings.allowedOrigins !== null
        ? new Set(settings.allowedOrigins.map((origin) => origin.replace(/\/$/, '').toLowerCase()))
        : new Set(['127.0.0.1', 'localhost', '[::1]'].flatMap((host) => [`http://${host}:${port}`, `https://${host}:${port}`]));
    byPort.set(port, origins);
  }
  return origins;
}

/** No Origin header: not a browser, nothing to defend against. A browser page from elsewhere is refused (DNS rebinding). */
export const originAllowed = (origin: string | undefined, allowed: ReadonlySet<string>): boolean => origin === undefined || allowed.has(origin.toLowerCase());

/**
 * A network client's session: its principal, its own limits (the WebSocket front; the HTTP front checks them itself,
 * to answer 429), the id seed, and the audit of its calls when an audit log is kept.
 */
export function sessionDeps(context: FrontContext, front: FrontKind, remote: string, principal: Principal, bucket: TokenBucket | null, withAdmission: boolean): SessionDeps {
  const identity = { id: randomUUID(), front, remote, principal: principal.name };
  const audit = context.security.audit();
  return {
    identity,
    emit: context.emit,
    now: context.now,
    wallClock: () => Date.now(),
    principal,
    idSeed: context.security.idSeed,
    maxInFlight: context.settings().limits.maxInFlightPerClient,
    ...(withAdmission ? { admission: newAdmission(context, bucket) } : {}),
    ...(audit
      ? {
          audit: (done) =>
            audit.write({
              kind: 'call',
              client: identity.id,
              principal: principal.name,
              front,
              ...(done.tool === undefined ? { method: done.request.method, subject: done.subject } : { tool: done.tool }),
              backend: done.backend,
              ms: done.ms,
              outcome: done.outcome,
              arguments: done.tool === undefined ? done.request.params : done.request.params?.['arguments'],
              resultBytes: done.resultBytes,
            }),
        }
      : {}),
  };
}

export const newAdmission = (context: FrontContext, bucket: TokenBucket | null): Admission => {
  const { limits } = context.settings();
  return new Admission({ rate: limits.rateLimit }, bucket, context.now);
};

export const remoteOf = (socket: { remoteAddress?: string | undefined; remotePort?: number | undefined }): string =>
  `${socket.remoteAddress?.includes(':') ? `[${socket.remoteAddress}]` : (socket.remoteAddress ?? '?')}:${socket.remotePort ?? '?'}`;

/**
 * A listener beyond loopback without authentication is refused, unless the operator said so (and then warned about
 * at every start): a relay holds the keys to every backend behind it.
 */
export function checkExposure(spec: ListenSpec, context: FrontContext): void {
  if (isLoopbackHost(spec.host) || context.security.authenticator().required) return;
  const settings = context.security.authenticator().settings;
  if (!settings?.allowUnauthenticated) {
    throw new ListenError(spec.url, 'EUNAUTHENTICATED', 'it is reachable from other machines and the relay has no authentication: add auth: { tokens: [...] } (or auth.jwt) to backends.yaml, bind 127.0.0.1, or set auth.allowUnauthenticated: true to accept anyone');
  }
  context.emit({ event: 'front.exposed', url: spec.url, warning: 'this listener is reachable from other machines and accepts anyone (auth.allowUnauthenticated: true): every client may use every backend', level: 'warn' });
}
