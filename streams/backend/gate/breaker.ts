/**
 * A backend's circuit breaker: consecutive transport failures (a connection that fails or drops, a call that times out
 * or loses its connection) open it; while open, calls fail fast; after cooldownMs one probe call goes through, and its
 * outcome closes the breaker or opens it again. A tool's own isError, or a JSON-RPC error the backend answers with, is
 * an answer: a success here. Plain state, no timers: the caller passes the clock in.
 */
export interface BreakerSettings {
  failureThreshold: number;
  cooldownMs: number;
}

export type BreakerPhase = 'closed' | 'open' | 'half-open';

/** what a change of phase tells the log */
export type BreakerTransition = { to: 'open'; failures: number; retryAt: number; reason: string } | { to: 'closed'; failures: number } | null;

/** how admit() answered: go; go as the one probe; or not until retryAt (null: a probe is deciding) */
export type Admission = 'go' | 'probe' | { retryAt: number | null };

export interface BreakerSnapshot {
  state: BreakerPhase;
  consecutive_failures: number;
  failure_threshold: number;
  cooldown_ms: number;
  /** times it opened since the backend was configured */
  opened: number;
  /** calls it failed fast */
  rejected: number;
  last_failure?: string;
  /** ISO time: when the open breaker lets the next probe call through */
  next_probe_at?: string;
}

export class Breaker {
  private phase: BreakerPhase = 'closed';
  private failures = 0;
  private retryAt = 0;
  private opened = 0;
  private rejected = 0;
  private lastFailure: string | null = null;

  constructor(private settings: BreakerSettings) {}

  configure(settings: BreakerSettings): void {
    this.settings = settings;
  }

  get state(): BreakerPhase {
    return this.phase;
  }

  get consecutiveFailures(): number {
    return this.failures;
  }

  get last(): string | null {
    return this.lastFailure;
  }

  admit(now: number): Admission {
    if (this.phase === 'closed') return 'go';
    if (this.phase === 'open' && now >= this.retryAt) {
      this.phase = 'half-open';
      return 'probe';
    }
    this.rejected++;
    return { retryAt: this.phase === 'open' ? this.retryAt : null };
  }

  /** the backend answered (or handshook): a probe's success closes the breaker */
  success(): BreakerTransition {
    // only the probe decides, so a breaker never closes behind a cooldown (and its count stays what opened it)
    if (this.phase === 'open') return null;
    const failures = this.failures;
    this.failures = 0;
    if (this.phase === 'closed') return null;
    this.phase = 'closed';
    return { to: 'closed', failures };
  }

  /** a transport failure: the threshold, or a failed probe, opens the breaker */
  failure(now: number, reason: string): BreakerTransition {
    this.failures++;
    this.lastFailure = reason;
    if (this.phase === 'open') return null;
    if (this.phase === 'closed' && this.failures < this.settings.failureThreshold) return null;
    this.phase = 'open';
    this.opened++;
    this.retryAt = now + this.settings.cooldownMs;
    return { to: 'open', failures: this.failures, retryAt: this.retryAt, reason };
  }

  /** the probe ended with no verdict (cancelled, never sent): the next call probes at once */
  probeAbandoned(now: number): void {
    if (this.phase !== 'half-open') return;
    this.phase = 'open';
    this.retryAt = now;
  }

  snapshot(): BreakerSnapshot {
    return {
      state: this.phase,
      consecutive_failures: this.failures,
      failure_threshold: this.settings.failureThreshold,
      cooldown_ms: this.settings.cooldownMs,
      opened: this.opened,
      rejected: this.rejected,
      ...(this.lastFailure === null ? {} : { last_failure: this.lastFailure }),
      ...(this.phase === 'open' ? { next_probe_at: new Date(this.retryAt).toISOString() } : {}),
    };
  }
}
