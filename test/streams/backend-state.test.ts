import { describe, expect, it } from 'vitest';
import { hasAttempted, initialBackendState, reduceBackendState, type BackendState } from '../../streams/backend/backend-state.js';
import type { BackendEvent } from '../../streams/backend/connection.js';
import { RpcChannel } from '../../streams/rpc/rpc-channel.js';
import { entry, scriptedLink, session, tool } from './helpers.js';
import { NEVER } from 'rxjs';

const alpha = entry('alpha');
const live = session('alpha', new RpcChannel('alpha', scriptedLink(NEVER).link));
const fold = (...events: BackendEvent[]): BackendState => events.reduce(reduceBackendState, initialBackendState(alpha, 3));

describe('reduceBackendState', () => {
  it('starts unknown, with no tools and no attempts', () => {
    expect(initialBackendState(alpha, 3)).toEqual({ entry: alpha, generation: 3, phase: 'unknown', session: null, tools: null, extras: null, error: null, violations: [], attempts: 0 });
    expect(hasAttempted(initialBackendState(alpha, 3))).toBe(false);
    expect(hasAttempted(undefined)).toBe(false);
  });

  it('connects: session, tools, one attempt', () => {
    const state = fold({ type: 'connecting' }, { type: 'connected', session: live, tools: [tool('a')] });
    expect(state).toMatchObject({ phase: 'connected', session: live, tools: [tool('a')], error: null, attempts: 1, generation: 3 });
    expect(hasAttempted(state)).toBe(true);
  });

  it('keeps the last-known tools through a failure and the next attempt', () => {
    const failed = fold({ type: 'connecting' }, { type: 'connected', session: live, tools: [tool('a')] }, { type: 'failed', error: new Error('socket hang up') });
    expect(failed).toMatchObject({ phase: 'failed', session: null, tools: [tool('a')], error: 'socket hang up', attempts: 1 });
    const retrying = reduceBackendState(failed, { type: 'connecting' });
    expect(retrying).toMatchObject({ phase: 'connecting', tools: [tool('a')], error: 'socket hang up' });
  });

  it('counts a failed attempt that never connected', () => {
    expect(fold({ type: 'connecting' }, { type: 'failed', error: new Error('ECONNREFUSED') })).toMatchObject({ phase: 'failed', tools: null, attempts: 1 });
  });

  it('clears the error and violations on the next good session', () => {
    const state = fold(
      { type: 'connecting' },
      { type: 'connected', session: live, tools: [] },
      { type: 'violation', reason: 'frame is not JSON' },
      { type: 'failed', error: new Error('closed') },
      { type: 'connecting' },
      { type: 'connected', session: live, tools: [tool('b')] },
    );
    expect(state).toMatchObject({ phase: 'connected', error: null, violations: [], tools: [tool('b')], attempts: 2 });
  });

  it('keeps only the last five violations', () => {
    const violations = Array.from({ length: 7 }, (_, index): BackendEvent => ({ type: 'violation', reason: `v${index}` }));
    expect(fold({ type: 'connected', session: live, tools: [] }, ...violations).violations).toEqual(['v2', 'v3', 'v4', 'v5', 'v6']);
  });

  it('takes re-listed tools', () => {
    expect(fold({ type: 'connected', session: live, tools: [tool('a')] }, { type: 'tools', tools: [tool('a'), tool('b')] }).tools).toEqual([tool('a'), tool('b')]);
  });
});
