/** What a backend transport gives the pure streams: frames in, frames out, ping. src/backend-ws.ts implements it. */
import type { Observable } from 'rxjs';
import type { BackendEntry } from './schema.js';

export interface BackendLink {
  /** inbound text frames; errors with ConnectionClosedError when the socket closes, for whatever reason */
  readonly frames$: Observable<string>;
  /** false when the frame could not be written (socket not open): the peer never saw it */
  send(frame: string): boolean;
  /** emits once when the pong comes back */
  ping(): Observable<void>;
}

/** Emits one link once the socket is open, then never completes; unsubscribing closes the socket. */
export type OpenLink = (entry: BackendEntry) => Observable<BackendLink>;
