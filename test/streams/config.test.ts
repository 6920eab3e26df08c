import { map } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { configState, type ConfigInput, type ConfigState } from '../../streams/config/config.js';
import { ConfigError } from '../../streams/core/errors.js';
import { parseConfig } from '../../streams/config/parse-config.js';
import { EMPTY_CONFIG, type RelayConfig } from '../../streams/config/schema.js';
import { scheduler } from './helpers.js';

const FILE = 'backends.yaml';
const ENV = { TOKEN: 't0k' };

const alphaText = 'backends:\n  - name: alpha\n    url: ws://alpha.test\n';
const alphaBetaText = `${alphaText}  - name: beta\n    url: ws://beta.test\n    headers:\n      Authorization: Bearer \${TOKEN}\n`;
const badUrlText = 'backends:\n  - name: alpha\n    url: ftp://alpha.test\n';
const badYamlText = 'backends:\n  - name: [alpha\n';

const text = (body: string): ConfigInput => ({ kind: 'text', text: body });
const missing: ConfigInput = { kind: 'missing' };
const unreadable = (reason: string): ConfigInput => ({ kind: 'unreadable', reason });

function good(body: string): RelayConfig {
  const config = parseConfig(body, FILE, ENV);
  if (config instanceof ConfigError) throw config;
  return config;
}

/** What a person reads off a state: which backends are in force, what the error says, what happened. */
const summary = (state: ConfigState) => ({
  backends: state.config.backends.map((backend) => backend.name),
  error: state.error?.message ?? null,
  outcome: state.outcome,
});

describe('configState', () => {
  it('loads each good file in turn', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const input$ = cold('a-b', { a: text(alphaText), b: text(alphaBetaText) });
      expectObservable(input$.pipe(configState(FILE, ENV))).toBe('a-b', {
        a: { config: good(alphaText), error: null, outcome: 'loaded' },
        b: { config: good(alphaBetaText), error: null, outcome: 'loaded' },
      });
    });
  });

  it('substitutes the injected environment', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const input$ = cold('a', { a: text(alphaBetaText) });
      expectObservable(input$.pipe(configState(FILE, ENV), map((state) => state.config.backends[1]?.headers))).toBe('a', { a: { Authorization: 'Bearer t0k' } });
    });
  });

  it('keeps the last good config, with the error set, when the file turns invalid; a fix clears the error', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const input$ = cold('a-b-c-d', { a: text(alphaText), b: text(badUrlText), c: text(badYamlText), d: text(alphaBetaText) });
      expectObservable(input$.pipe(configState(FILE, ENV), map(summary))).toBe('a-b-c-d', {
        a: { backends: ['alpha'], error: null, outcome: 'loaded' },
        b: { backends: ['alpha'], error: `${FILE}:3: backends[0].url: must be a ws://, wss://, http:// or https:// URL`, outcome: 'invalid' },
        c: { backends: ['alpha'], error: expect.stringMatching(/^backends\.yaml:\d+: invalid YAML/), outcome: 'invalid' },
        d: { backends: ['alpha', 'beta'], error: null, outcome: 'loaded' },
      });
    });
  });

  it('keeps the very same config object in force while the file is bad', () => {
    const seen: ConfigState[] = [];
    scheduler().run(({ cold }) => {
      cold('a-b-m', { a: text(alphaText), b: text(badUrlText), m: missing })
        .pipe(configState(FILE, ENV))
        .subscribe((state) => seen.push(state));
    });
    expect(seen).toHaveLength(3);
    expect(seen[1]?.config).toBe(seen[0]?.config);
    expect(seen[2]?.config).toBe(seen[0]?.config);
    expect(seen[1]?.error).toMatchObject({ file: FILE, line: 3, field: 'backends[0].url' });
  });

  it('keeps the last good config when the file disappears, and says so', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const input$ = cold('a-m-a', { a: text(alphaText), m: missing });
      expectObservable(input$.pipe(configState(FILE, ENV), map(summary))).toBe('a-m-a', {
        a: { backends: ['alpha'], error: null, outcome: 'loaded' },
        m: { backends: ['alpha'], error: expect.stringMatching(/^backends\.yaml: file not found/), outcome: 'invalid' },
      });
    });
  });

  it('starts empty, with the error set, when the file is missing from the start', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const input$ = cold('m', { m: missing });
      expectObservable(input$.pipe(configState(FILE, ENV))).toBe('m', {
        m: { config: EMPTY_CONFIG, error: new ConfigError(FILE, 'file not found; watching for it to appear'), outcome: 'invalid' },
      });
    });
  });

  it('starts empty, with the error set, when the first file is invalid', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const input$ = cold('b', { b: text(badUrlText) });
      expectObservable(input$.pipe(configState(FILE, ENV), map(summary))).toBe('b', {
        b: { backends: [], error: `${FILE}:3: backends[0].url: must be a ws://, wss://, http:// or https:// URL`, outcome: 'invalid' },
      });
    });
  });

  it('reports an unreadable file with its reason and keeps the config', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const input$ = cold('a-u', { a: text(alphaText), u: unreadable('EACCES: permission denied') });
      expectObservable(input$.pipe(configState(FILE, ENV), map(summary))).toBe('a-u', {
        a: { backends: ['alpha'], error: null, outcome: 'loaded' },
        u: { backends: ['alpha'], error: `${FILE}: cannot read file: EACCES: permission denied`, outcome: 'invalid' },
      });
    });
  });

  it('does not reload identical contents (an editor touch, our own write)', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const input$ = cold('a-a-m-m-a', { a: text(alphaText), m: missing });
      expectObservable(input$.pipe(configState(FILE, ENV), map(summary))).toBe('a---m---a', {
        a: { backends: ['alpha'], error: null, outcome: 'loaded' },
        m: { backends: ['alpha'], error: expect.stringContaining('file not found'), outcome: 'invalid' },
      });
    });
  });

  it('reports a new reason when the file stays unreadable for another reason', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const input$ = cold('a-b', { a: unreadable('EACCES: permission denied'), b: unreadable('EISDIR: illegal operation on a directory') });
      expectObservable(input$.pipe(configState(FILE, ENV), map((state) => state.error?.message))).toBe('a-b', {
        a: `${FILE}: cannot read file: EACCES: permission denied`,
        b: `${FILE}: cannot read file: EISDIR: illegal operation on a directory`,
      });
    });
  });
});
