/**
 * Requests a backend sends to the client (sampling, elicitation, roots, ping): forwarded with a relay id, and the
 * client's answer mapped back to that backend's own id. A request the client did not declare it can serve gets -32601.
 */
import type { Outgoing } from './client-output.js';
import type { BackendInbound, BackendSession } from '../backend/connection.js';
import { ErrorCode, failure, notification, type JsonRpcId, type JsonRpcResponse } from '../core/jsonrpc.js';

/** method -> the client capability it needs (null: every client answers it) */
const SERVED: Readonly<Record<string, string | null>> = {
  'sampling/createMessage': 'sampling',
  'elicitation/create': 'elicitation',
  'roots/list': 'roots',
  ping: null,
};

/** the client capability a backend's request needs: null when every client serves it, undefined when the relay forwards no such request */
export const neededCapability = (method: string): string | null | undefined => (Object.hasOwn(SERVED, method) ? SERVED[method] : undefined);

interface Pending {
  backend: string;
  session: BackendSession;
  backendId: JsonRpcId;
  /** the relay token the client sees in place of the backend's progressToken */
  progressToken?: string;
}

interface ProgressRoute {
  session: BackendSession;
  token: unknown;
}

export class ServerRequests {
  private next = 1;
  private readonly pending = new Map<string, Pending>();
  /** relay progress token -> the backend and its own token: the client's progress on a backend's request goes back */
  private readonly progress = new Map<string, ProgressRoute>();

  constructor(
    private readonly clientCapabilities: () => Record<string, unknown>,
    /** a 2026-07-28 client takes no requests: the relay answers the backend itself */
    private readonly modernClient: () => boolean = () => false,
  ) {}

  /** What to send the client for a backend's request; null when it was answered here. */
  forward({ backend, session, message }: BackendInbound, relatedCall?: JsonRpcId): Outgoing | null {
    if (!('id' in message)) return null;
    if (this.modernClient()) {
      session.channel.respond(
        message.method === 'ping'
          ? { jsonrpc: '2.0', id: message.id, result: {} }
          : failure(message.id, ErrorCode.MethodNotFound, `${message.method} cannot reach the client behind mcp-relay: it speaks MCP 2026-07-28, where a server asks a client for input only through an input_required result, which mcp-relay does not translate yet`),
      );
      return null;
    }
    const needed = neededCapability(message.method);
    if (needed === undefined || (needed !== null && this.clientCapabilities()[needed] === undefined)) {
      session.channel.respond(failure(message.id, ErrorCode.MethodNotFound, `${message.method} is not available: the client behind mcp-relay ${needed ? `did not declare the '${needed}' capability` : 'does not serve it'}`));
      return null;
    }
    const relayId = `relay-${this.next++}`;
    // the client call it arrived during: on HTTP it travels on that call's stream
    const related = relatedCall === undefined ? {} : { related: relatedCall };
    const meta = message.params?.['_meta'];
    if (meta && typeof meta === 'object' && 'progressToken' in meta) {
      // tokens of different backends may collide on the client: give it one of ours
      const progressToken = `${relayId}-progress`;
      this.progress.set(progressToken, { session, token: (meta as Record<string, unknown>)['progressToken'] });
      this.pending.set(relayId, { backend, session, backendId: message.id, progressToken });
      return { message: { ...message, id: relayId, params: { ...message.params, _meta: { ...meta, progressToken } } }, backend, ...related };
    }
    this.pending.set(relayId, { backend, session, backendId: message.id });
    return { message: { ...message, id: relayId }, backend, ...related };
  }

  /** The client's answer to a forwarded request; false when the id is not one of ours. */
  resolve(response: JsonRpcResponse): boolean {
    const key = String(response.id);
    const pending = this.pending.get(key);
    if (!pending) return false;
    this.forget(key, pending);
    pending.session.channel.respond({ ...response, id: pending.backendId });
    return true;
  }

  /** The client's progress on a forwarded request, back to the backend under its own token; false when not ours. */
  progressFromClient(params: Record<string, unknown> | undefined): boolean {
    const route = typeof params?.['progressToken'] === 'string' ? this.progress.get(params['progressToken']) : undefined;
    if (!route) return false;
    route.session.channel.notify('notifications/progress', { ...params, progressToken: route.token });
    return true;
  }

  private forget(relayId: string, pending: Pending): void {
    this.pending.delete(relayId);
    if (pending.progressToken !== undefined) this.progress.delete(pending.progressToken);
  }

  /** requests forwarded to the client and not answered yet */
  get waiting(): number {
    return this.pending.size;
  }

  /**
   * Requests whose backend session has ended (its connection closed: the backend went away or reconnected as a new
   * session) or whose backend is no longer configured: nobody can take the client's answer any more, so the client is
   * told they are cancelled instead of working on them.
   */
  withdrawEnded(configured: (backend: string) => boolean): Outgoing[] {
    const withdrawn: Outgoing[] = [];
    for (const [relayId, pending] of [...this.pending]) {
      const removed = !configured(pending.backend);
      if (!removed && !pending.session.channel.closed) continue;
      this.forget(relayId, pending);
      withdrawn.push({
        message: notification('notifications/cancelled', {
          requestId: relayId,
          reason: `backend '${pending.backend}' ${removed ? 'was removed' : 'disconnected'} before the answer; its request is withdrawn`,
        }),
        backend: pending.backend,
      });
    }
    return withdrawn;
  }

  /** The client is gone: every backend still waiting on it gets an error answer, so none waits forever. */
  abandonAll(reason: string): number {
    const waiting = [...this.pending];
    for (const [relayId, pending] of waiting) {
      this.forget(relayId, pending);
      if (!pending.session.channel.closed) pending.session.channel.respond(failure(pending.backendId, ErrorCode.InternalError, `the client this request went to through mcp-relay ${reason} before answering`));
    }
    return waiting.length;
  }

  /** A backend withdrew its own request: tell the client, with the relay id. */
  cancel({ session, message }: BackendInbound): Outgoing | null {
    const requestId = message.params?.['requestId'];
    for (const [relayId, pending] of this.pending) {
      if (pending.session === session && pending.backendId === requestId) {
        this.forget(relayId, pending);
        return { message: notification('notifications/cancelled', { ...message.params, requestId: relayId }) };
      }
    }
    return null;
  }
}
