import { map, NEVER, type Observable } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { BackendStates } from '../../streams/backend/backends.js';
import type { BackendState } from '../../streams/backend/backend-state.js';
import { forwardToolCall } from '../../streams/session/forward.js';
import type { CallDeps } from '../../streams/session/call-deps.js';
import { ConnectionClosedError } from '../../streams/core/errors.js';
import type { RelayEvent } from '../../streams/catalogue/events.js';
import type { JsonRpcRequest } from '../../streams/core/jsonrpc.js';
import { RpcChannel } from '../../streams/rpc/rpc-channel.js';
import { connectedState, entry, frame, gatedStates, scheduler, scriptedLink, session, states, type Frame } from './helpers.js';

const alpha = entry('alpha', { settings: { timeoutMs: 100, connectWaitMs: 50, queue: { maxLength: 10, maxWaitMs: 50 } } });

const request: JsonRpcRequest = {
  jsonrpc: '2.0',
  id: 'call-7',
  method: 'tools/call',
  params: { name: 'echo', arguments: { text: 'hi' }, _meta: { progressToken: 'tok-A' } },
};

/** A connected backend session over a scripted link; its channel is listening, as connection.ts does. */
function liveSession(frames$: Observable<string>, accept?: (frame: Frame) => boolean) {
  const fake = scriptedLink(frames$, accept);
  const channel = new RpcChannel('alpha', fake.link);
  channel.incoming$.subscribe({ error: () => undefined });
  const backendSession = session('alpha', channel);
  return { sent: fake.sent, state: connectedState(alpha, [], backendSession) };
}

const failedState = (error: string): BackendState => ({ ...connectedState(alpha, []), phase: 'failed', error });

function deps(states$: Observable<BackendStates>, overrides: Partial<CallDeps> = {}) {
  const kicked: string[] = [];
  const events: RelayEvent[] = [];
  const gated = gatedStates(states$);
  const callDeps: CallDeps = {
    states$: gated.states$,
    currentStates: gated.current,
    kick: (name) => kicked.push(name),
    cancelled$: () => NEVER,
    now: () => 0,
    emit: (event) => events.push(event),
    ...overrides,
  };
  return { callDeps, kicked, events };
}

const messages = (out$: ReturnType<typeof forwardToolCall>) => out$.pipe(map((out) => out.message));

const callError = (code: number, text: RegExp) => ({
  jsonrpc: '2.0',
  id: 'call-7',
  error: { code, message: expect.stringMatching(text), data: { backend: 'alpha', tool: 'echo', reason: expect.any(String) } },
});

const toolCalls = (sent: Frame[]) => sent.filter((message) => message['method'] === 'tools/call');

