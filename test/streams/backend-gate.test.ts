import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BackendGate, type GateWaiter } from '../../streams/backend/gate/backend-gate.js';
import type { BreakerTransition } from '../../streams/backend/gate/breaker.js';
import type { BackendSession } from '../../streams/backend/connection.js';
import { BackendRemovedError, CircuitOpenError, QueueBoundError } from '../../streams/core/errors.js';
import { DEFAULT_SETTINGS, type BackendSettings } from '../../streams/config/schema.js';
import { scheduler } from './helpers.js';

const fakeSession = (name: string): BackendSession => ({ backend: name, channel: {} as BackendSession['channel'], protocolVersion: '2025-11-25', serverInfo: {}, capabilities: {} });

const settings = (over: Partial<BackendSettings> = {}): BackendSettings => ({
  ...DEFAULT_SETTINGS,
  circuitBreaker: { failureThreshold: 3, cooldownMs: 1_000 },
  queue: { maxLength: 3, maxWaitMs: 500 },
  maxInFlight: 2,
  ...over,
});

/** a call as the gate sees it: what happened to it, in order */
class Call implements GateWaiter {
  avoid: BackendSession | null = null;
  readonly log: string[] = [];
  session: BackendSession | null = null;
  error: Error | null = null;
  constructor(readonly name: string) {}
  go(session: BackendSession): void {
    this.session = session;
    this.log.push(`go:${session.backend}`);
  }
  refuse(error: Error): void {
    this.error = error;
    this.log.push(`refused:${error.name}`);
  }
}

function setup(over: Partial<BackendSettings> = {}) {
  const time = scheduler();
  // the cooldowns here run past the TestScheduler's default 750 virtual frames
  time.maxFrames = Number.POSITIVE_INFINITY;
  const transitions: Array<NonNullable<BreakerTransition>> = [];
  const gate = new BackendGate('alpha', settings(over), { scheduler: time, onTransition: (_backend, transition) => transitions.push(transition) });
  const at = (ms: number, action: () => void) => time.schedule(action, ms);
  return { time, gate, transitions, at };
}

