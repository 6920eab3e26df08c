// toModernAnswer: answers as a 2026-07-28 client must see them. Table tests of message pairs.
import { describe, expect, it } from 'vitest';
import { toModernAnswer } from '../../streams/session/modern-answers.js';
import { modernRefusal } from '../../streams/session/modern-requests.js';

const SERVER = { name: 'mcp-relay', version: '1.2.3' };
const INFO = { 'io.modelcontextprotocol/serverInfo': SERVER };

describe('toModernAnswer', () => {
  it.each([
    ['a tool result', 'tools/call', { content: [] }, { content: [], resultType: 'complete', _meta: INFO }],
    ['a result with a _meta of its own', 'tools/call', { content: [], _meta: { a: 1 } }, { content: [], resultType: 'complete', _meta: { a: 1, ...INFO } }],
    ['a list', 'tools/list', { tools: [] }, { tools: [], resultType: 'complete', ttlMs: 0, cacheScope: 'private', _meta: INFO }],
    ['a resource', 'resources/read', { contents: [] }, { contents: [], resultType: 'complete', ttlMs: 0, cacheScope: 'private', _meta: INFO }],
    ['a result that says its type', 'prompts/get', { messages: [], resultType: 'input_required' }, { messages: [], resultType: 'input_required', _meta: INFO }],
  ])('%s gets resultType, serverInfo and (when cacheable) ttlMs and cacheScope', (_case, method, result, shaped) => {
    expect(toModernAnswer({ message: { jsonrpc: '2.0', id: 1, result } }, method, SERVER).message).toEqual({ jsonrpc: '2.0', id: 1, result: shaped });
  });

  it("2025's resource-not-found (-32002) becomes -32602; other errors go as they are", () => {
    const notFound = { jsonrpc: '2.0' as const, id: 1, error: { code: -32002, message: 'Resource not found', data: { uri: 'file:///x' } } };
    expect(toModernAnswer({ message: notFound }, 'resources/read', SERVER).message).toEqual({ ...notFound, error: { ...notFound.error, code: -32602 } });
    const relays = { jsonrpc: '2.0' as const, id: 1, error: { code: -32052, message: 'timed out' } };
    expect(toModernAnswer({ message: relays }, 'tools/call', SERVER).message).toEqual(relays);
  });

  it("splices resultType into a backend's frame passed through, and parses one it cannot splice", () => {
    const stub = { jsonrpc: '2.0' as const, id: 4, result: {} };
    const frame = '{"result":{"content":[{"type":"text","text":"hi"}]},"jsonrpc":"2.0","id":4}';
    const spliced = toModernAnswer({ message: stub, line: frame }, 'tools/call', SERVER);
    expect(JSON.parse(spliced.line as string)).toEqual({ jsonrpc: '2.0', id: 4, result: { resultType: 'complete', content: [{ type: 'text', text: 'hi' }] } });
    const otherLayout = '{"jsonrpc":"2.0","id":4,"result":{"content":[]}}';
    const parsed = toModernAnswer({ message: stub, line: otherLayout }, 'tools/call', SERVER);
    expect(parsed.line).toBeUndefined();
    expect(parsed.message).toEqual({ jsonrpc: '2.0', id: 4, result: { content: [], resultType: 'complete', _meta: INFO } });
    const bytes = toModernAnswer({ message: stub, line: ['{"result":{"content":[]},', new TextEncoder().encode('"jsonrpc":"2.0","id":4}')] }, 'tools/call', SERVER);
    expect(bytes.message).toEqual({ jsonrpc: '2.0', id: 4, result: { content: [], resultType: 'complete', _meta: INFO } });
  });

  it('leaves notifications and requests alone', () => {
    const progress = { message: { jsonrpc: '2.0' as const, method: 'notifications/progress', params: { progress: 1 } } };
    expect(toModernAnswer(progress, 'tools/call', SERVER)).toBe(progress);
  });
});

describe('modernRefusal', () => {
  it.each([['ping'], ['logging/setLevel'], ['resources/subscribe'], ['resources/unsubscribe'], ['initialize']])('%s is -32601 in the modern era, saying what to use', (method) => {
    expect(modernRefusal({ jsonrpc: '2.0', id: 2, method })).toEqual({ jsonrpc: '2.0', id: 2, error: { code: -32601, message: expect.stringMatching(new RegExp(`${method} is not served in MCP 2026-07-28: .+`)) } });
  });

  it.each([['tools/call'], ['tools/list'], ['resources/read'], ['prompts/get'], ['completion/complete'], ['server/discover'], ['subscriptions/listen']])('%s is served', (method) => {
    expect(modernRefusal({ jsonrpc: '2.0', id: 2, method })).toBeNull();
  });
});
