/**
 * Whether a client's request may go ahead now: its connection's rate, and its principal's rate across all its
 * connections. A refusal says which limit and when to retry, for a JSON-RPC error's data (and an HTTP 429's
 * Retry-After). Requests over the client's cap on calls in flight are not refused: they wait (in-flight.ts).
 */
import { TokenBucket } from '../core/token-bucket.js';
import type { RateSettings } from '../config/schema.js';

export interface Refusal {
  limit: 'rate' | 'principal-rate';
  message: string;
  retryAfterMs: number;
}

export interface AdmissionLimits {
  rate: RateSettings;
}

export class Admission {
  private readonly own: TokenBucket;

  constructor(
    private readonly limits: AdmissionLimits,
    /** shared by every connection of the principal; null for none (an anonymous client) */
    private readonly principalBucket: TokenBucket | null,
    private readonly now: () => number,
  ) {
    this.own = new TokenBucket(limits.rate.requestsPerSecond, limits.rate.burst, now());
  }

  /** null: it may start (a token taken); otherwise why not */
  admit(): Refusal | null {
    const now = this.now();
    const wait = this.own.take(now);
    if (wait > 0) return { limit: 'rate', message: `Rate limit: this connection may send ${this.limits.rate.requestsPerSecond} requests a second (burst ${this.limits.rate.burst}); retry in ${wait} ms`, retryAfterMs: wait };
    const shared = this.principalBucket?.take(now) ?? 0;
    if (shared > 0) {
      this.own.giveBack();
      return { limit: 'principal-rate', message: `Rate limit: this principal's connections together are over their request rate (limits.rateLimit.perPrincipal); retry in ${shared} ms`, retryAfterMs: shared };
    }
    return null;
  }
}
