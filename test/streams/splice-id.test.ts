import { describe, expect, it } from 'vitest';
import type { ClientLine } from '../../streams/session/client-output.js';
import { spliceRequestId, spliceResponseId, spliceUndecodedId } from '../../streams/rpc/splice-id.js';
import { lineText, undecodedFrame } from './helpers.js';

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

describe('spliceUndecodedId', () => {
  it('keeps every byte before the trailing id and writes the client id after them', () => {
    const frame = '{"result":{"content":[{"type":"text","text":"ü ✓ 7}"}]},"jsonrpc":"2.0","id":7}';
    const line = spliceUndecodedId(undecodedFrame(frame), 7, 'c-1');
    expect(line).toHaveLength(2);
    expect(lineText(line as ClientLine)).toBe(frame.replace(/"id":7\}$/, '"id":"c-1"}'));
  });

  it('gives up on another id, another layout or a raw line break', () => {
    expect(spliceUndecodedId(undecodedFrame('{"result":{},"jsonrpc":"2.0","id":8}'), 7, 'c')).toBeNull();
    expect(spliceUndecodedId(undecodedFrame('{"jsonrpc":"2.0","id":7,"result":{}}'), 7, 'c')).toBeNull();
    expect(spliceUndecodedId(undecodedFrame('{"result":{},\n"jsonrpc":"2.0","id":7}'), 7, 'c')).toBeNull();
    expect(spliceUndecodedId(undecodedFrame('{"result":{},"jsonrpc":"2.0","xid":7}'), 7, 'c')).toBeNull();
  });
});

describe('spliceRequestId', () => {
  const params = '{"name":"write","arguments":{"path":"a.txt","text":"long text"}}';

  it("swaps a trailing id (the SDK client's layout) for the relay's, leaving the arguments as the client wrote them", () => {
    const line = `{"method":"tools/call","params":${params},"jsonrpc":"2.0","id":3}`;
    const frame = spliceRequestId(line, 3, 17);
    expect(frame).toBe(`{"method":"tools/call","params":${params},"jsonrpc":"2.0","id":17}`);
  });

  it('swaps a leading id, string ids included', () => {
    expect(spliceRequestId(`{"jsonrpc":"2.0","id":"c-1","method":"tools/call","params":${params}}`, 'c-1', 4)).toBe(`{"jsonrpc":"2.0","id":4,"method":"tools/call","params":${params}}`);
  });

  it('re-serializes (null) when the leading id may not be the one a parser reads, or the id is written another way', () => {
    // any later "id" key: with duplicates the last wins, and it would not be ours
    expect(spliceRequestId('{"jsonrpc":"2.0","id":1,"method":"m","params":{"id":1}}', 1, 9)).toBeNull();
    expect(spliceRequestId('{"jsonrpc":"2.0","id":1,"method":"m","id":1}', 1, 9)).toBeNull();
    // the same id written with an escape is not the text JSON.stringify gives
    expect(spliceRequestId('{"method":"m","jsonrpc":"2.0","id":"\\u0061"}', 'a', 9)).toBeNull();
    expect(spliceRequestId('{"method":"m","id":1,"jsonrpc":"2.0"}', 1, 9)).toBeNull();
  });
});