describe('forwardToolCall', () => {
  it("sends the call with a fresh id and relay token, and answers with the backend's result under the client's id, untouched", () => {
    const result = { content: [{ type: 'text', text: 'hi' }], structuredContent: { echoed: 'hi' }, _meta: { 'vendor/x': 1 }, isError: false };
    let sent: Frame[] = [];
    scheduler().run(({ hot, expectObservable }) => {
      const backend = liveSession(hot('10ms r', { r: frame({ id: 1, result }) }));
      sent = backend.sent;
      const { callDeps } = deps(hot('s', { s: states(backend.state) }));
      expectObservable(messages(forwardToolCall(request, 'alpha', 'echo', callDeps))).toBe('10ms (r|)', { r: { jsonrpc: '2.0', id: 'call-7', result } });
    });
    expect(sent).toEqual([{ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { text: 'hi' }, _meta: { progressToken: 'relay-1' } } }]);
  });

  it('times out after timeoutMs from the entry with -32052 naming backend and tool, and cancels the call on the backend', () => {
    let sent: Frame[] = [];
    let events: RelayEvent[] = [];
    scheduler().run(({ hot, expectObservable }) => {
      const backend = liveSession(hot('-'));
      sent = backend.sent;
      const setup = deps(hot('s', { s: states(backend.state) }));
      events = setup.events;
      expectObservable(messages(forwardToolCall(request, 'alpha', 'echo', setup.callDeps))).toBe('100ms (e|)', {
        e: callError(-32052, /^backend 'alpha', tool 'echo': no response within the call timeout/),
      });
    });
    expect(sent.map((message) => [message['method'], message['params']])).toEqual([
      ['tools/call', expect.anything()],
      ['notifications/cancelled', { requestId: 1, reason: expect.any(String) }],
    ]);
    expect(events).toEqual([expect.objectContaining({ event: 'call.done', backend: 'alpha', tool: 'echo', outcome: 'timeout' })]);
  });

  it('restarts the timeout on every progress event and maps progress back to the client token', () => {
    scheduler().run(({ hot, expectObservable }) => {
      // prettier-ignore
      const backend = liveSession(hot('80ms p 79ms q 79ms r', {
        p: frame({ method: 'notifications/progress', params: { progressToken: 'relay-1', progress: 1, total: 3 } }),
        q: frame({ method: 'notifications/progress', params: { progressToken: 'relay-1', progress: 2, total: 3 } }),
        r: frame({ id: 1, result: { content: [] } }),
      }));
      const { callDeps } = deps(hot('s', { s: states(backend.state) }));
      // 240 ms in all, over a 100 ms timeout: each progress reset the clock
      expectObservable(messages(forwardToolCall(request, 'alpha', 'echo', callDeps))).toBe('80ms p 79ms q 79ms (r|)', {
        p: { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 'tok-A', progress: 1, total: 3 } },
        q: { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 'tok-A', progress: 2, total: 3 } },
        r: { jsonrpc: '2.0', id: 'call-7', result: { content: [] } },
      });
    });
  });

  it('times out timeoutMs after the last progress', () => {
    scheduler().run(({ hot, expectObservable }) => {
      const backend = liveSession(hot('80ms p', { p: frame({ method: 'notifications/progress', params: { progressToken: 'relay-1', progress: 1 } }) }));
      const { callDeps } = deps(hot('s', { s: states(backend.state) }));
      expectObservable(messages(forwardToolCall(request, 'alpha', 'echo', callDeps))).toBe('80ms p 99ms (e|)', {
        p: { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 'tok-A', progress: 1 } },
        e: callError(-32052, /tool 'echo'/),
      });
    });
  });

  it('waits queue.maxWaitMs for a disconnected backend, kicking its reconnect, then answers -32060 naming the bound and the last error', () => {
    let kicked: string[] = [];
    scheduler().run(({ hot, expectObservable }) => {
      const setup = deps(hot('s', { s: states(failedState('connect ECONNREFUSED 127.0.0.1:9')) }));
      kicked = setup.kicked;
      expectObservable(messages(forwardToolCall(request, 'alpha', 'echo', setup.callDeps))).toBe('50ms (e|)', {
        e: callError(-32060, /^backend 'alpha', tool 'echo': the call waited 50 ms in the backend's queue \(queue\.maxWaitMs 50\) and was never sent, because the backend is not connected \(last error: connect ECONNREFUSED 127\.0\.0\.1:9\)/),
      });
    });
    expect(kicked).toEqual(['alpha']);
  });

  it('sends the call as soon as the backend reconnects within queue.maxWaitMs', () => {
    let sent: Frame[] = [];
    scheduler().run(({ hot, expectObservable }) => {
      const backend = liveSession(hot('30ms r', { r: frame({ id: 1, result: { ok: 1 } }) }));
      sent = backend.sent;
      const { callDeps } = deps(hot('f 19ms c', { f: states(failedState('gone')), c: states(backend.state) }));
      expectObservable(messages(forwardToolCall(request, 'alpha', 'echo', callDeps))).toBe('30ms (r|)', { r: { jsonrpc: '2.0', id: 'call-7', result: { ok: 1 } } });
    });
    expect(toolCalls(sent)).toHaveLength(1);
  });

  it('answers -32054 when the backend is removed while the call waits', () => {
    scheduler().run(({ hot, expectObservable }) => {
      const { callDeps } = deps(hot('f 9ms x', { f: states(failedState('gone')), x: states() }));
      expectObservable(messages(forwardToolCall(request, 'alpha', 'echo', callDeps))).toBe('10ms (e|)', { e: callError(-32054, /removed from the config/) });
    });
  });

  it('answers -32053 when the connection drops after the call was written, and does not send it again', () => {
    let first: Frame[] = [];
    let second: Frame[] = [];
    let events: RelayEvent[] = [];
    scheduler().run(({ hot, expectObservable }) => {
      const dropped = liveSession(hot('10ms #', undefined, new ConnectionClosedError('alpha', 1006)));
      const next = liveSession(hot('-'));
      first = dropped.sent;
      second = next.sent;
      const setup = deps(hot('s 19ms t', { s: states(dropped.state), t: states(next.state) }));
      events = setup.events;
      expectObservable(messages(forwardToolCall(request, 'alpha', 'echo', setup.callDeps))).toBe('10ms (e|)', {
        e: callError(-32053, /dropped after the request was sent.*the outcome is unknown and the relay did not send it again/),
      });
    });
    expect(toolCalls(first)).toHaveLength(1);
    expect(second).toEqual([]);
    expect(events).toEqual([expect.objectContaining({ event: 'call.done', outcome: 'unknown' })]);
  });

  it('sends a call that was never written once more, on the next session', () => {
    let first: Frame[] = [];
    let second: Frame[] = [];
    scheduler().run(({ hot, expectObservable }) => {
      const closed = liveSession(hot('-'), () => false);
      const next = liveSession(hot('40ms r', { r: frame({ id: 1, result: { ok: 2 } }) }));
      first = closed.sent;
      second = next.sent;
      const { callDeps } = deps(hot('s 29ms t', { s: states(closed.state), t: states(next.state) }));
      expectObservable(messages(forwardToolCall(request, 'alpha', 'echo', callDeps))).toBe('40ms (r|)', { r: { jsonrpc: '2.0', id: 'call-7', result: { ok: 2 } } });
    });
    expect(toolCalls(first)).toHaveLength(1);
    expect(toolCalls(second)).toEqual([{ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { text: 'hi' }, _meta: { progressToken: 'relay-1' } } }]);
  });

  it('sends a call again, once, when the connection ends and the transport says the request never left (a refused HTTP POST)', () => {
    let second: Frame[] = [];
    let events: RelayEvent[] = [];
    scheduler().run(({ hot, expectObservable }) => {
      const refused = liveSession(hot('10ms #', undefined, new ConnectionClosedError('alpha', 1006, 'fetch failed: connect ECONNREFUSED', new Set([1]))));
      const next = liveSession(hot('30ms r', { r: frame({ id: 1, result: { ok: 3 } }) }));
      second = next.sent;
      const setup = deps(hot('s 19ms t', { s: states(refused.state), t: states(next.state) }));
      events = setup.events;
      expectObservable(messages(forwardToolCall(request, 'alpha', 'echo', setup.callDeps))).toBe('30ms (r|)', { r: { jsonrpc: '2.0', id: 'call-7', result: { ok: 3 } } });
    });
    expect(toolCalls(second)).toHaveLength(1);
    expect(events).toEqual([expect.objectContaining({ event: 'call.done', outcome: 'ok' })]);
  });

  for (const [what, result] of [['null', null], ['an array', [1, 2]], ['string', 'done']] as const) {
    it(`answers -32055 naming the backend when a tools/call result is ${what}, instead of leaving the call unanswered`, () => {
      let events: RelayEvent[] = [];
      scheduler().run(({ hot, expectObservable }) => {
        const backend = liveSession(hot('5ms r', { r: frame({ id: 1, result }) }));
        const setup = deps(hot('s', { s: states(backend.state) }));
        events = setup.events;
        expectObservable(messages(forwardToolCall(request, 'alpha', 'echo', setup.callDeps))).toBe('5ms (e|)', {
          e: callError(-32055, new RegExp(`^backend 'alpha', tool 'echo': the backend answered tools/call with a result that is ${what}, not an object`)),
        });
      });
      expect(events).toEqual([expect.objectContaining({ event: 'call.done', outcome: 'error' })]);
    });
  }

  it('retries an unwritten call only once', () => {
    let third: Frame[] = [];
    scheduler().run(({ hot, expectObservable }) => {
      const one = liveSession(hot('-'), () => false);
      const two = liveSession(hot('-'), () => false);
      const three = liveSession(hot('-'));
      third = three.sent;
      const { callDeps } = deps(hot('a 9ms b 9ms c', { a: states(one.state), b: states(two.state), c: states(three.state) }));
      expectObservable(messages(forwardToolCall(request, 'alpha', 'echo', callDeps))).toBe('10ms (e|)', { e: callError(-32051, /could not be written/) });
    });
    expect(third).toEqual([]);
  });

  it('gives up on an unwritten call when no new session comes within queue.maxWaitMs', () => {
    scheduler().run(({ hot, expectObservable }) => {
      const closed = liveSession(hot('-'), () => false);
      const { callDeps } = deps(hot('s', { s: states(closed.state) }));
      expectObservable(messages(forwardToolCall(request, 'alpha', 'echo', callDeps))).toBe('50ms (e|)', { e: callError(-32060, /waited 50 ms in the backend's queue/) });
    });
  });

  it('stops at a client cancel and tells the backend', () => {
    let sent: Frame[] = [];
    let events: RelayEvent[] = [];
    scheduler().run(({ hot, expectObservable }) => {
      const backend = liveSession(hot('-'));
      sent = backend.sent;
      const cancel$ = hot('30ms c');
      const setup = deps(hot('s', { s: states(backend.state) }), { cancelled$: () => cancel$ });
      events = setup.events;
      expectObservable(messages(forwardToolCall(request, 'alpha', 'echo', setup.callDeps))).toBe('30ms |');
    });
    expect(sent.map((message) => message['method'])).toEqual(['tools/call', 'notifications/cancelled']);
    expect(events).toEqual([expect.objectContaining({ event: 'call.done', outcome: 'cancelled' })]);
  });

  it('keeps a tool error a result, not a relay error', () => {
    let events: RelayEvent[] = [];
    scheduler().run(({ hot, expectObservable }) => {
      const result = { content: [{ type: 'text', text: 'no such file' }], isError: true };
      const backend = liveSession(hot('5ms r', { r: frame({ id: 1, result }) }));
      const setup = deps(hot('s', { s: states(backend.state) }));
      events = setup.events;
      expectObservable(messages(forwardToolCall(request, 'alpha', 'echo', setup.callDeps))).toBe('5ms (r|)', { r: { jsonrpc: '2.0', id: 'call-7', result } });
    });
    expect(events).toEqual([expect.objectContaining({ outcome: 'tool-error' })]);
  });
});
