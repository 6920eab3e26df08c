// Keep-alive over transports without a ping of their own (stdio, HTTP): an MCP `ping` request with the same deadline.
import { concat, map, NEVER, of, type Observable } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { backendLife$, type BackendEvent } from '../../streams/backend/connection.js';
import type { BackendLink } from '../../streams/rpc/link.js';
import { entry, FakeBackend, identity, scheduler, tool } from './helpers.js';

const local = entry('local', { transport: 'stdio', settings: { connectWaitMs: 50, pingIntervalMs: 30, pongTimeoutMs: 10, backoff: { initialMs: 100, maxMs: 1_000 } } });
const quiet = { kick$: NEVER, restart$: NEVER };
const brief = (event: BackendEvent): string => (event.type === 'failed' ? `f:${event.error.name}` : event.type === 'connected' ? 'k' : event.type);

/** A backend link with no transport ping; it answers MCP ping requests only if told to. */
function pinglessLink(answerPings: boolean): { link$: Observable<BackendLink>; pings: () => number } {
  const backend = new FakeBackend([tool('one')]);
  let pings = 0;
  const link: BackendLink = {
    frames$: backend.link.frames$,
    send: (text) => {
      const message = JSON.parse(text) as { id?: number; method?: string };
      if (message.method !== 'ping') return backend.link.send(text);
      pings += 1;
      if (answerPings) backend.push({ id: message.id, result: {} });
      return true;
    },
  };
  return { link$: concat(of(link), NEVER), pings: () => pings };
}

const deps = (link$: Observable<BackendLink>) => ({
  openLink: () => link$,
  jitter: identity,
  clientCapabilities: {},
  clientInfo: { name: 'mcp-relay', version: 'test' },
});

describe('keep-alive without a transport ping', () => {
  it('sends MCP ping requests on the interval and stays connected while they are answered', () => {
    const { link$, pings } = pinglessLink(true);
    scheduler().run(({ expectObservable }) => {
      // connecting and connected at once; pings at 30, 60, 90 all answered: nothing more happens
      expectObservable(backendLife$(local, deps(link$), quiet).pipe(map(brief)), '100ms !').toBe('(ck)', { c: 'connecting', k: 'k' });
    });
    expect(pings()).toBe(3);
  });

  it('fails the session when an MCP ping is not answered within pongTimeoutMs', () => {
    const { link$ } = pinglessLink(false);
    scheduler().run(({ expectObservable }) => {
      // ping at 30, no answer by 40: the session fails
      expectObservable(backendLife$(local, deps(link$), quiet).pipe(map(brief)), '45ms !').toBe('(ck) 36ms f', { c: 'connecting', k: 'k', f: 'f:PongTimeoutError' });
    });
  });
});
