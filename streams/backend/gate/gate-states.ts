/**
 * Gives every backend in a stream of states its gate (backend-gate.ts): one per name for as long as the name stays,
 * fed from the states themselves: the sessions calls may use, and the connection failures and successes the breaker
 * counts. A name that leaves closes its gate, so a call still waiting for it hears that the backend was removed.
 */
import { defer, map, type MonoTypeOperatorFunction } from 'rxjs';
import { BackendRemovedError } from '../../core/errors.js';
import { sessionsOf, type BackendState } from '../backend-state.js';
import type { BackendStates } from '../backends.js';
import { BackendGate, type GateDeps } from './backend-gate.js';

/** what changed between two states of one connection, for the breaker */
function observe(gate: BackendGate, before: BackendState | undefined, after: BackendState, countFailures: boolean): void {
  if (after.phase === 'connected' && (before?.phase !== 'connected' || before.session !== after.session)) gate.connectSucceeded();
  else if (countFailures && after.phase === 'failed' && after.error !== null && (before?.phase === 'connected' || after.attempts > (before?.attempts ?? 0) || before?.generation !== after.generation)) {
    gate.connectFailed(after.error);
  }
}

export function gateStates(deps: GateDeps): MonoTypeOperatorFunction<BackendStates> {
  return (states$) =>
    defer(() => {
      const gates = new Map<string, BackendGate>();
      const attached = new WeakMap<BackendState, BackendState>();
      let before: BackendStates = new Map();
      return states$.pipe(
        map((states) => {
          const out = new Map<string, BackendState>();
          for (const [name, state] of states) {
            let gate = gates.get(name);
            if (gate === undefined) {
              gate = new BackendGate(name, state.entry.settings, deps);
              gates.set(name, gate);
            }
            const earlier = before.get(name);
            if (earlier !== undefined && earlier.entry !== state.entry) gate.configure(state.entry.settings);
            const sessions = sessionsOf(state);
            if (earlier !== state) {
              const instances = state.instances ?? [state];
              // a replica that fails while another serves is taken out by its own backoff: the backend has not failed
              const countFailures = state.instances === undefined || sessions.length === 0;
              instances.forEach((instance, index) => observe(gate, earlier?.instances?.[index] ?? (earlier?.instances ? undefined : earlier), instance, countFailures));
            }
            gate.setSessions(sessions);
            let withGate = attached.get(state);
            if (withGate === undefined) {
              withGate = { ...state, gate };
              attached.set(state, withGate);
            }
            out.set(name, withGate);
          }
          for (const [name, gate] of gates) {
            if (states.has(name)) continue;
            gate.close(new BackendRemovedError(name));
            gates.delete(name);
          }
          before = states;
          return out;
        }),
      );
    });
}
