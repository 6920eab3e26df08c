/**
 * Per-turn write batching for a socket, hand-written because it runs once per message. When the socket is not busy a
 * frame leaves at once (a lone call must not wait for the end of the event-loop turn: that cost a sequential call
 * 20 us). When it is (the last turn sent more than one frame), the frames of a turn are corked and leave in one write
 * at its end. Measured in docs/benchmarks.md: a system call per message was the WebSocket paths' largest cost.
 */
export interface Corkable {
  cork(): void;
  uncork(): void;
}

/** Returns the function to call before each write on `socket` (undefined: no batching, every write goes at once). */
export function turnBatching(socket: Corkable | undefined): () => void {
  let framesThisTurn = 0;
  let busy = false;
  let corked = false;
  const endTurn = () => {
    busy = framesThisTurn > 1;
    framesThisTurn = 0;
    if (corked) {
      corked = false;
      socket?.uncork();
    }
  };
  return () => {
    if (framesThisTurn++ === 0) queueMicrotask(endTurn);
    if ((framesThisTurn === 1 && !busy) || corked || !socket) return;
    corked = true;
    socket.cork();
  };
}

/** ws's own TCP socket: not public API, but stable across ws 8 */
export const tcpOf = (socket: object): Corkable | undefined => (socket as { _socket?: Corkable })._socket;
