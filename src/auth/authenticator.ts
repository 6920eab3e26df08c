/**
 * Who a network request is: a static token's principal, a verified JWT's, or anonymous on a relay with no auth. Every
 * refusal carries an HTTP status and a reason a person can act on, and never the token. Static tokens are compared in
 * constant time: each configured token's digest against the presented one's, all of them, whatever matches.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { ANONYMOUS_PRINCIPAL, compileAccess, type Principal } from '../../streams/access/access.js';
import type { AccessRule, AccessSettings, AuthSettings, TokenSettings } from '../../streams/config/schema.js';
import { createJwtVerifier, type JwtVerifier } from './jwt-verifier.js';

/** what a principal was admitted on: a reload (or a JWT's expiry) is checked against it */
export type Grant =
  | { kind: 'open' }
  | { kind: 'token'; entry: TokenSettings }
  | { kind: 'jwt'; claims: Record<string, unknown>; access: AccessSettings; /** ms since the epoch */ expiresAt: number };

export type AuthResult =
  | { ok: true; principal: Principal; grant: Grant }
  | { ok: false; status: 401 | 403 | 503; reason: string; error?: 'invalid_request' | 'invalid_token' | 'insufficient_scope' };

/** where a token was found: the header, or (a browser's WebSocket) the subprotocol list */
export interface Presented {
  token: string | null;
  /** a token in the URL's query: refused whatever it is, because URLs end up in logs and browser history */
  inQuery: boolean;
}

const BEARER = /^Bearer[ ]+(\S+)[ ]*$/i;
export const BEARER_PROTOCOL = 'bearer.';

export function presentedToken(request: IncomingMessage): Presented {
  // most requests have no query at all: the URL is parsed only when there is one
  const url = request.url ?? '/';
  const query = url.includes('?') ? new URL(url, 'http://relay').searchParams : null;
  const inQuery = query !== null && (query.has('access_token') || query.has('token'));
  const header = request.headers.authorization;
  if (header !== undefined) return { token: BEARER.exec(header)?.[1] ?? '', inQuery };
  const protocols = request.headers['sec-websocket-protocol'];
  if (typeof protocols === 'string') {
    const entry = protocols.split(',').map((protocol) => protocol.trim()).find((protocol) => protocol.startsWith(BEARER_PROTOCOL));
    if (entry !== undefined) return { token: entry.slice(BEARER_PROTOCOL.length), inQuery };
  }
  return { token: null, inQuery };
}

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

/** verified JWTs, so an HTTP client's every POST does not cost a signature check; bounded, and never past exp */
const VERIFIED_CACHE_SIZE = 1_000;

/** the first rule whose every claim matches (an array claim matches when it holds one of the values) */
function ruleFor(rules: readonly AccessRule[], claims: Record<string, unknown>): AccessRule | undefined {
  return rules.find((rule) => ruleMatches(rule, claims));
}

/** every claim of the rule holds one of its values */
export function ruleMatches(rule: AccessRule, claims: Record<string, unknown>): boolean {
  return Object.entries(rule.match).every(([claim, values]) => {
      const value = claims[claim];
      // only the scope claims are space-separated lists; any other string is compared whole (a free-text claim
      // "x admin" must not match admin)
      const spaced = claim === 'scope' || claim === 'scp';
      const held = Array.isArray(value) ? value.map(String) : typeof value === 'string' ? (spaced ? value.split(' ') : [value]) : value === undefined ? [] : [String(value)];
      return values.some((wanted) => held.includes(wanted));
  });
}

export class Authenticator {
  private readonly digests: Array<{ digest: Buffer; entry: TokenSettings; principal: Principal }>;
  readonly jwt: JwtVerifier | null;
  private readonly verified = new Map<string, { result: AuthResult; until: number }>();

  /**
   * @param closed admits no one: before backends.yaml has loaded once, the relay cannot know whether it wants tokens,
   * and a file that meant to require them must not be open to anyone because it did not parse
   */
  constructor(
    readonly settings: AuthSettings | null,
    readonly closed = false,
  ) {
    this.digests = (settings?.tokens ?? []).map((entry) => ({ digest: digest(entry.token), entry, principal: { name: entry.name, kind: 'token', access: compileAccess(entry.access) } }));
    this.jwt = settings?.jwt ? createJwtVerifier(settings.jwt) : null;
  }

