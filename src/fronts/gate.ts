/**
 * The door of every network front: who the request is (its token), and whether one more connection of it fits
 * (limits.maxConnections per listener, maxConnectionsPerToken per principal). A refusal is an HTTP status with a
 * reason a person can act on, a WWW-Authenticate header where it is about the token, an `auth.rejected` or
 * `front.limited` event with the remote address (never the token), and an audit line.
 */
import type { IncomingMessage } from 'node:http';
import type { Principal } from '../../streams/access/access.js';
import { isLoopbackHost, type ListenSpec } from '../../streams/config/listen.js';
import { presentedToken, type AuthResult, type Authenticator, type Grant } from '../auth/authenticator.js';
import { metadataUrl, wwwAuthenticate } from '../auth/resource-metadata.js';
import { remoteOf, type FrontContext } from './front.js';
import type { Seat } from './principals.js';

export interface Refused {
  ok: false;
  status: number;
  reason: string;
  headers: Record<string, string>;
}

export interface Authenticated {
  ok: true;
  principal: Principal;
  grant: Grant;
}

export interface Seated {
  ok: true;
  seat: Seat;
}

type Front = 'ws' | 'http';

/** who the request is: at once for a static token (or none needed), a promise only for a JWT to verify */
export function authenticateRequest(request: IncomingMessage, front: Front, spec: ListenSpec, context: FrontContext): Authenticated | Refused | Promise<Authenticated | Refused> {
  const authenticator = context.security.authenticator();
  const presented = presentedToken(request);
  // a listener beyond loopback opened with auth stays closed to anyone if a reload takes the auth away
  const now = exposedWithoutAuth(spec, authenticator) ?? authenticator.authenticateNow(presented);
  if (now !== undefined) return settle(now, request, front, spec, context, authenticator);
  return authenticator.authenticate(presented).then((result) => settle(result, request, front, spec, context, authenticator));
}

function exposedWithoutAuth(spec: ListenSpec, authenticator: Authenticator): AuthResult | undefined {
  if (authenticator.required || authenticator.settings?.allowUnauthenticated || isLoopbackHost(spec.host)) return undefined;
  return { ok: false, status: 403, reason: `this listener (${spec.url}) is reachable from other machines and backends.yaml no longer has an auth: block; it admits no one until auth is back (or auth.allowUnauthenticated: true)` };
}

function settle(result: AuthResult, request: IncomingMessage, front: Front, spec: ListenSpec, context: FrontContext, authenticator: Authenticator): Authenticated | Refused {
  if (result.ok) return { ok: true, principal: result.principal, grant: result.grant };
  const remote = remoteOf(request.socket);
  context.emit({ event: 'auth.rejected', front, remote, status: result.status, reason: result.reason, level: 'warn' });
  const jwt = authenticator.settings?.jwt ?? null;
  const metadata = jwt ? metadataUrl(jwt, { secure: spec.tls, host: request.headers.host, endpointPath: spec.path }) : undefined;
  const challenge = wwwAuthenticate({
    ...(metadata === undefined ? {} : { metadataUrl: metadata }),
    ...(jwt && jwt.scopes.length > 0 ? { scopes: jwt.scopes } : {}),
    ...(result.error === undefined ? {} : { error: result.error }),
    description: result.reason,
  });
  return { ok: false, status: result.status, reason: result.reason, headers: { 'www-authenticate': challenge } };
}

/** one more connection of the principal on a listener that has `open` now: a seat, or why not */
export function takeSeat(principal: Principal, open: number, front: Front, remote: string, context: FrontContext): Seated | Refused {
  const { limits } = context.settings();
  if (open >= limits.maxConnections) {
    context.emit({ event: 'front.limited', front, remote, principal: principal.name, limit: 'maxConnections', open, level: 'warn' });
    return { ok: false, status: 503, reason: `this listener is at its limit of ${limits.maxConnections} connections (limits.maxConnections); retry later`, headers: { 'retry-after': '5' } };
  }
  const seat = context.security.principals.take(principal, limits);
  if (!seat) {
    context.emit({ event: 'front.limited', front, remote, principal: principal.name, limit: 'maxConnectionsPerToken', open: context.security.principals.connections(principal), level: 'warn' });
    return { ok: false, status: 429, reason: `principal '${principal.name}' already has ${limits.maxConnectionsPerToken} connections (limits.maxConnectionsPerToken): close one first`, headers: { 'retry-after': '5' } };
  }
  return { ok: true, seat };
}
