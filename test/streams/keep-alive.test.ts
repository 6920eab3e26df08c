import { describe, expect, it } from 'vitest';
import { PongTimeoutError } from '../../streams/core/errors.js';
import { keepAlive } from '../../streams/backend/keep-alive.js';
import { scheduler } from './helpers.js';

describe('keepAlive', () => {
  it('pings every everyMs and stays silent while pongs come back in time', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const pong$ = cold('5ms p');
      expectObservable(keepAlive(() => pong$, { everyMs: 30, timeoutMs: 10 }), '100ms !').toBe('');
      // one ping per tick, each over as soon as its pong arrives
      // prettier-ignore
      expectSubscriptions(pong$.subscriptions).toBe([
        '30ms ^ 4ms !',
        '60ms ^ 4ms !',
        '90ms ^ 4ms !',
      ]);
    });
  });

  it('errors with PongTimeoutError exactly timeoutMs after a ping that gets no pong', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const pong$ = cold('-');
      expectObservable(keepAlive(() => pong$, { everyMs: 30, timeoutMs: 10 }), '1s !').toBe('40ms #', undefined, new PongTimeoutError(10));
      expectSubscriptions(pong$.subscriptions).toBe('30ms ^ 9ms !');
    });
  });

  it('errors on the first late pong after good ones', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const pongs = [cold('2ms p'), cold('2ms p'), cold('50ms p')];
      let next = 0;
      const ping = () => pongs[next++] ?? cold('-');
      expectObservable(keepAlive(ping, { everyMs: 30, timeoutMs: 20 }), '1s !').toBe('110ms #', undefined, new PongTimeoutError(20));
    });
  });

  it('does not stack pings while a slow pong is still on its way', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const pong$ = cold('50ms p');
      expectObservable(keepAlive(() => pong$, { everyMs: 30, timeoutMs: 100 }), '160ms !').toBe('');
      // the ticks at 60 and 120 fall while a ping is in flight: ignored, not queued
      // prettier-ignore
      expectSubscriptions(pong$.subscriptions).toBe([
        '30ms ^ 49ms !',
        '90ms ^ 49ms !',
        '150ms ^ 9ms !',
      ]);
    });
  });

  it('takes only the first pong: a ping that answers twice does not keep the deadline open', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const pong$ = cold('1ms p 100ms p');
      expectObservable(keepAlive(() => pong$, { everyMs: 30, timeoutMs: 10 }), '70ms !').toBe('');
      expectSubscriptions(pong$.subscriptions).toBe(['30ms ^!', '60ms ^!']);
    });
  });

  it('names the deadline in the error', () => {
    expect(new PongTimeoutError(10).message).toContain('10 ms');
  });
});
