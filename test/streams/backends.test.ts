import { map, NEVER, shareReplay, withLatestFrom, type Observable } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { backendStates$, type BackendsDeps, type BackendStates } from '../../streams/backend/backends.js';
import { ConnectionClosedError } from '../../streams/core/errors.js';
import type { BackendLink } from '../../streams/rpc/link.js';
import type { BackendEntry } from '../../streams/config/schema.js';
import { entry, FakeBackend, fakeBackends, identity, scheduler, tool } from './helpers.js';

const baseDeps = { jitter: identity, clientCapabilities: {}, clientInfo: { name: 'test', version: '1' }, kicks$: NEVER, restarts$: NEVER };

const name = (t: unknown) => (t as { name: string }).name;

/** One backend, as a person would read it off status: name#generation phase url [tools] */
const summarize = (states: BackendStates): string =>
  [...states.values()]
    .map((state) => `${state.entry.name}#${state.generation} ${state.phase} ${state.entry.url} [${(state.tools ?? []).map(name).join(',')}]`)
    .sort()
    .join(' | ');

/** Samples the (shared) states at each probe: one subscription to backendStates$, read at chosen frames. */
const sample = (probe$: Observable<unknown>, states$: Observable<BackendStates>) =>
  probe$.pipe(
    withLatestFrom(states$.pipe(shareReplay({ bufferSize: 1, refCount: true }))),
    map(([, states]) => summarize(states)),
  );

