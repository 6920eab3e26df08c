/** Server-Sent Events parsing (WHATWG "event stream interpretation"), fed text chunks as they arrive. */

export interface SseEvent {
  /** the `event:` field; '' when the event named none (the spec's default type "message") */
  event: string;
  /** the `data:` lines joined by \n */
  data: string;
  /** the last `id:` seen on this stream so far (it carries over to later events), if any */
  id: string | undefined;
  /** the last `retry:` the server asked for, in ms, if any */
  retry: number | undefined;
}

/** An event (or one unterminated line) grew past the limit: the stream is cut there, never buffered whole. */
export class SseEventTooLargeError extends Error {
  override readonly name = 'SseEventTooLargeError';
  constructor(readonly limitBytes: number) {
    super(`an event-stream event was larger than ${limitBytes} bytes`);
  }
}

/**
 * Returns a parser: call it with each decoded chunk, in order, and it returns the events that chunk completed.
 * Chunks may split lines (and \r\n) anywhere; each chunk is scanned once, so a long line costs no more than its length.
 * An event without its closing blank line is never emitted.
 */
export function sseParser({ maxEventBytes }: { maxEventBytes: number }): (chunk: string) => SseEvent[] {
  const lineEnd = /\r\n|\r|\n/g;
  let partial: string[] = []; // the pieces of a line not yet terminated
  let partialLength = 0;
  let afterCr = false; // the last chunk ended in \r: a \n starting the next one belongs to it
  let data: string[] = [];
  let dataBytes = 0;
  let event = '';
  let id: string | undefined;
  let retry: number | undefined;

  const field = (line: string, events: SseEvent[]): void => {
    if (line === '') {
      // an event with no data is not dispatched (priming events carry only an id)
      if (data.length > 0) events.push({ event, data: data.join('\n'), id, retry });
      data = [];
      dataBytes = 0;
      event = '';
      return;
    }
    if (line.startsWith(':')) return; // a comment: keep-alive
    const colon = line.indexOf(':');
    const name = colon === -1 ? line : line.slice(0, colon);
    const raw = colon === -1 ? '' : line.slice(colon + 1);
    const value = raw.startsWith(' ') ? raw.slice(1) : raw;
    if (name === 'data') {
      dataBytes += Buffer.byteLength(value) + (data.length > 0 ? 1 : 0);
      if (dataBytes > maxEventBytes) throw new SseEventTooLargeError(maxEventBytes);
      data.push(value);
    } else if (name === 'event') event = value;
    else if (name === 'id' && !value.includes('\0')) id = value;
    else if (name === 'retry' && /^\d+$/.test(value)) retry = Number(value);
  };

  return (chunk) => {
    const events: SseEvent[] = [];
    if (chunk === '') return events;
    let start = afterCr && chunk.startsWith('\n') ? 1 : 0;
    afterCr = false;
    lineEnd.lastIndex = start;
    for (let match = lineEnd.exec(chunk); match; match = lineEnd.exec(chunk)) {
      field(partial.join('') + chunk.slice(start, match.index), events);
      partial = [];
      partialLength = 0;
      start = match.index + match[0].length;
      afterCr = match[0] === '\r' && start === chunk.length;
    }
    if (start < chunk.length) {
      partial.push(chunk.slice(start));
      partialLength += chunk.length - start;
      if (partialLength > maxEventBytes) throw new SseEventTooLargeError(maxEventBytes);
    }
    return events;
  };
}
