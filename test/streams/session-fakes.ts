/** Fakes for the server-request and inbound tests: a session whose channel only records what is answered. */
import { vi, type Mock } from 'vitest';
import type { BackendInbound, BackendSession } from '../../streams/backend/connection.js';
import type { JsonRpcId, JsonRpcNotification, JsonRpcRequest } from '../../streams/core/jsonrpc.js';

export interface FakeSession {
  session: BackendSession;
  respond: Mock;
  /** the session's connection ends (its channel reports closed) */
  close: () => void;
}

export function fakeSession(backend: string): FakeSession {
  const respond = vi.fn();
  const channel = { respond, closed: false };
  const session = { backend, channel, protocolVersion: '2025-11-25', serverInfo: {}, capabilities: {} } as unknown as BackendSession;
  return { session, respond, close: () => (channel.closed = true) };
}

export const request = (id: JsonRpcId, method: string, params?: Record<string, unknown>): JsonRpcRequest =>
  params === undefined ? { jsonrpc: '2.0', id, method } : { jsonrpc: '2.0', id, method, params };

export const note = (method: string, params?: Record<string, unknown>): JsonRpcNotification => (params === undefined ? { jsonrpc: '2.0', method } : { jsonrpc: '2.0', method, params });

export const inbound = (fake: FakeSession, message: JsonRpcRequest | JsonRpcNotification): BackendInbound => ({ backend: fake.session.backend, session: fake.session, message });
