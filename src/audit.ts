/**
 * The audit log: one JSON line per forwarded call, auth rejection, refused request and management-tool use. A
 * write() never blocks and never throws: the record is stamped now and queued; redaction and serialization happen
 * on later turns (setImmediate), in bounded chunks, off the call's path. Lines go to the file through a WriteStream
 * whose backpressure is respected: while it is not drained they wait in memory, up to a bound beyond which the
 * newest are dropped and counted. close() writes everything queued, then ends the file.
 */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import type { AuditSettings } from '../streams/config/schema.js';
import { keySet, redactKeys } from '../streams/core/redact-keys.js';

export type AuditRecord =
  | { kind: 'call'; client: string; principal: string; front: 'stdio' | 'ws' | 'http'; tool?: string; method?: string; subject?: string; backend: string; ms: number; outcome: string; argumentBytes?: number; resultBytes: number; arguments?: unknown }
  | { kind: 'auth.rejected'; front: 'ws' | 'http'; remote: string; reason: string; status: number; principal?: string }
  | { kind: 'management'; client: string; principal: string; front: string; tool: string; arguments?: unknown; outcome: 'ok' | 'refused' | 'error' }
  | { kind: 'access.denied'; client: string; principal: string; front: string; what: string; name: string; method: string }
  | { kind: 'limit'; client?: string; principal?: string; front: string; remote?: string; limit: string; detail: string };

export interface AuditLog {
  /** never blocks, never throws: the record is stamped with the time now, redacted and serialized off the caller's turn (setImmediate batch) */
  write(record: AuditRecord): void;
  /** writes everything queued and closes the file; resolves once it is on disk */
  close(): Promise<void>;
  /** lines written, lines dropped (queue over its bound while the disk is slow, file unwritable, or written after close), lines not yet on disk */
  stats(): { written: number; dropped: number; queued: number };
}

export interface AuditOptions {
  /** told once per problem: the file cannot be opened or written, or lines are being dropped */
  onError?: (error: Error) => void;
  /** lines held in memory (not yet serialized, or in the stream) before the newest are dropped */
  maxQueued?: number;
  /** redacted arguments whose JSON is larger than this are replaced by `[omitted: N bytes]` */
  argumentsLimitBytes?: number;
}

/** a no-op AuditLog for when audit is not configured */
export const NO_AUDIT: AuditLog = Object.freeze({
  write: () => undefined,
  close: () => Promise.resolve(),
  stats: () => ({ written: 0, dropped: 0, queued: 0 }),
});

/** per turn: serialize at most this many records or this much text, then yield */
const CHUNK_RECORDS = 512;
const CHUNK_BYTES = 256 * 1024;
const HIGH_WATER_MARK = 1024 * 1024;

interface Queued {
  time: number;
  record: AuditRecord;
}

const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));

