// A forwarded call with tracing on (streams/core/tracing.ts, a recording fake here): the backend is sent the span's
// trace context in params._meta in place of the client's, the rest of _meta kept; the span ends, with the call's
// outcome, before the answer goes out (so it lies within its request's); a cancel ends it as cancelled.
import { map, NEVER, type Observable } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { BackendStates } from '../../streams/backend/backends.js';
import type { RelayEvent } from '../../streams/catalogue/events.js';
import type { JsonRpcRequest } from '../../streams/core/jsonrpc.js';
import type { BackendCallFacts, CallOutcome, SessionTracing } from '../../streams/core/tracing.js';
import type { CallDeps } from '../../streams/session/call-deps.js';
import { forwardToolCall } from '../../streams/session/forward.js';
import { RpcChannel } from '../../streams/rpc/rpc-channel.js';
import { connectedState, entry, frame, gatedStates, scheduler, scriptedLink, session, states, type Frame } from './helpers.js';

const alpha = entry('alpha', { settings: { timeoutMs: 100, connectWaitMs: 50, queue: { maxLength: 10, maxWaitMs: 50 } } });

const request: JsonRpcRequest = {
  jsonrpc: '2.0',
  id: 'call-7',
  method: 'tools/call',
  params: { name: 'echo', arguments: {}, _meta: { progressToken: 'tok', traceparent: '00-11111111111111111111111111111111-2222222222222222-01', tracestate: 'a=b', other: 1 } },
};

const RELAY_META = { traceparent: '00-11111111111111111111111111111111-3333333333333333-01', tracestate: 'a=b' };

interface Recorded {
  facts: BackendCallFacts[];
  log: string[];
}

function recordingTrace(): { trace: SessionTracing; recorded: Recorded } {
  const recorded: Recorded = { facts: [], log: [] };
  const trace: SessionTracing = {
    requestIn: () => undefined,
    answered: () => undefined,
    cancelled: () => undefined,
    closed: () => undefined,
    backendCall: (id, facts) => {
      recorded.facts.push(facts);
      recorded.log.push(`start ${String(id)}`);
      return {
        meta: RELAY_META,
        traceId: '11111111111111111111111111111111',
        sent: () => recorded.log.push('sent'),
        end: (outcome: CallOutcome, failure?: string) => recorded.log.push(`end ${outcome}${failure ? `: ${failure}` : ''}`),
      };
    },
  };
  return { trace, recorded };
}

function liveSession(frames$: Observable<string>) {
  const fake = scriptedLink(frames$);
  const channel = new RpcChannel('alpha', fake.link);
  channel.incoming$.subscribe({ error: () => undefined });
  return { sent: fake.sent, state: connectedState(alpha, [], session('alpha', channel)) };
}

function deps(states$: Observable<BackendStates>, trace: SessionTracing, cancelled$: CallDeps['cancelled$'] = () => NEVER) {
  const events: RelayEvent[] = [];
  const gated = gatedStates(states$);
  const callDeps: CallDeps = { states$: gated.states$, currentStates: gated.current, kick: () => undefined, cancelled$, now: () => 0, emit: (event) => events.push(event), trace };
  return { callDeps, events };
}

describe('a forwarded call, traced', () => {
  it("sends the relay's trace context in place of the client's, keeps the rest of _meta, and ends the span before the answer", () => {
    const { trace, recorded } = recordingTrace();
    let sent: Frame[] = [];
    let events: RelayEvent[] = [];
    const answeredAt: string[] = [];
    scheduler().run(({ hot, expectObservable }) => {
      const backend = liveSession(hot('10ms r', { r: frame({ id: 1, result: { content: [] } }) }));
      sent = backend.sent;
      const setup = deps(hot('s', { s: states(backend.state) }), trace);
      events = setup.events;
      const out$ = forwardToolCall(request, 'alpha', 'echo', setup.callDeps).pipe(
        map((out) => {
          answeredAt.push(recorded.log.at(-1) ?? '');
          return out.message;
        }),
      );
      expectObservable(out$).toBe('10ms (r|)', { r: { jsonrpc: '2.0', id: 'call-7', result: { content: [] } } });
    });
    expect(sent[0]?.['params']).toEqual({ name: 'echo', arguments: {}, _meta: { progressToken: 'relay-1', other: 1, ...RELAY_META } });
    expect(recorded.facts).toEqual([{ backend: 'alpha', url: alpha.url, method: 'tools/call', tool: 'echo', subject: "tool 'echo'" }]);
    expect(recorded.log).toEqual(['start call-7', 'sent', 'end ok']);
    // the client heard its answer after the span had ended
    expect(answeredAt).toEqual(['end ok']);
    expect(events.find((event) => event.event === 'call.done')?.['trace_id']).toBe('11111111111111111111111111111111');
  });

  it('a timeout ends the span with the error the client is answered with', () => {
    const { trace, recorded } = recordingTrace();
    scheduler().run(({ hot, expectObservable }) => {
      const backend = liveSession(hot('-'));
      const setup = deps(hot('s', { s: states(backend.state) }), trace);
      expectObservable(forwardToolCall(request, 'alpha', 'echo', setup.callDeps).pipe(map(() => 'a'))).toBe('100ms (a|)');
    });
    expect(recorded.log[0]).toBe('start call-7');
    expect(recorded.log.at(-1)).toMatch(/^end timeout: .*alpha.*echo/);
  });

  it("a client's cancel ends the span as cancelled, once", () => {
    const { trace, recorded } = recordingTrace();
    scheduler().run(({ hot, expectObservable }) => {
      const backend = liveSession(hot('-'));
      const setup = deps(hot('s', { s: states(backend.state) }), trace, () => hot('20ms c'));
      expectObservable(forwardToolCall(request, 'alpha', 'echo', setup.callDeps)).toBe('20ms |');
    });
    expect(recorded.log).toEqual(['start call-7', 'sent', 'end cancelled']);
  });

  it('a backend that is gone from the config fails the call without a backend span (the request span has the error)', () => {
    const { trace, recorded } = recordingTrace();
    scheduler().run(({ hot, expectObservable }) => {
      const setup = deps(hot('s', { s: new Map() as BackendStates }), trace);
      expectObservable(forwardToolCall(request, 'alpha', 'echo', setup.callDeps).pipe(map(() => 'e'))).toBe('(e|)');
    });
    expect(recorded.log).toEqual([]);
  });
});
