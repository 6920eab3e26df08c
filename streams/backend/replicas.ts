/**
 * A replicated backend (`urls:`): one service, several instances with the same tools. Each instance has a life of
 * its own (connect, keep alive, back off when it fails); the backend's state merges theirs. It is connected while
 * any instance is, and its catalogue is the backend's: the tools of a connected instance, or the last known while
 * none is, so one instance dropping is no catalogue change. The gate sends each call to the least busy instance.
 */
import type { BackendEntry } from '../config/schema.js';
import type { BackendState, Phase } from './backend-state.js';

/** an instance is the backend's entry at one of its URLs (same name: errors and events name the backend) */
export const instanceEntry = (entry: BackendEntry, url: string): BackendEntry => ({ ...entry, url, transport: /^wss?:/i.test(url) ? 'ws' : 'http', replicas: [] });

function mergedPhase(instances: readonly BackendState[]): Phase {
  if (instances.some((instance) => instance.phase === 'connected')) return 'connected';
  if (instances.some((instance) => instance.phase === 'connecting')) return 'connecting';
  if (instances.every((instance) => instance.phase === 'unknown')) return 'unknown';
  return 'failed';
}

export function mergeInstances(previous: BackendState, instances: readonly BackendState[]): BackendState {
  const phase = mergedPhase(instances);
  const connected = instances.filter((instance) => instance.phase === 'connected' && instance.session !== null);
  const listed = connected.find((instance) => instance.tools !== null);
  const failed = instances.filter((instance) => instance.error !== null);
  return {
    entry: previous.entry,
    generation: previous.generation,
    phase,
    session: connected[0]?.session ?? null,
    tools: listed?.tools ?? previous.tools,
    extras: listed?.extras ?? previous.extras,
    instructions: listed === undefined ? (previous.instructions ?? null) : (listed.instructions ?? null),
    // the backend is in error only when no instance serves; otherwise the failed instances show in status
    error: phase === 'connected' || failed.length === 0 ? null : failed.map((instance) => `${instance.entry.url}: ${instance.error}`).join('; '),
    violations: connected.flatMap((instance) => instance.violations),
    // attempted once an instance connected, or every instance has tried once
    attempts: phase === 'connected' ? Math.max(...instances.map((instance) => instance.attempts)) : Math.min(...instances.map((instance) => instance.attempts)),
    instances,
  };
}
