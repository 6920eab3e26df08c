import { EMPTY, map } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { ConfigInput } from '../../streams/config/config.js';
import { ConnectionClosedError } from '../../streams/core/errors.js';
import type { RelayEvent } from '../../streams/catalogue/events.js';
import { MANAGEMENT_TOOLS } from '../../streams/management/management.js';
import { relay, type RelayDeps } from '../../streams/relay.js';
import { fakeBackends, identity, scheduler, tool } from './helpers.js';

const CONFIG = ['defaults:', '  backoff:', '    initialMs: 10', 'backends:', '  - name: alpha', '    url: ws://alpha.test/mcp', ''].join('\n');

const text = (body: string): ConfigInput => ({ kind: 'text', text: body });
const line = (message: Record<string, unknown>) => JSON.stringify({ jsonrpc: '2.0', ...message });
// prettier-ignore
const client = {
  i: line({ id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'test', version: '1' } } }),
  n: line({ method: 'notifications/initialized' }),
  l: line({ id: 2, method: 'tools/list' }),
  t: line({ id: 3, method: 'tools/list' }),
};

const initialized = { jsonrpc: '2.0', id: 1, result: { protocolVersion: '2025-06-18', capabilities: { tools: { listChanged: true }, resources: { subscribe: true, listChanged: true }, prompts: { listChanged: true }, logging: {}, completions: {} }, serverInfo: { name: 'mcp-relay', version: 'test' }, instructions: expect.stringMatching(/^This server is mcp-relay/) } };
const listChanged = { jsonrpc: '2.0', method: 'notifications/tools/list_changed' };
const listed = (id: number, tools: unknown[]) => ({ jsonrpc: '2.0', id, result: { tools: [...MANAGEMENT_TOOLS, ...tools] } });

/** The same tools as fresh objects with their keys in another order: what a reconnect's tools/list gives back. */
const reordered = (tools: Array<Record<string, unknown>>) => tools.map((t) => Object.fromEntries(Object.entries(t).reverse()));

function relayDeps(overrides: Partial<RelayDeps>, events: RelayEvent[]): RelayDeps {
  return {
    file: 'backends.yaml',
    env: {},
    configInput$: EMPTY,
    lines$: EMPTY,
    openLink: () => EMPTY,
    jitter: identity,
    editConfig: () => EMPTY,
    version: 'test',
    emit: (event) => events.push(event),
    now: () => 0,
    ...overrides,
  };
}

describe('relay: notifications/tools/list_changed', () => {
  it('sends exactly one list_changed when a backend changes its tools, and none when a reconnect brings back the same tools', () => {
    const first = [tool('search'), tool('fetch')];
    const second = [...first, tool('summarize')];
    let current: Array<Record<string, unknown>> = first;
    const fakes = fakeBackends(() => current);
    const events: RelayEvent[] = [];
    const testScheduler = scheduler();
    testScheduler.run(({ cold, hot, expectObservable }) => {
      // at 50 the backend gains a tool and says so; at 100 its connection drops; at 110 the backoff reconnects it
      testScheduler.schedule(() => {
        current = second;
        fakes.latest('alpha').changeTools(second);
      }, 50);
      testScheduler.schedule(() => {
        current = reordered(second);
        fakes.latest('alpha').drop(new ConnectionClosedError('alpha', 1006));
      }, 100);
      const deps = relayDeps(
        {
          configInput$: cold('c', { c: text(CONFIG) }),
          lines$: hot('-inl 146ms t 49ms |', client),
          openLink: fakes.openLink,
        },
        events,
      );
      // prettier-ignore
      expectObservable(relay(deps).pipe(map((out) => JSON.parse(out as string) as unknown)), '1s !').toBe('-a-b 46ms c 99ms d 49ms |', {
        a: initialized,
        b: listed(2, first),
        c: listChanged,
        d: listed(3, second),
      });
    });
    // the reconnect did happen, and the catalogue stayed as it was
    expect(fakes.opened).toHaveLength(2);
    expect(events.filter((event) => event.event === 'catalogue.changed')).toEqual([
      expect.objectContaining({ added: ['search', 'fetch'] }),
      expect.objectContaining({ added: ['summarize'], removed: [] }),
    ]);
  });

  it('sends one list_changed per change the client has not seen, and none for a flap that ends where it started', () => {
    const first = [tool('search')];
    const second = [tool('search'), tool('fetch')];
    const current = first;
    const fakes = fakeBackends(() => current);
    const events: RelayEvent[] = [];
    const testScheduler = scheduler();
    testScheduler.run(({ cold, hot, expectObservable }) => {
      testScheduler.schedule(() => fakes.latest('alpha').changeTools(second), 20);
      testScheduler.schedule(() => fakes.latest('alpha').changeTools(first), 40);
      testScheduler.schedule(() => fakes.latest('alpha').changeTools(first), 60);
      const deps = relayDeps({ configInput$: cold('c', { c: text(CONFIG) }), lines$: hot('-inl 96ms |', client), openLink: fakes.openLink }, events);
      // prettier-ignore
      expectObservable(relay(deps).pipe(map((out) => JSON.parse(out as string) as unknown)), '1s !').toBe('-a-b 16ms c 19ms d 59ms |', {
        a: initialized,
        b: listed(2, first),
        c: listChanged,
        d: listChanged,
      });
    });
  });

  it('sends one list_changed when the config adds a backend, and none when a backend moves to a new url with the same tools', () => {
    const withBeta = `${CONFIG}  - name: beta\n    url: ws://beta.test/mcp\n`;
    const betaMoved = `${CONFIG}  - name: beta\n    url: ws://beta-2.test/mcp\n`;
    const fakes = fakeBackends((backend) => [tool(`${backend.name}-tool`)]);
    const events: RelayEvent[] = [];
    scheduler().run(({ cold, hot, expectObservable }) => {
      const configInput$ = cold('a 29ms b 29ms c', { a: text(CONFIG), b: text(withBeta), c: text(betaMoved) });
      const deps = relayDeps({ configInput$, lines$: hot('-inl 96ms |', client), openLink: fakes.openLink }, events);
      // prettier-ignore
      expectObservable(relay(deps).pipe(map((out) => JSON.parse(out as string) as unknown)), '1s !').toBe('-a-b 26ms c 69ms |', {
        a: initialized,
        b: listed(2, [tool('alpha-tool')]),
        c: listChanged,
      });
    });
    expect(fakes.opened.map((open) => open.entry.url)).toEqual(['ws://alpha.test/mcp', 'ws://beta.test/mcp', 'ws://beta-2.test/mcp']);
  });
});
