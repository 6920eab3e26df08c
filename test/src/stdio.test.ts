// Newline framing of the client's stdin: chunk boundaries anywhere, CRLF clients, a last line without a newline.
import { PassThrough, Writable } from 'node:stream';
import { lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { lineWriter, lines$ } from '../../src/stdio.js';

async function framed(chunks: Array<string | Buffer>): Promise<string[]> {
  const input = new PassThrough();
  const collected = lastValueFrom(lines$(input).pipe(toArray()));
  for (const chunk of chunks) input.write(chunk);
  input.end();
  return collected;
}

describe('lines$', () => {
  it('splits on newlines wherever the chunks break', async () => {
    expect(await framed(['{"a":', '1}\n{"b"', ':2}\n{"c":3}\n'])).toEqual(['{"a":1}', '{"b":2}', '{"c":3}']);
  });

  it('drops the \\r of CRLF line ends and keeps a last line that has no newline', async () => {
    expect(await framed(['one\r\ntwo\r', '\nthree'])).toEqual(['one', 'two', 'three']);
  });

  it('joins a line spread over many chunks exactly once', async () => {
    const big = 'x'.repeat(200_000);
    const chunks = big.match(/.{1,1000}/g) ?? [];
    expect(await framed([...chunks, '\nnext\n'])).toEqual([big, 'next']);
  });

  it('emits empty lines as they are (the relay ignores them) and completes on end', async () => {
    expect(await framed(['\n\nlast\n'])).toEqual(['', '', 'last']);
  });

  it('drops a line over the limit as it streams in, says how long it was, and goes on with the next', async () => {
    const input = new PassThrough();
    const oversized: number[] = [];
    const collected = lastValueFrom(lines$(input, { maxChars: 1_000, onOversized: (chars) => oversized.push(chars) }).pipe(toArray()));
    input.write('short\n');
    for (let i = 0; i < 50; i++) input.write('y'.repeat(100));
    input.write('\nafter\n');
    // a line that never ends is dropped too, and reported when the input ends
    input.write('z'.repeat(1_500));
    input.end();
    expect(await collected).toEqual(['short', 'after']);
    expect(oversized).toEqual([5_000, 1_500]);
  });

  it('decodes a multi-byte character split across chunks', async () => {
    const bytes = Buffer.from('{"city":"Zürich ☃"}\n');
    const cut = bytes.indexOf(0xe2) + 1; // inside the snowman's three bytes
    expect(await framed([bytes.subarray(0, cut), bytes.subarray(cut)])).toEqual(['{"city":"Zürich ☃"}']);
  });
});

describe('lineWriter', () => {
  it('writes a line at once when not busy, and joins the lines of a turn into one write once busy', async () => {
    const writes: string[] = [];
    const output = new Writable({
      write: (chunk: Buffer, _encoding, done) => {
        writes.push(chunk.toString());
        done();
      },
    });
    const write = lineWriter(output);
    write('one');
    expect(writes).toEqual(['one\n']);
    write('two');
    write('three');
    expect(writes).toEqual(['one\n']);
    await Promise.resolve();
    expect(writes).toEqual(['one\n', 'two\nthree\n']);
    // the last turn had three lines: busy, so even the first line of this turn waits for the end of the turn
    write('four');
    write('five');
    expect(writes).toHaveLength(2);
    await Promise.resolve();
    expect(writes).toEqual(['one\n', 'two\nthree\n', 'four\nfive\n']);
    // after a busy turn a lone line still waits for its turn's end; that quiet turn ends the busy state
    write('six');
    await Promise.resolve();
    expect(writes.at(-1)).toBe('six\n');
    write('seven');
    expect(writes.at(-1)).toBe('seven\n');
  });

  it('writes text lines of one turn together, and a line in parts after the text before it, in order', async () => {
    const output = new PassThrough();
    const chunks: Buffer[] = [];
    output.on('data', (chunk: Buffer) => chunks.push(chunk));
    const write = lineWriter(output);
    write('{"a":1}');
    write('{"b":2}');
    write([new TextEncoder().encode('{"result":{"t":"ü"},'), '"id":3}']);
    write('{"c":4}');
    await new Promise((done) => setImmediate(done));
    expect(Buffer.concat(chunks).toString()).toBe('{"a":1}\n{"b":2}\n{"result":{"t":"ü"},"id":3}\n{"c":4}\n');
  });
});
