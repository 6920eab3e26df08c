// The hot path of forwardRequest: the backend is connected when the call arrives (the gated states say so), so the
// call goes out at once through the hand-written subscriber. Same behaviour as the slow path, asserted the same way.
import { map, NEVER, of, type Observable } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { BackendStates } from '../../streams/backend/backends.js';
import { forwardToolCall } from '../../streams/session/forward.js';
import type { CallDeps } from '../../streams/session/call-deps.js';
import { ConnectionClosedError } from '../../streams/core/errors.js';
import type { RelayEvent } from '../../streams/catalogue/events.js';
import type { JsonRpcRequest } from '../../streams/core/jsonrpc.js';
import { RpcChannel } from '../../streams/rpc/rpc-channel.js';
import { connectedState, entry, frame, gatedStates, scheduler, scriptedLink, session, states, type Frame } from './helpers.js';

const alpha = entry('alpha', { settings: { timeoutMs: 100, connectWaitMs: 50 } });
const request: JsonRpcRequest = { jsonrpc: '2.0', id: 'call-7', method: 'tools/call', params: { name: 'echo', arguments: {}, _meta: { progressToken: 'tok-A' } } };

function live(frames$: Observable<string>, accept?: (frame: Frame) => boolean) {
  const fake = scriptedLink(frames$, accept);
  const channel = new RpcChannel('alpha', fake.link);
  channel.incoming$.subscribe({ error: () => undefined });
  return { sent: fake.sent, state: connectedState(alpha, [], session('alpha', channel)) };
}

/** the states as the hub keeps them: gated, and the latest one read synchronously by the call */
function hotDeps(states$: Observable<BackendStates>): { callDeps: CallDeps; events: RelayEvent[] } {
  const events: RelayEvent[] = [];
  const gated = gatedStates(states$);
  return {
    events,
    callDeps: { states$: gated.states$, currentStates: gated.current, kick: () => undefined, cancelled$: () => NEVER, now: () => 0, emit: (event) => events.push(event) },
  };
}

const messages = (out$: ReturnType<typeof forwardToolCall>) => out$.pipe(map((out) => out.message));

describe('forwardRequest, hot path', () => {
  it("answers with the backend's result under the client's id, and logs call.done ok", () => {
    let events: RelayEvent[] = [];
    scheduler().run(({ hot, expectObservable }) => {
      const backend = live(hot('10ms r', { r: frame({ id: 1, result: { content: [] } }) }));
      const deps = hotDeps(of(states(backend.state)));
      events = deps.events;
      expectObservable(messages(forwardToolCall(request, 'alpha', 'echo', deps.callDeps))).toBe('10ms (r|)', { r: { jsonrpc: '2.0', id: 'call-7', result: { content: [] } } });
    });
    expect(events).toEqual([expect.objectContaining({ event: 'call.done', tool: 'echo', outcome: 'ok' })]);
  });

  it('times out after timeoutMs of silence, progress restarting the clock, and cancels on the backend', () => {
    let sent: Frame[] = [];
    scheduler().run(({ hot, expectObservable }) => {
      const backend = live(hot('60ms p', { p: frame({ method: 'notifications/progress', params: { progressToken: 'relay-1', progress: 1 } }) }));
      sent = backend.sent;
      const deps = hotDeps(of(states(backend.state)));
      expectObservable(messages(forwardToolCall(request, 'alpha', 'echo', deps.callDeps))).toBe('60ms p 99ms (e|)', {
        p: { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 'tok-A', progress: 1 } },
        e: { jsonrpc: '2.0', id: 'call-7', error: { code: -32052, message: expect.stringMatching(/no response within the call timeout of 100 ms/), data: expect.any(Object) } },
      });
    });
    expect(sent.map((message) => message['method'])).toEqual(['tools/call', 'notifications/cancelled']);
  });

  it('answers outcome unknown when the connection drops after the call was written, and never resends', () => {
    let sent: Frame[] = [];
    scheduler().run(({ hot, expectObservable }) => {
      const backend = live(hot<string>('20ms #', undefined, new ConnectionClosedError('alpha', 1006)));
      sent = backend.sent;
      const deps = hotDeps(of(states(backend.state)));
      expectObservable(messages(forwardToolCall(request, 'alpha', 'echo', deps.callDeps))).toBe('20ms (e|)', {
        e: { jsonrpc: '2.0', id: 'call-7', error: { code: -32053, message: expect.stringMatching(/outcome is unknown/), data: expect.any(Object) } },
      });
    });
    expect(sent.filter((message) => message['method'] === 'tools/call')).toHaveLength(1);
  });

  it('hands a call that could not be written to the slow path, which sends it on the next session', () => {
    let firstSent: Frame[] = [];
    let secondSent: Frame[] = [];
    scheduler().run(({ hot, cold, expectObservable }) => {
      const dead = live(NEVER, () => false);
      const next = live(hot('30ms r', { r: frame({ id: 1, result: { content: [] } }) }));
      firstSent = dead.sent;
      secondSent = next.sent;
      const deps = hotDeps(cold('a 19ms b', { a: states(dead.state), b: states(next.state) }));
      expectObservable(messages(forwardToolCall(request, 'alpha', 'echo', deps.callDeps))).toBe('30ms (r|)', { r: { jsonrpc: '2.0', id: 'call-7', result: { content: [] } } });
    });
    expect(firstSent.filter((message) => message['method'] === 'tools/call')).toHaveLength(1);
    expect(secondSent.filter((message) => message['method'] === 'tools/call')).toHaveLength(1);
  });
});
