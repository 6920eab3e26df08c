/**
 * A session's two eras in one place: each request's era read from its envelope (a bad envelope or a removed method
 * answered here), 2026-07-28 requests served as 2025 ones without the envelope and their answers shaped back for
 * that era, and subscriptions/listen kept here (never reaching the router). session.ts holds one per client.
 */
import { requestEra } from '../core/era.js';
import type { JsonRpcId } from '../core/jsonrpc.js';
import type { Outgoing } from './client-output.js';
import type { ClientMessage } from './in-flight.js';
import { ListenSubscriptions, type ListKeys } from './listen.js';
import { toModernAnswer } from './modern-answers.js';
import { modernRefusal } from './modern-requests.js';

export interface EraGateDeps {
  send: (outgoing: Outgoing) => void;
  /** the client's first 2026-07-28 request (it never initializes): false when it already speaks 2025 */
  firstModern: () => void;
  listKeys: ListKeys;
  serverInfo: { name: string; version: string };
}

export class EraGate {
  /** the 2026-07-28 requests in flight, by id, with their method: their answers are shaped for that era */
  private readonly modern = new Map<JsonRpcId, string>();
  private readonly listens = new ListenSubscriptions();

  constructor(private readonly deps: EraGateDeps) {}

  /** a client message on its way to the router: as it is, as a 2025 request, or null when it was answered here */
  in(message: ClientMessage): ClientMessage | null {
    if (message.kind === 'notification' && message.message.method === 'notifications/cancelled' && this.listens.size > 0) {
      const id = message.message.params?.['requestId'];
      if ((typeof id === 'string' || typeof id === 'number') && this.listens.cancel(id)) return null;
    }
    if (message.kind !== 'request') return message;
    const era = requestEra(message.message);
    if (era.era === 'legacy') return message;
    if (era.era === 'refused') {
      this.deps.send({ message: era.answer });
      return null;
    }
    const refused = modernRefusal(era.request);
    if (refused !== null) {
      this.deps.send({ message: refused });
      return null;
    }
    this.deps.firstModern();
    if (era.request.method === 'subscriptions/listen') {
      const acknowledged = this.listens.listen(era.request, this.deps.listKeys);
      this.deps.send('message' in acknowledged ? acknowledged : { message: acknowledged });
      return null;
    }
    this.modern.set(era.request.id, era.request.method);
    // without its text: the line held the envelope, which the backends must not see
    return { kind: 'request', message: era.request };
  }

  /** a message to the client: the answer to a 2026-07-28 request is shaped for that era (the request leaves the table) */
  out(outgoing: Outgoing): Outgoing {
    if (this.modern.size === 0) return outgoing;
    const { message } = outgoing;
    if (!('id' in message) || 'method' in message || message.id === null) return outgoing;
    const method = this.modern.get(message.id);
    if (method === undefined) return outgoing;
    this.modern.delete(message.id);
    return toModernAnswer(outgoing, method, this.deps.serverInfo);
  }

  /** the client's view changed: list_changed for the listens that asked */
  viewChanged(): Outgoing[] {
    return this.listens.size === 0 ? [] : this.listens.changed(this.deps.listKeys);
  }
}
