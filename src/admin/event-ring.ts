/**
 * The event log as /events serves it: the last events kept (references to the emitted objects, which never change:
 * nothing is serialized per event unless someone listens) and the listeners that follow it live.
 */
import type { RelayEvent } from '../../streams/catalogue/events.js';

export interface TimedEvent {
  time: number;
  /** its place in the log, counted from 1 at start: what orders events that share a millisecond */
  seq: number;
  event: RelayEvent;
}

export class EventRing {
  private readonly kept: TimedEvent[] = [];
  private next = 0;
  private seq = 0;
  private readonly listeners = new Set<(timed: TimedEvent) => void>();

  constructor(private readonly size = 500) {}

  push(event: RelayEvent): void {
    const timed = { time: Date.now(), seq: ++this.seq, event };
    if (this.kept.length < this.size) this.kept.push(timed);
    else this.kept[this.next] = timed;
    this.next = (this.next + 1) % this.size;
    for (const listener of this.listeners) listener(timed);
  }

  /** the kept events, newest first */
  recent(count = this.size): TimedEvent[] {
    const ordered = this.kept.length < this.size ? this.kept : [...this.kept.slice(this.next), ...this.kept.slice(0, this.next)];
    return ordered.slice(-count).reverse();
  }

  /** every event from now on; the returned function stops it */
  follow(listener: (timed: TimedEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
