import { concat, map, NEVER, of, takeUntil, timer, type Observable } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { backendLife$, type BackendEvent, type ConnectionDeps } from '../../streams/backend/connection.js';
import type { BackendLink } from '../../streams/rpc/link.js';
import { LATEST_PROTOCOL_VERSION } from '../../streams/core/protocol.js';
import type { BackendEntry } from '../../streams/config/schema.js';
import { entry, FakeBackend, fakeBackends, identity, scheduler, scriptedLink, tool, type Frame } from './helpers.js';

const alpha = entry('alpha', { settings: { connectWaitMs: 50, pingIntervalMs: 30, pongTimeoutMs: 10, backoff: { initialMs: 100, maxMs: 1_000 } } });
const quiet = { kick$: NEVER, restart$: NEVER };
const name = (t: unknown) => (t as { name: string }).name;

/** c: connecting, k[...]: connected with these tools, t[...]: re-listed tools, f:ErrorName */
const brief = (event: BackendEvent): string => {
  switch (event.type) {
    case 'connecting':
      return 'c';
    case 'connected':
      return `k[${event.tools.map(name).join(',')}]`;
    case 'tools':
      return `t[${event.tools.map(name).join(',')}]`;
    case 'violation':
      return `v:${event.reason}`;
    case 'failed':
      return `f:${event.error.name}`;
    case 'extras':
      return `x[${event.extras.resources.length},${event.extras.resourceTemplates.length},${event.extras.prompts.length}]`;
    case 'inbound':
      return `i:${event.inbound.message.method}`;
  }
};

const deps = (openLink: (backend: BackendEntry) => Observable<BackendLink>): ConnectionDeps => ({
  openLink,
  jitter: identity,
  clientCapabilities: { sampling: {} },
  clientInfo: { name: 'mcp-relay', version: 'test' },
});

describe('backendLife$', () => {
  it('opens, initializes, lists, and reports connected with the tools', () => {
    const backend = new FakeBackend([tool('one'), tool('two')]);
    scheduler().run(({ cold, expectObservable }) => {
      const link$ = cold('5ms l', { l: backend.link });
      expectObservable(backendLife$(alpha, deps(() => link$), quiet).pipe(map(brief)), '20ms !').toBe('c 4ms k', { c: 'c', k: 'k[one,two]' });
    });
    expect(backend.sent).toEqual([
      { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: { sampling: {} }, clientInfo: { name: 'mcp-relay', version: 'test' } } },
      { jsonrpc: '2.0', method: 'notifications/initialized' },
      { jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} },
    ]);
  });

  it('fails a socket that does not open within connectWaitMs, then retries after the backoff', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const link$ = cold<BackendLink>('-');
      expectObservable(backendLife$(alpha, deps(() => link$), quiet).pipe(map(brief)), '190ms !').toBe('c 49ms f 99ms c', { c: 'c', f: 'f:ConnectError' });
      expectSubscriptions(link$.subscriptions).toBe(['^ 49ms !', '150ms ^ 39ms !']);
    });
  });

  it('fails a backend that answers with an unsupported protocol version', () => {
    const fakes = fakeBackends(() => [], { protocolVersion: '1999-01-01' });
    scheduler().run(({ expectObservable }) => {
      expectObservable(backendLife$(alpha, deps(fakes.openLink), quiet).pipe(map(brief)), '50ms !').toBe('(cf)', { c: 'c', f: 'f:HandshakeError' });
    });
  });

  it('fails a connection whose pong does not come back, and reconnects', () => {
    const fakes = fakeBackends(() => [tool('one')], { deaf: true });
    scheduler().run(({ expectObservable }) => {
      // ping at 30, no pong by 40: dead; back after 100 ms
      expectObservable(backendLife$(alpha, deps(fakes.openLink), quiet).pipe(map(brief)), '150ms !').toBe('(ck) 36ms f 99ms (ck)', { c: 'c', k: 'k[one]', f: 'f:PongTimeoutError' });
    });
    expect(fakes.opened).toHaveLength(2);
  });

  it('re-lists the tools on notifications/tools/list_changed', () => {
    const fakes = fakeBackends(() => [tool('one')]);
    const testScheduler = scheduler();
    testScheduler.run(({ expectObservable }) => {
      testScheduler.schedule(() => fakes.latest('alpha').changeTools([tool('one'), tool('two')]), 10);
      expectObservable(backendLife$(alpha, deps(fakes.openLink), quiet).pipe(map(brief)), '20ms !').toBe('(ck) 6ms t', { c: 'c', k: 'k[one]', t: 't[one,two]' });
    });
  });

  it('ends with the tools the backend has now when list_changed arrives while a re-list is in flight', () => {
    const fakes = fakeBackends(() => [tool('one')], { listLatencyMs: 10 });
    const testScheduler = scheduler();
    const seen: BackendEvent[] = [];
    testScheduler.run(() => {
      // at 20 a second tool appears and the relay re-lists (answer due at 30, as of 20); at 25 a third appears
      testScheduler.schedule(() => fakes.latest('alpha').changeTools([tool('one'), tool('two')]), 20);
      testScheduler.schedule(() => fakes.latest('alpha').changeTools([tool('one'), tool('two'), tool('three')]), 25);
      backendLife$(alpha, deps(fakes.openLink), quiet)
        .pipe(takeUntil(timer(100)))
        .subscribe((event) => seen.push(event));
    });
    const lastTools = seen.filter((event) => event.type === 'connected' || event.type === 'tools').at(-1);
    expect(lastTools && 'tools' in lastTools ? lastTools.tools.map(name) : null).toEqual(['one', 'two', 'three']);
  });

  it('does not lose a list_changed that arrives while the first tools/list is in flight', () => {
    const fakes = fakeBackends(() => [tool('one')], { listLatencyMs: 10 });
    const testScheduler = scheduler();
    const seen: BackendEvent[] = [];
    testScheduler.run(() => {
      // the first tools/list is asked at 0 and answered at 10 as of 0; at 5 a second tool appears and the backend says so
      testScheduler.schedule(() => fakes.latest('alpha').changeTools([tool('one'), tool('two')]), 5);
      backendLife$(alpha, deps(fakes.openLink), quiet)
        .pipe(takeUntil(timer(100)))
        .subscribe((event) => seen.push(event));
    });
    const lastTools = seen.filter((event) => event.type === 'connected' || event.type === 'tools').at(-1);
    expect(lastTools && 'tools' in lastTools ? lastTools.tools.map(name) : null).toEqual(['one', 'two']);
  });

  it('does not cancel initialize when the handshake times out (the MCP spec forbids cancelling initialize)', () => {
    let sent: Frame[] = [];
    const events: string[] = [];
    scheduler().run(() => {
      const silent = scriptedLink(NEVER);
      sent = silent.sent;
      backendLife$(alpha, deps(() => concat(of(silent.link), NEVER)), quiet)
        .pipe(takeUntil(timer(60)))
        .subscribe((event) => events.push(brief(event)));
    });
    expect(events).toEqual(['c', 'f:BackendRequestTimeoutError']);
    expect(sent.map((message) => message['method'])).toEqual(['initialize']);
  });
});
