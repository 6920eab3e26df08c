/**
 * The client's line for a backend's response, made from the backend's own frame by swapping the id: no re-serializing
 * of a result that may be megabytes. Only the two layouts that are unambiguous are touched (the id as the first
 * member after jsonrpc, as most servers write it, or as the last member, as the TypeScript SDK does); anything else,
 * or a frame with a raw line break (legal JSON whitespace, fatal in newline-delimited output), gives null.
 */
import type { JsonRpcId } from './jsonrpc.js';
import type { UndecodedFrame } from './link.js';
import type { ClientLine } from './client-output.js';

export function spliceResponseId(frame: string, backendId: number, clientId: JsonRpcId): string | null {
  if (frame.includes('\n') || frame.includes('\r')) return null;
  const id = JSON.stringify(clientId);
  const tail = `"id":${backendId}}`;
  if (frame.endsWith(tail) && frame.charCodeAt(frame.length - tail.length - 1) === 44 /* , */) return `${frame.slice(0, -tail.length)}"id":${id}}`;
  const head = `{"jsonrpc":"2.0","id":${backendId},`;
  if (frame.startsWith(head)) return `{"jsonrpc":"2.0","id":${id},${frame.slice(head.length)}`;
  return null;
}

/**
 * The same swap on an undecoded frame, never decoding it: the bytes before its trailing id, then the client's id as
 * text. Only the TypeScript SDK layout (id last), and never with a raw line break.
 */
export function spliceUndecodedId(frame: UndecodedFrame, backendId: number, clientId: JsonRpcId): ClientLine | null {
  const tail = `,"id":${backendId}}`;
  if (!frame.tail.endsWith(tail) || frame.includes('\n') || frame.includes('\r')) return null;
  // the tail is ASCII: as many bytes as characters; the comma stays with the bytes
  return [frame.bytes.subarray(0, frame.bytes.length - tail.length + 1), `"id":${JSON.stringify(clientId)}}`];
}