export function openAudit(settings: AuditSettings, options: AuditOptions = {}): AuditLog {
  const { file } = settings;
  const keys = keySet(settings.redactKeys);
  const maxQueued = options.maxQueued ?? 100_000;
  const argumentsLimit = options.argumentsLimitBytes ?? 16 * 1024;

  let queue: Queued[] = [];
  let head = 0; // queue[head..] are waiting; a moving index keeps taking a chunk O(chunk)
  let inStream = 0; // lines handed to the stream, not yet on disk
  let written = 0;
  let dropped = 0;
  let scheduled: NodeJS.Immediate | null = null;
  let waitingForDrain = false;
  let closing = false;
  let ended = false;
  let failed = false;
  let warnedFull = false;
  let warnedRecord = false;

  const report = (text: string) => {
    try {
      options.onError?.(new Error(text));
    } catch {
      // a failing error handler must not take the relay down from inside a stream callback
    }
  };
  const fail = (error: unknown) => {
    if (failed) return;
    failed = true;
    waitingForDrain = false;
    // lines already handed to the stream are lost with it (a destroyed stream need not call their callbacks), and
    // so are the waiting ones: counted now, not on a later turn, since the stream's 'close' may come first
    dropped += inStream + (queue.length - head);
    inStream = 0;
    queue = [];
    head = 0;
    report(`the audit log ${file} cannot be written (${message(error)}); audit lines are dropped until audit.file names a file the relay may create and append to`);
    schedule(); // anything written from now on is dropped there
  };

  let stream: WriteStream | null = null;
  let streamClosed: Promise<void> = Promise.resolve();
  try {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    const opened = createWriteStream(file, { flags: 'a', mode: 0o600, highWaterMark: HIGH_WATER_MARK });
    streamClosed = new Promise((resolve) => opened.once('close', () => resolve()));
    opened.on('error', fail);
    opened.on('drain', () => {
      waitingForDrain = false;
      schedule();
    });
    stream = opened;
  } catch (error: unknown) {
    fail(error);
  }

  /** the line, with `arguments` redacted (or omitted when too big) and `argumentBytes` measured; null if it cannot be written at all */
  const serialize = ({ time, record }: Queued): string | null => {
    const { arguments: args, kind, ...fields } = record as AuditRecord & { arguments?: unknown };
    const entry: Record<string, unknown> = { time: new Date(time).toISOString(), kind, ...fields };
    let shown: string | undefined;
    try {
      const measure = record.kind === 'call' && record.argumentBytes === undefined;
      // the unredacted JSON is needed for the bytes the client sent, or as the line itself when nothing is redacted
      const raw = args !== undefined && (measure || keys.size === 0) ? JSON.stringify(args) : undefined;
      if (measure) entry['argumentBytes'] = raw === undefined ? 0 : Buffer.byteLength(raw);
      const redacted = args === undefined ? undefined : keys.size === 0 ? raw : JSON.stringify(redactKeys(args, keys));
      if (redacted !== undefined) {
        const bytes = Buffer.byteLength(redacted);
        shown = bytes > argumentsLimit ? JSON.stringify(`[omitted: ${bytes} bytes]`) : redacted;
      }
    } catch (error: unknown) {
      // a cycle, a BigInt, a throwing getter: the call is still audited, its arguments are not
      shown = JSON.stringify(`[unserializable: ${message(error)}]`);
    }
    try {
      const line = JSON.stringify(entry);
      // the arguments are spliced in as already-serialized JSON rather than parsed back and serialized again
      return shown === undefined ? `${line}\n` : `${line.slice(0, -1)},"arguments":${shown}}\n`;
    } catch (error: unknown) {
      if (!warnedRecord) {
        warnedRecord = true;
        report(`an audit record of kind ${record.kind} could not be serialized (${message(error)}); it was dropped`);
      }
      return null;
    }
  };

  function schedule() {
    scheduled ??= setImmediate(pump);
  }

  /** one chunk per turn: serialize, write, and go on next turn unless the stream asks to wait for 'drain' */
  function pump() {
    scheduled = null;
    if (failed || !stream) {
      dropped += queue.length - head;
      queue = [];
      head = 0;
      return;
    }
    if (waitingForDrain) return;
    if (head < queue.length) {
      let text = '';
      let lines = 0;
      let taken = 0;
      while (head < queue.length && taken < CHUNK_RECORDS && text.length < CHUNK_BYTES) {
        const line = serialize(queue[head++] as Queued);
        taken++;
        if (line === null) dropped++;
        else {
          text += line;
          lines++;
        }
      }
      if (head === queue.length) {
        queue = [];
        head = 0;
      } else if (head > 4096 && head * 2 > queue.length) {
        queue = queue.slice(head);
        head = 0;
      }
      if (lines > 0) {
        inStream += lines;
        const drained = stream.write(text, (error) => {
          // once the stream failed, its lines were counted as dropped there
          if (failed) return;
          inStream -= lines;
          if (error) dropped += lines;
          else written += lines;
        });
        if (!drained) waitingForDrain = true;
      }
      if (head < queue.length) {
        if (!waitingForDrain) schedule();
        return;
      }
    }
    if (queue.length === 0) warnedFull = false;
    if (closing && !ended) {
      ended = true;
      stream.end();
    }
  }

  let closed: Promise<void> | null = null;
  return {
    write(record) {
      if (closing || failed) {
        dropped++;
        return;
      }
      if (queue.length - head + inStream >= maxQueued) {
        dropped++;
        if (!warnedFull) {
          warnedFull = true;
          report(`the audit log ${file} is not keeping up: ${maxQueued} lines are waiting for the disk, so new lines are being dropped`);
        }
        return;
      }
      queue.push({ time: Date.now(), record });
      schedule();
    },
    close() {
      if (closed) return closed;
      closing = true;
      // what was written before close() is still queued: pump writes it, then ends the stream
      schedule();
      closed = streamClosed;
      return closed;
    },
    stats: () => ({ written, dropped, queued: queue.length - head + inStream }),
  };
}
