// requestEra: a request's era from its params._meta, per request. Table tests of message pairs: what comes in, and
// what the relay serves (the request without its envelope) or answers (-32602, -32022).
import { describe, expect, it } from 'vitest';
import { ALL_PROTOCOL_VERSIONS, META, MODERN_PROTOCOL_VERSION, requestEra } from '../../streams/core/era.js';
import type { JsonRpcRequest } from '../../streams/core/jsonrpc.js';

const request = (params?: Record<string, unknown>): JsonRpcRequest => ({ jsonrpc: '2.0', id: 9, method: 'tools/call', ...(params === undefined ? {} : { params }) });
const envelope = (extra: Record<string, unknown> = {}) => ({ [META.protocolVersion]: MODERN_PROTOCOL_VERSION, [META.clientCapabilities]: {}, ...extra });

describe('requestEra', () => {
  it.each([
    ['no params', undefined],
    ['params without _meta', { name: 'x' }],
    ['a _meta without the version key', { name: 'x', _meta: { progressToken: 1, [META.clientCapabilities]: {} } }],
    ['a _meta that is not an object', { name: 'x', _meta: [1] }],
  ])('a request with %s is a 2025 one', (_case, params) => {
    expect(requestEra(request(params))).toEqual({ era: 'legacy' });
  });

  it('a whole envelope is served without it: the other _meta members stay, and _meta goes when nothing is left', () => {
    const full = requestEra(request({ name: 'x', arguments: { a: 1 }, _meta: envelope({ [META.clientInfo]: { name: 'c', version: '1' }, [META.logLevel]: 'debug', progressToken: 'p', traceparent: 't' }) }));
    expect(full).toEqual({
      era: 'modern',
      envelope: { protocolVersion: MODERN_PROTOCOL_VERSION, clientCapabilities: {}, clientInfo: { name: 'c', version: '1' }, logLevel: 'debug' },
      request: { jsonrpc: '2.0', id: 9, method: 'tools/call', params: { name: 'x', arguments: { a: 1 }, _meta: { progressToken: 'p', traceparent: 't' } } },
    });
    const bare = requestEra(request({ name: 'x', _meta: envelope({ [META.clientCapabilities]: { sampling: {} } }) }));
    expect(bare).toMatchObject({ era: 'modern', envelope: { clientCapabilities: { sampling: {} } }, request: { params: { name: 'x' } } });
    expect((bare as { request: JsonRpcRequest }).request.params).not.toHaveProperty('_meta');
  });

  it.each([
    ['clientCapabilities missing', { [META.protocolVersion]: MODERN_PROTOCOL_VERSION }, META.clientCapabilities, 'missing'],
    ['clientCapabilities not an object', envelope({ [META.clientCapabilities]: 'all' }), META.clientCapabilities, 'not an object'],
    ['a version that is not a string', envelope({ [META.protocolVersion]: 20260728 }), META.protocolVersion, 'not a string'],
    ['a log level that is not a string', envelope({ [META.logLevel]: 7 }), META.logLevel, 'not a string'],
  ])('an envelope with %s is answered -32602, naming the key', (_case, meta, key, problem) => {
    expect(requestEra(request({ _meta: meta }))).toEqual({
      era: 'refused',
      answer: { jsonrpc: '2.0', id: 9, error: { code: -32602, message: expect.stringContaining(`${key}: ${problem}`), data: { envelope: { key, problem } } } },
    });
  });

  it.each([['1900-01-01'], ['2025-11-25'], ['2026-13-01']])('a version the relay does not serve per request (%s) is answered -32022 with the list', (version) => {
    expect(requestEra(request({ _meta: envelope({ [META.protocolVersion]: version }) }))).toEqual({
      era: 'refused',
      answer: { jsonrpc: '2.0', id: 9, error: { code: -32022, message: expect.stringContaining(version), data: { supported: ALL_PROTOCOL_VERSIONS, requested: version } } },
    });
    expect(ALL_PROTOCOL_VERSIONS[0]).toBe('2026-07-28');
  });
});
