/** The relay's status, derived from config, backend states and catalogue: never stored, so never stale. */
import type { BackendState } from '../backend/backend-state.js';
import type { GateSnapshot } from '../backend/gate/backend-gate.js';
import type { BreakerSnapshot } from '../backend/gate/breaker.js';
import type { BackendStates } from '../backend/backends.js';
import type { Catalogue } from './catalogue.js';
import type { ConfigState } from '../config/config.js';
import { redactUrl } from '../core/redact.js';
import type { BackendEntry } from '../config/schema.js';

export type Health = 'unknown' | 'connecting' | 'healthy' | 'degraded' | 'failed';

export interface ServerStatus {
  name: string;
  url: string;
  enabled: boolean;
  connected: boolean;
  health: Health;
  tools: number;
  tool_names: string[];
  invalid_tools: number;
  /** requests the relay has in flight on its connection now */
  calls_in_flight: number;
  error?: string;
  warnings?: string[];
  /** per-client: each client has its own session of it, shown under clients[].backends */
  isolation?: 'per-client';
  /** its circuit breaker: state, consecutive failures, when the next probe may go */
  breaker?: BreakerSnapshot;
  /** calls waiting for it (a reconnect, a free slot), and those the queue's bounds refused */
  queue?: GateSnapshot['queue'];
  /** forwarded calls in flight through the gate, and the cap (maxInFlight) */
  forwarded_in_flight?: number;
  max_in_flight?: number;
  /** a replicated backend (`urls:`): each instance */
  instances?: InstanceStatus[];
}

export interface InstanceStatus {
  url: string;
  connected: boolean;
  calls_in_flight: number;
  error?: string;
}

/** one connected client, as status shows it */
export interface ClientStatus {
  id: string;
  front: 'stdio' | 'ws' | 'http';
  remote?: string;
  principal?: string;
  connected_since: string;
  initialized: boolean;
  client_info?: unknown;
  calls_in_flight: number;
  calls_done: number;
  subscriptions: number;
  log_level?: string;
  /** its own sessions of the per-client backends */
  backends?: Array<{ name: string; url: string; connected: boolean; health: Health; tools: number; error?: string }>;
}

export interface RelayStatus {
  total_servers: number;
  connected_servers: number;
  total_tools: number;
  config_file: string;
  config_error?: string;
  /** how long calls in flight get to finish on SIGTERM */
  shutdown_grace_ms: number;
  servers: ServerStatus[];
  clients?: ClientStatus[];
  /** what the network fronts refused since start (auth, limits), by kind: shown to admins */
  security?: Record<string, number>;
}

export function healthOf(state: BackendState | undefined, catalogue: Catalogue): Health {
  if (!state || state.phase === 'unknown') return 'unknown';
  if (state.phase === 'connecting') return state.error === null ? 'connecting' : 'failed';
  if (state.phase === 'failed') return 'failed';
  const invalid = catalogue.findings.some((finding) => finding.backend === state.entry.name && finding.level === 'invalid');
  return invalid || state.violations.length > 0 ? 'degraded' : 'healthy';
}

function serverStatus(entry: BackendEntry, state: BackendState | undefined, catalogue: Catalogue): ServerStatus {
  if (entry.isolation === 'per-client') {
    return { name: entry.name, url: redactUrl(entry.url), enabled: entry.enabled, connected: false, health: 'unknown', tools: 0, tool_names: [], invalid_tools: 0, calls_in_flight: 0, isolation: 'per-client' };
  }
  const tools = catalogue.perBackend.get(entry.name);
  const findings = catalogue.findings.filter((finding) => finding.backend === entry.name);
  const describe = (level: 'invalid' | 'warning') =>
    findings.filter((finding) => finding.level === level).map((finding) => `${finding.tool ?? '<unnamed tool>'}: ${finding.reason}`);
  const errors = [
    ...(state?.error && state.phase !== 'connected' ? [state.error] : []),
    ...(state?.violations ?? []).map((violation) => `protocol error: ${violation}`),
    ...describe('invalid').map((reason) => `invalid tool ${reason}`),
  ];
  const warnings = describe('warning');
  const gate = state?.gate?.snapshot();
  return {
    name: entry.name,
    url: redactUrl(entry.url),
    enabled: entry.enabled,
    connected: state?.phase === 'connected',
    health: entry.enabled ? healthOf(state, catalogue) : 'unknown',
    tools: tools?.valid.length ?? 0,
    tool_names: tools?.valid ?? [],
    invalid_tools: tools?.invalid ?? 0,
    calls_in_flight: state?.session?.channel.inFlight ?? 0,
    ...(entry.enabled ? {} : { error: 'disabled in the config (enabled: false)' }),
    ...(entry.enabled && errors.length > 0 ? { error: errors.join('; ') } : {}),
    ...(warnings.length > 0 ? { warnings } : {}),
    ...(gate === undefined ? {} : { breaker: gate.breaker, queue: gate.queue, forwarded_in_flight: gate.in_flight, max_in_flight: gate.max_in_flight }),
    ...(state?.instances === undefined ? {} : { instances: state.instances.map((instance) => instanceStatus(instance, state)) }),
  };
}

function instanceStatus(instance: BackendState, backend: BackendState): InstanceStatus {
  const connected = instance.phase === 'connected' && instance.session !== null;
  return {
    url: redactUrl(instance.entry.url),
    connected,
    calls_in_flight: connected && backend.gate ? backend.gate.loadOf(instance.session as NonNullable<BackendState['session']>) : 0,
    ...(instance.error !== null && !connected ? { error: instance.error } : {}),
  };
}

export function buildStatus(file: string, config: ConfigState, states: BackendStates, catalogue: Catalogue, clients?: ClientStatus[], security?: Record<string, number>): RelayStatus {
  const servers = config.config.backends.map((entry) => serverStatus(entry, states.get(entry.name), catalogue));
  return {
    total_servers: servers.length,
    connected_servers: servers.filter((server) => server.connected).length,
    total_tools: catalogue.routes.size,
    config_file: file,
    ...(config.error ? { config_error: config.error.message } : {}),
    shutdown_grace_ms: config.config.shutdownGraceMs,
    servers,
    ...(clients === undefined ? {} : { clients }),
    ...(security === undefined ? {} : { security }),
  };
}