describe('BackendGate: queue and slots', () => {
  it('sends at once on a connected backend with a free slot, and queues when it is not connected, in order', () => {
    const { gate } = setup();
    const a = new Call('a');
    expect(gate.enter(a)).toBe('queued');
    const b = new Call('b');
    expect(gate.enter(b)).toBe('queued');
    gate.setSessions([fakeSession('s1')]);
    expect([a.log, b.log]).toEqual([['go:s1'], ['go:s1']]);
    const c = new Call('c');
    expect(gate.enter(c)).toBe('queued'); // maxInFlight 2: both slots are taken
    gate.leave(a, 'answered');
    expect(c.log).toEqual(['go:s1']);
    expect(gate.snapshot()).toMatchObject({ in_flight: 2, max_in_flight: 2, queue: { length: 0 } });
  });

  it('refuses past queue.maxLength with an error naming the bound, and counts it', () => {
    const { gate } = setup();
    const waiting = ['a', 'b', 'c'].map((name) => new Call(name));
    for (const call of waiting) expect(gate.enter(call)).toBe('queued');
    const over = new Call('d');
    expect(gate.enter(over)).toBe('refused');
    expect(over.error).toBeInstanceOf(QueueBoundError);
    expect(over.error?.message).toMatch(/3 calls already wait for this backend \(queue\.maxLength 3\).*not connected yet/);
    expect(gate.snapshot().queue).toMatchObject({ length: 3, rejected: 1 });
  });

  it('refuses a call that waited queue.maxWaitMs, at exactly that time, naming the last connection error', () => {
    const { gate, time, at } = setup();
    const call = new Call('a');
    let refusedAt = -1;
    at(0, () => {
      gate.connectFailed('connect ECONNREFUSED');
      gate.enter(call);
    });
    at(499, () => expect(call.log).toEqual([]));
    at(500, () => undefined);
    at(501, () => (refusedAt = call.error ? 500 : -1));
    time.flush();
    expect(refusedAt).toBe(500);
    expect(call.error?.message).toMatch(/waited 500 ms in the backend's queue \(queue\.maxWaitMs 500\).*last error: connect ECONNREFUSED/);
    expect(gate.snapshot().queue).toMatchObject({ length: 0, timed_out: 1 });
  });

  it('lets a call that left the queue (a client cancel) free its place, with no answer from the gate', () => {
    const { gate, time } = setup();
    const call = new Call('a');
    gate.enter(call);
    gate.leave(call, 'none');
    time.flush();
    expect(call.log).toEqual([]);
    expect(gate.snapshot().queue.length).toBe(0);
  });

  it('sends each call to the least busy session, and never to one a write failed on', () => {
    const { gate } = setup({ maxInFlight: 10 });
    const one = fakeSession('one');
    const two = fakeSession('two');
    gate.setSessions([one, two]);
    const calls = ['a', 'b', 'c', 'd'].map((name) => new Call(name));
    for (const call of calls) gate.enter(call);
    expect(calls.map((call) => call.session?.backend)).toEqual(['one', 'two', 'one', 'two']);
    gate.leave(calls[1] as Call, 'answered');
    gate.leave(calls[3] as Call, 'answered');
    const avoiding = new Call('e');
    avoiding.avoid = two;
    gate.enter(avoiding);
    expect(avoiding.session).toBe(one);
    expect([gate.loadOf(one), gate.loadOf(two)]).toEqual([3, 0]);
  });

  it('refuses every waiting call when the backend leaves the config', () => {
    const { gate } = setup();
    const call = new Call('a');
    gate.enter(call);
    gate.close(new BackendRemovedError('alpha'));
    expect(call.error).toBeInstanceOf(BackendRemovedError);
    const late = new Call('late');
    expect(gate.enter(late)).toBe('refused');
  });
});

describe('BackendGate: circuit breaker', () => {
  it('opens after failureThreshold consecutive failures, fails fast until the cooldown ends, and empties the queue', () => {
    const { gate, transitions, at, time } = setup();
    const queued = new Call('queued');
    const fast = new Call('fast');
    at(0, () => {
      gate.connectFailed('connect ECONNREFUSED');
      gate.connectFailed('connect ECONNREFUSED');
      gate.enter(queued);
    });
    at(10, () => gate.connectFailed('connect ECONNREFUSED'));
    at(20, () => expect(gate.enter(fast)).toBe('refused'));
    time.flush();
    expect(transitions).toEqual([{ to: 'open', failures: 3, retryAt: 1_010, reason: 'connect ECONNREFUSED' }]);
    expect(queued.error).toBeInstanceOf(CircuitOpenError);
    expect(fast.error).toBeInstanceOf(CircuitOpenError);
    expect((fast.error as CircuitOpenError).retryAt).toBe(1_010);
    expect(fast.error?.message).toMatch(/circuit breaker is open after 3 consecutive failures \(last: connect ECONNREFUSED\): calls fail fast until 1970-01-01T00:00:01\.010Z/);
    expect(gate.snapshot().breaker).toMatchObject({ state: 'open', consecutive_failures: 3, opened: 1, rejected: 1, next_probe_at: '1970-01-01T00:00:01.010Z' });
  });

  it('lets one probe through after the cooldown: its answer closes the breaker', () => {
    const { gate, transitions, at, time } = setup();
    const probe = new Call('probe');
    const second = new Call('second');
    const after = new Call('after');
    at(0, () => ['x', 'y', 'z'].forEach((reason) => gate.connectFailed(reason)));
    at(1_000, () => {
      gate.setSessions([fakeSession('s1')]);
      gate.connectSucceeded(); // a handshake alone does not close it: the probe decides
      expect(gate.snapshot().breaker.state).toBe('open');
      expect(gate.enter(probe)).toBe('sent');
      expect(gate.enter(second)).toBe('refused');
      expect((second.error as CircuitOpenError).retryAt).toBeNull();
      gate.leave(probe, 'answered');
      expect(gate.enter(after)).toBe('sent');
    });
    time.flush();
    expect(transitions.map((transition) => transition.to)).toEqual(['open', 'closed']);
    expect(gate.snapshot().breaker).toMatchObject({ state: 'closed', consecutive_failures: 0 });
  });

  it('opens again for a new cooldown when the probe fails, and a cancelled probe hands the probe to the next call', () => {
    const { gate, transitions, at, time } = setup();
    gate.setSessions([fakeSession('s1')]);
    const calls = ['a', 'b', 'c'].map((name) => new Call(name));
    at(0, () => {
      for (const call of calls) gate.enter(call);
      gate.leave(calls[0] as Call, 'failed', 'timeout');
      gate.leave(calls[1] as Call, 'failed', 'timeout');
    });
    at(5, () => gate.leave(calls[2] as Call, 'failed', 'timeout'));
    const probe = new Call('probe');
    const next = new Call('next');
    at(1_005, () => {
      gate.enter(probe);
      gate.leave(probe, 'failed', 'still broken');
    });
    const cancelled = new Call('cancelled');
    at(2_005, () => {
      gate.enter(cancelled);
      gate.leave(cancelled, 'none');
      expect(gate.enter(next)).toBe('sent');
    });
    time.flush();
    expect(transitions).toEqual([
      { to: 'open', failures: 3, retryAt: 1_005, reason: 'timeout' },
      { to: 'open', failures: 4, retryAt: 2_005, reason: 'still broken' },
    ]);
    expect(gate.snapshot().breaker).toMatchObject({ state: 'half-open', opened: 2 });
  });

  it('reopens for a new cooldown when the probe is lost with its connection (not counted for an ordinary call)', () => {
    const { gate, transitions, at, time } = setup();
    gate.setSessions([fakeSession('s1')]);
    const ordinary = new Call('ordinary');
    at(0, () => {
      gate.enter(ordinary);
      gate.leave(ordinary, 'lost', 'connection closed');
      expect(gate.snapshot().breaker.consecutive_failures).toBe(0);
      ['x', 'y', 'z'].forEach((reason) => gate.connectFailed(reason));
    });
    const probe = new Call('probe');
    at(1_000, () => {
      gate.enter(probe);
      gate.leave(probe, 'lost', 'connection closed');
      expect(gate.enter(new Call('next'))).toBe('refused');
    });
    time.flush();
    expect(transitions).toEqual([
      { to: 'open', failures: 3, retryAt: 1_000, reason: 'z' },
      { to: 'open', failures: 4, retryAt: 2_000, reason: 'connection closed' },
    ]);
  });

  it('counts only consecutive failures: an answer in between starts again from zero', () => {
    const { gate, transitions } = setup();
    gate.setSessions([fakeSession('s1')]);
    for (const verdict of ['failed', 'failed', 'answered', 'failed', 'failed'] as const) {
      const call = new Call(verdict);
      gate.enter(call);
      gate.leave(call, verdict);
    }
    expect(transitions).toEqual([]);
    expect(gate.snapshot().breaker).toMatchObject({ state: 'closed', consecutive_failures: 2 });
  });
});

describe('BackendGate: properties', () => {
  type Op = { kind: 'enter' } | { kind: 'leave'; which: number; verdict: 'answered' | 'failed' | 'none' } | { kind: 'sessions'; count: number } | { kind: 'fail' } | { kind: 'wait'; ms: number };
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.constant<Op>({ kind: 'enter' }),
    fc.record({ kind: fc.constant('leave' as const), which: fc.nat(40), verdict: fc.constantFrom('answered' as const, 'failed' as const, 'none' as const) }),
    fc.record({ kind: fc.constant('sessions' as const), count: fc.nat(3) }),
    fc.constant<Op>({ kind: 'fail' }),
    fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 1, max: 700 }) }),
  );

  it('never exceeds maxInFlight or queue.maxLength, and every call is sent or refused at most once', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
        const { gate, time } = setup();
        const pool = [fakeSession('s0'), fakeSession('s1'), fakeSession('s2')];
        const calls: Call[] = [];
        let clock = 0;
        for (const step of ops) {
          if (step.kind === 'enter') {
            const call = new Call(`c${calls.length}`);
            calls.push(call);
            gate.enter(call);
          } else if (step.kind === 'leave') {
            const call = calls[step.which % Math.max(calls.length, 1)];
            if (call) gate.leave(call, call.session ? step.verdict : 'none');
          } else if (step.kind === 'sessions') gate.setSessions(pool.slice(0, step.count));
          else if (step.kind === 'fail') gate.connectFailed('boom');
          else {
            clock += step.ms;
            time.schedule(() => undefined, clock - time.now());
            time.flush();
          }
          const snapshot = gate.snapshot();
          expect(snapshot.in_flight).toBeLessThanOrEqual(2);
          expect(snapshot.queue.length).toBeLessThanOrEqual(3);
        }
        for (const call of calls) expect(call.log.length).toBeLessThanOrEqual(1);
      }),
      { numRuns: 300 },
    );
  });
});
