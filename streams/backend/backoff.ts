/** Reconnect with exponential backoff and jitter; the count resets only on a value that means "healthy". */
import { asError } from '../core/errors.js';
import { combineLatest, defer, merge, Observable, retry, take, tap, throwError, timer, type MonoTypeOperatorFunction } from 'rxjs';

export interface BackoffConfig<T> {
  initialMs: number;
  maxMs: number;
  /** consecutive failures allowed before the error goes through; default forever */
  maxRetries?: number;
  /** injected so marble tests are deterministic */
  jitter: (ms: number) => number;
  /** retry's own resetOnSuccess resets on ANY emission, and "connecting" is not success */
  isHealthy: (value: T) => boolean;
  /**
   * an emission cuts the current wait short (someone needs this connection now), but never below initialMs: calls
   * that keep coming while a backend is down would otherwise make every wait nothing, a reconnect storm that also
   * opened the circuit breaker within milliseconds of a blip
   */
  kick$?: Observable<unknown>;
}

export const backoffDelayMs = (failures: number, initialMs: number, maxMs: number): number =>
  Math.min(initialMs * 2 ** Math.max(0, failures - 1), maxMs);

export const backoff = <T>({ initialMs, maxMs, maxRetries = Infinity, jitter, isHealthy, kick$ }: BackoffConfig<T>): MonoTypeOperatorFunction<T> =>
  (source) =>
    defer(() => {
      let failures = 0;
      // a kick while an attempt runs is demand all the same: the next wait is cut to nothing
      let demanded = false;
      const retried$ = source.pipe(
        tap((value) => {
          if (isHealthy(value)) {
            failures = 0;
            demanded = false;
          }
        }),
        retry({
          delay: (error: unknown) => {
            failures += 1;
            if (failures > maxRetries) return throwError(() => asError(error));
            const full = jitter(backoffDelayMs(failures, initialMs, maxMs));
            // the shortest wait demand may make: initialMs after the failure (or the full wait, if shorter)
            const floor = Math.min(full, initialMs);
            if (demanded) {
              demanded = false;
              return timer(floor);
            }
            const wait$ = timer(full);
            if (!kick$) return wait$;
            // merge, not race: a kick$ that completes must not end the retries; a kick ends the wait once the floor passed
            const kicked$ = combineLatest([timer(floor), kick$.pipe(take(1), tap(() => (demanded = false)))]);
            return merge(wait$, kicked$).pipe(take(1));
          },
        }),
      );
      if (!kick$) return retried$;
      return new Observable<T>((subscriber) => {
        // subscribed before the retries, so a kick that ends a wait is seen here first and then cleared there
        const demand = kick$.subscribe({ next: () => (demanded = true), error: (error: unknown) => subscriber.error(error) });
        const retries = retried$.subscribe(subscriber);
        return () => {
          retries.unsubscribe();
          demand.unsubscribe();
        };
      });
    });