describe('backendStates$', () => {
  it('keeps the connections that stay: adding C does not touch A and B; changing A restarts only A; removing A closes it and purges it', () => {
    const a = entry('a');
    const b = entry('b');
    const c = entry('c');
    const a2 = { ...a, url: 'ws://a-moved.test/mcp' };
    const opened: string[] = [];
    const fakes = new Map([a, b, c, a2].map((backend) => [backend.url, new FakeBackend([tool(`${backend.name}-tool`)])]));
    scheduler().run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const links = new Map([a, b, c, a2].map((backend) => [backend.url, cold<BackendLink>('l', { l: fakes.get(backend.url)!.link })] as const));
      const deps: BackendsDeps = {
        ...baseDeps,
        openLink: (backend: BackendEntry) => {
          opened.push(backend.url);
          return links.get(backend.url)!;
        },
      };
      const entries$ = cold('x 9ms y 9ms z 9ms w', { x: [a, b], y: [a, b, c], z: [a2, b, c], w: [b, c] });
      const probe$ = hot('5ms p 9ms p 9ms p 9ms p');
      // prettier-ignore
      expectObservable(sample(probe$, backendStates$(entries$, deps)), '40ms !').toBe('5ms p 9ms q 9ms r 9ms s', {
        p: 'a#1 connected ws://a.test/mcp [a-tool] | b#2 connected ws://b.test/mcp [b-tool]',
        q: 'a#1 connected ws://a.test/mcp [a-tool] | b#2 connected ws://b.test/mcp [b-tool] | c#3 connected ws://c.test/mcp [c-tool]',
        r: 'a#4 connected ws://a-moved.test/mcp [a-tool] | b#2 connected ws://b.test/mcp [b-tool] | c#3 connected ws://c.test/mcp [c-tool]',
        s: 'b#2 connected ws://b.test/mcp [b-tool] | c#3 connected ws://c.test/mcp [c-tool]',
      });
      // one socket each; A's first socket closes when its entry changes, its second when it is removed
      expectSubscriptions(links.get(a.url)!.subscriptions).toBe('^ 19ms !');
      expectSubscriptions(links.get(b.url)!.subscriptions).toBe('^ 39ms !');
      expectSubscriptions(links.get(c.url)!.subscriptions).toBe('10ms ^ 29ms !');
      expectSubscriptions(links.get(a2.url)!.subscriptions).toBe('20ms ^ 9ms !');
    });
    expect(opened).toEqual([a.url, b.url, c.url, a2.url]);
    // B shook hands once in all
    expect(fakes.get(b.url)!.sent.map((message) => message['method'])).toEqual(['initialize', 'notifications/initialized', 'tools/list']);
  });

  it('keeps the last-known tools while a backend is failed, and reconnects after the backoff', () => {
    const alpha = entry('alpha', { settings: { backoff: { initialMs: 100, maxMs: 1_000 } } });
    const fakes = fakeBackends(() => [tool('search'), tool('fetch')]);
    const testScheduler = scheduler();
    let seen: BackendStates[] = [];
    testScheduler.run(({ cold, hot, expectObservable }) => {
      testScheduler.schedule(() => fakes.latest('alpha').drop(new ConnectionClosedError('alpha', 1006)), 10);
      const states$ = backendStates$(cold('x', { x: [alpha] }), { ...baseDeps, openLink: fakes.openLink }).pipe(shareReplay({ bufferSize: 1, refCount: true }));
      const probe$ = hot('5ms p 44ms p 64ms p');
      // prettier-ignore
      expectObservable(sample(probe$, states$), '200ms !').toBe('5ms p 44ms q 64ms p', {
        p: 'alpha#1 connected ws://alpha.test/mcp [search,fetch]',
        q: 'alpha#1 failed ws://alpha.test/mcp [search,fetch]',
      });
      const snapshots: BackendStates[] = [];
      seen = snapshots;
      expectObservable(probe$.pipe(withLatestFrom(states$), map(([, states]) => snapshots.push(states))), '200ms !').toBe('5ms a 44ms b 64ms c', { a: 1, b: 2, c: 3 });
    });
    expect(seen[1]?.get('alpha')).toMatchObject({ phase: 'failed', session: null, error: "connection to backend 'alpha' closed (code 1006)", attempts: 1 });
    expect(seen[2]?.get('alpha')).toMatchObject({ phase: 'connected', error: null, attempts: 2 });
    expect(fakes.opened.map((open) => open.entry.name)).toEqual(['alpha', 'alpha']);
  });

  it('follows a backend that re-lists its tools after list_changed', () => {
    const alpha = entry('alpha');
    const fakes = fakeBackends(() => [tool('one')]);
    const testScheduler = scheduler();
    testScheduler.run(({ cold, hot, expectObservable }) => {
      testScheduler.schedule(() => fakes.latest('alpha').changeTools([tool('one'), tool('two')]), 10);
      const probe$ = hot('5ms p 9ms p');
      expectObservable(sample(probe$, backendStates$(cold('x', { x: [alpha] }), { ...baseDeps, openLink: fakes.openLink })), '20ms !').toBe('5ms p 9ms q', {
        p: 'alpha#1 connected ws://alpha.test/mcp [one]',
        q: 'alpha#1 connected ws://alpha.test/mcp [one,two]',
      });
    });
  });

  it('restarts only the backend it is asked to', () => {
    const a = entry('a');
    const b = entry('b');
    const fakes = new Map([a, b].map((backend) => [backend.url, new FakeBackend([tool(`${backend.name}-tool`)])]));
    scheduler().run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const links = new Map([a, b].map((backend) => [backend.url, cold<BackendLink>('l', { l: fakes.get(backend.url)!.link })] as const));
      const deps: BackendsDeps = { ...baseDeps, restarts$: hot('10ms a', { a: 'a' }), openLink: (backend) => links.get(backend.url)! };
      const probe$ = hot('15ms p');
      expectObservable(sample(probe$, backendStates$(cold('x', { x: [a, b] }), deps)), '20ms !').toBe('15ms p', {
        p: 'a#1 connected ws://a.test/mcp [a-tool] | b#2 connected ws://b.test/mcp [b-tool]',
      });
      expectSubscriptions(links.get(a.url)!.subscriptions).toBe(['^ 9ms !', '10ms ^ 9ms !']);
      expectSubscriptions(links.get(b.url)!.subscriptions).toBe('^ 19ms !');
    });
  });

  it('starts with an empty map and stays empty with no backends', () => {
    scheduler().run(({ cold, expectObservable }) => {
      expectObservable(backendStates$(cold('x', { x: [] }), { ...baseDeps, openLink: () => NEVER }).pipe(map(summarize)), '5ms !').toBe('e', { e: '' });
    });
  });
});
