/**
 * What a 2026-07-28 request may ask of the relay: the revision removed ping, logging/setLevel, resources/subscribe and
 * unsubscribe, and the handshake; those get -32601 with what to use instead. Toward modern clients only.
 */
import { ErrorCode, failure, type JsonRpcFailure, type JsonRpcRequest } from '../core/jsonrpc.js';
import { MODERN_PROTOCOL_VERSION } from '../core/era.js';

const REMOVED: Readonly<Record<string, string>> = {
  initialize: 'a 2026-07-28 request needs no handshake: send initialize without the _meta envelope to start a 2025 session instead',
  ping: 'the revision removed ping',
  'logging/setLevel': 'the revision removed it: put io.modelcontextprotocol/logLevel in each request\'s _meta',
  'resources/subscribe': 'the revision replaced it with subscriptions/listen',
  'resources/unsubscribe': 'the revision replaced it with subscriptions/listen',
};

export function modernRefusal(request: JsonRpcRequest): JsonRpcFailure | null {
  const why = Object.hasOwn(REMOVED, request.method) ? REMOVED[request.method] : undefined;
  return why === undefined ? null : failure(request.id, ErrorCode.MethodNotFound, `Method not found: ${request.method} is not served in MCP ${MODERN_PROTOCOL_VERSION}: ${why}`);
}
