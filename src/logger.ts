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

const FLUSH_EVERY_MS = 250;

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
  // lines are buffered up to 4 KiB and written together, never one system call per line on the hot path;
  // a quarter-second flush keeps the log tail-able when little happens
  const destination = pino.destination({ dest: target.fd, sync: false, minLength: 4096 });
  setInterval(() => {
    try {
      destination.flush();
    } catch {
      // not ready yet or closed: the next tick or the exit flush writes it
    }
  }, FLUSH_EVERY_MS).unref();
  const logger = pino(
    {
      level,
      base: { pid: process.pid },
      // no pino redact: it costs on every line, and no event carries headers (URLs are redacted where events are made)
    },
    destination,
  );
  const emit = ({ level: eventLevel = 'info', msg, ...fields }: RelayEvent) => {
    logger[eventLevel](fields, msg ?? fields.event);
  };
  const flush = () => {
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
