/**
 * The two MCP eras a client may speak: the 2025 revisions (an initialize handshake, then a session) and 2026-07-28
 * (stateless: every request carries its protocol version and client capabilities in params._meta). The era is read
 * per request, from that envelope: a request without it is a 2025 one. Pure: no I/O, no state.
 */
import { ErrorCode, failure, isObjectRecord, type JsonRpcFailure, type JsonRpcRequest, type Params } from './jsonrpc.js';
import { SUPPORTED_PROTOCOL_VERSIONS } from './protocol.js';

export const MODERN_PROTOCOL_VERSION = '2026-07-28';
/** what server/discover and -32022 list: the modern revision first, then the 2025 ones a client may initialize with */
export const ALL_PROTOCOL_VERSIONS: readonly string[] = [MODERN_PROTOCOL_VERSION, ...SUPPORTED_PROTOCOL_VERSIONS];

export const META = {
  protocolVersion: 'io.modelcontextprotocol/protocolVersion',
  clientCapabilities: 'io.modelcontextprotocol/clientCapabilities',
  clientInfo: 'io.modelcontextprotocol/clientInfo',
  logLevel: 'io.modelcontextprotocol/logLevel',
  serverInfo: 'io.modelcontextprotocol/serverInfo',
  subscriptionId: 'io.modelcontextprotocol/subscriptionId',
} as const;

/** the envelope keys a request carries; none of them goes on to a 2025 backend */
const ENVELOPE_KEYS: ReadonlySet<string> = new Set([META.protocolVersion, META.clientCapabilities, META.clientInfo, META.logLevel]);

/** the 2026-07-28 error codes (basic/versioning, transports) */
export const ModernErrorCode = {
  HeaderMismatch: -32020,
  MissingRequiredClientCapability: -32021,
  UnsupportedProtocolVersion: -32022,
} as const;

/** what a modern request declared about its client, for this request alone */
export interface Envelope {
  protocolVersion: string;
  clientCapabilities: Record<string, unknown>;
  clientInfo?: unknown;
  logLevel?: string;
}

export type RequestEra =
  /** no envelope: a 2025 request (its session's initialize said the rest) */
  | { era: 'legacy' }
  /** served statelessly; `request` is the same request without the envelope, as a 2025 backend must see it */
  | { era: 'modern'; envelope: Envelope; request: JsonRpcRequest }
  /** an envelope the relay cannot serve: the answer */
  | { era: 'refused'; answer: JsonRpcFailure };

/**
 * A request's era, from its params._meta. The envelope claim is the protocol version key: a request that names it is
 * modern, and then must be whole (-32602 when clientCapabilities is missing or a field has the wrong type) and name a
 * version the relay serves in that era (-32022 with the list otherwise).
 */
export function requestEra(request: JsonRpcRequest): RequestEra {
  const meta = request.params?.['_meta'];
  if (!isObjectRecord(meta) || !(META.protocolVersion in meta)) return { era: 'legacy' };
  const version = meta[META.protocolVersion];
  const capabilities = meta[META.clientCapabilities];
  const invalid = (key: string, problem: string) =>
    ({ era: 'refused', answer: failure(request.id, ErrorCode.InvalidParams, `Invalid _meta envelope for protocol revision ${MODERN_PROTOCOL_VERSION}: ${key}: ${problem}`, { envelope: { key, problem } }) }) as const;
  if (typeof version !== 'string') return invalid(META.protocolVersion, 'not a string');
  if (version !== MODERN_PROTOCOL_VERSION) {
    return {
      era: 'refused',
      answer: failure(request.id, ModernErrorCode.UnsupportedProtocolVersion, `Unsupported protocol version ${JSON.stringify(version)}: mcp-relay serves ${MODERN_PROTOCOL_VERSION} per request, and the 2025 revisions after an initialize`, {
        supported: ALL_PROTOCOL_VERSIONS,
        requested: version,
      }),
    };
  }
  if (capabilities === undefined) return invalid(META.clientCapabilities, 'missing');
  if (!isObjectRecord(capabilities)) return invalid(META.clientCapabilities, 'not an object');
  const logLevel = meta[META.logLevel];
  if (logLevel !== undefined && typeof logLevel !== 'string') return invalid(META.logLevel, 'not a string');
  const envelope: Envelope = { protocolVersion: version, clientCapabilities: capabilities, ...(META.clientInfo in meta ? { clientInfo: meta[META.clientInfo] } : {}), ...(logLevel === undefined ? {} : { logLevel }) };
  return { era: 'modern', envelope, request: withoutEnvelope(request, meta) };
}

/** the request as a 2025 backend must see it: the envelope keys gone from _meta (and _meta gone when nothing is left) */
function withoutEnvelope(request: JsonRpcRequest, meta: Record<string, unknown>): JsonRpcRequest {
  const kept: Params = {};
  let any = false;
  for (const key in meta) {
    if (ENVELOPE_KEYS.has(key)) continue;
    kept[key] = meta[key];
    any = true;
  }
  const { _meta: _dropped, ...rest } = request.params as Params;
  return { ...request, params: any ? { ...rest, _meta: kept } : rest };
}
