/**
 * Wrong tokens at the login form, counted per remote address in fixed windows: past the limit, that address is
 * refused until its window ends, so the token cannot be guessed at the speed of the network. Bounded: when too many
 * addresses are being counted at once, the counts start over (a flood of addresses is not a reason to grow).
 */
export interface LoginThrottleOptions {
  /** wrong tokens allowed per address per window */
  limit?: number;
  windowMs?: number;
  /** addresses counted at most */
  maxAddresses?: number;
  clock?: () => number;
}

interface Window {
  started: number;
  failures: number;
}

export class LoginThrottle {
  private readonly limit: number;
  private readonly windowMs: number;
  private readonly maxAddresses: number;
  private readonly clock: () => number;
  private readonly windows = new Map<string, Window>();

  constructor({ limit = 5, windowMs = 60_000, maxAddresses = 10_000, clock = Date.now }: LoginThrottleOptions = {}) {
    this.limit = limit;
    this.windowMs = windowMs;
    this.maxAddresses = maxAddresses;
    this.clock = clock;
  }

  private current(address: string): Window | undefined {
    const window = this.windows.get(address);
    if (window !== undefined && this.clock() - window.started >= this.windowMs) {
      this.windows.delete(address);
      return undefined;
    }
    return window;
  }

  /** milliseconds until this address may try again; 0: it may try now */
  waitMs(address: string): number {
    const window = this.current(address);
    return window !== undefined && window.failures >= this.limit ? window.started + this.windowMs - this.clock() : 0;
  }

  failed(address: string): void {
    const window = this.current(address);
    if (window !== undefined) {
      window.failures++;
      return;
    }
    if (this.windows.size >= this.maxAddresses) {
      for (const known of [...this.windows.keys()]) this.current(known);
      if (this.windows.size >= this.maxAddresses) this.windows.clear();
    }
    this.windows.set(address, { started: this.clock(), failures: 1 });
  }

  succeeded(address: string): void {
    this.windows.delete(address);
  }
}
