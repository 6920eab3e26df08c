/** initialize: answered at once, whatever the backends are doing: everything the relay can proxy, each list empty until a backend fills it. */
import { of, type Observable } from 'rxjs';
import { success, type JsonRpcRequest } from '../../core/jsonrpc.js';
import { negotiateProtocolVersion } from '../../core/protocol.js';
import type { Outgoing } from '../client-output.js';
import type { RequestDeps } from '../request-deps.js';

export const RELAY_CAPABILITIES = {
  tools: { listChanged: true },
  resources: { subscribe: true, listChanged: true },
  prompts: { listChanged: true },
  logging: {},
  completions: {},
} as const;

export function initializeReply(request: JsonRpcRequest, deps: RequestDeps): Observable<Outgoing> {
  deps.onInitialize(request);
  const instructions = deps.instructions?.();
  return of({
    message: success(request.id, {
      protocolVersion: negotiateProtocolVersion(request.params?.['protocolVersion']),
      capabilities: RELAY_CAPABILITIES,
      serverInfo: deps.serverInfo,
      ...(instructions ? { instructions } : {}),
    }),
  });
}
