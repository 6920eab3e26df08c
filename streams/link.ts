/** What a backend transport gives the pure streams: frames in, frames out, ping. src/backend-ws.ts implements it. */
import type { Observable } from 'rxjs';
import type { BackendEntry } from './schema.js';

export interface BackendLink {
  /** inbound text frames; errors with ConnectionClosedError when the socket closes, for whatever reason */
  readonly frames$: Observable<string>;
  /** false when the frame could not be written (socket not open): the peer never saw it */
  send(frame: string): boolean;
  /** a transport-level ping (WebSocket): emits once when the pong comes back; without one, keep-alive sends MCP `ping` */
  ping?(): Observable<void>;
}

/**
 * Emits one link once the transport is open (socket connected, process spawned, HTTP endpoint reachable),
 * then never completes; unsubscribing closes it (and, for a process, ends it: no orphans).
 * An open failure is an error; so is the link's end, on frames$.
 */
export type OpenLink = (entry: BackendEntry) => Observable<BackendLink>;
