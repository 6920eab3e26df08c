/**
 * Call timeouts for one connection with one timer, not one per call: calls that share a timeout expire in the order
 * they were armed (a progress re-arms a call, moving it to the back), so only the oldest needs the timer. A call that
 * ends just leaves the queue; the timer, when it fires, expires what is due and re-arms for the next.
 */
import { asyncScheduler, type SchedulerLike, type Subscription } from 'rxjs';

export class Deadlines<K> {
  /** key -> deadline, oldest first (Map keeps insertion order) */
  private readonly due = new Map<K, number>();
  private timer: Subscription | null = null;

  constructor(
    private readonly ms: number,
    private readonly onExpired: (key: K) => void,
    private readonly scheduler: SchedulerLike = asyncScheduler,
  ) {}

  /** (re)starts the key's clock: it expires `ms` from now unless deleted or armed again first */
  arm(key: K): void {
    this.due.delete(key);
    this.due.set(key, this.scheduler.now() + this.ms);
    if (this.timer === null) this.schedule(this.ms);
  }

  delete(key: K): void {
    this.due.delete(key);
  }

  clear(): void {
    this.due.clear();
    this.timer?.unsubscribe();
    this.timer = null;
  }

  private schedule(delay: number): void {
    this.timer = this.scheduler.schedule(() => this.expire(), delay);
  }

  private expire(): void {
    this.timer = null;
    const now = this.scheduler.now();
    for (const [key, deadline] of this.due) {
      if (deadline > now) {
        this.schedule(deadline - now);
        return;
      }
      this.due.delete(key);
      this.onExpired(key);
    }
  }
}
