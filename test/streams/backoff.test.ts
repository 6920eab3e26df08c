import { defer, type Observable } from 'rxjs';
import { describe, expect, it, vi } from 'vitest';
import { backoff, backoffDelayMs } from '../../streams/backend/backoff.js';
import { identity, scheduler } from './helpers.js';

const always = () => true;
/** backoff passes the last error on as it came */
const boom = new Error('connection refused');
/** a broken give-up must fail the test, not retry forever in virtual time */
const BOUND = '5s !';

describe('backoffDelayMs', () => {
  it('doubles from initialMs and stops at maxMs', () => {
    expect([1, 2, 3, 4, 5, 6].map((failures) => backoffDelayMs(failures, 100, 1_000))).toEqual([100, 200, 400, 800, 1_000, 1_000]);
  });
});

describe('backoff', () => {
  it('waits 100, 200, 400 ms between attempts, then gives up after maxRetries', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const connect$ = cold('-#', undefined, boom);
      expectObservable(connect$.pipe(backoff({ initialMs: 100, maxMs: 1_000, maxRetries: 3, jitter: identity, isHealthy: always })), BOUND).toBe('704ms #', undefined, boom);
      // prettier-ignore
      expectSubscriptions(connect$.subscriptions).toBe([
        '^!',
        '101ms ^!',
        '302ms ^!',
        '703ms ^!',
      ]);
    });
  });

  it('caps the wait at maxMs', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const connect$ = cold('-#', undefined, boom);
      expectObservable(connect$.pipe(backoff({ initialMs: 100, maxMs: 250, maxRetries: 4, jitter: identity, isHealthy: always })), BOUND).toBe('805ms #', undefined, boom);
      // waits 100, 200, 250, 250
      // prettier-ignore
      expectSubscriptions(connect$.subscriptions).toBe([
        '^!',
        '101ms ^!',
        '302ms ^!',
        '553ms ^!',
        '804ms ^!',
      ]);
    });
  });

  it('lets the first error through when maxRetries is 0', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const connect$ = cold('--#', undefined, boom);
      expectObservable(connect$.pipe(backoff({ initialMs: 100, maxMs: 1_000, maxRetries: 0, jitter: identity, isHealthy: always })), BOUND).toBe('--#', undefined, boom);
      expectSubscriptions(connect$.subscriptions).toBe('^-!');
    });
  });

  it('retries forever by default', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const connect$ = cold('-#', undefined, boom);
      expectObservable(connect$.pipe(backoff({ initialMs: 10, maxMs: 10, jitter: identity, isHealthy: always })), '50ms !').toBe('');
      // prettier-ignore
      expectSubscriptions(connect$.subscriptions).toBe([
        '^!',
        '11ms ^!',
        '22ms ^!',
        '33ms ^!',
        '44ms ^!',
      ]);
    });
  });

  it('does NOT reset the count after a value that is not healthy ("connecting" then error)', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const connect$ = cold('c#', undefined, boom);
      const isHealthy = (value: string) => value === 'h';
      expectObservable(connect$.pipe(backoff({ initialMs: 100, maxMs: 1_000, maxRetries: 2, jitter: identity, isHealthy })), BOUND).toBe('c 100ms c 200ms c#', undefined, boom);
      // prettier-ignore
      expectSubscriptions(connect$.subscriptions).toBe([
        '^!',
        '101ms ^!',
        '302ms ^!',
      ]);
    });
  });

  it('resets the count after a healthy value, so a backend that keeps connecting and dropping is never given up', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const connect$ = cold('h#', undefined, boom);
      const isHealthy = (value: string) => value === 'h';
      expectObservable(connect$.pipe(backoff({ initialMs: 100, maxMs: 1_000, maxRetries: 2, jitter: identity, isHealthy })), '400ms !').toBe('h 100ms h 100ms h 100ms h');
      // every wait is the first wait again: 100 ms
      // prettier-ignore
      expectSubscriptions(connect$.subscriptions).toBe([
        '^!',
        '101ms ^!',
        '202ms ^!',
        '303ms ^!',
      ]);
    });
  });

  it('grows again after a reset: failures counted from the last healthy value', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      // prettier-ignore
      const attempts = [
        cold('c#', undefined, boom),
        cold('c#', undefined, boom),
        cold('ch#', undefined, boom),
        cold('c#', undefined, boom),
        cold('c#', undefined, boom),
      ];
      let next = 0;
      const connect$: Observable<string> = defer(() => attempts[next++] ?? cold('c#', undefined, boom));
      const isHealthy = (value: string) => value === 'h';
      const out$ = connect$.pipe(backoff({ initialMs: 100, maxMs: 1_000, maxRetries: 2, jitter: identity, isHealthy }));
      // waits: 100, 200, then h resets: 100, 200, then the third failure in a row gives up
      expectObservable(out$, BOUND).toBe('c 100ms c 200ms ch 100ms c 200ms c#', undefined, boom);
      expectSubscriptions(attempts[0]!.subscriptions).toBe('^!');
      expectSubscriptions(attempts[1]!.subscriptions).toBe('101ms ^!');
      expectSubscriptions(attempts[2]!.subscriptions).toBe('302ms ^-!');
      expectSubscriptions(attempts[3]!.subscriptions).toBe('404ms ^!');
      expectSubscriptions(attempts[4]!.subscriptions).toBe('605ms ^!');
    });
  });

  it('cuts the wait short when kick$ emits, but not below initialMs, without resetting the count', () => {
    scheduler().run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const connect$ = cold('-#', undefined, boom);
      const kick$ = hot('150ms k');
      expectObservable(connect$.pipe(backoff({ initialMs: 100, maxMs: 1_000, maxRetries: 2, jitter: identity, isHealthy: always, kick$ })), BOUND).toBe('203ms #', undefined, boom);
      // the second wait would end at 302; the kick at 150 ends it at 202, initialMs after the failure at 102
      // prettier-ignore
      expectSubscriptions(connect$.subscriptions).toBe([
        '^!',
        '101ms ^!',
        '202ms ^!',
      ]);
      // the first subscription listens for demand all along; the others are the two waits
      expectSubscriptions(kick$.subscriptions).toBe(['^ 202ms !', '1ms ^ 99ms !', '102ms ^ 47ms !']);
    });
  });

  it('never lets demand make a wait shorter than initialMs: a stream of kicks is no reconnect storm', () => {
    scheduler().run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const connect$ = cold('-#', undefined, boom);
      const kick$ = hot('kkkkkkkkkk 90ms kkkkkkkkkk');
      expectObservable(connect$.pipe(backoff({ initialMs: 100, maxMs: 1_000, maxRetries: 2, jitter: identity, isHealthy: always, kick$ })), BOUND).toBe('203ms #', undefined, boom);
      expectSubscriptions(connect$.subscriptions).toBe(['^!', '101ms ^!', '202ms ^!']);
    });
  });

  it('remembers a kick that comes while the source is still trying: the next wait is only initialMs', () => {
    scheduler().run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const connect$ = cold('-----#', undefined, boom);
      const kick$ = hot('107ms k');
      expectObservable(connect$.pipe(backoff({ initialMs: 100, maxMs: 1_000, maxRetries: 2, jitter: identity, isHealthy: always, kick$ })), BOUND).toBe('215ms #', undefined, boom);
      // kicked during the second attempt: the second wait is 100 (initialMs) instead of 200
      expectSubscriptions(connect$.subscriptions).toBe(['^----!', '105ms ^----!', '210ms ^----!']);
    });
  });

  it('keeps waiting when kick$ completes without a kick', () => {
    scheduler().run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const connect$ = cold('-#', undefined, boom);
      const kick$ = hot('20ms |');
      expectObservable(connect$.pipe(backoff({ initialMs: 100, maxMs: 1_000, maxRetries: 1, jitter: identity, isHealthy: always, kick$ })), BOUND).toBe('102ms #', undefined, boom);
      expectSubscriptions(connect$.subscriptions).toBe(['^!', '101ms ^!']);
    });
  });

  it('applies the jitter to every delay', () => {
    const jitter = vi.fn((ms: number) => ms / 2 + 7);
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const connect$ = cold('-#', undefined, boom);
      expectObservable(connect$.pipe(backoff({ initialMs: 100, maxMs: 1_000, maxRetries: 3, jitter, isHealthy: always })), BOUND).toBe('375ms #', undefined, boom);
      // waits 57, 107, 207 instead of 100, 200, 400
      // prettier-ignore
      expectSubscriptions(connect$.subscriptions).toBe([
        '^!',
        '58ms ^!',
        '166ms ^!',
        '374ms ^!',
      ]);
    });
    expect(jitter.mock.calls.map(([ms]) => ms)).toEqual([100, 200, 400]);
  });
});
