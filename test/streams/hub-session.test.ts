import { EMPTY, map, merge, type Observable } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { RelayEvent } from '../../streams/catalogue/events.js';
import type { ConfigInput } from '../../streams/config/config.js';
import { parseMessage } from '../../streams/core/jsonrpc.js';
import { MANAGEMENT_TOOLS } from '../../streams/management/management.js';
import { createHub, type Hub, type HubDeps } from '../../streams/hub.js';
import { session, SessionCrashError, type SessionOutput } from '../../streams/session.js';
import { fakeBackends, identity, scheduler, tool } from './helpers.js';

const CONFIG = ['defaults:', '  backoff:', '    initialMs: 10', 'backends:', '  - name: alpha', '    url: ws://alpha.test/mcp', ''].join('\n');
const text = (body: string): ConfigInput => ({ kind: 'text', text: body });
const line = (message: Record<string, unknown>) => JSON.stringify({ jsonrpc: '2.0', ...message });
// prettier-ignore
const client = {
  i: line({ id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'test', version: '1' } } }),
  l: line({ id: 2, method: 'tools/list' }),
};
const listed = (id: number, tools: unknown[]) => ({ jsonrpc: '2.0', id, result: { tools: [...MANAGEMENT_TOOLS, ...tools] } });

function hubDeps(overrides: Partial<HubDeps>, events: RelayEvent[]): HubDeps {
  return { file: 'backends.yaml', env: {}, configInput$: EMPTY, openLink: () => EMPTY, jitter: identity, editConfig: () => EMPTY, version: 'test', emit: (event) => events.push(event), now: () => 0, ...overrides };
}

const sessionOf = (hub: Hub, lines$: Observable<string>, id: string, events: RelayEvent[]) =>
  session(hub, lines$.pipe(map(parseMessage)), { identity: { id, front: 'ws' }, emit: (event) => events.push(event), now: () => 0, wallClock: () => 0 });

const parsed = (output: SessionOutput) => JSON.parse(output.line as string) as Record<string, unknown>;

describe('hub and sessions', () => {
  it('serves two sessions from one backend connection, and keeps it open when a session ends', () => {
    const fakes = fakeBackends(() => [tool('search')]);
    const events: RelayEvent[] = [];
    scheduler().run(({ cold, hot, expectObservable }) => {
      const hub = createHub(hubDeps({ configInput$: cold('c', { c: text(CONFIG) }), openLink: fakes.openLink }, events));
      const first = sessionOf(hub, hot('-il 10ms |', client), 'one', events);
      const second = sessionOf(hub, hot('-i 30ms l 10ms |', client), 'two', events);
      expectObservable(hub.run$, '100ms !').toBe('');
      expectObservable(first.pipe(map(parsed)), '100ms !').toBe('-ab 10ms |', { a: expect.objectContaining({ id: 1 }), b: listed(2, [tool('search')]) });
      expectObservable(second.pipe(map(parsed)), '100ms !').toBe('-a 30ms b 10ms |', { a: expect.objectContaining({ id: 1 }), b: listed(2, [tool('search')]) });
    });
    expect(fakes.opened).toHaveLength(1);
    expect(events.filter((event) => event.event === 'client.connect').map((event) => event['client'])).toEqual(['one', 'two']);
    expect(events.filter((event) => event.event === 'client.disconnect').map((event) => event['client'])).toEqual(['one', 'two']);
  });

  it('ends a session whose input fails with a JSON-RPC error to it and session.crash; the other session goes on', () => {
    const fakes = fakeBackends(() => [tool('search')]);
    const events: RelayEvent[] = [];
    scheduler().run(({ cold, hot, expectObservable }) => {
      const hub = createHub(hubDeps({ configInput$: cold('c', { c: text(CONFIG) }), openLink: fakes.openLink }, events));
      const broken = sessionOf(hub, hot('-i 5ms #', client, new Error('the socket broke in a way nobody expected')), 'broken', events);
      const healthy = sessionOf(hub, hot('-i 30ms l', client), 'healthy', events);
      expectObservable(merge(hub.run$), '100ms !').toBe('');
      expectObservable(broken.pipe(map(parsed)), '100ms !').toBe('-a 5ms (b#)', {
        a: expect.objectContaining({ id: 1 }),
        b: { jsonrpc: '2.0', id: null, error: { code: -32603, message: expect.stringContaining('ended this session after an internal error (the socket broke in a way nobody expected)') } },
      }, new SessionCrashError('broken', new Error('the socket broke in a way nobody expected')));
      expectObservable(healthy.pipe(map(parsed)), '100ms !').toBe('-a 30ms b', { a: expect.objectContaining({ id: 1 }), b: listed(2, [tool('search')]) });
    });
    expect(events).toContainEqual(expect.objectContaining({ event: 'session.crash', client: 'broken', level: 'error' }));
    expect(fakes.opened).toHaveLength(1);
  });
});
