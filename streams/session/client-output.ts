/** Outgoing messages to the client, serialized; one over the client's limit is replaced by an error that explains it. */
import { ErrorCode, failure, success, type ClientLine, type JsonRpcId, type JsonRpcMessage } from '../core/jsonrpc.js';

export type { ClientLine };


export interface Outgoing {
  message: JsonRpcMessage;
  /** the message already serialized (a backend's own frame with the client's id): used instead of JSON.stringify */
  line?: ClientLine;
  /** the client request this message belongs to when it is not its response (progress, a backend's request during the call) */
  related?: JsonRpcId;
  /** set on tools/call responses, so an oversized one can say where it came from */
  backend?: string;
  tool?: string;
}

const encoder = new TextEncoder();

/** UTF-8 byte length; the cheap bound settles almost every message without encoding it. */
export function byteLength(text: string, limit: number): number {
  if (text.length * 3 <= limit) return text.length;
  return encoder.encode(text).length;
}

/** the line's UTF-8 size: bytes count as themselves */
function lineBytes(line: ClientLine, limit: number): number {
  if (typeof line === 'string') return byteLength(line, limit);
  let bytes = 0;
  for (const part of line) bytes += typeof part === 'string' ? byteLength(part, limit) : part.length;
  return bytes;
}

export type Serialized = { line: ClientLine } | { line: ClientLine; oversized: { bytes: number; limit: number; outgoing: Outgoing } } | { dropped: { bytes: number; limit: number; outgoing: Outgoing } };

/** A message that cannot be serialized (nested deep enough to overflow the stack) becomes an error, never a crash. */
function stringify(outgoing: Outgoing): string {
  try {
    return JSON.stringify(outgoing.message);
  } catch (error: unknown) {
    const { message } = outgoing;
    if (!('id' in message) || message.id === null) return '';
    const what = `the ${outgoing.tool === undefined ? 'response' : `result of tool '${outgoing.tool}'`}${outgoing.backend === undefined ? '' : ` from backend '${outgoing.backend}'`} cannot be serialized (${error instanceof Error ? error.message : String(error)})`;
    return JSON.stringify(
      outgoing.tool !== undefined
        ? success(message.id, { content: [{ type: 'text', text: what }], isError: true })
        : failure(message.id, ErrorCode.InternalError, what),
    );
  }
}

export function serializeForClient(outgoing: Outgoing, limit: number): Serialized {
  const line = outgoing.line ?? stringify(outgoing);
  if (line === '') return { dropped: { bytes: 0, limit, outgoing } };
  const bytes = lineBytes(line, limit);
  if (bytes <= limit) return { line };
  const { message } = outgoing;
  const oversized = { bytes, limit, outgoing };
  if (!('id' in message) || message.id === null) return { dropped: oversized };
  const where = outgoing.backend === undefined ? '' : ` from backend '${outgoing.backend}'`;
  const what = `${outgoing.tool === undefined ? 'the response' : `the result of tool '${outgoing.tool}'`}${where} is ${bytes} bytes, over the relay's limit of ${limit} bytes per message to the client (maxClientMessageBytes in backends.yaml; stdio clients such as Claude Code drop the whole connection above 10 MB)`;
  const replacement =
    outgoing.tool !== undefined
      ? success(message.id, { content: [{ type: 'text', text: `${what}. Ask the tool for less data (a page, a filter, a summary).` }], isError: true })
      : failure(message.id, ErrorCode.InternalError, what);
  return { line: JSON.stringify(replacement), oversized };
}
