/**
 * The relay as an OAuth 2.1 resource server (MCP authorization, 2025-11-25): a bearer JWT is accepted when the
 * issuer's published keys sign it with a public-key algorithm, it names our issuer and one of our audiences (RFC 8707),
 * it has not expired, and it carries the required scopes. Every refusal is an outcome, never a throw, with a reason a
 * person can act on; the reason may reach an anonymous client, so it never holds the token, and claim values shown in
 * it are cut short.
 */
import { readFile } from 'node:fs/promises';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  customFetch,
  decodeProtectedHeader,
  errors,
  jwtVerify,
  type CryptoKey,
  type FlattenedJWSInput,
  type JSONWebKeySet,
  type JWSHeaderParameters,
  type JWTPayload,
  type JWTVerifyOptions,
} from 'jose';
import type { JwtSettings } from '../../streams/config/schema.js';

export type JwtOutcome =
  | { ok: true; name: string; claims: JWTPayload; scopes: string[] }
  | { ok: false; status: 401 | 403; error: 'invalid_token' | 'insufficient_scope'; reason: string };

export interface JwtVerifier {
  verify(token: string): Promise<JwtOutcome>;
}

export interface JwtVerifierOptions {
  /**
   * After the keys were fetched (or the key file read), a token naming an unknown kid waits this long before it may
   * cause another fetch: random kids must not turn into a flood of requests to the issuer. Default 10 s for a URL,
   * 5 s for a file.
   */
  refetchCooldownMs?: number;
  /** how long fetched keys are used before they are fetched again (a removed key stops working). Default 10 min. */
  cacheMaxAgeMs?: number;
  /** how long a JWKS fetch may take. Default 5 s. */
  timeoutMs?: number;
}

/** Only public-key signatures: a shared-secret (HS*) token could be forged by anyone holding a published key. */
export const ACCEPTED_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];

/** The issuer's keys could not be had (fetch failed, file unreadable, set malformed): not the token's fault. */
export class KeysUnavailableError extends Error {
  override readonly name = 'KeysUnavailableError';
  constructor(
    readonly source: string,
    readonly detail: string,
    verb: 'fetch' | 'read' = 'fetch',
  ) {
    super(`the relay could not ${verb} the issuer's keys from ${source} (${detail})`);
  }
}

type KeyResolver = (header: JWSHeaderParameters, token: FlattenedJWSInput) => Promise<CryptoKey>;

const isKeyMiss = (error: unknown): boolean => error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys;

function detailOf(error: unknown, timeoutMs: number, status: number | null): string {
  if (error instanceof errors.JWKSTimeout) return `no answer within ${timeoutMs} ms`;
  if (error instanceof errors.JWKSInvalid) return 'the key set is malformed';
  if (error instanceof SyntaxError) return 'not valid JSON';
  if (error instanceof errors.JOSEError && error.code === 'ERR_JOSE_GENERIC' && status !== null && status !== 200) return `it answered HTTP ${status}`;
  // node's fetch wraps the socket error ("fetch failed", cause ECONNREFUSED); fs errors carry the code themselves
  const { code, cause } = (error ?? {}) as { code?: unknown; cause?: { code?: unknown } };
  if (typeof cause?.code === 'string') return cause.code;
  if (typeof code === 'string') return code;
  return error instanceof Error ? error.message : String(error);
}

function urlKeys(url: string, options: Required<JwtVerifierOptions>): KeyResolver {
  let status: number | null = null;
  const remote = createRemoteJWKSet(new URL(url), {
    cooldownDuration: options.refetchCooldownMs,
    cacheMaxAge: options.cacheMaxAgeMs,
    timeoutDuration: options.timeoutMs,
    // jose only says "expected 200 OK": keep the status for the reason
    [customFetch]: async (target, init) => {
      status = null;
      const response = await fetch(target, init);
      status = response.status;
      return response;
    },
  });
  return async (header, token) => {
    try {
      return await remote(header, token);
    } catch (error: unknown) {
      if (isKeyMiss(error)) throw error;
      throw new KeysUnavailableError(url, detailOf(error, options.timeoutMs, status));
    }
  };
}

