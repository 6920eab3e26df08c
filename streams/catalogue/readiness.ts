/**
 * What /readyz answers: ready once backends.yaml has loaded, every enabled backend has had its first connection
 * attempt and at least one is connected (healthy or degraded); never while shutting down. Derived, never stored.
 */
import { hasAttempted } from '../backend/backend-state.js';
import type { BackendStates } from '../backend/backends.js';
import type { ConfigState } from '../config/config.js';
import type { Catalogue } from './catalogue.js';
import { healthOf } from './status.js';

export interface Readiness {
  ready: boolean;
  /** why not, or what makes it ready */
  reason: string;
  [detail: string]: unknown;
}

export interface ReadinessInput {
  shuttingDown: boolean;
  loadedOnce: boolean;
  config: ConfigState | null;
  states: BackendStates | undefined;
  catalogue: Catalogue | undefined;
}

export function readiness({ shuttingDown, loadedOnce, config, states, catalogue }: ReadinessInput): Readiness {
  if (shuttingDown) return { ready: false, reason: 'shutting down' };
  if (!loadedOnce) return { ready: false, reason: `backends.yaml has not loaded${config?.error ? `: ${config.error.message}` : ''}` };
  const entries = config?.config.backends.filter((entry) => entry.enabled && entry.isolation === 'shared') ?? [];
  if (entries.length === 0) return { ready: false, reason: 'no backend is enabled in backends.yaml' };
  const untried = entries.filter((entry) => !hasAttempted(states?.get(entry.name))).map((entry) => entry.name);
  if (untried.length > 0 || !states || !catalogue) return { ready: false, reason: 'waiting for the first connection attempt of some backends', untried };
  const serving = entries.filter((entry) => ['healthy', 'degraded'].includes(healthOf(states.get(entry.name), catalogue))).map((entry) => entry.name);
  if (serving.length === 0) return { ready: false, reason: 'no backend is connected', backends: entries.map((entry) => ({ name: entry.name, error: states.get(entry.name)?.error ?? null })) };
  return { ready: true, reason: `${serving.length} of ${entries.length} backends connected`, connected: serving };
}
