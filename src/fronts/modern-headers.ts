/**
 * The Streamable HTTP headers a 2026-07-28 request must carry, checked against its body (basic/transports/
 * streamable-http): MCP-Protocol-Version equal to the envelope's version, Mcp-Method to the method, and Mcp-Name to
 * params.name (tools/call, prompts/get) or params.uri (resources/read). A value may come as =?base64?...?= (for text
 * a header cannot hold); it is decoded before it is compared. The answer to a failure is 400 with -32020.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { JsonRpcRequest } from '../../streams/core/jsonrpc.js';

/** the methods whose target is named in Mcp-Name, and where the body names it */
const NAMED: Readonly<Record<string, 'name' | 'uri'>> = { 'tools/call': 'name', 'prompts/get': 'name', 'resources/read': 'uri' };

const BASE64 = /^=\?base64\?([A-Za-z0-9+/]*={0,2})\?=$/;

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  if (typeof value !== 'string') return undefined;
  const encoded = BASE64.exec(value);
  return encoded ? Buffer.from(encoded[1] as string, 'base64').toString('utf8') : value;
}

/** what does not match (the -32020 message), or null */
export function headerMismatch(headers: IncomingHttpHeaders, request: JsonRpcRequest, version: string): string | null {
  const declared = headerValue(headers, 'mcp-protocol-version');
  if (declared === undefined) return `Header mismatch: the required MCP-Protocol-Version header is absent (the body says ${version})`;
  if (declared !== version) return `Header mismatch: MCP-Protocol-Version header value '${declared}' does not match body value '${version}'`;
  const method = headerValue(headers, 'mcp-method');
  if (method === undefined) return `Header mismatch: the required Mcp-Method header is absent (the body says ${request.method})`;
  if (method !== request.method) return `Header mismatch: Mcp-Method header value '${method}' does not match body value '${request.method}'`;
  const field = Object.hasOwn(NAMED, request.method) ? NAMED[request.method] : undefined;
  if (field === undefined) return null;
  const body = request.params?.[field];
  const name = headerValue(headers, 'mcp-name');
  if (name === undefined) return `Header mismatch: the required Mcp-Name header is absent (the body's ${field} is ${JSON.stringify(body)})`;
  if (name !== body) return `Header mismatch: Mcp-Name header value '${name}' does not match body value ${JSON.stringify(body)}`;
  return null;
}