/** A JWKS file, re-read when a token names a key it lacks (a rotated file needs no restart) or when it is old. */
function fileKeys(path: string, options: Required<JwtVerifierOptions>, now: () => number): KeyResolver {
  const state: { set: ReturnType<typeof createLocalJWKSet> | null; loadedAt: number; triedAt: number; error: unknown } = { set: null, loadedAt: 0, triedAt: -Infinity, error: null };
  let pending: Promise<void> | null = null;
  const reload = (): Promise<void> =>
    (pending ??= (async () => {
      state.triedAt = now();
      try {
        state.set = createLocalJWKSet(JSON.parse(await readFile(path, 'utf8')) as JSONWebKeySet);
        state.loadedAt = state.triedAt;
        state.error = null;
      } catch (error: unknown) {
        state.error = error; // the old set stays in use: a half-written file must not lock everyone out
      }
    })().finally(() => (pending = null)));
  const reloadIfDue = async (): Promise<void> => {
    if (now() - state.triedAt >= options.refetchCooldownMs) await reload();
  };
  const unavailable = () => new KeysUnavailableError('its key file', detailOf(state.error, options.timeoutMs, null), 'read');

  return async (header, token) => {
    if (state.set === null || now() - state.loadedAt >= options.cacheMaxAgeMs) await reloadIfDue();
    const set = state.set;
    if (set === null) throw unavailable();
    try {
      return await set(header, token);
    } catch (error: unknown) {
      if (!(error instanceof errors.JWKSNoMatchingKey)) throw error;
      await reloadIfDue();
      const reloaded = state.set;
      if (reloaded === set || reloaded === null) throw state.error === null ? error : unavailable();
      return reloaded(header, token);
    }
  };
}

/** A token without a kid may match several keys (mid-rotation): try each, as jose's docs advise. */
async function verifyWithAnyKey(token: string, keys: KeyResolver, options: JWTVerifyOptions): Promise<JWTPayload> {
  try {
    return (await jwtVerify(token, keys, options)).payload;
  } catch (error: unknown) {
    if (!(error instanceof errors.JWKSMultipleMatchingKeys)) throw error;
    for await (const key of error) {
      try {
        return (await jwtVerify(token, key, options)).payload;
      } catch (inner: unknown) {
        if (!(inner instanceof errors.JWSSignatureVerificationFailed)) throw inner;
      }
    }
    throw new errors.JWSSignatureVerificationFailed();
  }
}

/** a claim value as shown in a reason: quoted, one line, short (it comes from whoever sent the token) */
function show(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
  // eslint-disable-next-line no-control-regex -- control characters are what is being removed
  const line = text.replace(/[\u0000-\u001f\u007f]/g, ' ');
  return `'${line.length > 80 ? `${line.slice(0, 77)}...` : line}'`;
}

const showAll = (values: readonly unknown[], joiner: string): string => values.map(show).join(joiner);
const iso = (seconds: unknown): string => (typeof seconds === 'number' && Number.isFinite(seconds) ? new Date(seconds * 1000).toISOString() : show(seconds));

function headerOf(token: string): JWSHeaderParameters {
  try {
    return decodeProtectedHeader(token);
  } catch {
    return {};
  }
}

function claimReason(error: errors.JWTClaimValidationFailed, settings: JwtSettings): string {
  const { claim, reason, payload } = error;
  const missing = reason === 'missing';
  switch (claim) {
    case 'exp':
      return missing ? 'the token has no expiry (exp): this relay refuses tokens that never expire' : `the token's expiry (exp) is not a number: ${show(payload.exp)}`;
    case 'nbf':
      return typeof payload.nbf === 'number' ? `the token is not valid until ${iso(payload.nbf)} (check the clocks of the issuer and the relay)` : `the token's nbf is not a number: ${show(payload.nbf)}`;
    case 'iss':
      return missing ? `the token names no issuer, expected ${show(settings.issuer)}` : `the token's issuer is ${show(payload.iss)}, expected ${show(settings.issuer)}`;
    case 'aud': {
      const accepted = showAll(settings.audience, ' or ');
      const ask = settings.resource === '' ? '' : ` (ask the issuer for a token with resource=${settings.resource})`;
      if (missing) return `the token names no audience, this relay accepts ${accepted}${ask}`;
      const held = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
      return `the token's audience is ${showAll(held, ' and ')}, this relay accepts ${accepted}${ask}`;
    }
    default:
      return `the token's ${show(claim)} claim is not accepted (${reason})`;
  }
}

