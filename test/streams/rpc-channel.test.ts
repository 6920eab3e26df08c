import { map, NEVER, type Observable } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { ConnectionClosedError, NotWrittenError, OutcomeUnknownError } from '../../streams/core/errors.js';
import { refuseRequest, RpcChannel, type CallEvent } from '../../streams/rpc/rpc-channel.js';
import { frame, scheduler, scriptedLink } from './helpers.js';

/** the backend's raw frame rides along on responses; these tests compare the parsed events */
const bare = (events$: Observable<CallEvent>): Observable<CallEvent> => events$.pipe(map((event) => (event.kind === 'response' ? { kind: 'response', response: event.response } : event)));
const response = (id: number, result: Record<string, unknown>): CallEvent => ({ kind: 'response', response: { jsonrpc: '2.0', id, result } });
const progress = (params: Record<string, unknown>): CallEvent => ({ kind: 'progress', params });

describe('RpcChannel', () => {
  it('gives every request a fresh numeric id and maps each response back to its own request', () => {
    let sent: Array<Record<string, unknown>> = [];
    scheduler().run(({ hot, expectObservable }) => {
      // prettier-ignore
      const frames$ = hot('5ms b 4ms a', {
        b: frame({ id: 2, result: { n: 'second' } }),
        a: frame({ id: 1, result: { n: 'first' } }),
      });
      const fake = scriptedLink(frames$);
      sent = fake.sent;
      const channel = new RpcChannel('alpha', fake.link);
      expectObservable(channel.incoming$).toBe('');
      expectObservable(bare(channel.request('tools/call', { name: 'one' }))).toBe('10ms (a|)', { a: response(1, { n: 'first' }) });
      expectObservable(bare(channel.request('tools/call', { name: 'two' }))).toBe('5ms (b|)', { b: response(2, { n: 'second' }) });
      expectObservable(bare(channel.request('ping'))).toBe('');
    });
    expect(sent).toEqual([
      { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'one' } },
      { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'two' } },
      { jsonrpc: '2.0', id: 3, method: 'ping' },
    ]);
  });

  it('passes error responses through as responses', () => {
    scheduler().run(({ hot, expectObservable }) => {
      const frames$ = hot('2ms e', { e: frame({ id: 1, error: { code: -32602, message: 'bad args', data: { field: 'q' } } }) });
      const channel = new RpcChannel('alpha', scriptedLink(frames$).link);
      expectObservable(channel.incoming$).toBe('');
      expectObservable(bare(channel.request('tools/call'))).toBe('2ms (e|)', {
        e: { kind: 'response', response: { jsonrpc: '2.0', id: 1, error: { code: -32602, message: 'bad args', data: { field: 'q' } } } },
      });
    });
  });

  it('drops responses for ids it does not own (late, cancelled, a gateway broadcasting)', () => {
    scheduler().run(({ hot, expectObservable }) => {
      // prettier-ignore
      const frames$ = hot('1ms x y z 5ms a', {
        x: frame({ id: 99, result: {} }),
        y: frame({ id: '1', result: {} }),
        z: frame({ id: null, error: { code: -32700, message: 'parse error' } }),
        a: frame({ id: 1, result: { ok: true } }),
      });
      const channel = new RpcChannel('alpha', scriptedLink(frames$).link);
      expectObservable(channel.incoming$).toBe('');
      expectObservable(bare(channel.request('tools/call'))).toBe('9ms (a|)', { a: response(1, { ok: true }) });
    });
  });

  it('replaces progress tokens with its own and routes progress to the request that owns the token', () => {
    let sent: Array<Record<string, unknown>> = [];
    scheduler().run(({ hot, expectObservable }) => {
      // prettier-ignore
      const frames$ = hot('2ms p q u 5ms r s', {
        p: frame({ method: 'notifications/progress', params: { progressToken: 'relay-2', progress: 1, total: 3 } }),
        q: frame({ method: 'notifications/progress', params: { progressToken: 'relay-1', progress: 5, message: 'half' } }),
        u: frame({ method: 'notifications/progress', params: { progressToken: 'client-token', progress: 9 } }),
        r: frame({ id: 1, result: { done: 1 } }),
        s: frame({ id: 2, result: { done: 2 } }),
      });
      const fake = scriptedLink(frames$);
      sent = fake.sent;
      const channel = new RpcChannel('alpha', fake.link);
      expectObservable(channel.incoming$).toBe('');
      // two clients may pick the same token: on the backend connection they must not collide
      expectObservable(bare(channel.request('tools/call', { name: 'a', _meta: { progressToken: 'client-token', 'vendor/trace': 'abc' } }))).toBe('3ms q 6ms (r|)', {
        q: progress({ progressToken: 'relay-1', progress: 5, message: 'half' }),
        r: response(1, { done: 1 }),
      });
      expectObservable(bare(channel.request('tools/call', { name: 'b', _meta: { progressToken: 'client-token' } }))).toBe('2ms p 8ms (s|)', {
        p: progress({ progressToken: 'relay-2', progress: 1, total: 3 }),
        s: response(2, { done: 2 }),
      });
    });
    expect(sent).toEqual([
      { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'a', _meta: { progressToken: 'relay-1', 'vendor/trace': 'abc' } } },
      { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'b', _meta: { progressToken: 'relay-2' } } },
    ]);
  });

  it('drops progress that arrives after its response', () => {
    scheduler().run(({ hot, expectObservable }) => {
      const frames$ = hot('2ms r p', {
        r: frame({ id: 1, result: {} }),
        p: frame({ method: 'notifications/progress', params: { progressToken: 'relay-1', progress: 1 } }),
      });
      const channel = new RpcChannel('alpha', scriptedLink(frames$).link);
      expectObservable(channel.incoming$).toBe('');
      expectObservable(bare(channel.request('tools/call', { _meta: { progressToken: 7 } }))).toBe('2ms (r|)', { r: response(1, {}) });
    });
  });

  it('tells the backend with notifications/cancelled, using its id, when a request is unsubscribed before the response', () => {
    let sent: Array<Record<string, unknown>> = [];
    let channel: RpcChannel | null = null;
    scheduler().run(({ hot, expectObservable }) => {
      const frames$ = hot('20ms a', { a: frame({ id: 2, result: { late: true } }) });
      const fake = scriptedLink(frames$);
      sent = fake.sent;
      channel = new RpcChannel('alpha', fake.link);
      expectObservable(channel.incoming$).toBe('');
      expectObservable(bare(channel.request('ping'))).toBe('');
      expectObservable(channel.request('tools/call', { name: 'slow' }), '10ms !').toBe('');
    });
    expect(sent).toEqual([
      { jsonrpc: '2.0', id: 1, method: 'ping' },
      { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'slow' } },
      { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 2, reason: expect.any(String) } },
    ]);
    expect(channel!.inFlight).toBe(1);
  });

  it('does not send notifications/cancelled for a request that already has its response', () => {
    let sent: Array<Record<string, unknown>> = [];
    scheduler().run(({ hot, expectObservable }) => {
      const frames$ = hot('2ms a', { a: frame({ id: 1, result: {} }) });
      const fake = scriptedLink(frames$);
      sent = fake.sent;
      const channel = new RpcChannel('alpha', fake.link);
      expectObservable(channel.incoming$).toBe('');
      expectObservable(bare(channel.request('ping')), '10ms !').toBe('2ms (a|)', { a: response(1, {}) });
    });
    expect(sent.map((message) => message['method'])).toEqual(['ping']);
  });

  it('fails every pending request with OutcomeUnknownError when the link errors, and refuses new ones unwritten', () => {
    const closed = new ConnectionClosedError('alpha', 1006, 'abnormal closure');
    let sent: Array<Record<string, unknown>> = [];
    scheduler().run(({ hot, expectObservable }) => {
      const frames$ = hot('5ms #', undefined, closed);
      const fake = scriptedLink(frames$);
      sent = fake.sent;
      const channel = new RpcChannel('alpha', fake.link);
      expectObservable(channel.incoming$).toBe('5ms #', undefined, closed);
      expectObservable(bare(channel.request('tools/call', { name: 'a' }))).toBe('5ms #', undefined, new OutcomeUnknownError('alpha', closed));
      expectObservable(bare(channel.request('tools/call', { name: 'b', _meta: { progressToken: 1 } }))).toBe('5ms #', undefined, new OutcomeUnknownError('alpha', closed));
      // a request made after the close was never written: safe to send elsewhere
      expectObservable(channel.request('tools/call', { name: 'c' }), '8ms ^').toBe('8ms #', undefined, new NotWrittenError('alpha'));
    });
    expect(sent.map((message) => message['params'])).toEqual([{ name: 'a' }, { name: 'b', _meta: { progressToken: 'relay-1' } }]);
    expect(new OutcomeUnknownError('alpha', closed).message).toContain('abnormal closure');
  });

  it('fails pending requests when the link completes, and when the relay unsubscribes from it', () => {
    scheduler().run(({ hot, expectObservable }) => {
      const completing = new RpcChannel('alpha', scriptedLink(hot('3ms |')).link);
      expectObservable(completing.incoming$).toBe('3ms |');
      expectObservable(completing.request('ping')).toBe('3ms #', undefined, new OutcomeUnknownError('alpha', new Error('connection ended')));

      const dropped = new RpcChannel('beta', scriptedLink(NEVER).link);
      expectObservable(dropped.incoming$, '4ms !').toBe('');
      expectObservable(dropped.request('ping')).toBe('4ms #', undefined, new OutcomeUnknownError('beta', new Error('connection closed by the relay')));
    });
  });

  it('fails with NotWrittenError, without a cancel, when the link cannot write the request', () => {
    let sent: Array<Record<string, unknown>> = [];
    let channel: RpcChannel | null = null;
    scheduler().run(({ hot, expectObservable }) => {
      const fake = scriptedLink(hot('-'), (message) => message['method'] !== 'tools/call');
      sent = fake.sent;
      channel = new RpcChannel('alpha', fake.link);
      expectObservable(channel.incoming$).toBe('');
      expectObservable(bare(channel.request('tools/call', { name: 'a', _meta: { progressToken: 'p' } }))).toBe('#', undefined, new NotWrittenError('alpha'));
    });
    expect(sent.map((message) => message['method'])).toEqual(['tools/call']);
    expect(channel!.inFlight).toBe(0);
  });

  it('emits the backend\'s own notifications and requests, and reports frames that break the protocol', () => {
    scheduler().run(({ hot, expectObservable }) => {
      // prettier-ignore
      const frames$ = hot('1ms n r j i', {
        n: frame({ method: 'notifications/tools/list_changed' }),
        r: frame({ id: 'srv-1', method: 'sampling/createMessage', params: { messages: [] } }),
        j: '{not json',
        i: JSON.stringify({ jsonrpc: '1.0', method: 'x' }),
      });
      const channel = new RpcChannel('alpha', scriptedLink(frames$).link);
      expectObservable(channel.incoming$).toBe('1ms n r j i', {
        n: { kind: 'notification', message: { jsonrpc: '2.0', method: 'notifications/tools/list_changed' } },
        r: { kind: 'request', message: { jsonrpc: '2.0', id: 'srv-1', method: 'sampling/createMessage', params: { messages: [] } } },
        j: { kind: 'violation', reason: expect.stringMatching(/^frame is not JSON/) },
        i: { kind: 'violation', reason: 'invalid JSON-RPC message: jsonrpc must be "2.0"' },
      });
    });
  });

  it('answers a backend ping and refuses other backend requests with -32601', () => {
    expect(refuseRequest({ jsonrpc: '2.0', id: 7, method: 'ping' })).toEqual({ jsonrpc: '2.0', id: 7, result: {} });
    expect(refuseRequest({ jsonrpc: '2.0', id: 'x', method: 'roots/list' })).toEqual({
      jsonrpc: '2.0',
      id: 'x',
      error: { code: -32601, message: expect.stringContaining('roots/list') },
    });
  });
});

