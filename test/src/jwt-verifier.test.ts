// The relay as an OAuth resource server: a JWT from the configured issuer, for our audience, unexpired and with the
// required scopes is accepted; everything else is refused with a 401/403 and a reason a person can act on, never a
// throw and never the token itself. Keys come from a loopback issuer (test/fixtures/jwt-issuer.ts) over HTTP or as a
// file, and rotate. Then the RFC 9728 metadata and the WWW-Authenticate challenge.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, validateHeaderValue } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createJwtVerifier, type JwtOutcome, type JwtVerifier, type JwtVerifierOptions } from '../../src/auth/jwt-verifier.js';
import { metadataPaths, metadataUrl, protectedResourceMetadata, wwwAuthenticate } from '../../src/auth/resource-metadata.js';
import type { JwtSettings } from '../../streams/config/schema.js';
import { startIssuer, type TestIssuer } from '../fixtures/jwt-issuer.js';
import { listenOnLoopback } from '../fixtures/raw-server.js';

const AUDIENCE = 'https://relay.test/mcp';

const settingsFor = (issuer: TestIssuer, overrides: Partial<JwtSettings> = {}): JwtSettings => ({
  issuer: issuer.issuer,
  audience: [AUDIENCE],
  jwksUrl: issuer.jwksUrl,
  jwksFile: null,
  scopes: [],
  nameClaim: 'sub',
  clockSkewSeconds: 30,
  resource: AUDIENCE,
  ...overrides,
});

/** verifies, and holds every refusal to the rule that its reason shows neither the token nor a piece of it */
async function verify(verifier: JwtVerifier, token: string): Promise<JwtOutcome> {
  const outcome = await verifier.verify(token);
  if (!outcome.ok) {
    expect(outcome.status === 401 ? 'invalid_token' : 'insufficient_scope').toBe(outcome.error);
    if (token !== '') expect(outcome.reason).not.toContain(token);
    for (const piece of token.split('.').filter((part) => part.length >= 16)) expect(outcome.reason).not.toContain(piece);
  }
  return outcome;
}

const refused = (status: 401 | 403, reason: string | RegExp) => ({ ok: false, status, reason: typeof reason === 'string' ? reason : expect.stringMatching(reason) });
const isoOf = (seconds: number) => new Date(seconds * 1000).toISOString();
const nowSeconds = () => Math.floor(Date.now() / 1000);

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function freshIssuer(algorithms?: string[]): Promise<TestIssuer> {
  const issuer = await startIssuer(algorithms === undefined ? {} : { algorithms });
  cleanups.push(() => issuer.close());
  return issuer;
}

