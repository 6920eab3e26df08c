/** Messages from backends to the client: log messages tagged with their backend, resource updates, server requests. */
import type { Outgoing } from './client-output.js';
import type { BackendInbound } from '../backend/connection.js';
import { isObjectRecord, notification, type JsonRpcId, type JsonRpcRequest } from '../core/jsonrpc.js';
import type { ServerRequests } from './server-requests.js';

/** The client capabilities a backend may rely on, because the relay forwards what they bring. */
const FORWARDED_CAPABILITIES = ['sampling', 'elicitation', 'roots'] as const;

export function declaredToBackends(initialize: { message?: JsonRpcRequest } | { kind: string }): Record<string, unknown> {
  const message = 'message' in initialize ? initialize.message : undefined;
  const capabilities = message?.params?.['capabilities'];
  if (!isObjectRecord(capabilities)) return {};
  return Object.fromEntries(FORWARDED_CAPABILITIES.filter((name) => capabilities[name] !== undefined).map((name) => [name, capabilities[name]]));
}

/** What the client should see of one inbound message; null when nothing (or when it was answered here). */
export function toClient(inbound: BackendInbound, requests: ServerRequests, relatedCall?: JsonRpcId): Outgoing | null {
  const { backend, message } = inbound;
  if ('id' in message) return requests.forward(inbound, relatedCall);
  switch (message.method) {
    case 'notifications/message': {
      const params = message.params ?? {};
      const logger = typeof params['logger'] === 'string' ? `${backend}/${params['logger']}` : backend;
      return { message: notification(message.method, { ...params, logger }), backend };
    }
    case 'notifications/resources/updated':
    case 'notifications/elicitation/complete':
      return { message: notification(message.method, message.params), backend };
    case 'notifications/cancelled':
      return requests.cancel(inbound);
    default:
      return null;
  }
}
