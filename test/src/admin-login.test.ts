// The status page's login state, on a clock the test moves: sessions end on expiry, on logout, when admin.token
// changes, and the oldest go beyond the bound; wrong tokens from one address are refused for the rest of the window.
import { describe, expect, it } from 'vitest';
import { LoginSessions, sameToken } from '../../src/admin/login-sessions.js';
import { LoginThrottle } from '../../src/admin/login-throttle.js';

const clock = () => {
  let now = 1_000_000;
  return { now: () => now, advance: (ms: number) => (now += ms) };
};

describe('LoginSessions', () => {
  it('opens a random session that is not the token, valid until it expires', () => {
    const time = clock();
    const sessions = new LoginSessions({ ttlMs: 60_000, clock: time.now });
    const id = sessions.open('ops-secret');
    expect(id).not.toContain('ops-secret');
    expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(sessions.open('ops-secret')).not.toBe(id);
    expect(sessions.valid(id, 'ops-secret')).toBe(true);
    time.advance(59_999);
    expect(sessions.valid(id, 'ops-secret')).toBe(true);
    time.advance(1);
    expect(sessions.valid(id, 'ops-secret')).toBe(false);
    expect(sessions.valid('made-up', 'ops-secret')).toBe(false);
  });

  it('ends on logout, and every session ends when the token changes', () => {
    const sessions = new LoginSessions();
    const first = sessions.open('old-token');
    const second = sessions.open('old-token');
    sessions.close(first);
    expect(sessions.valid(first, 'old-token')).toBe(false);
    expect(sessions.valid(second, 'new-token')).toBe(false);
    // and it stays ended when the old token comes back
    expect(sessions.valid(second, 'old-token')).toBe(false);
  });

  it('keeps at most `max` sessions, ending the oldest', () => {
    const sessions = new LoginSessions({ max: 3 });
    const ids = [1, 2, 3, 4].map(() => sessions.open('t'));
    expect(sessions.size).toBe(3);
    expect(ids.map((id) => sessions.valid(id, 't'))).toEqual([false, true, true, true]);
  });

  it('compares tokens whole, whatever their lengths', () => {
    expect(sameToken('ops-secret', 'ops-secret')).toBe(true);
    expect(sameToken('ops-secre', 'ops-secret')).toBe(false);
    expect(sameToken('', 'ops-secret')).toBe(false);
  });
});

describe('LoginThrottle', () => {
  it('refuses an address after `limit` wrong tokens until its window ends, and leaves other addresses alone', () => {
    const time = clock();
    const throttle = new LoginThrottle({ limit: 3, windowMs: 60_000, clock: time.now });
    for (let attempt = 0; attempt < 3; attempt++) {
      expect(throttle.waitMs('10.0.0.1')).toBe(0);
      throttle.failed('10.0.0.1');
    }
    expect(throttle.waitMs('10.0.0.1')).toBe(60_000);
    expect(throttle.waitMs('10.0.0.2')).toBe(0);
    time.advance(45_000);
    expect(throttle.waitMs('10.0.0.1')).toBe(15_000);
    time.advance(15_000);
    expect(throttle.waitMs('10.0.0.1')).toBe(0);
  });

  it('forgets the failures of an address that logs in', () => {
    const throttle = new LoginThrottle({ limit: 2 });
    throttle.failed('a');
    throttle.succeeded('a');
    throttle.failed('a');
    expect(throttle.waitMs('a')).toBe(0);
  });

  it('counts at most `maxAddresses` addresses, dropping finished windows first', () => {
    const time = clock();
    const throttle = new LoginThrottle({ limit: 1, windowMs: 1_000, maxAddresses: 2, clock: time.now });
    throttle.failed('a');
    time.advance(1_000);
    throttle.failed('b');
    throttle.failed('c'); // a's window is over: it goes, b stays counted
    expect(throttle.waitMs('b')).toBeGreaterThan(0);
    expect(throttle.waitMs('c')).toBeGreaterThan(0);
  });
});
