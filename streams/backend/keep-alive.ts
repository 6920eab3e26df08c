/** Keep-alive: ping on an interval; a pong that misses its deadline errors, so the backoff around the connection reconnects. */
import { exhaustMap, ignoreElements, interval, take, throwError, timeout, type Observable } from 'rxjs';
import { PongTimeoutError } from '../core/errors.js';

export interface KeepAliveConfig {
  everyMs: number;
  timeoutMs: number;
}

/** Emits nothing; errors with PongTimeoutError. `ping()` emits when the pong arrives. */
export const keepAlive = (ping: () => Observable<unknown>, { everyMs, timeoutMs }: KeepAliveConfig): Observable<never> =>
  interval(everyMs).pipe(
    exhaustMap(() =>
      ping().pipe(
        take(1),
        timeout({ first: timeoutMs, with: () => throwError(() => new PongTimeoutError(timeoutMs)) }),
      ),
    ),
    ignoreElements(),
  );
