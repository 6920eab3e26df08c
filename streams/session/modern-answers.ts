/**
 * A 2025-shaped answer turned into what a 2026-07-28 client expects of it: every result says its resultType and the
 * server it came from (_meta io.modelcontextprotocol/serverInfo); list results and resources/read say how long they
 * may be cached and by whom; a resource that does not exist is -32602 (2025 backends say -32002). One place, one
 * direction: toward modern clients. The relay's own errors pass as they are.
 */
import { ErrorCode, isObjectRecord, type ClientLine, type JsonRpcResponse } from '../core/jsonrpc.js';
import { META } from '../core/era.js';
import type { Outgoing } from './client-output.js';

/** the results the revision makes cacheable (CacheableResult): ttlMs and cacheScope are required on them */
const CACHEABLE: ReadonlySet<string> = new Set(['tools/list', 'resources/list', 'resources/templates/list', 'prompts/list', 'resources/read', 'server/discover']);

/** 2025's resource-not-found code (the 2026-07-28 revision answers it with -32602) */
const LEGACY_RESOURCE_NOT_FOUND = -32002;

/**
 * The relay's answers are computed from backends that change live and from what this principal may see: a client
 * caches none of them (0 ms, private). list_changed (subscriptions/listen) is how a client learns of a change.
 */
export const CACHE_FIELDS = { ttlMs: 0, cacheScope: 'private' } as const;

export function toModernAnswer(outgoing: Outgoing, method: string, serverInfo: { name: string; version: string }): Outgoing {
  if (!('id' in outgoing.message) || 'method' in outgoing.message) return outgoing;
  const cacheable = CACHEABLE.has(method);
  // a backend's own frame, passed through unparsed (a success: errors are always parsed): resultType goes in at the
  // front of its result. Not serverInfo: the result may carry a _meta of its own, and a second _meta key is ambiguous
  if (outgoing.line !== undefined && !cacheable) {
    const line = spliceResultType(outgoing.line);
    if (line !== null) return { ...outgoing, line };
  }
  // otherwise the answer is shaped whole; a line passed through stands for the message (then only a stub)
  const response = (outgoing.line === undefined ? outgoing.message : JSON.parse(lineText(outgoing.line))) as JsonRpcResponse;
  const { line: _line, ...rest } = outgoing;
  if ('error' in response) {
    if (response.error.code !== LEGACY_RESOURCE_NOT_FOUND) return { ...rest, message: response };
    return { ...rest, message: { ...response, error: { ...response.error, code: ErrorCode.InvalidParams } } };
  }
  const result = response.result;
  const meta = isObjectRecord(result['_meta']) ? result['_meta'] : {};
  const shaped = {
    ...result,
    resultType: typeof result['resultType'] === 'string' ? result['resultType'] : 'complete',
    ...(cacheable ? CACHE_FIELDS : {}),
    _meta: { ...meta, [META.serverInfo]: serverInfo },
  };
  return { ...rest, message: { ...response, result: shaped } };
}

const decoder = new TextDecoder();
const lineText = (line: ClientLine): string => (typeof line === 'string' ? line : line.map((part) => (typeof part === 'string' ? part : decoder.decode(part))).join(''));

const RESULT_FIRST = '{"result":{';

/** `"resultType":"complete"` as the result's first member of a frame written result-first (the TypeScript SDK's layout); null otherwise */
function spliceResultType(line: ClientLine): ClientLine | null {
  if (typeof line === 'string') {
    if (!line.startsWith(RESULT_FIRST) || line.charCodeAt(RESULT_FIRST.length) === 125 /* } */ || line.includes('"resultType"')) return null;
    return `${RESULT_FIRST}"resultType":"complete",${line.slice(RESULT_FIRST.length)}`;
  }
  return null;
}
