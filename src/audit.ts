/**
 * The audit log: one JSON line per forwarded call, auth rejection, refused request and management-tool use. A
 * write() never blocks and never throws: the record is stamped now and serialized on a later turn (setImmediate),
 * off the call's path; the file is appended through a stream whose backpressure queues lines in memory up to a
 * bound (beyond it lines are dropped and counted); close() writes everything queued before it resolves.
 */
import { mkdirSync, createWriteStream, type WriteStream } from 'node:fs';
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
  write(record: AuditRecord): void;
  close(): Promise<void>;
  stats(): { written: number; dropped: number; queued: number };
}

export interface AuditOptions {
  onError?: (error: Error) => void;
  maxQueued?: number;
  argumentsLimitBytes?: number;
}

export function openAudit(settings: AuditSettings, options: AuditOptions = {}): AuditLog {
  const redact = keySet(settings.redactKeys);
  const maxQueued = options.maxQueued ?? 100_000;
  const argumentsLimit = options.argumentsLimitBytes ?? 16 * 1024;
  let pending: Array<{ time: number; record: AuditRecord }> = [];
  let scheduled: NodeJS.Immediate | null = null;
  let written = 0;
  let dropped = 0;
  let closed: Promise<void> | null = null;
  let failed = false;
  let warnedDrop = false;
  const fail = (error: Error) => {
    if (failed) return;
    failed = true;
    options.onError?.(new Error(`the audit log ${settings.file} cannot be written (${error.message}); audit lines are being dropped`));
  };
  let stream: WriteStream | null = null;
  try {
    mkdirSync(dirname(settings.file), { recursive: true });
    stream = createWriteStream(settings.file, { flags: 'a', mode: 0o600 });
    stream.on('error', fail);
  } catch (error: unknown) {
    fail(error instanceof Error ? error : new Error(String(error)));
  }

  const line = ({ time, record }: { time: number; record: AuditRecord }): string => {
    const entry: Record<string, unknown> = { time: new Date(time).toISOString(), ...record };
    if ('arguments' in record && record.arguments !== undefined) {
      const shown = JSON.stringify(redactKeys(record.arguments, redact)) ?? 'null';
      if (record.kind === 'call' && record.argumentBytes === undefined) entry['argumentBytes'] = Buffer.byteLength(JSON.stringify(record.arguments) ?? '');
      entry['arguments'] = shown.length > argumentsLimit ? `[omitted: ${shown.length} bytes]` : (JSON.parse(shown) as unknown);
    } else if (record.kind === 'call' && record.argumentBytes === undefined) entry['argumentBytes'] = 0;
    return `${JSON.stringify(entry)}\n`;
  };

  const flush = () => {
    scheduled = null;
    const batch = pending;
    pending = [];
    if (batch.length === 0) return;
    if (!stream || failed) {
      dropped += batch.length;
      return;
    }
    stream.write(batch.map(line).join(''));
    written += batch.length;
  };

  return {
    write(record) {
      if (closed) {
        dropped++;
        return;
      }
      if (pending.length >= maxQueued || (stream?.writableLength ?? 0) > maxQueued * 512) {
        dropped++;
        if (!warnedDrop) {
          warnedDrop = true;
          options.onError?.(new Error(`the audit log ${settings.file} is not keeping up: lines are being dropped (over ${maxQueued} queued)`));
        }
        return;
      }
      pending.push({ time: Date.now(), record });
      scheduled ??= setImmediate(flush);
    },
    close() {
      closed ??= new Promise<void>((resolve) => {
        if (scheduled) clearImmediate(scheduled);
        flush();
        if (!stream || stream.destroyed) return resolve();
        stream.end(() => resolve());
        stream.once('error', () => resolve());
      });
      return closed;
    },
    stats: () => ({ written, dropped, queued: pending.length }),
  };
}
