/**
 * subscriptions/listen (MCP 2026-07-28): a modern client's standing request for list changes. The relay acknowledges
 * it at once with what it honours, then tags each list_changed it sends for it with the subscription's id (the
 * listen request's own id), for the kinds the client asked for and only for changes after it asked. The request is
 * never answered: the client ends it (a cancel on stdio and WebSocket, closing the POST's stream on HTTP).
 * Resource subscriptions are not honoured yet: the acknowledgement leaves them out, as the revision allows.
 */
import { ErrorCode, failure, isObjectRecord, notification, type JsonRpcFailure, type JsonRpcId, type JsonRpcRequest } from '../core/jsonrpc.js';
import { META } from '../core/era.js';
import type { Outgoing } from './client-output.js';
import type { ListedKind } from './request-deps.js';

/** the filter's flag for each list kind */
const FLAGS: ReadonlyArray<[ListedKind, string]> = [
  ['tools', 'toolsListChanged'],
  ['prompts', 'promptsListChanged'],
  ['resources', 'resourcesListChanged'],
];

/** a list kind's key in the client's view as it is now (null before the first view) */
export type ListKeys = (kind: ListedKind) => string | null;

interface Subscription {
  kinds: ListedKind[];
  /** the key of each list when it was last announced (or when the subscription began) */
  seen: Map<ListedKind, string | null>;
}

export class ListenSubscriptions {
  private readonly open = new Map<JsonRpcId, Subscription>();

  get size(): number {
    return this.open.size;
  }

  /** a listen request: the acknowledgement to send, or the error to answer it with */
  listen(request: JsonRpcRequest, keys: ListKeys): Outgoing | JsonRpcFailure {
    const filter = request.params?.['notifications'];
    if (!isObjectRecord(filter)) return failure(request.id, ErrorCode.InvalidParams, 'Invalid params: subscriptions/listen needs params.notifications, the filter of what to be told (toolsListChanged, promptsListChanged, resourcesListChanged)');
    if (this.open.has(request.id)) return failure(request.id, ErrorCode.InvalidRequest, `Invalid request: id ${JSON.stringify(request.id)} is already a subscription`);
    const kinds = FLAGS.filter(([, flag]) => filter[flag] === true).map(([kind]) => kind);
    this.open.set(request.id, { kinds, seen: new Map(kinds.map((kind) => [kind, keys(kind)])) });
    const honoured = Object.fromEntries(FLAGS.filter(([kind]) => kinds.includes(kind)).map(([, flag]) => [flag, true]));
    return { message: notification('notifications/subscriptions/acknowledged', { notifications: honoured, _meta: { [META.subscriptionId]: request.id } }), related: request.id };
  }

  /** the view changed: list_changed for each subscription and kind whose list is not what it was */
  changed(keys: ListKeys): Outgoing[] {
    const out: Outgoing[] = [];
    for (const [id, subscription] of this.open) {
      for (const kind of subscription.kinds) {
        const key = keys(kind);
        const before = subscription.seen.get(kind);
        subscription.seen.set(kind, key);
        // the first view after a listen that came before any is its starting point, not a change
        if (before === null || before === key) continue;
        out.push({ message: notification(`notifications/${kind}/list_changed`, { _meta: { [META.subscriptionId]: id } }), related: id });
      }
    }
    return out;
  }

  /** the client ended one (true when it was one) */
  cancel(id: JsonRpcId): boolean {
    return this.open.delete(id);
  }
}
