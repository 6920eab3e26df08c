/** Shared fakes for the marble tests: a TestScheduler wired to vitest, config entries, backend states, fake links. */
import { asyncScheduler, NEVER, Subject, concat, defer, of, shareReplay, tap, type Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { expect } from 'vitest';
import { initialBackendState, type BackendState } from '../../streams/backend/backend-state.js';
import type { BackendSession } from '../../streams/backend/connection.js';
import type { BackendStates } from '../../streams/backend/backends.js';
import { gateStates } from '../../streams/backend/gate/gate-states.js';
import type { BackendLink, Frame as LinkFrame, UndecodedFrame } from '../../streams/rpc/link.js';
import type { ClientLine } from '../../streams/session/client-output.js';
import { RpcChannel } from '../../streams/rpc/rpc-channel.js';
import { DEFAULT_SETTINGS, type BackendEntry, type BackendSettings } from '../../streams/config/schema.js';

export const scheduler = (): TestScheduler => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

export const identity = (ms: number): number => ms;

export function entry(name: string, overrides: Partial<Omit<BackendEntry, 'settings'>> & { settings?: Partial<BackendSettings> } = {}): BackendEntry {
  const { settings, ...rest } = overrides;
  return {
    name,
    transport: 'ws',
    url: `ws://${name}.test/mcp`,
    replicas: [],
    command: null,
    prefix: '',
    toolFilter: { include: [], exclude: [] },
    subprotocol: 'mcp',
    headers: {},
    enabled: true,
    isolation: 'shared',
    credentials: 'shared',
    ...rest,
    settings: { ...DEFAULT_SETTINGS, ...settings },
  };
}

export const tool = (name: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  name,
  description: `${name} does things`,
  inputSchema: { type: 'object', properties: {} },
  ...extra,
});

export function session(backend: string, channel: RpcChannel): BackendSession {
  return { backend, channel, protocolVersion: '2025-11-25', serverInfo: {}, capabilities: {} };
}

export function connectedState(backendEntry: BackendEntry, tools: readonly unknown[] | null, backendSession: BackendSession | null = null, generation = 1): BackendState {
  return { ...initialBackendState(backendEntry, generation), phase: 'connected', session: backendSession, tools, attempts: 1 };
}

export const states = (...list: BackendState[]): Map<string, BackendState> => new Map(list.map((state) => [state.entry.name, state]));

/**
 * Hand-made states as the hub runs them: through the gates (breaker, queue, slots), subscribed at once, the latest
 * kept for the per-call path's currentStates. Call inside TestScheduler.run: the gates' timers run on virtual time.
 */
export function gatedStates(states$: Observable<BackendStates>): { states$: Observable<BackendStates>; current: () => BackendStates | undefined } {
  let latest: BackendStates | undefined;
  const gated$ = states$.pipe(
    gateStates({ scheduler: asyncScheduler }),
    tap((now) => (latest = now)),
    shareReplay({ bufferSize: 1, refCount: false }),
  );
  gated$.subscribe();
  return { states$: gated$, current: () => latest };
}

export type Frame = Record<string, unknown>;

/** A link whose inbound frames the test scripts (marbles) and whose outbound frames are recorded. */
export function scriptedLink(frames$: Observable<LinkFrame>, accept: (frame: Frame) => boolean = () => true): { link: BackendLink; sent: Frame[] } {
  const sent: Frame[] = [];
  const link: BackendLink = {
    frames$,
    send: (text) => {
      const frame = JSON.parse(text) as Frame;
      sent.push(frame);
      return accept(frame);
    },
    ping: () => of(undefined),
  };
  return { link, sent };
}

export const frame = (message: Frame): string => JSON.stringify({ jsonrpc: '2.0', ...message });

/**
 * A well-behaved MCP backend behind a link: answers initialize and tools/list at once (synchronously, unless
 * listLatencyMs is set),
 * records every frame the relay sends, and lets the test push notifications or drop the connection.
 */
export class FakeBackend {
  readonly sent: Frame[] = [];
  private readonly inbound = new Subject<string>();
  readonly link: BackendLink;

  /** listLatencyMs: tools/list is answered that long after it is asked, with the tools as they were when asked */
  constructor(
    public tools: unknown[],
    private readonly options: { listLatencyMs?: number; protocolVersion?: string; deaf?: boolean } = {},
  ) {
    this.link = {
      frames$: this.inbound.asObservable(),
      send: (text) => {
        const message = JSON.parse(text) as Frame;
        this.sent.push(message);
        this.answer(message);
        return true;
      },
      // a deaf backend never answers pings: the connection is dead but nobody closed it
      ping: () => (this.options.deaf ? NEVER : of(undefined)),
    };
  }

  push(message: Frame): void {
    this.inbound.next(frame(message));
  }

  drop(error: Error): void {
    this.inbound.error(error);
  }

  /** tools changed on the backend: it says so, and the relay is expected to list again */
  changeTools(tools: unknown[]): void {
    this.tools = tools;
    this.push({ method: 'notifications/tools/list_changed' });
  }

  private answer(message: Frame): void {
    if (!('id' in message) || typeof message['method'] !== 'string') return;
    if (message['method'] === 'initialize') {
      const protocolVersion = this.options.protocolVersion ?? '2025-11-25';
      this.push({ id: message['id'], result: { protocolVersion, capabilities: { tools: { listChanged: true } }, serverInfo: { name: 'fake', version: '1' } } });
    } else if (message['method'] === 'tools/list') {
      const answer = { id: message['id'], result: { tools: this.tools } };
      if (this.options.listLatencyMs === undefined) this.push(answer);
      else asyncScheduler.schedule(() => this.push(answer), this.options.listLatencyMs);
    }
  }
}

/** An OpenLink-shaped factory: a fresh FakeBackend per connection, open at once, never completing. */
export function fakeBackends(
  toolsFor: (backendEntry: BackendEntry) => unknown[],
  options: ConstructorParameters<typeof FakeBackend>[1] = {},
): {
  openLink: (backendEntry: BackendEntry) => Observable<BackendLink>;
  opened: Array<{ entry: BackendEntry; backend: FakeBackend }>;
  latest: (name: string) => FakeBackend;
} {
  const opened: Array<{ entry: BackendEntry; backend: FakeBackend }> = [];
  return {
    opened,
    openLink: (backendEntry) =>
      defer(() => {
        const backend = new FakeBackend(toolsFor(backendEntry), options);
        opened.push({ entry: backendEntry, backend });
        return concat(of(backend.link), NEVER);
      }),
    latest: (name) => {
      const found = opened.filter((open) => open.entry.name === name).at(-1);
      if (!found) throw new Error(`no connection was opened to ${name}`);
      return found.backend;
    },
  };
}

/** An undecoded frame as a transport hands it over, built the slow pure way (src/backend-ws.ts uses Buffer). */
export function undecodedFrame(text: string): UndecodedFrame {
  const bytes = new TextEncoder().encode(text);
  const latin1 = (part: Uint8Array) => String.fromCharCode(...part);
  return {
    bytes,
    head: latin1(bytes.subarray(0, 64)),
    tail: latin1(bytes.subarray(Math.max(0, bytes.length - 64))),
    includes: (ascii) => text.includes(ascii),
    text: () => new TextDecoder().decode(bytes),
  };
}

/** a client line as the client reads it: parts joined and decoded */
export function lineText(line: ClientLine): string {
  if (typeof line === 'string') return line;
  const decoder = new TextDecoder();
  return line.map((part) => (typeof part === 'string' ? part : decoder.decode(part))).join('');
}
