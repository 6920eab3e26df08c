import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../streams/core/errors.js';
import { parseConfig } from '../../streams/config/parse-config.js';
import { DEFAULT_LIMITS } from '../../streams/config/schema.js';
import { failed, FILE, parsed, yaml } from './parse-helpers.js';


describe('parseConfig', () => {
  describe('defaults', () => {
    it('fills every setting of a minimal backend', () => {
      const config = parsed(yaml('backends:', '  - name: alpha', '    url: ws://alpha.test/mcp'));
      expect(config).toEqual({
        backends: [
          {
            name: 'alpha',
            transport: 'ws',
            url: 'ws://alpha.test/mcp',
            replicas: [],
            command: null,
            prefix: '',
            toolFilter: { include: [], exclude: [] },
            subprotocol: 'mcp',
            headers: {},
            enabled: true,
            isolation: 'shared',
            credentials: 'shared',
            settings: {
              timeoutMs: 900_000,
              connectWaitMs: 10_000,
              pingIntervalMs: 30_000,
              pongTimeoutMs: 10_000,
              backoff: { initialMs: 5_000, maxMs: 300_000 },
              maxMessageBytes: 33_554_432,
              circuitBreaker: { failureThreshold: 5, cooldownMs: 30_000 },
              queue: { maxLength: 1_000, maxWaitMs: 10_000 },
              maxInFlight: 256,
            },
          },
        ],
        listen: [],
        http: { allowedOrigins: null, sessionIdleMs: 1_800_000, resumeBufferEvents: 1_000 }, websocket: { pingIntervalMs: 30_000, pongTimeoutMs: 10_000 },
        startupGraceMs: 5_000,
        shutdownGraceMs: 10_000,
        instructionsMaxChars: 2_000,
        admin: null,
        maxClientMessageBytes: 9_000_000,
        management: { allowChanges: true },
        auth: null,
        limits: DEFAULT_LIMITS,
        tls: null,
        audit: null,
      });
    });

    it.each([
      ['an empty file', ''],
      ['a file of comments', '# nothing yet\n'],
    ])('refuses %s, so a truncate-then-write save never tears the backends down', (_what, text) => {
      const error = parseConfig(text, FILE, {});
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).message).toMatch(/the file is empty; write `backends: \[\]` to run with no backends/);
    });

    it('turns an alias bomb into a ConfigError instead of throwing', () => {
      const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]', ...Array.from({ length: 9 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [*${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}]`), 'backends: []'].join('\n');
      const error = parseConfig(bomb, FILE, {});
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).message).toMatch(/alias/i);
    });

    it.each([
      ['backends: (null)', 'backends:\n'],
      ['an empty list', 'backends: []\n'],
    ])('reads %s as no backends with the relay defaults', (_what, text) => {
      expect(parsed(text)).toEqual({ backends: [], listen: [], http: { allowedOrigins: null, sessionIdleMs: 1_800_000, resumeBufferEvents: 1_000 }, websocket: { pingIntervalMs: 30_000, pongTimeoutMs: 10_000 }, startupGraceMs: 5_000, shutdownGraceMs: 10_000, instructionsMaxChars: 2_000, admin: null, maxClientMessageBytes: 9_000_000, management: { allowChanges: true }, auth: null, limits: DEFAULT_LIMITS, tls: null, audit: null });
    });

    it('reads listeners and the HTTP front settings', () => {
      const config = parsed(yaml('listen:', '  - ws://127.0.0.1:8765/mcp', '  - http://[::1]:0/relay', 'http:', '  allowedOrigins: [https://app.example]', '  sessionIdleMs: 60000'));
      expect(config.listen).toEqual([
        { kind: 'ws', tls: false, host: '127.0.0.1', port: 8765, path: '/mcp', url: 'ws://127.0.0.1:8765/mcp' },
        { kind: 'http', tls: false, host: '::1', port: 0, path: '/relay', url: 'http://[::1]:0/relay' },
      ]);
      expect(config.http).toEqual({ allowedOrigins: ['https://app.example'], sessionIdleMs: 60_000, resumeBufferEvents: 1_000 });
    });

    it.each([
      ['no port', 'ws://127.0.0.1/mcp', /give the port explicitly/],
      ['TLS but no tls: block', 'wss://127.0.0.1:1/mcp', /needs a certificate: add tls:/],
      ['another scheme', 'tcp://127.0.0.1:1', /ws:\/\/ or wss:\/\/ \(WebSocket\), http:\/\/ or https:\/\/ \(Streamable HTTP\)/],
      ['not a URL', 'localhost', /is not a URL/],
    ])('refuses a listener with %s, naming the line', (_what, url, reason) => {
      const error = parseConfig(yaml('backends: []', 'listen:', `  - ${url}`), 'backends.yaml', {});
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).message).toMatch(reason);
      expect((error as ConfigError).line).toBe(3);
    });

    it('reads the relay-wide settings', () => {
      const config = parsed(yaml('startupGraceMs: 0', 'maxClientMessageBytes: 1000', 'management:', '  allowChanges: false'));
      expect(config.startupGraceMs).toBe(0);
      expect(config.maxClientMessageBytes).toBe(1000);
      expect(config.management).toEqual({ allowChanges: false });
    });

    it('applies the defaults block to every backend, and a backend overrides it field by field', () => {
      const config = parsed(
        yaml(
          'defaults:',
          '  timeoutMs: 60000',
          '  pingIntervalMs: 5000',
          '  backoff:',
          '    initialMs: 1000',
          '  circuitBreaker: { failureThreshold: 3 }',
          '  queue: { maxLength: 50 }',
          'backends:',
          '  - name: alpha',
          '    url: ws://alpha.test',
          '  - name: beta',
          '    url: ws://beta.test',
          '    timeoutMs: 120000',
          '    backoff:',
          '      maxMs: 20000',
          '    maxMessageBytes: 1024',
          '    circuitBreaker: { cooldownMs: 5000 }',
          '    queue: { maxWaitMs: 2000 }',
          '    maxInFlight: 8',
        ),
      );
      expect(config.backends.map((backend) => backend.settings)).toEqual([
        {
          timeoutMs: 60_000,
          connectWaitMs: 10_000,
          pingIntervalMs: 5_000,
          pongTimeoutMs: 10_000,
          backoff: { initialMs: 1_000, maxMs: 300_000 },
          maxMessageBytes: 33_554_432,
          circuitBreaker: { failureThreshold: 3, cooldownMs: 30_000 },
          queue: { maxLength: 50, maxWaitMs: 10_000 },
          maxInFlight: 256,
        },
        {
          timeoutMs: 120_000,
          connectWaitMs: 10_000,
          pingIntervalMs: 5_000,
          pongTimeoutMs: 10_000,
          backoff: { initialMs: 1_000, maxMs: 20_000 },
          maxMessageBytes: 1024,
          circuitBreaker: { failureThreshold: 3, cooldownMs: 5_000 },
          queue: { maxLength: 50, maxWaitMs: 2_000 },
          maxInFlight: 8,
        },
      ]);
    });
  });

  describe('subprotocol', () => {
    const subprotocol = (line: string | null) =>
      parsed(yaml('backends:', '  - name: alpha', '    url: wss://alpha.test', ...(line === null ? [] : [`    ${line}`]))).backends[0]?.subprotocol;

    it("offers 'mcp' when not set", () => expect(subprotocol(null)).toBe('mcp'));
    it('offers the one configured', () => expect(subprotocol('subprotocol: jsonrpc')).toBe('jsonrpc'));
    it('offers none for false', () => expect(subprotocol('subprotocol: false')).toBeNull());
    it('offers none for null', () => expect(subprotocol('subprotocol: null')).toBeNull());
  });

  describe('headers', () => {
    const text = yaml(
      'backends:',
      '  - name: alpha',
      '    url: ws://alpha.test',
      '    headers:',
      '      Authorization: Bearer ${ALPHA_TOKEN}',
      '      X-Route: ${REGION}-${ZONE}',
      '      X-Literal: no $substitution here',
    );

    it('substitutes ${ENV} references from the injected environment', () => {
      expect(parsed(text, { ALPHA_TOKEN: 's3cret', REGION: 'eu', ZONE: 'b' }).backends[0]?.headers).toEqual({
        Authorization: 'Bearer s3cret',
        'X-Route': 'eu-b',
        'X-Literal': 'no $substitution here',
      });
    });

    it('fails on a variable that is not set, naming the variable, the field and its line', () => {
      const error = failed(text, { ALPHA_TOKEN: 's3cret', REGION: 'eu' });
      expect(error).toMatchObject({ file: FILE, line: 6, field: 'backends[0].headers.X-Route' });
      expect(error.message).toContain('ZONE');
      expect(error.message).toBe(`${FILE}:6: backends[0].headers.X-Route: environment variable ZONE is not set`);
    });
  });

  it('reads enabled: false', () => {
    expect(parsed(yaml('backends:', '  - name: alpha', '    url: ws://alpha.test', '    enabled: false')).backends[0]?.enabled).toBe(false);
  });

  describe('errors name the file, the line and the field', () => {
    it('invalid YAML', () => {
      const error = failed(yaml('backends:', '  - name: alpha', '    url: [ws://alpha.test', '  - name: beta'));
      expect(error).toBeInstanceOf(ConfigError);
      expect(error.file).toBe(FILE);
      expect(error.line).toBeGreaterThanOrEqual(3);
      expect(error.message).toMatch(new RegExp(`^${FILE}:${error.line}: invalid YAML: `));
    });

    it('a duplicate key is invalid YAML, not a silent overwrite', () => {
      const error = failed(yaml('backends:', '  - name: alpha', '    url: ws://alpha.test', '    url: ws://other.test'));
      expect(error).toMatchObject({ file: FILE, line: 4 });
      expect(error.detail).toMatch(/^invalid YAML/);
    });

    it.each([
      ['ftp://alpha.test'],
      ['alpha.test:8080'],
      ['not a url'],
    ])('a url that is not ws(s):// or http(s):// (%s)', (url) => {
      const error = failed(yaml('backends:', '  - name: alpha', `    url: ${url}`));
      expect(error).toMatchObject({ file: FILE, line: 3, field: 'backends[0].url', detail: 'must be a ws://, wss://, http:// or https:// URL' });
      expect(error.message).toBe(`${FILE}:3: backends[0].url: must be a ws://, wss://, http:// or https:// URL`);
    });

    it.each([
      ['neither url nor command', ['  - name: alpha'], 'backends[0].url', /exactly one of url .* or command/],
      ['both url and command', ['  - name: alpha', '    url: ws://a.test', '    command: node'], 'backends[0].command', /exactly one of url .* or command/],
      ['args without a command', ['  - name: alpha', '    url: ws://a.test', '    args: [x]'], 'backends[0].args', /only a command: backend takes args/],
      ['headers on a command', ['  - name: alpha', '    command: node', '    headers: { a: b }'], 'backends[0].headers', /takes env, not headers/],
      ['a subprotocol on http', ['  - name: alpha', '    url: http://a.test/mcp', '    subprotocol: mcp'], 'backends[0].subprotocol', /only a ws:\/\/ backend/],
      ['a prefix with a dot', ['  - name: alpha', '    url: ws://a.test', '    prefix: a.b'], 'backends[0].prefix', /1-32 characters/],
    ])('refuses %s', (_what, lines, field, detail) => {
      const error = failed(yaml('backends:', ...lines));
      expect(error.field).toBe(field);
      expect(error.detail).toMatch(detail);
    });

    it('reads http and command: backends, prefixes and tool filters', () => {
      const config = parsed(
        yaml(
          'backends:',
          '  - name: web',
          '    url: https://web.test/mcp',
          '    headers: { Authorization: "Bearer ${TOKEN}" }',
          '    prefix: web_',
          '    tools: { include: ["get_*"], exclude: ["get_secret"] }',
          '  - name: local',
          '    command: npx',
          '    args: [server-everything]',
          '    env: { KEY: "${TOKEN}" }',
          '    cwd: /tmp',
        ),
        { TOKEN: 't0k' },
      );
      expect(config.backends[0]).toMatchObject({ transport: 'http', url: 'https://web.test/mcp', headers: { Authorization: 'Bearer t0k' }, prefix: 'web_', toolFilter: { include: ['get_*'], exclude: ['get_secret'] }, command: null });
      expect(config.backends[1]).toMatchObject({
        transport: 'stdio',
        url: 'stdio:npx server-everything',
        command: { command: 'npx', args: ['server-everything'], env: { KEY: 't0k' }, cwd: '/tmp' },
        headers: {},
        prefix: '',
      });
    });

    it('a duplicate backend name, pointing at the second one', () => {
      const error = failed(yaml('backends:', '  - name: alpha', '    url: ws://a.test', '  - name: beta', '    url: ws://b.test', '  - name: alpha', '    url: ws://c.test'));
      expect(error).toMatchObject({ file: FILE, line: 6, field: 'backends[2].name' });
      expect(error.detail).toContain("duplicate backend name 'alpha'");
      expect(error.detail).toContain('backends[0]');
    });

    it('a name Claude cannot use', () => {
      expect(failed(yaml('backends:', '  - name: my.backend', '    url: ws://a.test'))).toMatchObject({ file: FILE, line: 2, field: 'backends[0].name' });
    });

    it('a missing url points at its backend', () => {
      expect(failed(yaml('backends:', '  - name: alpha', '    enabled: true'))).toMatchObject({ file: FILE, line: 2, field: 'backends[0].url' });
    });

    it('a setting of the wrong type', () => {
      expect(failed(yaml('defaults:', '  timeoutMs: soon'))).toMatchObject({ file: FILE, line: 2, field: 'defaults.timeoutMs' });
    });

    it('an unknown key in a backend names the key and its line', () => {
      const error = failed(yaml('backends:', '  - name: alpha', '    url: ws://alpha.test', '    timeout: 5000'));
      expect(error).toMatchObject({ file: FILE, line: 4, field: 'backends[0].timeout' });
      expect(error.message).toContain('timeout');
    });

    it('an unknown top-level key names the key and its line', () => {
      const error = failed(yaml('backends: []', 'defualts:', '  timeoutMs: 1000'));
      expect(error).toMatchObject({ file: FILE, line: 2, field: 'defualts' });
    });

    it('an unknown key in a nested block', () => {
      expect(failed(yaml('defaults:', '  backoff:', '    initialMs: 10', '    factor: 3'))).toMatchObject({ file: FILE, line: 4, field: 'defaults.backoff.factor' });
    });
  });
});
