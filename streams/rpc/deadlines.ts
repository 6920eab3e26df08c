/**
 * Call timeouts for one connection with one timer, not one per call: calls that share a timeout expire in the order
 * they were armed (a progress re-arms a call, moving it to the back), so only the oldest needs the timer. A call that
 * ends just leaves the queue; the timer, when it fires, expires what is due and re-arms for the next.
 *
 * The queue is a ring of (key, arm number, deadline), oldest first, and a table from each key to its latest arm: an
 * entry whose arm is no longer the key's latest (the call ended, or was armed again) is stale and skipped. No Map
 * with per-call churn (see id-table.ts), and deadlines in a Float64Array, so arming allocates nothing per call.
 */
import { asyncScheduler, type SchedulerLike, type Subscription } from 'rxjs';
import { IdTable } from './id-table.js';
import type { JsonRpcId } from '../core/jsonrpc.js';

const MIN_CAPACITY = 16;
const SHRINK_ABOVE = 4_096;

export class Deadlines<K extends JsonRpcId> {
  /** key -> the number of its latest arm */
  private readonly armed = new IdTable<number>();
  private arms = 0;
  private keys: Array<K | undefined> = new Array<K | undefined>(MIN_CAPACITY).fill(undefined);
  private armOf: number[] = new Array<number>(MIN_CAPACITY).fill(0);
  private due = new Float64Array(MIN_CAPACITY);
  private head = 0;
  private queued = 0;
  private timer: Subscription | null = null;

  constructor(
    private readonly ms: number,
    private readonly onExpired: (key: K) => void,
    private readonly scheduler: SchedulerLike = asyncScheduler,
  ) {}

  /** (re)starts the key's clock: it expires `ms` from now unless deleted or armed again first */
  arm(key: K): void {
    // the arm count wraps before it leaves the small integers; an arm 2^30 arms old is long gone from the queue
    this.arms = (this.arms + 1) & 0x3fffffff;
    this.armed.set(key, this.arms);
    this.push(key, this.arms, this.scheduler.now() + this.ms);
    // a call re-armed by every progress leaves its earlier entries behind
    this.compactIfMostlyStale();
    if (this.timer === null) this.schedule(this.ms);
  }

  /** entries in the queue, stale ones included: never much more than twice the keys armed */
  get queueLength(): number {
    return this.queued;
  }

  delete(key: K): void {
    if (!this.armed.delete(key)) return;
    // calls mostly end in the order they started: stale entries at the front go at once, the rest when outnumbered
    this.dropStaleFront();
    this.compactIfMostlyStale();
  }

  clear(): void {
    this.armed.clear();
    this.keys.fill(undefined);
    this.head = 0;
    this.queued = 0;
    this.timer?.unsubscribe();
    this.timer = null;
  }

  private schedule(delay: number): void {
    this.timer = this.scheduler.schedule(() => this.expire(), delay);
  }

  private expire(): void {
    this.timer = null;
    const now = this.scheduler.now();
    for (;;) {
      this.dropStaleFront();
      if (this.queued === 0) return;
      const deadline = this.due[this.head] as number;
      if (deadline > now) {
        this.schedule(deadline - now);
        return;
      }
      const key = this.keys[this.head] as K;
      this.shift();
      this.armed.delete(key);
      this.onExpired(key);
    }
  }

  private isStale(index: number): boolean {
    return this.armed.get(this.keys[index] as K) !== this.armOf[index];
  }

  private dropStaleFront(): void {
    while (this.queued > 0 && this.isStale(this.head)) this.shift();
    // a burst of calls grew the ring; once it is empty, it need not stay that large
    if (this.queued === 0 && this.keys.length > SHRINK_ABOVE) this.rebuild(MIN_CAPACITY, false);
  }

  private shift(): void {
    this.keys[this.head] = undefined;
    this.head = (this.head + 1) & (this.keys.length - 1);
    this.queued--;
  }

  private push(key: K, arm: number, deadline: number): void {
    if (this.queued === this.keys.length) this.rebuild(this.keys.length * 2, false);
    const index = (this.head + this.queued) & (this.keys.length - 1);
    this.keys[index] = key;
    this.armOf[index] = arm;
    this.due[index] = deadline;
    this.queued++;
  }

  /** only the entries still current, in order, in a ring no more than twice their number: O(1) amortized */
  private compactIfMostlyStale(): void {
    if (this.queued <= 64 || this.queued <= 2 * this.armed.size) return;
    let capacity = MIN_CAPACITY;
    while (capacity < 2 * this.armed.size) capacity *= 2;
    this.rebuild(capacity, true);
  }

  private rebuild(capacity: number, dropStale: boolean): void {
    const { keys, armOf, due, head, queued } = this;
    this.keys = new Array<K | undefined>(capacity).fill(undefined);
    this.armOf = new Array<number>(capacity).fill(0);
    this.due = new Float64Array(capacity);
    this.head = 0;
    this.queued = 0;
    const mask = keys.length - 1;
    for (let i = 0; i < queued; i++) {
      const index = (head + i) & mask;
      const key = keys[index] as K;
      if (dropStale && this.armed.get(key) !== armOf[index]) continue;
      this.push(key, armOf[index] as number, due[index] as number);
    }
    // emptied before it is dropped (see id-table.ts)
    keys.fill(undefined);
  }
}
