/** pino event logger: JSON lines to stderr (never stdout: it carries the protocol) or LOG_FILE, asynchronously. */
import { pino, type Logger } from 'pino';
import type { RelayEvent } from '../streams/events.js';

export interface EventLog {
  logger: Logger;
  emit: (event: RelayEvent) => void;
  /** writes what is buffered; call before exit */
  flush: () => void;
}

export function createEventLog(env: Readonly<Record<string, string | undefined>>): EventLog {
  const destination = pino.destination({ dest: env['LOG_FILE'] || 2, sync: false, minLength: 0, mkdir: true });
  const logger = pino(
    {
      level: env['LOG_LEVEL'] || 'info',
      base: { pid: process.pid },
      // headers are never logged on purpose; these paths catch any that slip into an event
      redact: { paths: ['headers', '*.headers', 'authorization', '*.authorization'], censor: '[redacted]' },
    },
    destination,
  );
  const emit = ({ level = 'info', msg, ...fields }: RelayEvent) => {
    logger[level](fields, msg ?? fields.event);
  };
  const flush = () => {
    try {
      destination.flushSync();
    } catch {
      // not open yet (nothing written) or already closed: nothing to flush
    }
  };
  return { logger, emit, flush };
}
