/** What a client request's handler may use: the hub's shared views, this client's record, and the call path. */
import type { Observable } from 'rxjs';
import type { BackendStates } from '../backend/backends.js';
import type { Catalogue } from '../catalogue/catalogue.js';
import type { Offers } from '../catalogue/offers.js';
import type { JsonRpcRequest, JsonRpcResponse, JsonRpcFailure } from '../core/jsonrpc.js';
import type { Principal } from '../access/access.js';
import type { ManagementDeps } from '../management/management.js';
import type { ClientRecord } from './client-record.js';
import type { Clients } from './clients.js';
import type { CallDeps } from './call-deps.js';

export type ListedKind = 'tools' | 'resources' | 'prompts';

export interface RequestDeps extends Omit<CallDeps, 'cancelled$'> {
  states$: Observable<BackendStates>;
  catalogue$: Observable<Catalogue>;
  /** the catalogue as it is now, for the hot path */
  currentCatalogue?: () => Catalogue | undefined;
  offers$: Observable<Offers>;
  /** emits (and replays) once the first lists may be answered */
  firstListReady$: Observable<unknown>;
  /** what a list answer showed the client: list_changed compares against it */
  onListed: (kind: ListedKind, key: string) => void;
  /** this client: its log level, subscriptions and calls */
  client: ClientRecord;
  /** every connected client: what the backends must hold for all of them together */
  clients: Clients;
  management: ManagementDeps;
  /** a backend this client has its own session of (isolation: per-client): its subscriptions are its own */
  isIsolated?: (backend: string) => boolean;
  /** the client's initialize: it records what the client declared (and the hub starts the handshakes) */
  onInitialize: (request: JsonRpcRequest) => void;
  /** the client's notifications/initialized */
  onInitialized?: () => void;
  /** the input's end ends the stream at once (a session), instead of when the last request is answered */
  endWithInput?: boolean;
  /** an answer from the client to a request a backend sent it */
  onClientResponse: (response: JsonRpcResponse) => void;
  /** the client's progress on a request a backend sent it */
  onClientProgress: (params: Record<string, unknown> | undefined) => void;
  serverInfo: { name: string; version: string };
  /** who the client is: a principal without admin does not see or use the relay_* tools that change the relay */
  principal?: Principal;
  /** whether a request may go ahead now (its rates): null, or the error to answer it with */
  admit?: (request: JsonRpcRequest) => JsonRpcFailure | null;
  /** the client's cap on requests to backends in flight: beyond it they wait, in order (ping, lists, relay_* never do) */
  maxInFlight?: number;
  /** a request named a tool, prompt or resource this client's view does not have (answered as unknown) */
  onUnknown?: (request: JsonRpcRequest) => void;
  /** whether a notification the relay acts on may go ahead now (a notification cannot be answered: false drops it) */
  admitNotification?: () => boolean;
  /** seeds the table of the client's request ids (the client picks them) */
  idSeed?: number;
  /** the instructions for this client's initialize result, as things are now */
  instructions?: () => string | undefined;
}
