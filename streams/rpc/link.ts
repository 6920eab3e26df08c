/** What a backend transport gives the pure streams: frames in, frames out, ping. src/backend-ws.ts implements it. */
import type { Observable } from 'rxjs';
import type { BackendEntry } from '../config/schema.js';

/** frames at least this large may arrive undecoded: most are results the relay passes on without reading */
export const UNDECODED_FRAME_BYTES = 256 * 1024;

/**
 * A large text frame left as the bytes it arrived in, with the few facts the relay needs to pass it on unread
 * (decoding 8 MB to a string, scanning it and encoding it back cost more than the hop itself). The transport
 * builds it, with its native byte search; text() decodes it when it must be read after all.
 */
export interface UndecodedFrame {
  readonly bytes: Uint8Array;
  /** the first and last bytes (up to 64 each) as text: enough to see the layout and the id */
  readonly head: string;
  readonly tail: string;
  /** whether these ASCII characters occur anywhere in it */
  includes(ascii: string): boolean;
  text(): string;
}

export type Frame = string | UndecodedFrame;

export interface BackendLink {
  /**
   * inbound text frames (a large one may come undecoded); errors with ConnectionClosedError when the socket
   * closes, for whatever reason
   */
  readonly frames$: Observable<Frame>;
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
