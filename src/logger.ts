/** pino event logger: JSON lines to stderr (never stdout: it carries the protocol) or LOG_FILE, asynchronously. */
import { mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { pino, type Logger } from 'pino';
import type { RelayEvent } from '../streams/events.js';

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

/** Joins lines into one write per 32 KiB or per flush period, whichever comes first. */
function lineBatcher(write: (text: string) => void): { write: (line: string) => void; flush: () => void } {
  let pending: string[] = [];
  let length = 0;
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (pending.length === 0) return;
    const text = pending.length === 1 ? (pending[0] as string) : pending.join('');
    pending = [];
    length = 0;
    write(text);
  };
  return {
    write: (line) => {
      pending.push(line);
      length += line.length;
      if (length >= BATCH_BYTES) flush();
      else if (!scheduled) {
        scheduled = true;
        setTimeout(flush, FLUSH_EVERY_MS).unref();
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
  // sonic-boom writes asynchronously, but appending each line to its buffer re-measures the whole buffer: lines are
  // gathered here and handed over per 32 KiB, or after at most FLUSH_EVERY_MS so the log stays tail-able
  const destination = pino.destination({ dest: target.fd, sync: false });
  const batch = lineBatcher((text) => destination.write(text));
  const logger = pino(
    {
      level,
      base: { pid: process.pid },
      // no pino redact: it costs on every line, and no event carries headers (URLs are redacted where events are made)
    },
    { write: batch.write },
  );
  const emit = ({ level: eventLevel = 'info', msg, ...fields }: RelayEvent) => {
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
