/**
 * The way every forwarded call goes to one backend: its circuit breaker, its bounded queue and its cap on calls in
 * flight, across its instances (the least busy connected one takes the next call).
 *
 * Hand-written, not operators, because it is on the per-call path: a call to a connected backend with a free slot
 * and an empty queue goes out synchronously, one Map write (bench: the `ws`/stdio rows of docs/benchmarks.md held
 * with it). Everything that waits (a reconnect, a full backend) takes the slow path: a FIFO queue bounded in length,
 * each waiter with its own timer on the injected scheduler, so memory stays bounded under any backlog.
 */
import type { SchedulerLike, Subscription } from 'rxjs';
import { CircuitOpenError, QueueBoundError } from '../../core/errors.js';
import type { BackendSettings } from '../../config/schema.js';
import type { BackendSession } from '../connection.js';
import { Breaker, type BreakerSnapshot, type BreakerTransition } from './breaker.js';

/** A call waiting to go, as the gate sees it. */
export interface GateWaiter {
  /** a session a write to failed (it is closing): the gate does not offer it again */
  readonly avoid: BackendSession | null;
  /** the call goes out on this session now (its slot is taken until leave()) */
  go(session: BackendSession, settings: BackendSettings): void;
  /** the call will not go: breaker open, queue bound, backend removed */
  refuse(error: Error): void;
}

/**
 * how a call that left the gate ended, for the breaker: the backend answered, a transport failure, lost with its
 * connection (counted once, by the connection's own failure; but a probe lost so has failed), or none of these
 */
export type Verdict = 'answered' | 'failed' | 'lost' | 'none';

export type EnterResult = 'sent' | 'queued' | 'refused';

export interface GateSnapshot {
  breaker: BreakerSnapshot;
  queue: { length: number; max_length: number; max_wait_ms: number; rejected: number; timed_out: number };
  in_flight: number;
  max_in_flight: number;
}

export interface GateDeps {
  scheduler: SchedulerLike;
  /** breaker.open / breaker.close, for the event log */
  onTransition?: (backend: string, transition: NonNullable<BreakerTransition>) => void;
}

export class BackendGate {
  private readonly breaker: Breaker;
  private sessions: readonly BackendSession[] = [];
  private readonly inFlight = new Map<GateWaiter, BackendSession>();
  private readonly load = new Map<BackendSession, number>();
  private readonly queue: GateWaiter[] = [];
  private readonly timers = new Map<GateWaiter, Subscription>();
  private probe: GateWaiter | null = null;
  private lastError: string | null = null;
  private rejected = 0;
  private timedOut = 0;
  private closed: Error | null = null;

  constructor(
    readonly backend: string,
    private settings: BackendSettings,
    private readonly deps: GateDeps,
  ) {
    this.breaker = new Breaker(settings.circuitBreaker);
  }

  /** a new life of the backend (its entry changed): new bounds, same queue and breaker */
  configure(settings: BackendSettings): void {
    this.settings = settings;
    this.breaker.configure(settings.circuitBreaker);
  }

  /** the connected sessions now (one, or one per healthy instance): waiting calls go out as slots allow */
  setSessions(sessions: readonly BackendSession[]): void {
    if (sessions.length === this.sessions.length && sessions.every((session, index) => session === this.sessions[index])) return;
    this.sessions = sessions;
    if (sessions.length > 0) this.drain();
  }

  get connected(): boolean {
    return this.sessions.length > 0;
  }

  /** a connection attempt failed, or a session dropped: the breaker counts it, and an open breaker empties the queue */
  connectFailed(reason: string): void {
    this.lastError = reason;
    this.note(this.breaker.failure(this.deps.scheduler.now(), reason));
  }

  /** a handshake succeeded: consecutive failures start again from zero (an open breaker still waits for its probe) */
  connectSucceeded(): void {
    this.lastError = null;
    this.note(this.breaker.success());
  }

  /** a call asks to go: sent now, queued, or refused (waiter.refuse has then been called) */
  enter(waiter: GateWaiter): EnterResult {
    if (this.closed) return this.refuse(waiter, this.closed);
    // a closed breaker needs no clock: the common case reads none
    const admission = this.breaker.state === 'closed' ? 'go' : this.breaker.admit(this.deps.scheduler.now());
    if (typeof admission === 'object') {
      return this.refuse(waiter, new CircuitOpenError(this.backend, this.breaker.consecutiveFailures, admission.retryAt, this.breaker.last));
    }
    if (admission === 'probe') this.probe = waiter;
    if (this.queue.length === 0) {
      const session = this.pick(waiter);
      if (session) {
        this.start(waiter, session);
        return 'sent';
      }
    }
    const { maxLength, maxWaitMs } = this.settings.queue;
    if (this.queue.length >= maxLength) {
      this.rejected++;
      this.abandonProbe(waiter);
      return this.refuse(waiter, new QueueBoundError(this.backend, 'maxLength', maxLength, this.why()));
    }
    this.queue.push(waiter);
    this.timers.set(
      waiter,
      this.deps.scheduler.schedule(() => {
        if (!this.dequeue(waiter)) return;
        this.timedOut++;
        this.abandonProbe(waiter);
        waiter.refuse(new QueueBoundError(this.backend, 'maxWaitMs', maxWaitMs, this.why()));
      }, maxWaitMs),
    );
    return 'queued';
  }

