import { describe, expect, it } from 'vitest';
import { spliceResponseId } from '../../streams/splice-id.js';

describe('spliceResponseId', () => {
  it('swaps a trailing id (the TypeScript SDK layout) for the client id, leaving every other byte as sent', () => {
    const frame = '{"result":{"content":[{"type":"text","text":"a \\"id\\":7}"}],"x-extra":1},"jsonrpc":"2.0","id":7}';
    const line = spliceResponseId(frame, 7, 'client-1');
    expect(line).toBe('{"result":{"content":[{"type":"text","text":"a \\"id\\":7}"}],"x-extra":1},"jsonrpc":"2.0","id":"client-1"}');
    expect(JSON.parse(line!)).toEqual({ ...JSON.parse(frame), id: 'client-1' });
  });

  it('swaps a leading id (jsonrpc first, then id)', () => {
    expect(spliceResponseId('{"jsonrpc":"2.0","id":12,"result":{}}', 12, 5)).toBe('{"jsonrpc":"2.0","id":5,"result":{}}');
  });

  it('gives up on layouts it cannot be sure of, so the caller re-serializes', () => {
    // the last member closes a nested object whose own last member is "id"
    expect(spliceResponseId('{"jsonrpc":"2.0","result":{"id":3},"id":3}'.replace(',"id":3}', '}').concat(''), 3, 'c')).toBeNull();
    expect(spliceResponseId('{"id":3,"jsonrpc":"2.0","result":{}}', 3, 'c')).toBeNull();
    expect(spliceResponseId('{"result":{},"xid":3}', 3, 'c')).toBeNull();
    expect(spliceResponseId('{"result":{},"jsonrpc":"2.0","id":3 }', 3, 'c')).toBeNull();
  });

  it('never passes on a frame with a raw line break: it would split the client line', () => {
    expect(spliceResponseId('{\n"result":{},"jsonrpc":"2.0","id":3}', 3, 'c')).toBeNull();
    expect(spliceResponseId('{"result":{},\r\n"jsonrpc":"2.0","id":3}', 3, 'c')).toBeNull();
  });
});
