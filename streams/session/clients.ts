/**
 * The hub's table of connected clients: what the relay declares to backends on their behalf (the union), the log
 * level and subscriptions the backends must hold (the most verbose level, every URI someone wants), and which client
 * a backend's message is for.
 */
import type { BackendInbound } from '../backend/connection.js';
import type { JsonRpcId } from '../core/jsonrpc.js';
import type { ClientStatus } from '../catalogue/status.js';
import type { ClientRecord } from './client-record.js';
import { neededCapability } from './server-requests.js';

/** MCP log levels, most verbose first */
export const LOG_LEVELS = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency'] as const;

export const logRank = (level: unknown): number => LOG_LEVELS.indexOf(level as (typeof LOG_LEVELS)[number]);

/** Where a backend's request to "the client" goes, and why; null record: nobody can take it. */
export interface RequestRoute {
  record: ClientRecord | null;
  /** the client's call it arrived during (its SSE stream carries it, on HTTP) */
  relatedCall?: JsonRpcId;
  /** more than one client could have been meant */
  ambiguous: boolean;
  /** when record is null: why, for the -32601 to the backend */
  reason?: string;
}

export class Clients {
  private readonly records = new Map<string, ClientRecord>();
  private seq = 0;

  add(record: ClientRecord): void {
    this.records.set(record.id, record);
  }

  remove(record: ClientRecord): void {
    this.records.delete(record.id);
  }

  get size(): number {
    return this.records.size;
  }

  /** a hub-wide order of call starts: "started most recently" compares across clients */
  nextSeq(): number {
    return ++this.seq;
  }

  status(): ClientStatus[] {
    return [...this.records.values()].map((record) => record.status());
  }

  /** What the relay declares to backends: every forwarded capability some connected client declared. */
  declared(): Record<string, unknown> {
    const union: Record<string, unknown> = {};
    for (const record of this.records.values()) {
      for (const [name, value] of Object.entries(record.capabilities ?? {})) {
        const before = union[name];
        // two clients' sub-capabilities (elicitation's form and url, say) add up
        union[name] = before !== null && typeof before === 'object' && value !== null && typeof value === 'object' ? { ...before, ...value } : value;
      }
    }
    return union;
  }

  /** the most verbose level any client asked for, or null when none did */
  logLevel(): string | null {
    let best: string | null = null;
    for (const record of this.records.values()) {
      if (record.logLevel !== null && (best === null || logRank(record.logLevel) < logRank(best))) best = record.logLevel;
    }
    return best;
  }

  subscriptions(): Set<string> {
    const uris = new Set<string>();
    for (const record of this.records.values()) for (const uri of record.subscriptions) uris.add(uri);
    return uris;
  }

  /** whether a client other than `except` holds a subscription to the URI (the backend then already has it) */
  subscribedElsewhere(uri: string, except: ClientRecord): boolean {
    for (const record of this.records.values()) if (record !== except && record.subscriptions.has(uri)) return true;
    return false;
  }

  /**
   * A backend's request goes to the client whose call is in flight on that backend; among several, the one that
   * declared the capability and started most recently. With no call in flight there, the capable client active last.
   */
  routeRequest(backend: string, method: string): RequestRoute {
    const needed = neededCapability(method);
    const capable = (record: ClientRecord) => record.capabilities !== null && (needed === null || (needed !== undefined && record.capabilities[needed] !== undefined));
    const busy = [...this.records.values()].filter((record) => record.latestCallOn(backend) !== null);
    if (busy.length > 0) {
      const candidates = busy.filter(capable);
      if (candidates.length === 0) return { record: null, ambiguous: false, reason: `the client whose call is in flight on this backend did not declare the '${needed ?? method}' capability` };
      const latest = (record: ClientRecord) => record.latestCallOn(backend)?.seq ?? 0;
      const record = candidates.reduce((best, next) => (latest(next) > latest(best) ? next : best));
      const relatedCall = record.latestCallOn(backend)?.id;
      return { record, ...(relatedCall === undefined ? {} : { relatedCall }), ambiguous: candidates.length > 1 };
    }
    // with no call in flight there, the request goes to a client that may use the backend at all
    const candidates = [...this.records.values()].filter((record) => record.mayUse(backend) && capable(record));
    if (candidates.length === 0) return { record: null, ambiguous: false, reason: this.records.size === 0 ? 'no client is connected to mcp-relay' : `no connected client that may use this backend declared the '${needed ?? method}' capability` };
    const record = candidates.reduce((best, next) => (next.lastSeq > best.lastSeq || (next.lastSeq === best.lastSeq && next.since > best.since) ? next : best));
    return { record, ambiguous: candidates.length > 1 };
  }

  /** Who hears a backend's notification: each client filters what it is sent (its log level) itself. */
  notificationTargets(inbound: BackendInbound): ClientRecord[] {
    const { message } = inbound;
    const all = [...this.records.values()].filter((record) => record.mayUse(inbound.backend));
    switch (message.method) {
      case 'notifications/resources/updated': {
        const uri = message.params?.['uri'];
        return all.filter((record) => typeof uri === 'string' && record.subscriptions.has(uri));
      }
      case 'notifications/elicitation/complete':
        return all.filter((record) => record.capabilities?.['elicitation'] !== undefined);
      default:
        return all;
    }
  }
}
