/**
 * The relay's forwarded calls, all clients together, for a graceful shutdown: once draining, no new call starts
 * (each is answered "shutting down"), the calls in flight may finish, and those still running when the grace period
 * ends are answered with an error instead of being dropped. One Set add and delete per call.
 */
import { defer, of, take, type Observable } from 'rxjs';
import { createSignal } from '../core/signal.js';

/** a call in flight that can be ended with an error answer */
export interface Abortable {
  abort(error: Error): void;
}

export class Drain {
  private accepting = true;
  private readonly live = new Set<Abortable>();
  private readonly emptied = createSignal<void>();

  get draining(): boolean {
    return !this.accepting;
  }

  get inFlight(): number {
    return this.live.size;
  }

  /** a call starts: false once draining (the caller answers it "shutting down") */
  enter(call: Abortable): boolean {
    if (!this.accepting) return false;
    this.live.add(call);
    return true;
  }

  leave(call: Abortable): void {
    if (this.live.delete(call) && this.live.size === 0) this.emptied.fire();
  }

  /** no new call from now on */
  start(): void {
    this.accepting = false;
  }

  /** emits once no call is in flight (at once if none is) */
  readonly idle$: Observable<void> = defer(() => (this.live.size === 0 ? of(undefined) : this.emptied.fired$.pipe(take(1))));

  /** the grace period is over: every call still in flight is answered with this error */
  abortAll(error: Error): number {
    const calls = [...this.live];
    for (const call of calls) call.abort(error);
    return calls.length;
  }
}
