/**
 * What the fronts count per principal, across every listener: its connections (limits.maxConnectionsPerToken) and
 * its shared request rate (limits.rateLimit.perPrincipal). An entry lives while the principal has a connection.
 */
import type { Principal } from '../../streams/access/access.js';
import { TokenBucket } from '../../streams/core/token-bucket.js';
import type { LimitSettings } from '../../streams/config/schema.js';

interface Held {
  connections: number;
  bucket: TokenBucket;
}

export interface Seat {
  /** the principal's shared rate bucket: null for anonymous clients (each has only its own) */
  bucket: TokenBucket | null;
  release(): void;
}

const keyOf = (principal: Principal): string => `${principal.kind}:${principal.name}`;

export class Principals {
  private readonly held = new Map<string, Held>();

  constructor(private readonly now: () => number) {}

  /** a seat for one more connection, or null when the principal is at its limit */
  take(principal: Principal, limits: LimitSettings): Seat | null {
    // anonymous clients are one principal only by name: they are limited per listener (maxConnections), not here
    if (principal.kind === 'anonymous' || principal.kind === 'local') return { bucket: null, release: () => undefined };
    const key = keyOf(principal);
    let held = this.held.get(key);
    if (held && held.connections >= limits.maxConnectionsPerToken) return null;
    if (!held) this.held.set(key, (held = { connections: 0, bucket: new TokenBucket(limits.principalRateLimit.requestsPerSecond, limits.principalRateLimit.burst, this.now()) }));
    held.connections++;
    let released = false;
    const entry = held;
    return {
      bucket: entry.bucket,
      release: () => {
        if (released) return;
        released = true;
        entry.connections--;
        if (entry.connections === 0 && this.held.get(key) === entry) this.held.delete(key);
      },
    };
  }

  connections(principal: Principal): number {
    return this.held.get(keyOf(principal))?.connections ?? 0;
  }
}
