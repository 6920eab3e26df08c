/** What every network front shares: the hub, the event log, the settings in force, and how it binds. */
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { EmitEvent } from '../../streams/catalogue/events.js';
import { isLoopbackHost, type ListenSpec } from '../../streams/config/listen.js';
import type { HttpFrontSettings, WsFrontSettings } from '../../streams/config/schema.js';
import type { Hub } from '../../streams/hub.js';
import type { SessionDeps } from '../../streams/session.js';
import type { Front as FrontKind } from '../../streams/session/client-record.js';

export interface FrontSettings {
  http: HttpFrontSettings;
  websocket: WsFrontSettings;
  maxClientMessageBytes: number;
}

export interface FrontContext {
  hub: Hub;
  emit: EmitEvent;
  /** a monotonic clock in ms */
  now: () => number;
  /** the settings in force (a reload changes them for what comes next) */
  settings: () => FrontSettings;
}

export interface RunningFront {
  readonly spec: ListenSpec;
  /** the URL actually bound (port 0 resolved) */
  readonly url: string;
  readonly sessions: () => number;
  /** ends every session (their calls cancelled) and stops listening */
  close(reason: string): Promise<void>;
}

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

export const boundUrl = (spec: ListenSpec, port: number): string => `${spec.kind}://${spec.host.includes(':') ? `[${spec.host}]` : spec.host}:${port}${spec.path}`;

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

export function sessionDeps(context: FrontContext, front: FrontKind, remote: string): SessionDeps {
  return { identity: { id: randomUUID(), front, remote }, emit: context.emit, now: context.now, wallClock: () => Date.now() };
}

export const remoteOf = (socket: { remoteAddress?: string | undefined; remotePort?: number | undefined }): string =>
  `${socket.remoteAddress?.includes(':') ? `[${socket.remoteAddress}]` : (socket.remoteAddress ?? '?')}:${socket.remotePort ?? '?'}`;

export const warnIfExposed = (spec: ListenSpec, emit: EmitEvent): void => {
  if (!isLoopbackHost(spec.host)) emit({ event: 'front.exposed', url: spec.url, warning: 'this listener is reachable from other machines and has no authentication yet: bind 127.0.0.1, or put it behind an authenticating proxy', level: 'warn' });
};
