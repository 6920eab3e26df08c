import { describe, expect, it } from 'vitest';
import { initialBackendState, sessionsOf, type BackendState } from '../../streams/backend/backend-state.js';
import { instanceEntry, mergeInstances } from '../../streams/backend/replicas.js';
import { entry, session, tool } from './helpers.js';
import type { RpcChannel } from '../../streams/rpc/rpc-channel.js';

const service = entry('svc', { replicas: ['ws://a.test/mcp', 'ws://b.test/mcp'] });
const [atA, atB] = service.replicas.map((url) => instanceEntry(service, url)) as [ReturnType<typeof instanceEntry>, ReturnType<typeof instanceEntry>];
const live = (at: typeof atA, tools: unknown[]): BackendState => ({ ...initialBackendState(at, 1), phase: 'connected', session: session('svc', {} as RpcChannel), tools, attempts: 1 });
const down = (at: typeof atA, error: string, attempts = 1): BackendState => ({ ...initialBackendState(at, 1), phase: 'failed', error, attempts });

describe('replicas', () => {
  it('makes each instance the backend at one URL, with the transport of that URL', () => {
    expect(instanceEntry(entry('svc', { replicas: ['ws://a/mcp', 'http://b/mcp'] }), 'http://b/mcp')).toMatchObject({ name: 'svc', url: 'http://b/mcp', transport: 'http', replicas: [] });
  });

  it('is connected while any instance is, with its tools, and offers every connected session', () => {
    const a = live(atA, [tool('t')]);
    const merged = mergeInstances(initialBackendState(service, 1), [a, down(atB, 'ECONNREFUSED')]);
    expect(merged).toMatchObject({ phase: 'connected', tools: [tool('t')], error: null, attempts: 1 });
    expect(sessionsOf(merged)).toEqual([a.session]);
    const both = mergeInstances(merged, [a, live(atB, [tool('t')])]);
    expect(sessionsOf(both)).toHaveLength(2);
  });

  it('keeps the last known tools while no instance is connected, and names each failed instance', () => {
    const before = mergeInstances(initialBackendState(service, 1), [live(atA, [tool('t')]), down(atB, 'refused')]);
    const after = mergeInstances(before, [down(atA, 'reset', 2), down(atB, 'refused', 2)]);
    expect(after).toMatchObject({ phase: 'failed', tools: [tool('t')], error: 'ws://a.test/mcp: reset; ws://b.test/mcp: refused', attempts: 2 });
    expect(after.instances).toHaveLength(2);
  });

  it('counts as attempted once every instance has tried or one has connected', () => {
    const unknown = initialBackendState(atB, 1);
    expect(mergeInstances(initialBackendState(service, 1), [down(atA, 'x'), unknown]).attempts).toBe(0);
    expect(mergeInstances(initialBackendState(service, 1), [live(atA, []), unknown]).attempts).toBe(1);
  });
});
