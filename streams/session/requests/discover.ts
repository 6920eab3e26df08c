/** server/discover (MCP 2026-07-28): answered at once from what the relay knows, never waiting for a backend. */
import { of, type Observable } from 'rxjs';
import { ALL_PROTOCOL_VERSIONS, META } from '../../core/era.js';
import { success, type JsonRpcRequest } from '../../core/jsonrpc.js';
import type { Outgoing } from '../client-output.js';
import { CACHE_FIELDS } from '../modern-answers.js';
import type { RequestDeps } from '../request-deps.js';

/**
 * What a 2026-07-28 client may use: tools, resources, prompts, completions and per-request logging; list changes
 * through subscriptions/listen (session/listen.ts). Not resource subscriptions: listen does not honour them yet.
 */
export const MODERN_CAPABILITIES = { tools: { listChanged: true }, resources: { listChanged: true }, prompts: { listChanged: true }, logging: {}, completions: {} } as const;

export function discoverReply(request: JsonRpcRequest, deps: RequestDeps): Observable<Outgoing> {
  const instructions = deps.instructions?.();
  return of({
    message: success(request.id, {
      resultType: 'complete',
      supportedVersions: ALL_PROTOCOL_VERSIONS,
      capabilities: MODERN_CAPABILITIES,
      ...(instructions ? { instructions } : {}),
      ...CACHE_FIELDS,
      _meta: { [META.serverInfo]: deps.serverInfo },
    }),
  });
}