  /** tokens or a JWT issuer are configured: every network request must bring a token */
  get required(): boolean {
    return this.closed || this.digests.length > 0 || this.jwt !== null;
  }

  /** the static token entry a presented token is, in constant time over all of them */
  private staticMatch(token: string): (typeof this.digests)[number] | null {
    const presented = digest(token);
    let found: (typeof this.digests)[number] | null = null;
    for (const candidate of this.digests) if (timingSafeEqual(candidate.digest, presented) && found === null) found = candidate;
    return found;
  }

  /**
   * Everything but a JWT is decided here, at once (the HTTP front asks on every request: no promise for a static
   * token); undefined means the token must be verified as a JWT (authenticate).
   */
  authenticateNow(presented: Presented): AuthResult | undefined {
    if (this.closed) return { ok: false, status: 503, reason: "the relay's backends.yaml has not loaded (see the relay's log): no network client is admitted until it does" };
    if (presented.inQuery) return { ok: false, status: 401, error: 'invalid_request', reason: 'a token in the URL is refused (URLs end up in logs): send it as Authorization: Bearer <token>, or from a browser WebSocket as the subprotocol bearer.<token> beside mcp' };
    if (!this.required) return { ok: true, principal: ANONYMOUS_PRINCIPAL, grant: { kind: 'open' } };
    if (presented.token === null) return { ok: false, status: 401, reason: 'this relay needs a token: send Authorization: Bearer <token>' };
    if (presented.token === '') return { ok: false, status: 401, error: 'invalid_request', reason: 'the Authorization header is not "Bearer <token>"' };
    const match = this.staticMatch(presented.token);
    if (match) return { ok: true, principal: match.principal, grant: { kind: 'token', entry: match.entry } };
    if (this.jwt === null || presented.token.split('.').length !== 3) return { ok: false, status: 401, error: 'invalid_token', reason: 'the token is not one this relay accepts (check which token you were given, and that it was not revoked)' };
    const cached = this.verified.get(presented.token);
    if (cached && cached.until > Date.now()) return cached.result;
    return undefined;
  }

  async authenticate(presented: Presented): Promise<AuthResult> {
    const now = this.authenticateNow(presented);
    if (now !== undefined || presented.token === null || this.jwt === null) return now ?? { ok: false, status: 401, reason: 'this relay needs a token' };
    const verified = await this.jwt.verify(presented.token);
    if (!verified.ok) return { ok: false, status: verified.status, error: verified.error, reason: verified.reason };
    const rule = ruleFor(this.settings?.access ?? [], verified.claims);
    if (!rule) return { ok: false, status: 403, error: 'insufficient_scope', reason: `no access rule in auth.access matches the token of '${verified.name}': ask the relay's operator for access` };
    // jose accepts a token until exp + the clock skew: its connection lasts as long
    const expiresAt = typeof verified.claims.exp === 'number' ? (verified.claims.exp + (this.settings?.jwt?.clockSkewSeconds ?? 0)) * 1_000 : Date.now();
    const result: AuthResult = { ok: true, principal: { name: verified.name, kind: 'jwt', access: compileAccess(rule.access) }, grant: { kind: 'jwt', claims: verified.claims, access: rule.access, expiresAt } };
    if (this.verified.size >= VERIFIED_CACHE_SIZE) this.verified.delete(this.verified.keys().next().value as string);
    this.verified.set(presented.token, { result, until: Math.min(expiresAt, Date.now() + 60_000) });
    return result;
  }

  /**
   * whether a principal admitted on `grant` may go on (after a reload, or later in a JWT's life): its token entry is
   * still there with the same secret, name and access; its JWT has not expired, JWTs are still accepted and the
   * access rule its claims match now gives the same access. A changed access takes effect when it reconnects.
   */
  stillValid(grant: Grant, now = Date.now()): boolean {
    if (this.closed) return false;
    switch (grant.kind) {
      case 'open':
        return !this.required;
      case 'token': {
        const same = JSON.stringify(grant.entry);
        return this.digests.some((candidate) => candidate.entry === grant.entry || JSON.stringify(candidate.entry) === same);
      }
      case 'jwt': {
        if (this.jwt === null || grant.expiresAt <= now) return false;
        const rule = ruleFor(this.settings?.access ?? [], grant.claims);
        return rule !== undefined && (rule.access === grant.access || JSON.stringify(rule.access) === JSON.stringify(grant.access));
      }
    }
  }
}
