/** Newline-delimited JSON-RPC over a byte stream: lines in, lines out. Streams are injected so tests hand in their own. */
import { Observable } from 'rxjs';
import type { Readable, Writable } from 'node:stream';

/** Lines of the input; completes when it ends. A trailing \r (CRLF clients) is dropped. */
export function lines$(input: Readable): Observable<string> {
  return new Observable<string>((subscriber) => {
    let buffered = '';
    input.setEncoding('utf8');
    const onData = (chunk: string) => {
      buffered += chunk;
      let newline = buffered.indexOf('\n');
      while (newline !== -1) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        subscriber.next(line.endsWith('\r') ? line.slice(0, -1) : line);
        newline = buffered.indexOf('\n');
      }
    };
    const onEnd = () => {
      if (buffered.trim() !== '') subscriber.next(buffered);
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

export function writeLine(output: Writable, line: string): void {
  output.write(`${line}\n`);
}
