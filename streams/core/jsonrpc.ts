/** JSON-RPC 2.0 message shapes and classification, as MCP uses them. */

export type JsonRpcId = string | number;
export type Params = Record<string, unknown>;

export interface JsonRpcRequest {
  jsonrpc: '2.0';
  id: JsonRpcId;
  method: string;
  params?: Params;
}

export interface JsonRpcNotification {
  jsonrpc: '2.0';
  method: string;
  params?: Params;
}

export interface JsonRpcErrorObject {
  code: number;
  message: string;
  data?: unknown;
}

export interface JsonRpcSuccess {
  jsonrpc: '2.0';
  id: JsonRpcId;
  result: Record<string, unknown>;
}

export interface JsonRpcFailure {
  jsonrpc: '2.0';
  id: JsonRpcId | null;
  error: JsonRpcErrorObject;
}

export type JsonRpcResponse = JsonRpcSuccess | JsonRpcFailure;
export type JsonRpcMessage = JsonRpcRequest | JsonRpcNotification | JsonRpcResponse;

export const ErrorCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  /** relay-defined, in the server error range but clear of the SDK's -32000/-32001 and MCP's -32002 (resource not found) */
  BackendUnavailable: -32051,
  CallTimeout: -32052,
  OutcomeUnknown: -32053,
  BackendRemoved: -32054,
  /** the backend answered with something that is not a valid answer (a result that is not an object, say) */
  BackendProtocolError: -32055,
  /** the client's rate limit or its limit on requests in flight: data.retryAfterMs says when to try again */
  RateLimited: -32056,
  /** a relay_* tool that needs a principal with admin: true */
  Forbidden: -32057,
  /** the backend's circuit breaker is open: calls fail fast until its next probe (data.retryAfterMs) */
  CircuitOpen: -32058,
  /** the backend's queue of waiting calls is full, or a call waited in it past maxWaitMs */
  QueueFull: -32059,
  QueueTimeout: -32060,
  /** the relay is shutting down: the call was not started, or did not finish within shutdownGraceMs */
  ShuttingDown: -32061,
} as const;

export type Classified =
  /** text: the line as it came, when parsed from one (a forwarded request can reuse it with another id) */
  | { kind: 'request'; message: JsonRpcRequest; text?: string }
  | { kind: 'notification'; message: JsonRpcNotification }
  | { kind: 'response'; message: JsonRpcResponse }
  | { kind: 'invalid'; id: JsonRpcId | null; reason: string };

const isId = (value: unknown): value is JsonRpcId =>
  typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value));

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Sorts a parsed value into request, notification, response or invalid (with the reason); a request keeps its text. */
export function classify(value: unknown, text?: string): Classified {
  if (!isObject(value)) return { kind: 'invalid', id: null, reason: 'a JSON-RPC message must be a JSON object' };
  // a malformed response keeps no id: an error answered with its id would look like the answer to a request of the
  // peer's own with that id
  const responseShaped = !('method' in value) && ('result' in value || 'error' in value);
  const id = isId(value['id']) && !responseShaped ? value['id'] : null;
  if (value['jsonrpc'] !== '2.0') return { kind: 'invalid', id, reason: 'jsonrpc must be "2.0"' };
  if ('params' in value && value['params'] !== undefined && !isObject(value['params']) && !Array.isArray(value['params'])) {
    return { kind: 'invalid', id, reason: 'params must be an object' };
  }
  if (typeof value['method'] === 'string') {
    if (!('id' in value)) return { kind: 'notification', message: value as unknown as JsonRpcNotification };
    if (id === null) return { kind: 'invalid', id: null, reason: 'id must be a string or a number' };
    return text === undefined ? { kind: 'request', message: value as unknown as JsonRpcRequest } : { kind: 'request', message: value as unknown as JsonRpcRequest, text };
  }
  if ('method' in value) return { kind: 'invalid', id, reason: 'method must be a string' };
  if ('result' in value || 'error' in value) {
    if (!isId(value['id']) && !('error' in value)) return { kind: 'invalid', id: null, reason: 'a response needs an id' };
    return { kind: 'response', message: value as unknown as JsonRpcResponse };
  }
  return { kind: 'invalid', id, reason: 'not a request, notification or response' };
}

/** Parses one line or frame; never throws. */
export function parseMessage(text: string): Classified | { kind: 'parse-error'; reason: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error: unknown) {
    return { kind: 'parse-error', reason: error instanceof Error ? error.message : String(error) };
  }
  return classify(value, text);
}

export const success = (id: JsonRpcId, result: Record<string, unknown>): JsonRpcSuccess => ({ jsonrpc: '2.0', id, result });

export const failure = (id: JsonRpcId | null, code: number, message: string, data?: unknown): JsonRpcFailure =>
  data === undefined ? { jsonrpc: '2.0', id, error: { code, message } } : { jsonrpc: '2.0', id, error: { code, message, data } };

export const notification = (method: string, params?: Params): JsonRpcNotification =>
  params === undefined ? { jsonrpc: '2.0', method } : { jsonrpc: '2.0', method, params };

export const isObjectRecord = isObject;

/**
 * One line for the client, without its newline: text, or parts written in order (a large backend frame passed on as
 * the bytes it arrived in, then the client's id as text), so 8 MB is never decoded and encoded back.
 */
export type ClientLine = string | readonly (string | Uint8Array)[];
