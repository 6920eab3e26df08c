// Large success results are passed on without JSON.parse when the caller only forwards them.
import { describe, expect, it } from 'vitest';
import { RpcChannel, type CallEvent } from '../../streams/rpc/rpc-channel.js';
import type { ClientLine } from '../../streams/session/client-output.js';
import { spliceUndecodedId } from '../../streams/rpc/splice-id.js';
import { lineText, scheduler, scriptedLink, undecodedFrame } from './helpers.js';

const big = 'x'.repeat(300 * 1024);
/** the TypeScript SDK's layout: result first, id last */
const sdkFrame = (id: number, text: string) => `{"result":{"content":[{"type":"text","text":"${text}"}]},"jsonrpc":"2.0","id":${id}}`;

function answer(frameText: string, passThrough: boolean): CallEvent[] {
  const events: CallEvent[] = [];
  scheduler().run(({ hot, expectObservable }) => {
    const fake = scriptedLink(hot('5ms f', { f: frameText }));
    const channel = new RpcChannel('alpha', fake.link);
    expectObservable(channel.incoming$).toBe('');
    channel.request('tools/call', { name: 'big' }, { passThrough }).subscribe((event) => events.push(event));
  });
  return events;
}

describe('pass-through of large results', () => {
  it('hands a large success frame on unparsed, with its id, to a pass-through request', () => {
    const frameText = sdkFrame(1, big);
    expect(answer(frameText, true)).toEqual([{ kind: 'passed', id: 1, frame: frameText }]);
  });

  it('parses it for a request that reads the result (handshakes, listings)', () => {
    const events = answer(sdkFrame(1, big), false);
    expect(events[0]?.kind).toBe('response');
  });

  it('parses small frames, error responses, other layouts and frames with raw line breaks', () => {
    expect(answer(sdkFrame(1, 'small'), true)[0]?.kind).toBe('response');
    expect(answer(`{"error":{"code":1,"message":"${big}"},"jsonrpc":"2.0","id":1}`, true)[0]?.kind).toBe('response');
    expect(answer(`{"jsonrpc":"2.0","id":1,"result":{"text":"${big}"}}`, true)[0]?.kind).toBe('response');
    expect(answer(`{"result":{"text":"${big}"},\n"jsonrpc":"2.0","id":1}`, true)[0]?.kind).toBe('response');
  });

  it('drops a large frame for an id it does not own, as it does small ones', () => {
    expect(answer(sdkFrame(9, big), true)).toEqual([]);
  });
});

describe('pass-through of large results left undecoded by the transport', () => {
  function answerUndecoded(frameText: string): CallEvent[] {
    const events: CallEvent[] = [];
    scheduler().run(({ hot, expectObservable }) => {
      const fake = scriptedLink(hot('5ms f', { f: undecodedFrame(frameText) }));
      const channel = new RpcChannel('alpha', fake.link);
      expectObservable(channel.incoming$).toBe('');
      channel.request('tools/call', { name: 'big' }, { passThrough: true }).subscribe((event) => events.push(event));
    });
    return events;
  }

  it('hands the bytes on, never decoded, and the caller splices the client id after them', () => {
    const frameText = sdkFrame(1, `é${big}✓`);
    const events = answerUndecoded(frameText);
    expect(events).toEqual([{ kind: 'passed', id: 1, frame: expect.objectContaining({ head: expect.stringMatching(/^\{"result":/) }) }]);
    const passed = events[0] as Extract<CallEvent, { kind: 'passed' }>;
    if (typeof passed.frame === 'string') throw new Error('decoded');
    const line = spliceUndecodedId(passed.frame, 1, 'client-9');
    expect(line).not.toBeNull();
    expect(JSON.parse(lineText(line as ClientLine))).toEqual({ ...(JSON.parse(frameText) as object), id: 'client-9' });
  });

  it('decodes and parses what it cannot pass on as is: errors, other layouts, raw line breaks', () => {
    expect(answerUndecoded(`{"error":{"code":1,"message":"${big}"},"jsonrpc":"2.0","id":1}`)).toEqual([
      { kind: 'response', response: { jsonrpc: '2.0', id: 1, error: { code: 1, message: big } }, frame: expect.any(String) },
    ]);
    expect(answerUndecoded(`{"jsonrpc":"2.0","id":1,"result":{"text":"${big}"}}`)[0]?.kind).toBe('response');
    expect(answerUndecoded(`{"result":{"text":"${big}"},\n"jsonrpc":"2.0","id":1}`)[0]?.kind).toBe('response');
  });
});
