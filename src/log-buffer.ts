/**
 * The event log's buffer. emit() only queues the event with its time: the line is built later, with the rest of its
 * batch, so the per-call work left on a call's path is a push (call.done is logged once per call). A batch is joined
 * and encoded once and written per 32 KiB or per flush period: one system call for hundreds of lines.
 */
import type { RelayEvent } from '../streams/catalogue/events.js';

/** how stale the log may get when little happens */
export const FLUSH_EVERY_MS = 100;

/** a batch this large is written at once instead of waiting for the flush timer */
export const BATCH_BYTES = 32 * 1024;

/** queued events before a batch is built anyway, so a burst cannot grow the queue without bound */
const MAX_QUEUED = 512;

export interface LogBuffer {
  /** an event to log as it is now: events are never changed once emitted */
  queue(time: number, event: RelayEvent): void;
  /** a line already built (pino's, for an event the fast path cannot serialize) */
  append(line: string): void;
  /** builds and writes everything queued */
  flush(): void;
}

/**
 * @param format the event's line, or null when it must go through `fallback` (which appends)
 * @param write takes the bytes (of `lines` whole lines) and owns them
 */
export function createLogBuffer(format: (time: number, event: RelayEvent) => string | null, fallback: (event: RelayEvent) => void, write: (bytes: Buffer, lines: number) => void): LogBuffer {
  // lines built and not yet written, and their length in UTF-16 units: a batch goes out once it reaches BATCH_BYTES
  let lines: string[] = [];
  let length = 0;
  // time, event, time, event...: no pair object per event
  let queued: Array<number | RelayEvent> = [];
  let scheduled = false;

  // one join and one encoding per batch, not a native call per line
  const writeOut = () => {
    if (lines.length === 0) return;
    const text = lines.join('');
    const count = lines.length;
    lines = [];
    length = 0;
    write(Buffer.from(text), count);
  };
  const append = (line: string) => {
    lines.push(line);
    length += line.length;
    if (length >= BATCH_BYTES) writeOut();
  };
  const flush = () => {
    const events = queued;
    queued = [];
    for (let i = 0; i < events.length; i += 2) {
      const event = events[i + 1] as RelayEvent;
      const line = format(events[i] as number, event);
      if (line === null) fallback(event);
      else append(line);
    }
    writeOut();
  };
  const schedule = () => {
    if (scheduled) return;
    scheduled = true;
    setTimeout(() => {
      scheduled = false;
      flush();
    }, FLUSH_EVERY_MS).unref();
  };
  return {
    queue: (time, event) => {
      if (queued.push(time, event) >= 2 * MAX_QUEUED) flush();
      else schedule();
    },
    append: (line) => {
      append(line);
      schedule();
    },
    flush,
  };
}
