// spliceTraceMeta: the relay's trace context put into a client's line without re-serializing it. Whatever it splices
// must parse to the client's message with exactly that _meta added; whatever it cannot read unambiguously it refuses.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { spliceTraceMeta } from '../../streams/rpc/splice-meta.js';

const META = { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', tracestate: 'k=v' };

describe('spliceTraceMeta', () => {
  it.each([
    ['the SDK layout', '{"method":"tools/call","params":{"name":"echo","arguments":{"a":1}},"jsonrpc":"2.0","id":7}'],
    ['id first', '{"jsonrpc":"2.0","id":"x-1","method":"tools/call","params":{"name":"echo"}}'],
    ['empty params, SDK layout', '{"method":"tools/call","params":{},"jsonrpc":"2.0","id":1}'],
    ['empty params, id first', '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{}}'],
    ['an id holding the text of a member', '{"jsonrpc":"2.0","id":"a\\",\\"method\\":\\"tools/call\\",\\"params\\":{","method":"tools/call","params":{"name":"n"}}'],
  ])('splices into %s, and the result parses to the message with _meta added', (_layout, line) => {
    const spliced = spliceTraceMeta(line, 'tools/call', META);
    expect(spliced).not.toBeNull();
    const message = JSON.parse(line) as { params: Record<string, unknown> };
    expect(JSON.parse(spliced as string)).toEqual({ ...message, params: { _meta: META, ...message.params } });
  });

  it.each([
    ['a _meta of its own', '{"method":"tools/call","params":{"name":"e","_meta":{"progressToken":1}},"jsonrpc":"2.0","id":1}'],
    ['"_meta" anywhere, even as an argument\'s key', '{"method":"tools/call","params":{"name":"e","arguments":{"_meta":1}},"jsonrpc":"2.0","id":1}'],
    ['another layout', '{"id":1,"jsonrpc":"2.0","method":"tools/call","params":{"name":"e"}}'],
    ['another method than the one named', '{"method":"prompts/get","params":{"name":"e"},"jsonrpc":"2.0","id":1}'],
    ['params that are not an object', '{"method":"tools/call","params":[1],"jsonrpc":"2.0","id":1}'],
  ])('refuses a line with %s', (_case, line) => {
    expect(spliceTraceMeta(line, 'tools/call', META)).toBeNull();
  });

  it('never produces a line that parses to anything but the message with the trace context in _meta', () => {
    const json = fc.jsonValue({ maxDepth: 3 });
    fc.assert(
      fc.property(fc.oneof(fc.integer(), fc.string()), fc.dictionary(fc.string(), json, { maxKeys: 4 }), fc.boolean(), (id, params, sdkLayout) => {
        const message = { jsonrpc: '2.0', id, method: 'tools/call', params };
        const line = sdkLayout ? JSON.stringify({ method: 'tools/call', params, jsonrpc: '2.0', id }) : JSON.stringify(message);
        const spliced = spliceTraceMeta(line, 'tools/call', META);
        if (spliced === null) return;
        const parsed = JSON.parse(spliced) as typeof message;
        expect(parsed.params['_meta']).toEqual(META);
        expect({ ...parsed, params: Object.fromEntries(Object.entries(parsed.params).filter(([key]) => key !== '_meta')) }).toEqual({ ...message, params: JSON.parse(JSON.stringify(params)) as unknown });
        // spliced at all only when the client sent no _meta: its own would be the one parsers keep
        expect(line.includes('"_meta"')).toBe(false);
      }),
      { numRuns: 2_000 },
    );
  });
});
