/** Newline-delimited JSON-RPC over a byte stream: lines in, lines out. Streams are injected so tests hand in their own. */
import { Observable } from 'rxjs';
import type { Readable, Writable } from 'node:stream';
import type { ClientLine } from '../streams/session/client-output.js';

export interface LineLimit {
  /** the longest line kept, in characters */
  maxChars: number;
  /** a longer line was dropped (it is not emitted): how long it was, in characters */
  onOversized: (chars: number) => void;
}

/**
 * Lines of the input; completes when it ends. A trailing \r (CRLF clients) is dropped. With a limit, a line longer
 * than it is dropped as it streams in (memory stays bounded even when no newline ever comes) and reported once.
 */
export function lines$(input: Readable, limit?: LineLimit): Observable<string> {
  return new Observable<string>((subscriber) => {
    // a huge line arrives in many chunks: keep them apart and join once, instead of rescanning a growing string
    let pending: string[] = [];
    let pendingChars = 0;
    // characters of a line over the limit seen so far (-1: none is being dropped)
    let dropping = -1;
    const keep = (part: string) => {
      if (dropping >= 0) {
        dropping += part.length;
        return;
      }
      pendingChars += part.length;
      if (limit !== undefined && pendingChars > limit.maxChars) {
        dropping = pendingChars;
        pending = [];
        pendingChars = 0;
        return;
      }
      pending.push(part);
    };
    // decode as UTF-8 across chunk boundaries (a multi-byte character may be split)
    input.setEncoding('utf8');
    const onData = (chunk: string) => {
      let start = 0;
      let newline = chunk.indexOf('\n');
      while (newline !== -1) {
        keep(chunk.slice(start, newline));
        start = newline + 1;
        newline = chunk.indexOf('\n', start);
        if (dropping >= 0) {
          limit?.onOversized(dropping);
          dropping = -1;
          continue;
        }
        const line = pending.length === 1 ? (pending[0] as string) : pending.join('');
        pending = [];
        pendingChars = 0;
        subscriber.next(line.endsWith('\r') ? line.slice(0, -1) : line);
      }
      if (start < chunk.length) keep(chunk.slice(start));
    };
    const onEnd = () => {
      if (dropping >= 0) limit?.onOversized(dropping);
      dropping = -1;
      const rest = pending.join('');
      pending = [];
      if (rest.trim() !== '') subscriber.next(rest);
      subscriber.complete();
    };
    const onError = (error: Error) => subscriber.error(error);
    input.on('data', onData);
    input.on('end', onEnd);
    input.on('close', onEnd);
    input.on('error', onError);
    return () => {
      input.off('data', onData);
      input.off('end', onEnd);
      input.off('close', onEnd);
      input.off('error', onError);
    };
  });
}

/**
 * Writes lines to the output. When the relay is not busy, a line is written at once (a lone answer must not wait for
 * the end of the event-loop turn). When it is (the last turn had more than one line), the lines of a turn are joined
 * into one write at its end: stdout on a pipe is synchronous on Linux, so a write per message would be a system call
 * per message under load. A line in parts (a large frame's bytes, then its id) goes out as those parts, in order.
 */
export function lineWriter(output: Writable): (line: ClientLine) => void {
  let pending: string[] = [];
  let linesThisTurn = 0;
  let busy = false;
  const flush = () => {
    if (pending.length === 0) return;
    const batch = pending;
    pending = [];
    output.write(batch.length === 1 ? `${batch[0]}\n` : `${batch.join('\n')}\n`);
  };
  const endTurn = () => {
    busy = linesThisTurn > 1;
    linesThisTurn = 0;
    flush();
  };
  return (line) => {
    if (linesThisTurn++ === 0) queueMicrotask(endTurn);
    if (typeof line !== 'string') {
      flush();
      for (const part of line) output.write(part);
      output.write('\n');
      return;
    }
    if (linesThisTurn === 1 && !busy) output.write(`${line}\n`);
    else pending.push(line);
  };
}
