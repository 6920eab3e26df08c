/** The WebSocket transport to a backend: one JSON-RPC message per text frame, ping/pong keep-alive, subprotocol fallback. */
import { Observable } from 'rxjs';
import WebSocket from 'ws';
import { ConnectError, ConnectionClosedError } from '../streams/core/errors.js';
import { UNDECODED_FRAME_BYTES, type BackendLink, type Frame, type OpenLink, type UndecodedFrame } from '../streams/rpc/link.js';
import type { BackendEntry } from '../streams/config/schema.js';
import { tcpOf, turnBatching } from './turn-batching.js';

const NO_SUBPROTOCOL = 'Server sent no subprotocol';
const TEXT_FRAME = { binary: false } as const;
const MERGED_FRAME_CHARS = 16 * 1024;
/** a closing handshake the peer never answers must not hold a removed backend's socket open */
const CLOSE_GRACE_MS = 1_000;

/** ws closes with 1009 when a frame is over maxPayload: say which limit, not just "closed" */
const describeClose = (code: number, reason: string, entry: BackendEntry, lastError: Error | null): string =>
  code === 1009 || (lastError as NodeJS.ErrnoException | null)?.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH'
    ? `a message from the backend was larger than maxMessageBytes (${entry.settings.maxMessageBytes} bytes)`
    : (lastError?.message ?? reason);

/** the ends of the frame as text: latin1 maps every ASCII byte to itself, and only ASCII is looked for there */
const ENDS = 64;

function undecoded(bytes: Buffer): UndecodedFrame {
  return {
    bytes,
    head: bytes.toString('latin1', 0, ENDS),
    tail: bytes.toString('latin1', bytes.length - ENDS),
    includes: (ascii) => bytes.includes(ascii, 0, 'latin1'),
    text: () => bytes.toString(),
  };
}

interface OpenLinkState {
  /** a ping is out and its pong has not come back: the peer is presumed dead */
  awaitingPong: boolean;
}

function linkFor(socket: WebSocket, entry: BackendEntry, state: OpenLinkState): BackendLink {
  let lastError: Error | null = null;
  // a busy link's frames of one event-loop turn leave in one write (turn-batching.ts)
  const beforeSend = turnBatching(tcpOf(socket));
  socket.on('error', (error) => (lastError = error));
  const frames$ = new Observable<Frame>((subscriber) => {
    // a binary frame is read as the UTF-8 text it carries: some servers send JSON that way, and dropping it left the
    // call it answered waiting for its timeout (text that is not JSON-RPC is a protocol error the channel reports)
    const onMessage = (data: WebSocket.RawData) => {
      // binaryType is the default, nodebuffer: a Buffer, never copied here
      const bytes = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
      subscriber.next(bytes.length >= UNDECODED_FRAME_BYTES ? undecoded(bytes) : bytes.toString());
    };
    const onClose = (code: number, reason: Buffer) => {
      subscriber.error(new ConnectionClosedError(entry.name, code, describeClose(code, reason.toString(), entry, lastError)));
    };
    if (socket.readyState !== WebSocket.OPEN) {
      subscriber.error(new ConnectionClosedError(entry.name, undefined, lastError?.message ?? 'socket is not open'));
      return undefined;
    }
    socket.on('message', onMessage);
    socket.on('close', onClose);
    return () => {
      socket.off('message', onMessage);
      socket.off('close', onClose);
    };
  });
  return {
    frames$,
    send: (frame) => {
      if (socket.readyState !== WebSocket.OPEN) return false;
      beforeSend();
      // ws frames a small Buffer as one masked copy and one socket write; a string it measures, encodes, and writes
      // as header and payload (a writev). A large frame stays a string: masked in place, not copied once more.
      if (frame.length < MERGED_FRAME_CHARS) socket.send(Buffer.from(frame), TEXT_FRAME);
      else socket.send(frame);
      return true;
    },
    ping: () =>
      new Observable<void>((subscriber) => {
        const onPong = () => {
          state.awaitingPong = false;
          subscriber.next();
          subscriber.complete();
        };
        socket.once('pong', onPong);
        state.awaitingPong = true;
        if (socket.readyState === WebSocket.OPEN) socket.ping();
        return () => socket.off('pong', onPong);
      }),
  };
}

function closeSocket(socket: WebSocket, state: OpenLinkState): void {
  if (socket.readyState === WebSocket.CLOSED) return;
  // a peer that missed its pong will not answer a closing handshake either (ws README: terminate)
  if (socket.readyState === WebSocket.CONNECTING || state.awaitingPong) {
    socket.terminate();
    return;
  }
  socket.close(1001, 'mcp-relay closing this connection');
  setTimeout(() => socket.terminate(), CLOSE_GRACE_MS).unref();
}

/** Offers the entry's subprotocol; a server that answers with none gets one more try without it. */
export const openWebSocketLink: OpenLink = (entry) =>
  new Observable<BackendLink>((subscriber) => {
    let socket: WebSocket | null = null;
    const state: OpenLinkState = { awaitingPong: false };
    const connect = (protocols: string[]) => {
      const current = new WebSocket(entry.url, protocols, {
        headers: entry.headers,
        maxPayload: entry.settings.maxMessageBytes,
        handshakeTimeout: entry.settings.connectWaitMs,
        perMessageDeflate: false,
      });
      socket = current;
      const onOpenError = (error: Error) => {
        current.off('open', onOpen);
        if (error.message.includes(NO_SUBPROTOCOL) && protocols.length > 0) {
          current.terminate();
          connect([]);
          return;
        }
        subscriber.error(new ConnectError(entry.name, entry.url, error.message));
      };
      const onOpen = () => {
        current.off('error', onOpenError);
        subscriber.next(linkFor(current, entry, state));
      };
      current.once('error', onOpenError);
      current.once('open', onOpen);
    };
    connect(entry.subprotocol === null ? [] : [entry.subprotocol]);
    return () => {
      if (socket) closeSocket(socket, state);
    };
  });
