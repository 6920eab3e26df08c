/**
 * What the hub knows of one connected client: who it is, what it declared, what it set up on the backends, and its
 * calls in flight per backend (a backend's request to "the client" goes to the one whose call it is serving).
 */
import type { BackendInbound } from '../backend/connection.js';
import type { ClientStatus } from '../catalogue/status.js';
import type { IsolatedBackendStatus } from './view.js';
import type { JsonRpcId } from '../core/jsonrpc.js';

export type Front = ClientStatus['front'];

export interface ClientIdentity {
  /** a UUID, in status and in every event about this client */
  id: string;
  front: Front;
  /** ip:port of a network client */
  remote?: string;
  /** who it authenticated as (a token's name, a JWT's subject); absent for the stdio user */
  principal?: string;
}

/** a client's call in flight on one backend, in the order calls started anywhere (a hub-wide sequence) */
interface InFlightCall {
  id: JsonRpcId;
  seq: number;
}


export class ClientRecord {
  /** the capabilities it declared that the relay forwards (sampling, elicitation, roots); null before initialize */
  capabilities: Record<string, unknown> | null = null;
  /**
   * the era it speaks: legacy once it initialized (a 2025 session, whatever else it sends), modern while it has only
   * sent 2026-07-28 requests (the relay then sends it nothing unasked: no requests, no notifications), unknown before
   */
  era: 'unknown' | 'legacy' | 'modern' = 'unknown';
  clientInfo: unknown = undefined;
  /** its last logging/setLevel */
  logLevel: string | null = null;
  /** URIs it subscribed to and has not unsubscribed */
  readonly subscriptions = new Set<string>();
  callsDone = 0;
  /** its own sessions of per-client backends, for status */
  isolatedStatus: () => IsolatedBackendStatus[] = () => [];
  /** the sequence number of its latest call start: who was active last */
  lastSeq = 0;
  private inFlightCount = 0;
  /** per backend, its calls there in start order (a handful at most in practice: a linear scan is cheapest) */
  private readonly onBackend = new Map<string, InFlightCall[]>();

  /** whether its principal may use the backend: a backend's request or notification goes to no one else */
  mayUse: (backend: string) => boolean = () => true;

  /** a message from a backend that the hub routed to this client (set by its session while it runs) */
  deliver: (inbound: BackendInbound, relatedCall?: JsonRpcId) => void = () => undefined;

  constructor(
    readonly identity: ClientIdentity,
    /** wall-clock ms when it connected */
    readonly since: number,
  ) {}

  get id(): string {
    return this.identity.id;
  }

  get callsInFlight(): number {
    return this.inFlightCount;
  }

  callStarted(backend: string, id: JsonRpcId, seq: number): void {
    let calls = this.onBackend.get(backend);
    if (!calls) this.onBackend.set(backend, (calls = []));
    calls.push({ id, seq });
    this.inFlightCount++;
    this.lastSeq = seq;
  }

  callEnded(backend: string, id: JsonRpcId): void {
    const calls = this.onBackend.get(backend);
    const index = calls ? calls.findIndex((call) => call.id === id) : -1;
    if (!calls || index === -1) return;
    calls.splice(index, 1);
    if (calls.length === 0) this.onBackend.delete(backend);
    this.inFlightCount--;
    this.callsDone++;
  }

  /** its most recent call still in flight on the backend, or null */
  latestCallOn(backend: string): InFlightCall | null {
    return this.onBackend.get(backend)?.at(-1) ?? null;
  }

  status(): ClientStatus {
    const { id, front, remote, principal } = this.identity;
    const isolated = this.isolatedStatus();
    return {
      id,
      front,
      ...(remote === undefined ? {} : { remote }),
      ...(principal === undefined ? {} : { principal }),
      connected_since: new Date(this.since).toISOString(),
      initialized: this.capabilities !== null,
      ...(this.clientInfo === undefined ? {} : { client_info: this.clientInfo }),
      calls_in_flight: this.inFlightCount,
      calls_done: this.callsDone,
      subscriptions: this.subscriptions.size,
      ...(this.logLevel === null ? {} : { log_level: this.logLevel }),
      ...(isolated.length === 0 ? {} : { backends: isolated }),
    };
  }
}
