/** pino event logger: JSON lines to stderr (never stdout: it carries the protocol) or LOG_FILE, asynchronously. */
import { mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { pino, type Logger } from 'pino';
import type { RelayEvent } from '../streams/catalogue/events.js';
import { eventLine, LEVEL_VALUES } from './event-line.js';
import { createLogBuffer } from './log-buffer.js';
import { createLogSink } from './log-sink.js';

export interface EventLog {
  logger: Logger;
  emit: (event: RelayEvent) => void;
  /** writes what is buffered and ends the log once every write has landed (a write may still be in flight); before exit */
  close: () => Promise<void>;
  /** lines dropped because the log was not read fast enough, since start */
  dropped: () => number;
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
  // lines are gathered as bytes in the log buffer and handed to the sink per 32 KiB, or after at most FLUSH_EVERY_MS;
  // the sink never blocks and holds at most MAX_PENDING_BYTES for a slow reader (log-sink.ts)
  let closed = false;
  // LOG_BUFFER_BYTES: how much log may wait for a slow reader before lines are dropped (and counted)
  const bound = Number(env['LOG_BUFFER_BYTES']);
  const sink = createLogSink(target.fd, {
    ...(Number.isInteger(bound) && bound > 0 ? { maxPendingBytes: bound } : {}),
    // plain strings and a number: eventLine always serializes these
    droppedLine: (lines) => eventLine(LEVEL_VALUES.warn, Date.now(), process.pid, { event: 'log.dropped', lines, reason: 'the log was not read fast enough (a full pipe or disk); these lines were dropped so serving never waited' }) ?? '',
  });
  const logger: Logger = pino(
    {
      level,
      base: { pid: process.pid },
      // no pino redact: it costs on every line, and no event carries headers (URLs are redacted where events are made)
    },
    { write: (line: string) => buffer.append(line) },
  );
  const buffer = createLogBuffer(
    (time, event) => eventLine(LEVEL_VALUES[event.level ?? 'info'], time, process.pid, event),
    // what cannot be serialized by hand goes through pino, which copes with cycles and BigInts
    ({ level: eventLevel = 'info', msg, ...fields }) => logger[eventLevel](fields, msg ?? fields.event),
    // once closed, lines are dropped
    (bytes, lines) => {
      if (!closed) sink.write(bytes, lines);
    },
  );
  const emit = (event: RelayEvent) => {
    if (LEVEL_VALUES[event.level ?? 'info'] >= logger.levelVal) buffer.queue(Date.now(), event);
  };
  const close = () => {
    buffer.flush();
    closed = true;
    return sink.end();
  };
  if (target.problem) emit({ event: 'log.fallback', reason: target.problem, level: 'warn' });
  if (level !== wanted) emit({ event: 'log.fallback', reason: `LOG_LEVEL ${JSON.stringify(env['LOG_LEVEL'])} is not one of ${LEVELS.join(', ')}; using info`, level: 'warn' });
  return { logger, emit, close, dropped: () => sink.dropped };
}
