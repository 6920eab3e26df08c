/**
 * The client's line for a backend's response, made from the backend's own frame by swapping the id: no re-serializing
 * of a result that may be megabytes. Only the two layouts that are unambiguous are touched (the id as the first
 * member after jsonrpc, as most servers write it, or as the last member, as the TypeScript SDK does); anything else,
 * or a frame with a raw line break (legal JSON whitespace, fatal in newline-delimited output), gives null.
 */
import type { JsonRpcId } from '../core/jsonrpc.js';
import type { UndecodedFrame } from './link.js';
import type { ClientLine } from '../core/jsonrpc.js';

export function spliceResponseId(frame: string, backendId: number, clientId: JsonRpcId): string | null {
  if (frame.includes('\n') || frame.includes('\r')) return null;
  return swapId(frame, String(backendId), JSON.stringify(clientId));
}

/**
 * The backend's frame for a client's request, made from the client's own line with the relay's id: no re-serializing
 * of arguments. The same two layouts (the SDK client writes the id last); null for any other.
 * The line must be one the relay parsed (so valid JSON) with nothing but jsonrpc, id, method and params.
 */
export function spliceRequestId(line: string, clientId: JsonRpcId, backendId: number): string | null {
  const from = JSON.stringify(clientId);
  // id first: a second top-level "id" later in the line would be the one the backend reads (the last one wins), so
  // any later "id" key at all means re-serializing (with id last, the swapped one is the one parsers read)
  if (line.startsWith('{"jsonrpc":"2.0","id":') && line.includes('"id":', 21)) return null;
  return swapId(line, from, String(backendId));
}

/** the top-level id of a JSON-RPC text swapped, from and to given as JSON */
function swapId(text: string, from: string, to: string): string | null {
  const tail = `"id":${from}}`;
  if (text.endsWith(tail) && text.charCodeAt(text.length - tail.length - 1) === 44 /* , */) return `${text.slice(0, -tail.length)}"id":${to}}`;
  const head = `{"jsonrpc":"2.0","id":${from},`;
  if (text.startsWith(head)) return `{"jsonrpc":"2.0","id":${to},${text.slice(head.length)}`;
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