describe('createJwtVerifier, keys from the issuer over HTTP', () => {
  let issuer: TestIssuer;
  let verifier: JwtVerifier;
  const claims = { sub: 'alice', aud: AUDIENCE };
  beforeAll(async () => {
    issuer = await startIssuer({ algorithms: ['RS256', 'ES256', 'EdDSA', 'PS256'] });
    verifier = createJwtVerifier(settingsFor(issuer, { scopes: ['mcp:read'] }));
  });
  afterAll(() => issuer.close());

  it('accepts a good token: the name from sub, the scopes from the scope string, the claims as given', async () => {
    const outcome = await verify(verifier, await issuer.sign({ ...claims, scope: 'mcp:read  mcp:write', team: 'blue' }));
    expect(outcome).toMatchObject({ ok: true, name: 'alice', scopes: ['mcp:read', 'mcp:write'], claims: { sub: 'alice', team: 'blue', iss: issuer.issuer } });
  });

  it('reads scopes from scp, as an array or a string, and from scope and scp together', async () => {
    expect(await verify(verifier, await issuer.sign({ ...claims, scp: ['mcp:read', 'extra', 7] }))).toMatchObject({ ok: true, scopes: ['mcp:read', 'extra'] });
    expect(await verify(verifier, await issuer.sign({ ...claims, scp: 'extra mcp:read' }))).toMatchObject({ ok: true, scopes: ['extra', 'mcp:read'] });
    expect(await verify(verifier, await issuer.sign({ ...claims, scope: 'a', scp: ['mcp:read', 'a'] }))).toMatchObject({ ok: true, scopes: ['a', 'mcp:read'] });
  });

  it('accepts every public-key algorithm the issuer uses (ES256, EdDSA, PS256)', async () => {
    for (const alg of ['ES256', 'EdDSA', 'PS256']) {
      expect(await verify(verifier, await issuer.sign({ ...claims, scope: 'mcp:read' }, { alg }))).toMatchObject({ ok: true, name: 'alice' });
    }
  });

  it('refuses a token lacking a required scope with 403 insufficient_scope, naming what is missing', async () => {
    const strict = createJwtVerifier(settingsFor(issuer, { scopes: ['mcp:read', 'mcp:write', 'mcp:admin'] }));
    const outcome = await verify(strict, await issuer.sign({ ...claims, scope: 'mcp:read' }));
    expect(outcome).toEqual({ ok: false, status: 403, error: 'insufficient_scope', reason: 'the token lacks scope(s) mcp:write mcp:admin (required: mcp:read mcp:write mcp:admin)' });
    expect(await verify(strict, await issuer.sign(claims))).toMatchObject(refused(403, /lacks scope\(s\) mcp:read mcp:write mcp:admin/));
  });

  it('takes the name from the configured claim, and refuses a token without it', async () => {
    const byEmail = createJwtVerifier(settingsFor(issuer, { nameClaim: 'email' }));
    expect(await verify(byEmail, await issuer.sign({ ...claims, email: 'alice@example.com' }))).toMatchObject({ ok: true, name: 'alice@example.com' });
    expect(await verify(byEmail, await issuer.sign(claims))).toEqual({ ok: false, status: 401, error: 'invalid_token', reason: "the token has no 'email' claim, which names its holder here" });
    expect(await verify(byEmail, await issuer.sign({ ...claims, email: 42 }))).toMatchObject(refused(401, /has a non-string 'email' claim/));
  });

  it('refuses an expired token, saying when it expired; one expired within the clock skew passes', async () => {
    const exp = nowSeconds() - 120;
    expect(await verify(verifier, await issuer.sign({ ...claims, scope: 'mcp:read', exp }))).toEqual({ ok: false, status: 401, error: 'invalid_token', reason: `the token expired at ${isoOf(exp)}` });
    expect(await verify(verifier, await issuer.sign({ ...claims, scope: 'mcp:read' }, { expiresIn: -10 }))).toMatchObject({ ok: true });
  });

  it('refuses a token that never expires', async () => {
    expect(await verify(verifier, await issuer.sign({ ...claims, scope: 'mcp:read' }, { expiresIn: null }))).toMatchObject(refused(401, 'the token has no expiry (exp): this relay refuses tokens that never expire'));
  });

  it('refuses a token not yet valid beyond the clock skew, and accepts one within it', async () => {
    const outcome = await verify(verifier, await issuer.sign({ ...claims, scope: 'mcp:read' }, { notBefore: 120 }));
    expect(outcome).toMatchObject(refused(401, /^the token is not valid until \d{4}-\d\d-\d\dT[\d:.]+Z \(check the clocks/));
    expect(await verify(verifier, await issuer.sign({ ...claims, scope: 'mcp:read' }, { notBefore: 10 }))).toMatchObject({ ok: true });
  });

  it('refuses a token for another audience, naming both; accepts an audience list that holds one of ours', async () => {
    const wrong = await verify(verifier, await issuer.sign({ sub: 'alice', scope: 'mcp:read', aud: 'https://other.example/mcp' }));
    expect(wrong).toMatchObject(refused(401, `the token's audience is 'https://other.example/mcp', this relay accepts '${AUDIENCE}' (ask the issuer for a token with resource=${AUDIENCE})`));
    expect(await verify(verifier, await issuer.sign({ sub: 'alice', scope: 'mcp:read', aud: ['https://other.example/mcp', AUDIENCE] }))).toMatchObject({ ok: true });
    expect(await verify(verifier, await issuer.sign({ sub: 'alice', scope: 'mcp:read' }))).toMatchObject(refused(401, /^the token names no audience, this relay accepts/));
    const two = createJwtVerifier(settingsFor(issuer, { audience: ['urn:first', 'urn:second'] }));
    expect(await verify(two, await issuer.sign({ sub: 'alice', aud: 'urn:second' }))).toMatchObject({ ok: true });
  });

  it('refuses a token from another issuer, naming both', async () => {
    const outcome = await verify(verifier, await issuer.sign({ ...claims, scope: 'mcp:read', iss: 'https://evil.example' }));
    expect(outcome).toMatchObject(refused(401, `the token's issuer is 'https://evil.example', expected '${issuer.issuer}'`));
    // a claim value is the sender's to choose: shown on one line, cut short
    const long = await verify(verifier, await issuer.sign({ ...claims, scope: 'mcp:read', iss: `https://evil.example/\r\n${'a'.repeat(500)}` }));
    expect(long).toMatchObject(refused(401, /^the token's issuer is 'https:\/\/evil\.example\/ {2}a+\.\.\.', expected /));
    expect(long.ok === false && long.reason.length).toBeLessThan(160);
  });

  it('refuses unsigned (alg none) and shared-secret (HS256) tokens, even under a real kid with the public key as the secret', async () => {
    expect(await verify(verifier, issuer.unsignedToken({ ...claims, scope: 'mcp:read' }))).toMatchObject(refused(401, 'unsigned tokens (alg none) are refused'));
    expect(await verify(verifier, await issuer.hsToken({ ...claims, scope: 'mcp:read' }, 'a shared secret'))).toMatchObject(refused(401, /^the token is signed with 'HS256', a shared secret/));
    const publicKey = new TextEncoder().encode(JSON.stringify(issuer.jwks().keys[0]));
    expect(await verify(verifier, await issuer.hsToken({ ...claims, scope: 'mcp:read' }, publicKey))).toMatchObject(refused(401, /a shared secret/));
  });

  it('refuses a token signed by a key the issuer never published, under a real kid or another', async () => {
    const before = issuer.jwksRequests();
    expect(await verify(verifier, await issuer.sign({ ...claims, scope: 'mcp:read' }, { key: 'other' }))).toMatchObject(refused(401, "the signature does not match the issuer's keys"));
    const unknownKid = await verify(verifier, await issuer.sign({ ...claims, scope: 'mcp:read' }, { key: 'other', kid: 'forged-kid' }));
    expect(unknownKid).toMatchObject(refused(401, /^the token's signing key \(kid 'forged-kid'\) is not among the issuer's keys/));
    // the keys were fetched moments ago: an unknown kid within the cooldown does not send the relay to the issuer again
    expect(issuer.jwksRequests()).toBe(before);
  });

  it('refuses what is not a JWT', async () => {
    for (const garbage of ['', 'not-a-jwt', 'a.b.c', 'eyJhbGciOiJSUzI1NiJ9.e30', `${'x'.repeat(40)}.${'y'.repeat(40)}.${'z'.repeat(40)}`]) {
      expect(await verify(verifier, garbage)).toMatchObject(refused(401, 'the token is not a JWT'));
    }
  });
});

describe('createJwtVerifier, key rotation and an unreachable issuer', () => {
  it('fetches the keys again when a token names an unknown kid, past the cooldown', async () => {
    const issuer = await freshIssuer();
    const verifier = createJwtVerifier(settingsFor(issuer), { refetchCooldownMs: 0 });
    const old = await issuer.sign({ sub: 'alice', aud: AUDIENCE });
    expect(await verify(verifier, old)).toMatchObject({ ok: true });
    expect(await verify(verifier, await issuer.sign({ sub: 'bob', aud: AUDIENCE }))).toMatchObject({ ok: true, name: 'bob' });
    expect(issuer.jwksRequests()).toBe(1); // a known kid is served from the cache
    await issuer.rotate();
    expect(await verify(verifier, await issuer.sign({ sub: 'carol', aud: AUDIENCE }))).toMatchObject({ ok: true, name: 'carol' });
    expect(issuer.jwksRequests()).toBe(2);
    // the old key left the issuer's set: its token is refused (after one more look, in case it came back)
    expect(await verify(verifier, old)).toMatchObject(refused(401, /^the token's signing key \(kid 'rs256-1'\) is not among the issuer's keys/));
    expect(issuer.jwksRequests()).toBe(3);
  });

  it('within the cooldown, a new kid is refused without a fetch', async () => {
    const issuer = await freshIssuer();
    const verifier = createJwtVerifier(settingsFor(issuer));
    expect(await verify(verifier, await issuer.sign({ sub: 'alice', aud: AUDIENCE }))).toMatchObject({ ok: true });
    await issuer.rotate();
    expect(await verify(verifier, await issuer.sign({ sub: 'alice', aud: AUDIENCE }))).toMatchObject(refused(401, /is not among the issuer's keys \(if the issuer has just rotated/));
    expect(issuer.jwksRequests()).toBe(1);
  });

  it('tries each key when a token has no kid and several keys match (mid-rotation)', async () => {
    const issuer = await freshIssuer();
    const verifier = createJwtVerifier(settingsFor(issuer));
    const byOld = await issuer.sign({ sub: 'alice', aud: AUDIENCE }, { kid: null });
    await issuer.rotate({ keepOld: true });
    const byNew = await issuer.sign({ sub: 'bob', aud: AUDIENCE }, { kid: null });
    expect(issuer.jwks().keys).toHaveLength(2);
    expect(await verify(verifier, byOld)).toMatchObject({ ok: true, name: 'alice' });
    expect(await verify(verifier, byNew)).toMatchObject({ ok: true, name: 'bob' });
    expect(await verify(verifier, await issuer.sign({ sub: 'eve', aud: AUDIENCE }, { key: 'other', kid: null }))).toMatchObject(refused(401, "the signature does not match the issuer's keys"));
  });

  it('answers 401 when the JWKS URL is unreachable (a closed port), without throwing', async () => {
    const issuer = await freshIssuer();
    const probe = createHttpServer();
    const port = await listenOnLoopback(probe);
    await new Promise((resolve) => probe.close(resolve));
    const jwksUrl = `http://127.0.0.1:${port}/jwks`;
    const verifier = createJwtVerifier(settingsFor(issuer, { jwksUrl }));
    const token = await issuer.sign({ sub: 'alice', aud: AUDIENCE });
    const outcome = await verify(verifier, token);
    expect(outcome).toEqual({ ok: false, status: 401, error: 'invalid_token', reason: `the relay could not fetch the issuer's keys from ${jwksUrl} (ECONNREFUSED)` });
    // and again: a failed fetch leaves nothing half-set that would throw on the next token
    expect(await verify(verifier, token)).toEqual(outcome);
  });

  it('names the HTTP status when the JWKS endpoint answers with an error, and recovers when it is back', async () => {
    const issuer = await freshIssuer();
    const verifier = createJwtVerifier(settingsFor(issuer));
    const token = await issuer.sign({ sub: 'alice', aud: AUDIENCE });
    issuer.setJwksStatus(503);
    expect(await verify(verifier, token)).toMatchObject(refused(401, `the relay could not fetch the issuer's keys from ${issuer.jwksUrl} (it answered HTTP 503)`));
    issuer.setJwksStatus(200);
    expect(await verify(verifier, token)).toMatchObject({ ok: true });
  });

  it('gives up on a JWKS endpoint that does not answer, after the timeout', async () => {
    const issuer = await freshIssuer();
    const sockets: Socket[] = [];
    const silent = createNetServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    cleanups.push(() => new Promise((resolve) => { for (const socket of sockets) socket.destroy(); silent.close(resolve); }));
    const verifier = createJwtVerifier(settingsFor(issuer, { jwksUrl: `http://127.0.0.1:${port}/jwks` }), { timeoutMs: 200 });
    expect(await verify(verifier, await issuer.sign({ sub: 'alice', aud: AUDIENCE }))).toMatchObject(refused(401, /\(no answer within 200 ms\)$/));
  });
});

describe('createJwtVerifier, keys from a JWKS file', () => {
  const fileSettings = (issuer: TestIssuer, jwksFile: string) => settingsFor(issuer, { jwksUrl: null, jwksFile });
  const tempFile = () => join(mkdtempSync(join(tmpdir(), 'relay-jwks-')), 'jwks.json');

  it('verifies against the file, and picks up a rotated file when a token names a new kid', async () => {
    const issuer = await freshIssuer(['ES256']);
    const file = tempFile();
    await issuer.writeJwksFile(file);
    const options: JwtVerifierOptions = { refetchCooldownMs: 0 };
    const verifier = createJwtVerifier(fileSettings(issuer, file), options);
    const old = await issuer.sign({ sub: 'alice', aud: AUDIENCE });
    expect(await verify(verifier, old)).toMatchObject({ ok: true, name: 'alice' });
    await issuer.rotate();
    await issuer.writeJwksFile(file);
    expect(await verify(verifier, await issuer.sign({ sub: 'bob', aud: AUDIENCE }))).toMatchObject({ ok: true, name: 'bob' });
    expect(await verify(verifier, old)).toMatchObject(refused(401, /^the token's signing key \(kid 'es256-1'\) is not among the issuer's keys/));
  });

  it('re-reads the file at most once per cooldown', async () => {
    const issuer = await freshIssuer(['ES256']);
    const file = tempFile();
    await issuer.writeJwksFile(file);
    let clock = 1_000_000;
    const verifier = createJwtVerifier(fileSettings(issuer, file), {}, () => clock);
    expect(await verify(verifier, await issuer.sign({ sub: 'alice', aud: AUDIENCE }))).toMatchObject({ ok: true });
    await issuer.rotate();
    await issuer.writeJwksFile(file);
    const fresh = await issuer.sign({ sub: 'bob', aud: AUDIENCE });
    clock += 1_000;
    expect(await verify(verifier, fresh)).toMatchObject(refused(401, /is not among the issuer's keys/));
    clock += 5_000;
    expect(await verify(verifier, fresh)).toMatchObject({ ok: true, name: 'bob' });
  });

  it('keeps the keys it has when the file turns unreadable, and says so for a kid it cannot find', async () => {
    const issuer = await freshIssuer(['ES256']);
    const file = tempFile();
    await issuer.writeJwksFile(file);
    const verifier = createJwtVerifier(fileSettings(issuer, file), { refetchCooldownMs: 0 });
    const old = await issuer.sign({ sub: 'alice', aud: AUDIENCE });
    expect(await verify(verifier, old)).toMatchObject({ ok: true });
    writeFileSync(file, '{"keys": [');
    await issuer.rotate();
    expect(await verify(verifier, await issuer.sign({ sub: 'bob', aud: AUDIENCE }))).toMatchObject(refused(401, "the relay could not read the issuer's keys from its key file (not valid JSON)"));
    expect(await verify(verifier, old)).toMatchObject({ ok: true });
  });

  it('answers 401 for a missing file, without saying where it was looked for', async () => {
    const issuer = await freshIssuer(['ES256']);
    const verifier = createJwtVerifier(fileSettings(issuer, join(tmpdir(), 'relay-no-such-dir', 'jwks.json')));
    const outcome = await verify(verifier, await issuer.sign({ sub: 'alice', aud: AUDIENCE }));
    expect(outcome).toMatchObject(refused(401, "the relay could not read the issuer's keys from its key file (ENOENT)"));
  });
});

describe('protected resource metadata (RFC 9728)', () => {
  const settings: JwtSettings = {
    issuer: 'https://auth.example.com',
    audience: ['https://relay.example.com/mcp'],
    jwksUrl: 'https://auth.example.com/jwks',
    jwksFile: null,
    scopes: ['mcp:read', 'mcp:write'],
    nameClaim: 'sub',
    clockSkewSeconds: 30,
    resource: 'https://relay.example.com/mcp',
  };
  const local = { secure: false, host: '127.0.0.1:8080', endpointPath: '/mcp' };

  it('describes the resource, its authorization server and scopes', () => {
    expect(protectedResourceMetadata(settings)).toEqual({
      resource: 'https://relay.example.com/mcp',
      authorization_servers: ['https://auth.example.com'],
      scopes_supported: ['mcp:read', 'mcp:write'],
      bearer_methods_supported: ['header'],
      resource_name: 'mcp-relay',
    });
    // a resource that is not a URL: the listener as the client reached it; no scopes: no scopes_supported
    const opaque = { ...settings, resource: 'urn:relay', scopes: [] };
    expect(protectedResourceMetadata(opaque, local)).toEqual({ resource: 'http://127.0.0.1:8080/mcp', authorization_servers: ['https://auth.example.com'], bearer_methods_supported: ['header'], resource_name: 'mcp-relay' });
  });

  it('is served at the root and path-suffixed well-known paths', () => {
    expect(metadataPaths('/mcp')).toEqual(['/.well-known/oauth-protected-resource', '/.well-known/oauth-protected-resource/mcp']);
    expect(metadataPaths('/mcp/')).toEqual(['/.well-known/oauth-protected-resource', '/.well-known/oauth-protected-resource/mcp']);
    expect(metadataPaths('/')).toEqual(['/.well-known/oauth-protected-resource']);
    expect(metadataPaths('/mcp', settings)).toEqual(['/.well-known/oauth-protected-resource', '/.well-known/oauth-protected-resource/mcp']);
    expect(metadataPaths('/mcp', { ...settings, resource: 'https://proxy.example.com/team/mcp' })).toEqual([
      '/.well-known/oauth-protected-resource',
      '/.well-known/oauth-protected-resource/mcp',
      '/.well-known/oauth-protected-resource/team/mcp',
    ]);
  });

  it('advertises the URL derived from the configured resource, else from the request', () => {
    expect(metadataUrl(settings, local)).toBe('https://relay.example.com/.well-known/oauth-protected-resource/mcp');
    expect(metadataUrl({ ...settings, resource: 'https://relay.example.com/' }, local)).toBe('https://relay.example.com/.well-known/oauth-protected-resource');
    expect(metadataUrl({ ...settings, resource: 'https://relay.example.com:8443/a/mcp?tenant=1' }, local)).toBe('https://relay.example.com:8443/.well-known/oauth-protected-resource/a/mcp?tenant=1');
    expect(metadataUrl({ ...settings, resource: 'urn:relay' }, local)).toBe('http://127.0.0.1:8080/.well-known/oauth-protected-resource/mcp');
    expect(metadataUrl(null, { secure: true, host: 'relay.example.com', endpointPath: '/mcp' })).toBe('https://relay.example.com/.well-known/oauth-protected-resource/mcp');
    expect(metadataUrl(null, { secure: false, host: '[::1]:9000', endpointPath: '/' })).toBe('http://[::1]:9000/.well-known/oauth-protected-resource');
    // a Host header is whatever the client sent: nothing but a plain host[:port] goes into the URL
    expect(metadataUrl(null, { secure: false, host: 'evil.example/"x', endpointPath: '/mcp' })).toBe('http://localhost/.well-known/oauth-protected-resource/mcp');
    expect(metadataUrl(null, { secure: false, host: undefined, endpointPath: '/mcp' })).toBe('http://localhost/.well-known/oauth-protected-resource/mcp');
  });
});

describe('wwwAuthenticate', () => {
  it('gives the realm, the metadata URL, the scopes, the error and its description', () => {
    expect(wwwAuthenticate({})).toBe('Bearer realm="mcp-relay"');
    expect(wwwAuthenticate({ metadataUrl: 'https://relay.example.com/.well-known/oauth-protected-resource/mcp', scopes: ['mcp:read', 'mcp:write'] })).toBe(
      'Bearer realm="mcp-relay", resource_metadata="https://relay.example.com/.well-known/oauth-protected-resource/mcp", scope="mcp:read mcp:write"',
    );
    expect(wwwAuthenticate({ error: 'insufficient_scope', description: 'the token lacks scope(s) mcp:write', scopes: ['mcp:write'], metadataUrl: 'https://r/.well-known/oauth-protected-resource' })).toBe(
      'Bearer realm="mcp-relay", error="insufficient_scope", error_description="the token lacks scope(s) mcp:write", resource_metadata="https://r/.well-known/oauth-protected-resource", scope="mcp:write"',
    );
  });

  it('escapes quotes and backslashes and keeps the value one line of printable ASCII, a valid header value', () => {
    const header = wwwAuthenticate({ error: 'invalid_token', description: 'the token\'s issuer is "evil\\x"\r\nSet-Cookie: a=b\tand é' });
    expect(header).toBe('Bearer realm="mcp-relay", error="invalid_token", error_description="the token\'s issuer is \\"evil\\\\x\\" Set-Cookie: a=b and ?"');
    expect(() => validateHeaderValue('www-authenticate', header)).not.toThrow();
    expect(wwwAuthenticate({ description: 'x'.repeat(1_000) }).length).toBeLessThan(450);
  });
});
