// backends.yaml's security blocks: auth (tokens from the environment only, JWT, access rules), limits, tls, audit,
// per-principal credentials; each mistake is a ConfigError that names the field and says what to write.
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../../streams/config/schema.js';
import { failed, parsed, yaml } from './parse-helpers.js';


describe('auth', () => {
  it('has no auth, default limits, no tls and no audit when the file says nothing', () => {
    const config = parsed('backends: []\n');
    expect(config.auth).toBeNull();
    expect(config.limits).toEqual(DEFAULT_LIMITS);
    expect(config.tls).toBeNull();
    expect(config.audit).toBeNull();
  });

  it('reads tokens from the environment, with their globs (! excludes), admin and credentials', () => {
    const config = parsed(
      yaml(
        'auth:',
        '  tokens:',
        '    - name: alice',
        '      token: ${ALICE}',
        '      tools: ["files_*", "!files_delete"]',
        '      admin: true',
        '      credentials:',
        '        github: { headers: { Authorization: "Bearer ${ALICE_GH}" } }',
        'backends: []',
      ),
      { ALICE: 's3cret-alice', ALICE_GH: 'pat-1' },
    );
    expect(config.auth?.tokens).toEqual([
      {
        name: 'alice',
        token: 's3cret-alice',
        access: {
          backends: { include: [], exclude: [] },
          tools: { include: ['files_*'], exclude: ['files_delete'] },
          resources: { include: [], exclude: [] },
          prompts: { include: [], exclude: [] },
          admin: true,
          credentials: { github: { headers: { Authorization: 'Bearer pat-1' }, env: {} } },
        },
      },
    ]);
  });

  it('refuses a literal secret in the file, so a committed yaml cannot leak one', () => {
    const error = failed(yaml('auth:', '  tokens:', '    - name: alice', '      token: hunter2', 'backends: []'));
    expect(error.message).toMatch(/a secret is not written in the file: give \$\{ENV_VAR\}/);
    expect(error.field).toBe('auth.tokens[0].token');
    expect(error.line).toBe(4);
    expect(error.message).not.toContain('hunter2');
    expect(failed(yaml('auth:', '  tokens:', '    - name: a', '      token: ${T}', '      credentials:', '        gh: { headers: { Authorization: "Bearer literal" } }', 'backends: []'), { T: 'x' }).message).toMatch(/credential is not written in the file/);
  });

  it('refuses two tokens of one name, and two names with one secret', () => {
    const twice = (a: string, b: string) => yaml('auth:', '  tokens:', `    - { name: ${a}, token: "\${A}" }`, `    - { name: ${b}, token: "\${B}" }`, 'backends: []');
    expect(failed(twice('alice', 'alice'), { A: 'x', B: 'y' }).message).toMatch(/duplicate token name 'alice'/);
    const same = failed(twice('alice', 'bob'), { A: 'same-secret', B: 'same-secret' });
    expect(same.message).toMatch(/auth.tokens\[1\] \('bob'\) has the same secret as auth.tokens\[0\] \('alice'\)/);
    expect(same.message).not.toContain('same-secret');
    expect(same.field).toBe('auth.tokens[1].token');
  });

  it('names an unset environment variable', () => {
    const error = failed(yaml('auth:', '  tokens:', '    - name: alice', '      token: ${MISSING_TOKEN}', 'backends: []'));
    expect(error.message).toMatch(/environment variable MISSING_TOKEN is not set/);
    expect(error.field).toBe('auth.tokens[0].token');
  });

  it('reads jwt settings with their defaults, and access rules keyed by claims', () => {
    const config = parsed(
      yaml(
        'auth:',
        '  jwt:',
        '    issuer: https://issuer.test',
        '    audience: https://relay.test/mcp',
        '    jwksUrl: https://issuer.test/jwks.json',
        '    scopes: [mcp:tools]',
        '  access:',
        '    - match: { groups: [admins, ops] }',
        '      admin: true',
        '    - backends: [docs]',
        'backends: []',
      ),
    );
    expect(config.auth?.jwt).toEqual({
      issuer: 'https://issuer.test',
      audience: ['https://relay.test/mcp'],
      jwksUrl: 'https://issuer.test/jwks.json',
      jwksFile: null,
      scopes: ['mcp:tools'],
      nameClaim: 'sub',
      clockSkewSeconds: 30,
      resource: 'https://relay.test/mcp',
    });
    expect(config.auth?.access.map((rule) => [rule.match, rule.access.admin, rule.access.backends.include])).toEqual([
      [{ groups: ['admins', 'ops'] }, true, []],
      [{}, false, ['docs']],
    ]);
  });

  it('wants exactly one of jwksUrl and jwksFile', () => {
    expect(failed(yaml('auth:', '  jwt: { issuer: i, audience: a }', 'backends: []')).message).toMatch(/exactly one of jwksUrl/);
  });
});

describe('limits', () => {
  it('fills what is not given, derives a burst from the rate, and a principal rate from the connection rate', () => {
    const config = parsed(yaml('limits:', '  maxInFlightPerClient: 8', '  rateLimit: { requestsPerSecond: 10 }', 'backends: []'));
    expect(config.limits).toEqual({ ...DEFAULT_LIMITS, maxInFlightPerClient: 8, rateLimit: { requestsPerSecond: 10, burst: 20 }, principalRateLimit: { requestsPerSecond: 50, burst: 100 } });
  });

  it('takes maxMessageBytes as the limit on one client message', () => {
    expect(parsed(yaml('limits: { maxMessageBytes: 1000 }', 'backends: []')).maxClientMessageBytes).toBe(1000);
  });

  it('refuses a rate that is not positive', () => {
    expect(failed(yaml('limits:', '  rateLimit: { requestsPerSecond: 0 }', 'backends: []')).field).toBe('limits.rateLimit.requestsPerSecond');
  });
});

describe('tls, audit, listeners, per-principal backends', () => {
  it('needs a tls block for a wss:// or https:// listener', () => {
    const error = failed(yaml('listen: [wss://0.0.0.0:8443/mcp]', 'backends: []'));
    expect(error.message).toMatch(/needs a certificate: add tls: \{ cert: FILE, key: FILE \}/);
    expect(error.field).toBe('listen[0]');
    const config = parsed(yaml('listen: [wss://0.0.0.0:8443/mcp, "https://127.0.0.1:8444/mcp"]', 'tls: { cert: c.pem, key: k.pem, passphrase: "${PASS}" }', 'backends: []'), { PASS: 'pw' });
    expect(config.listen.map((spec) => [spec.kind, spec.tls, spec.url])).toEqual([
      ['ws', true, 'wss://0.0.0.0:8443/mcp'],
      ['http', true, 'https://127.0.0.1:8444/mcp'],
    ]);
    expect(config.tls).toEqual({ cert: 'c.pem', key: 'k.pem', passphrase: 'pw' });
  });

  it('reads the audit block', () => {
    expect(parsed(yaml('audit: { file: audit.jsonl, redactKeys: [password] }', 'backends: []')).audit).toEqual({ file: 'audit.jsonl', redactKeys: ['password'] });
  });

  it('makes a per-principal backend per-client', () => {
    const config = parsed(yaml('backends:', '  - name: gh', '    url: https://gh.test/mcp', '    credentials: per-principal'));
    expect(config.backends[0]).toMatchObject({ isolation: 'per-client', credentials: 'per-principal' });
  });
});
