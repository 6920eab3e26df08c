/**
 * A token bucket: `burst` tokens, refilled at `perSecond`; a request takes one. Time comes from the caller (a
 * monotonic clock in ms), so it is exact under test. Refill is computed on take, not by a timer: an idle bucket costs
 * nothing.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.last = now;
  }

  /** 0: taken; otherwise the ms until a token is there (nothing is taken) */
  take(now: number): number {
    this.refill(now);
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - this.tokens) / this.perSecond) * 1_000);
  }

  /** gives back a token taken for a request another limit then refused */
  giveBack(): void {
    this.tokens = Math.min(this.burst, this.tokens + 1);
  }

  private refill(now: number): void {
    const elapsed = now - this.last;
    if (elapsed <= 0) return;
    this.tokens = Math.min(this.burst, this.tokens + (elapsed / 1_000) * this.perSecond);
    this.last = now;
  }
}