describe('RpcChannel.send with the client line', () => {
  function rawLink() {
    const frames: string[] = [];
    return { frames, link: { frames$: NEVER, send: (text: string) => frames.push(text) > 0 } };
  }
  const sink = { next: () => undefined, error: () => undefined, complete: () => undefined };

  it("sends the client's own line with the relay's id when the params are the line's", () => {
    const { frames, link } = rawLink();
    const channel = new RpcChannel('alpha', link);
    const params = { name: 'echo', arguments: { text: 'hi' } };
    const line = '{"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"}},"jsonrpc":"2.0","id":"c7"}';
    expect(channel.send('tools/call', params, sink, { original: { line, id: 'c7' } })).toBe(1);
    expect(frames).toEqual(['{"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"}},"jsonrpc":"2.0","id":1}']);
  });

  it('serializes anew when a progress token must be replaced', () => {
    const { frames, link } = rawLink();
    const channel = new RpcChannel('alpha', link);
    const params = { name: 'echo', _meta: { progressToken: 'tok' } };
    const line = '{"method":"tools/call","params":{"name":"echo","_meta":{"progressToken":"tok"}},"jsonrpc":"2.0","id":2}';
    channel.send('tools/call', params, sink, { original: { line, id: 2 } });
    expect(JSON.parse(frames[0] as string)).toEqual({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', _meta: { progressToken: 'relay-1' } } });
  });
});
