/**
 * Where the event log's batches go: a file descriptor (stderr, or LOG_FILE) written with fs.write, never blocking
 * the event loop and never holding more than a bound. A reader that stops reading stderr (a pipe nobody drains)
 * must not stall serving nor grow memory: past maxPendingBytes whole batches are dropped and their lines counted,
 * and once the sink drains a `log.dropped` line says how many were lost. A write that never completes cannot hold
 * the process at exit either: end() resolves when the writes land, and main.ts stops waiting at its exit deadline.
 *
 * pino.destination (sonic-boom) was the sink before: it buffers without bound by default, and its exit hook calls
 * flushSync, which spins forever on a pipe that is never read — the relay then never exited.
 */
import { write as fsWrite } from 'node:fs';

/** what may wait for a slow reader before batches are dropped */
export const MAX_PENDING_BYTES = 8 * 1024 * 1024;

/** a pipe that answers EAGAIN (its reader is slow) is tried again after this */
const RETRY_MS = 50;

export interface LogSink {
  /** one batch of `lines` whole lines */
  write(bytes: Buffer, lines: number): void;
  /** resolves once everything accepted has been written (or the descriptor failed for good) */
  end(): Promise<void>;
  /** lines dropped since start */
  readonly dropped: number;
}

export interface LogSinkOptions {
  maxPendingBytes?: number;
  /** the line that reports dropped lines, once the sink has room again */
  droppedLine: (lines: number) => string;
}

export function createLogSink(fd: number, options: LogSinkOptions): LogSink {
  const max = options.maxPendingBytes ?? MAX_PENDING_BYTES;
  const queue: Buffer[] = [];
  let pending = 0;
  let writing = false;
  let broken = false;
  let dropped = 0;
  let unreported = 0;
  let idle: Array<() => void> = [];

  const settle = () => {
    if (writing || queue.length > 0) return;
    const waiting = idle;
    idle = [];
    for (const done of waiting) done();
  };

  const next = () => {
    if (broken) {
      queue.length = 0;
      pending = 0;
    }
    if (queue.length === 0 && unreported > 0 && !broken) {
      const report = Buffer.from(options.droppedLine(unreported));
      pending += report.length;
      queue.push(report);
      unreported = 0;
    }
    // everything waiting goes in one write: one batch per write call fell behind at 15,000 lines a second
    const bytes = queue.length > 1 ? Buffer.concat(queue.splice(0)) : queue.shift();
    if (bytes === undefined) {
      writing = false;
      settle();
      return;
    }
    writing = true;
    writeAll(bytes, 0);
  };

  const writeAll = (bytes: Buffer, offset: number) => {
    fsWrite(fd, bytes, offset, bytes.length - offset, null, (error, written) => {
      if (error) {
        // a reader that is slow says EAGAIN on a non-blocking pipe: wait and try the same bytes again
        if (error.code === 'EAGAIN') {
          setTimeout(() => writeAll(bytes, offset), RETRY_MS).unref();
          return;
        }
        // EPIPE, EBADF: nobody will ever read this log; what is queued is dropped
        broken = true;
      } else if (offset + written < bytes.length) {
        writeAll(bytes, offset + written);
        return;
      }
      pending -= bytes.length;
      next();
    });
  };

  return {
    write: (bytes, lines) => {
      if (broken) return;
      if (pending + bytes.length > max) {
        dropped += lines;
        unreported += lines;
        return;
      }
      pending += bytes.length;
      queue.push(bytes);
      if (!writing) next();
    },
    end: () =>
      new Promise<void>((done) => {
        idle.push(done);
        // a count of dropped lines not reported yet goes out before the end
        if (!writing && unreported > 0) next();
        else settle();
      }),
    get dropped() {
      return dropped;
    },
  };
}
