// The audit log's redaction: every value under a named key replaced at any depth, nothing else changed, the input
// untouched.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { keySet, redactKeys } from '../../streams/core/redact-keys.js';

/** every value found under a key in the set, at any depth */
function underKeys(value: unknown, keys: ReadonlySet<string>, found: unknown[] = []): unknown[] {
  if (Array.isArray(value)) for (const item of value) underKeys(item, keys, found);
  else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      if (keys.has(key.toLowerCase())) found.push(item);
      else underKeys(item, keys, found);
    }
  }
  return found;
}

describe('redactKeys', () => {
  it('replaces the values under the keys at any depth, in objects and arrays, whatever the case', () => {
    const keys = keySet(['password', 'apiKey']);
    const input = { user: 'a', password: 'p', nested: { list: [{ APIKEY: 'k', keep: 1 }, 'x'], deeper: { Password: { any: 'thing' } } } };
    expect(redactKeys(input, keys)).toEqual({ user: 'a', password: '[redacted]', nested: { list: [{ APIKEY: '[redacted]', keep: 1 }, 'x'], deeper: { Password: '[redacted]' } } });
  });

  it('returns the value itself when there is nothing to redact', () => {
    const input = { a: 1 };
    expect(redactKeys(input, keySet([]))).toBe(input);
  });

  it('survives cycles and absurd depth', () => {
    const cyclic: Record<string, unknown> = { password: 'p' };
    cyclic['self'] = cyclic;
    expect(redactKeys(cyclic, keySet(['password']))).toEqual({ password: '[redacted]', self: '[cycle]' });
    let deep: Record<string, unknown> = { password: 'p' };
    for (let i = 0; i < 100; i++) deep = { next: deep };
    expect(JSON.stringify(redactKeys(deep, keySet(['password'])))).toContain('[too deep]');
  });

  it('keeps non-plain values as they are, copies shared (not cyclic) references, and keeps a "__proto__" key a key', () => {
    const keys = keySet(['token']);
    class Session {
      token = 'kept: not a plain object';
    }
    const when = new Date(0);
    const bytes = new Uint8Array([1, 2]);
    const session = new Session();
    const shared = { token: 't', n: 1 };
    const redacted = redactKeys({ when, bytes, session, a: shared, b: [shared] }, keys) as Record<string, unknown>;
    expect(redacted['when']).toBe(when);
    expect(redacted['bytes']).toBe(bytes);
    expect(redacted['session']).toBe(session);
    expect(redacted['a']).toEqual({ token: '[redacted]', n: 1 });
    expect(redacted['b']).toEqual([{ token: '[redacted]', n: 1 }]);
    const parsed: unknown = JSON.parse('{"__proto__":{"token":"t"},"x":1}');
    const copy = redactKeys(parsed, keys) as Record<string, unknown>;
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    expect(JSON.stringify(copy)).toBe('{"__proto__":{"token":"[redacted]"},"x":1}');
  });

  it('takes another replacement, and redacts inside a top-level array', () => {
    expect(redactKeys([{ Secret: 1 }, { secret: [2] }, 3], keySet(['SECRET']), '***')).toEqual([{ Secret: '***' }, { secret: '***' }, 3]);
  });

  it('leaves no value under a key, changes nothing else, and never mutates the input (property)', () => {
    const keyNames = ['password', 'token', 'secret'];
    const keys = keySet(keyNames);
    const json = fc.letrec((tie) => ({
      value: fc.oneof({ depthSize: 'small' }, fc.string(), fc.integer(), fc.boolean(), fc.constant(null), tie('array'), tie('object')),
      array: fc.array(tie('value'), { maxLength: 4 }),
      object: fc.dictionary(fc.oneof(fc.constantFrom(...keyNames, 'Token'), fc.string({ maxLength: 6 })), tie('value'), { maxKeys: 4 }),
    })).value;
    fc.assert(
      fc.property(json, (value) => {
        const before = JSON.stringify(value);
        const redacted = redactKeys(value, keys);
        expect(JSON.stringify(value)).toBe(before);
        for (const found of underKeys(redacted, keys)) expect(found).toBe('[redacted]');
        // with the redacted values put back as they were, it is the input again
        const restore = (original: unknown, copy: unknown): unknown => {
          if (Array.isArray(original)) return original.map((item, index) => restore(item, (copy as unknown[])[index]));
          if (original !== null && typeof original === 'object') return Object.fromEntries(Object.entries(original).map(([key, item]) => [key, keys.has(key.toLowerCase()) ? item : restore(item, (copy as Record<string, unknown>)[key])]));
          return copy;
        };
        expect(restore(value, redacted)).toEqual(value);
      }),
    );
  });
});
