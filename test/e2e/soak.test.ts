// The soak of issue 11 at a reduced size (bench/soak.ts, the same code `npm run soak` runs in full: 1,000 calls in
// flight from 50 clients, 100,000 calls after a 150,000-call warm-up, RSS within 1.2× of warm-up). Here: 200 in flight
// from 20 clients (the relay's stdio client and 19 WebSocket clients) over 10 backends, 20,000 calls after a
// 30,000-call warm-up, with backends killed and restarted, backends.yaml rewritten and clients reconnecting meanwhile.
// Every answer must reach the request it answers, once; the RSS bound is a generous 1.5× (a short run's RSS is noisy:
// V8 is still sizing its heap), the 1.2× target is npm run soak's.
import { describe, expect, it } from 'vitest';
import { renderSoak, soak, soakFailures } from '../../bench/soak.js';

describe('soak (reduced size)', () => {
  it('answers every call of 20 clients exactly once, to the right request, through restarts, reloads and reconnects; RSS stays level', { timeout: 150_000 }, async () => {
    const result = await soak({
      calls: 20_000,
      warmupCalls: 30_000,
      concurrency: 200,
      clients: 20,
      backends: 10,
      restarts: 3,
      reloads: 6,
      churn: 6,
      rssLimit: 1.5,
      callDeadlineMs: 30_000,
      maxDurationMs: 120_000,
    });
    // the whole table, so a failure shows every figure
    const report = renderSoak(result);
    expect({ sent: result.calls, lost: result.lost, duplicated: result.duplicated, misrouted: result.misrouted, crashes: result.relay.crashes }, report).toEqual({
      sent: 50_000,
      lost: 0,
      duplicated: 0,
      misrouted: 0,
      crashes: [],
    });
    // every call was answered: ok, or an error the client could see (a killed backend's calls, its open breaker)
    const errors = Object.values(result.errors).reduce((sum, count) => sum + count, 0);
    expect(result.ok + errors, report).toBe(50_000);
    // the faults happened: a soak that skipped them would prove less
    expect({ restarts: result.restarts, reloads: result.reloads, clientReconnects: result.clientReconnects }, report).toEqual({ restarts: 3, reloads: 6, clientReconnects: 6 });
    expect(result.relay.configReloads, report).toBeGreaterThanOrEqual(6);
    // most calls went through to a backend, not only fast failures
    expect(result.ok, report).toBeGreaterThan(40_000);
    expect(result.rss.ratio, report).toBeLessThanOrEqual(1.5);
    // and everything npm run soak checks, at this bound: no fault that failed to happen, no crash in the relay's log
    expect(soakFailures(result, 1.5), report).toEqual([]);
  });
});
