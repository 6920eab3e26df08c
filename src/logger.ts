/** pino event logger: JSON lines to stderr (never stdout: it carries the protocol) or LOG_FILE, asynchronously. */
import { mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { pino, type Logger } from 'pino';
import type { RelayEvent } from '../streams/events.js';
import { eventLine, LEVEL_VALUES } from './event-line.js';

export interface EventLog {
  logger: Logger;
  emit: (event: RelayEvent) => void;
  /** writes what is buffered; call before exit */
  flush: () => void;
}

/** how stale the log may get when little happens */
const FLUSH_EVERY_MS = 100;

/** a batch this large is written at once instead of waiting for the flush timer */
const BATCH_BYTES = 32 * 1024;

/**
 * Lines encoded straight into one buffer, written per 32 KiB or per flush period, whichever comes first: no string
 * joined and measured again per batch, and one system call for hundreds of call.done lines.
 */
function lineBatcher(write: (bytes: Buffer) => void): { write: (line: string) => void; flush: () => void } {
  let buffer = Buffer.allocUnsafe(BATCH_BYTES);
  let used = 0;
  let scheduled = false;
  const flush = () => {
    if (used === 0) return;
    const full = buffer.subarray(0, used);
    buffer = Buffer.allocUnsafe(BATCH_BYTES);
    used = 0;
    write(full);
  };
  return {
    write: (line) => {
      // UTF-8 takes at most 3 bytes per UTF-16 unit
      if (used + line.length * 3 > buffer.length) flush();
      if (line.length * 3 > buffer.length) {
        write(Buffer.from(line));
        return;
      }
      used += buffer.write(line, used);
      if (!scheduled) {
        scheduled = true;
        setTimeout(() => {
          scheduled = false;
          flush();
        }, FLUSH_EVERY_MS).unref();
      }
    },
    flush,
  };
}

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/** A LOG_FILE that cannot be opened must not take the relay down (nor spin retrying): fall back to stderr and say so. */
function openLogFile(file: string | undefined): { fd: number; problem?: string } {
  if (!file) return { fd: 2 };
  try {
    try {
      return { fd: openSync(file, 'a') };
    } catch (error: unknown) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      // one level only: recursive mkdir can spin forever on paths like /proc/x/y (a Node quirk)
      mkdirSync(dirname(file));
      return { fd: openSync(file, 'a') };
    }
  } catch (error: unknown) {
    return { fd: 2, problem: `cannot open LOG_FILE ${file} (${error instanceof Error ? error.message : String(error)}); logging to stderr` };
  }
}

export function createEventLog(env: Readonly<Record<string, string | undefined>>): EventLog {
  const target = openLogFile(env['LOG_FILE']);
  const wanted = (env['LOG_LEVEL'] || 'info').toLowerCase();
  const level = LEVELS.includes(wanted) ? wanted : 'info';
  // sonic-boom writes asynchronously; appending each line as a string re-measured its whole buffer, so lines are
  // gathered here as bytes and handed over per 32 KiB, or after at most FLUSH_EVERY_MS so the log stays tail-able
  const destination = pino.destination({ dest: target.fd, sync: false, contentMode: 'buffer', maxWrite: 2 * BATCH_BYTES });
  // in buffer mode sonic-boom takes Buffers, though its types only say string
  const batch = lineBatcher((bytes) => destination.write(bytes as unknown as string));
  const logger = pino(
    {
      level,
      base: { pid: process.pid },
      // no pino redact: it costs on every line, and no event carries headers (URLs are redacted where events are made)
    },
    { write: batch.write },
  );
  const emit = (event: RelayEvent) => {
    const eventLevel = event.level ?? 'info';
    const value = LEVEL_VALUES[eventLevel];
    if (value < logger.levelVal) return;
    const line = eventLine(value, Date.now(), process.pid, event);
    if (line !== null) {
      batch.write(line);
      return;
    }
    const { level: _level, msg, ...fields } = event;
    logger[eventLevel](fields, msg ?? fields.event);
  };
  const flush = () => {
    batch.flush();
    try {
      destination.flushSync();
    } catch {
      // not open yet (nothing written) or already closed: nothing to flush
    }
  };
  if (target.problem) emit({ event: 'log.fallback', reason: target.problem, level: 'warn' });
  if (level !== wanted) emit({ event: 'log.fallback', reason: `LOG_LEVEL ${JSON.stringify(env['LOG_LEVEL'])} is not one of ${LEVELS.join(', ')}; using info`, level: 'warn' });
  return { logger, emit, flush };
}