function reasonFor(error: unknown, token: string, settings: JwtSettings): string {
  if (error instanceof KeysUnavailableError) return error.message;
  if (error instanceof errors.JWTExpired) return `the token expired at ${iso(error.payload.exp)}`;
  if (error instanceof errors.JWTClaimValidationFailed) return claimReason(error, settings);
  if (error instanceof errors.JWSSignatureVerificationFailed) return "the signature does not match the issuer's keys";
  if (error instanceof errors.JWKSNoMatchingKey) {
    const { kid } = headerOf(token);
    return `the token's signing key${kid === undefined ? '' : ` (kid ${show(kid)})`} is not among the issuer's keys (if the issuer has just rotated them, try again in a few seconds)`;
  }
  if (error instanceof errors.JOSEAlgNotAllowed) {
    const { alg } = headerOf(token);
    if (typeof alg === 'string' && alg.toLowerCase() === 'none') return 'unsigned tokens (alg none) are refused';
    if (typeof alg === 'string' && /^HS\d+$/i.test(alg)) return `the token is signed with ${show(alg)}, a shared secret: this relay accepts only the issuer's public-key signatures (${ACCEPTED_ALGORITHMS.join(', ')})`;
    return `the token's algorithm ${show(alg)} is not accepted (accepted: ${ACCEPTED_ALGORITHMS.join(', ')})`;
  }
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) return 'the token is not a JWT';
  if (error instanceof errors.JOSEError) return `the token could not be verified: ${error.message}`;
  return `the token could not be verified (${error instanceof Error ? error.name : 'unknown error'})`;
}

/** The last guard: whatever went into a reason, the token (or a long piece of it) does not come out. */
function withoutToken(reason: string, token: string): string {
  const pieces = [token, ...token.split('.')].filter((piece) => piece.length >= 16);
  return pieces.reduce((text, piece) => text.split(piece).join('[token]'), reason);
}

function scopesOf(claims: JWTPayload): string[] {
  const words = (value: unknown): string[] =>
    typeof value === 'string' ? value.split(/\s+/) : Array.isArray(value) ? value.filter((word): word is string => typeof word === 'string') : [];
  return [...new Set([...words(claims['scope']), ...words(claims['scp'])].filter((word) => word !== ''))];
}

export function createJwtVerifier(settings: JwtSettings, options: JwtVerifierOptions = {}, now: () => number = Date.now): JwtVerifier {
  const resolved = (refetchCooldownMs: number): Required<JwtVerifierOptions> => ({
    refetchCooldownMs: options.refetchCooldownMs ?? refetchCooldownMs,
    cacheMaxAgeMs: options.cacheMaxAgeMs ?? 600_000,
    timeoutMs: options.timeoutMs ?? 5_000,
  });
  let keys: KeyResolver;
  if (settings.jwksUrl !== null) keys = urlKeys(settings.jwksUrl, resolved(10_000));
  else if (settings.jwksFile !== null) keys = fileKeys(settings.jwksFile, resolved(5_000), now);
  else throw new TypeError('jwt settings need jwksUrl or jwksFile'); // the config schema already refuses this
  const verifyOptions: JWTVerifyOptions = {
    algorithms: ACCEPTED_ALGORITHMS,
    issuer: settings.issuer,
    audience: settings.audience,
    clockTolerance: settings.clockSkewSeconds,
    requiredClaims: ['exp'],
  };
  const refuse = (status: 401 | 403, reason: string, token: string): JwtOutcome => ({
    ok: false,
    status,
    error: status === 401 ? 'invalid_token' : 'insufficient_scope',
    reason: withoutToken(reason, token),
  });

  return {
    async verify(token) {
      let claims: JWTPayload;
      try {
        claims = await verifyWithAnyKey(token, keys, verifyOptions);
      } catch (error: unknown) {
        return refuse(401, reasonFor(error, token, settings), token);
      }
      const name = claims[settings.nameClaim];
      if (typeof name !== 'string' || name === '') {
        const why = name === undefined || name === '' ? 'has no' : 'has a non-string';
        return refuse(401, `the token ${why} ${show(settings.nameClaim)} claim, which names its holder here`, token);
      }
      const scopes = scopesOf(claims);
      const lacking = settings.scopes.filter((scope) => !scopes.includes(scope));
      if (lacking.length > 0) return refuse(403, `the token lacks scope(s) ${lacking.join(' ')} (required: ${settings.scopes.join(' ')})`, token);
      return { ok: true, name, claims, scopes };
    },
  };
}