  /** the call is over (answered, failed, cancelled) or gave up waiting: its slot or place is freed */
  leave(waiter: GateWaiter, verdict: Verdict, reason = 'a call failed on its connection'): void {
    const session = this.inFlight.get(waiter);
    if (session === undefined) {
      if (this.dequeue(waiter)) this.abandonProbe(waiter);
      return;
    }
    this.inFlight.delete(waiter);
    const load = (this.load.get(session) ?? 1) - 1;
    if (load <= 0) this.load.delete(session);
    else this.load.set(session, load);
    if (verdict === 'answered') this.note(this.breaker.success());
    else if (verdict === 'failed' || (verdict === 'lost' && this.probe === waiter)) this.note(this.breaker.failure(this.deps.scheduler.now(), reason));
    if (verdict === 'none') this.abandonProbe(waiter);
    if (this.probe === waiter) this.probe = null;
    if (this.queue.length > 0) this.drain();
  }

  /** the backend is gone from the config: every waiting call hears why */
  close(error: Error): void {
    this.closed = error;
    for (const waiter of this.queue.splice(0)) {
      this.timers.get(waiter)?.unsubscribe();
      this.timers.delete(waiter);
      waiter.refuse(error);
    }
  }

  snapshot(): GateSnapshot {
    const { maxLength, maxWaitMs } = this.settings.queue;
    return {
      breaker: this.breaker.snapshot(),
      queue: { length: this.queue.length, max_length: maxLength, max_wait_ms: maxWaitMs, rejected: this.rejected, timed_out: this.timedOut },
      in_flight: this.inFlight.size,
      max_in_flight: this.settings.maxInFlight,
    };
  }

  /** calls in flight on one session (an instance), for status */
  loadOf(session: BackendSession): number {
    return this.load.get(session) ?? 0;
  }

  private refuse(waiter: GateWaiter, error: Error): 'refused' {
    waiter.refuse(error);
    return 'refused';
  }

  /** the connected session with the fewest calls in flight, when the backend has a free slot */
  private pick(waiter: GateWaiter): BackendSession | null {
    if (this.inFlight.size >= this.settings.maxInFlight) return null;
    let best: BackendSession | null = null;
    let least = Infinity;
    for (const session of this.sessions) {
      if (session === waiter.avoid) continue;
      const load = this.load.get(session) ?? 0;
      if (load < least) {
        best = session;
        least = load;
      }
    }
    return best;
  }

  private start(waiter: GateWaiter, session: BackendSession): void {
    this.inFlight.set(waiter, session);
    this.load.set(session, (this.load.get(session) ?? 0) + 1);
    waiter.go(session, this.settings);
  }

  /** waiting calls go out in order while there are sessions and free slots */
  private drain(): void {
    let index = 0;
    while (index < this.queue.length && this.inFlight.size < this.settings.maxInFlight) {
      const waiter = this.queue[index] as GateWaiter;
      const session = this.pick(waiter);
      if (session === null) {
        index++;
        continue;
      }
      this.queue.splice(index, 1);
      this.timers.get(waiter)?.unsubscribe();
      this.timers.delete(waiter);
      this.start(waiter, session);
    }
  }

  private dequeue(waiter: GateWaiter): boolean {
    const index = this.queue.indexOf(waiter);
    this.timers.get(waiter)?.unsubscribe();
    this.timers.delete(waiter);
    if (index === -1) return false;
    this.queue.splice(index, 1);
    return true;
  }

  private abandonProbe(waiter: GateWaiter): void {
    if (this.probe !== waiter) return;
    this.probe = null;
    this.breaker.probeAbandoned(this.deps.scheduler.now());
  }

  /** why calls wait: the connection's last error, or a full backend */
  private why(): string {
    if (this.sessions.length > 0) return `the backend has ${this.inFlight.size} calls in flight (maxInFlight ${this.settings.maxInFlight})`;
    return this.lastError === null ? 'the backend is not connected yet' : `the backend is not connected (last error: ${this.lastError})`;
  }

  /** a change of the breaker's phase: logged, and an opened breaker fails the queue fast */
  private note(transition: BreakerTransition): void {
    if (transition === null) return;
    this.deps.onTransition?.(this.backend, transition);
    if (transition.to !== 'open') return;
    const error = new CircuitOpenError(this.backend, transition.failures, transition.retryAt, transition.reason);
    for (const waiter of this.queue.splice(0)) {
      this.timers.get(waiter)?.unsubscribe();
      this.timers.delete(waiter);
      if (waiter === this.probe) this.probe = null;
      waiter.refuse(error);
    }
  }
}
