/** The stdio relay: the hub and one session on the process's stdin, ending when stdin does (what main.ts runs when stdio is the only front). */
import { defer, filter, map, Observable, type Subscription } from 'rxjs';
import { parseMessage, type ClientLine } from './core/jsonrpc.js';
import { createHub, type Hub, type HubDeps } from './hub.js';
import { session, type SessionOutput } from './session.js';

export interface RelayDeps extends HubDeps {
  /** client lines; completion (stdin EOF) ends the relay */
  lines$: Observable<string>;
  /** the stdio client's id (a UUID in main.ts) */
  clientId?: string;
  wallClock?: () => number;
}

/** A JSON-RPC line starts with "{", and is not copied by trim() to find that out; blank lines are skipped. */
export const clientMessages = (lines$: Observable<string>) =>
  lines$.pipe(
    filter((line) => line.charCodeAt(0) === 123 || line.trim() !== ''),
    map(parseMessage),
  );

/** The stdio session on a hub: its output lines, until stdin ends. */
export function stdioSession(hub: Hub, deps: Pick<RelayDeps, 'lines$' | 'clientId' | 'wallClock' | 'emit' | 'now'>): Observable<SessionOutput> {
  return session(hub, clientMessages(deps.lines$), {
    identity: { id: deps.clientId ?? 'stdio', front: 'stdio' },
    emit: deps.emit,
    now: deps.now,
    wallClock: deps.wallClock ?? (() => 0),
    answerAfterInput: true,
  });
}

/** Outbound lines for stdout; completes when stdin ends. Each subscription is a fresh hub. */
export const relay = (deps: RelayDeps): Observable<ClientLine> =>
  defer(() => {
    const hub = createHub(deps);
    const session$ = stdioSession(hub, deps);
    return new Observable<ClientLine>((subscriber) => {
      // the hub first: the session's initialize must find it running
      const running: Subscription = hub.run$.subscribe({ error: (error: unknown) => subscriber.error(error) });
      running.add(session$.subscribe({ next: (output) => subscriber.next(output.line), error: (error: unknown) => subscriber.error(error), complete: () => subscriber.complete() }));
      return running;
    });
  });
