/** The graph's transitions as log events: one object per line, with a stable `event` field. */
import type { BackendStates } from '../backend/backends.js';
import type { BreakerTransition } from '../backend/gate/breaker.js';
import type { Catalogue } from './catalogue.js';
import { healthOf } from './status.js';
import { redactUrl } from '../core/redact.js';

export type RelayEvent = { event: string; level?: 'debug' | 'info' | 'warn' | 'error'; msg?: string } & Record<string, unknown>;

export type EmitEvent = (event: RelayEvent) => void;

/** backend.state on every health or error change, backend.reconnect when a failed backend is tried again. */
export function backendEvents(before: BackendStates, after: BackendStates, catalogueBefore: Catalogue, catalogueAfter: Catalogue): RelayEvent[] {
  const events: RelayEvent[] = [];
  for (const [name, state] of after) {
    const old = before.get(name);
    const health = healthOf(state, catalogueAfter);
    const oldHealth = old && old.generation === state.generation ? healthOf(old, catalogueBefore) : undefined;
    if (state.phase === 'connecting' && old?.phase !== 'connecting' && state.attempts > 0) {
      events.push({ event: 'backend.reconnect', backend: name, attempt: state.attempts + 1, lastError: state.error, level: 'info' });
    }
    if (health !== oldHealth || state.error !== old?.error) {
      events.push({
        event: 'backend.state',
        backend: name,
        url: redactUrl(state.entry.url),
        health,
        phase: state.phase,
        tools: catalogueAfter.perBackend.get(name)?.valid.length ?? 0,
        ...(state.error ? { error: state.error } : {}),
        level: health === 'failed' ? 'warn' : 'info',
      });
    }
    // a replica going down or coming back, even while the backend as a whole serves on
    state.instances?.forEach((instance, index) => {
      const was = old?.generation === state.generation ? old.instances?.[index] : undefined;
      const up = instance.phase === 'connected';
      if (was === undefined ? !up : (was.phase === 'connected') === up) return;
      events.push({ event: 'backend.instance', backend: name, url: redactUrl(instance.entry.url), up, ...(instance.error && !up ? { error: instance.error } : {}), level: up ? 'info' : 'warn' });
    });
  }
  for (const name of before.keys()) if (!after.has(name)) events.push({ event: 'backend.removed', backend: name, level: 'info' });
  return events;
}

/** catalogue.changed with what was added and removed; tool.invalid per new finding. */
export function catalogueEvents(before: Catalogue, after: Catalogue): RelayEvent[] {
  const events: RelayEvent[] = [];
  const added = [...after.routes.keys()].filter((name) => !before.routes.has(name));
  const removed = [...before.routes.keys()].filter((name) => !after.routes.has(name));
  events.push({ event: 'catalogue.changed', tools: after.routes.size, added, removed, level: 'info' });
  const seen = new Set(before.findings.map((finding) => JSON.stringify(finding)));
  for (const finding of after.findings) {
    if (!seen.has(JSON.stringify(finding))) {
      events.push({ event: finding.level === 'invalid' ? 'tool.invalid' : 'tool.warning', ...finding, level: finding.level === 'invalid' ? 'warn' : 'info' });
    }
  }
  return events;
}

/** breaker.open (calls now fail fast until the probe) and breaker.close (a probe call got an answer) */
export function breakerEvent(backend: string, transition: NonNullable<BreakerTransition>): RelayEvent {
  if (transition.to === 'closed') return { event: 'breaker.close', backend, after_failures: transition.failures, level: 'info' };
  return { event: 'breaker.open', backend, failures: transition.failures, reason: transition.reason, retry_at: new Date(transition.retryAt).toISOString(), level: 'warn' };
}
