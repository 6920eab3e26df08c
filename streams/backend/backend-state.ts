/** A backend's state, folded from its life events. Last-known tools survive a failure: a blip is not a catalogue change. */
import { NO_EXTRAS, type BackendEvent, type BackendSession, type Extras } from './connection.js';
import type { BackendEntry } from '../config/schema.js';
import type { BackendGate } from './gate/backend-gate.js';

export type Phase = 'unknown' | 'connecting' | 'connected' | 'failed';

export interface BackendState {
  readonly entry: BackendEntry;
  /** distinguishes this life from an earlier one of the same name (a changed entry) */
  readonly generation: number;
  readonly phase: Phase;
  readonly session: BackendSession | null;
  /** last-known tool list, kept while reconnecting; null until first listed */
  readonly tools: readonly unknown[] | null;
  /** last-known resources, templates and prompts, kept like tools; null until first listed */
  readonly extras: Extras | null;
  /** the backend's own instructions from its last handshake, kept like tools; null when it gave none */
  readonly instructions?: string | null;
  /** the last connection error, kept until the next healthy session */
  readonly error: string | null;
  /** protocol violations seen on the current session */
  readonly violations: readonly string[];
  /** connection attempts that have ended, connected or failed */
  readonly attempts: number;
  /** the way calls go to it (breaker, queue, slots): attached by gateStates, shared by every state of the backend */
  readonly gate?: BackendGate;
  /** a replicated backend (`urls:`): each instance's own state; `session` is then the first connected one */
  readonly instances?: readonly BackendState[];
}

/** the sessions calls may go to: one, or one per connected instance */
export function sessionsOf(state: BackendState): readonly BackendSession[] {
  if (state.instances === undefined) return state.phase === 'connected' && state.session !== null ? [state.session] : [];
  return state.instances.flatMap((instance) => (instance.phase === 'connected' && instance.session !== null ? [instance.session] : []));
}

export const initialBackendState = (entry: BackendEntry, generation: number): BackendState => ({
  entry,
  generation,
  phase: 'unknown',
  session: null,
  tools: null,
  extras: null,
  error: null,
  violations: [],
  attempts: 0,
});

const MAX_VIOLATIONS = 5;

export function reduceBackendState(state: BackendState, event: BackendEvent): BackendState {
  switch (event.type) {
    case 'connecting':
      return { ...state, phase: 'connecting', session: null };
    case 'connected':
      return { ...state, phase: 'connected', session: event.session, tools: event.tools, extras: event.extras ?? NO_EXTRAS, instructions: event.session.instructions ?? null, error: null, violations: [], attempts: state.attempts + 1 };
    case 'tools':
      return { ...state, tools: event.tools };
    case 'extras':
      return { ...state, extras: event.extras };
    case 'inbound':
      // messages for the client do not change the backend's state
      return state;
    case 'violation':
      return { ...state, violations: [...state.violations, event.reason].slice(-MAX_VIOLATIONS) };
    case 'failed':
      return {
        ...state,
        phase: 'failed',
        session: null,
        error: event.error.message,
        // a session that dies after connecting already counted its attempt
        attempts: state.phase === 'connected' ? state.attempts : state.attempts + 1,
      };
  }
}

/** Whether the first connection attempt has ended, one way or the other. */
export const hasAttempted = (state: BackendState | undefined): boolean => state !== undefined && state.attempts > 0;
