/**
 * The WebSocket front: one JSON-RPC message per text frame, a session per connection. Subprotocol `mcp` is echoed
 * when offered (a plain connection is accepted too); a binary frame closes the socket with 1003; a frame over
 * maxClientMessageBytes with 1009 (ws does it); a client that stops answering pings is terminated.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { Observable } from 'rxjs';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { ListenSpec } from '../../streams/config/listen.js';
import { parseMessage, type ClientLine } from '../../streams/core/jsonrpc.js';
import { session } from '../../streams/session.js';
import type { ClientMessage } from '../../streams/session/in-flight.js';
import { tcpOf, turnBatching } from '../turn-batching.js';
import { allowedOrigins, boundUrl, listenOn, originAllowed, remoteOf, sessionDeps, warnIfExposed, type FrontContext, type RunningFront } from './front.js';

const UNSUPPORTED_DATA = 1003;
const GOING_AWAY = 1001;
const INTERNAL_ERROR = 1011;

/** Refuses an upgrade with an HTTP status and a reason a person can act on; nothing unchecked becomes a WebSocket. */
function refuse(socket: Duplex, status: number, reason: string): void {
  const body = `${reason}\n`;
  socket.end(`HTTP/1.1 ${status} ${status === 403 ? 'Forbidden' : status === 404 ? 'Not Found' : 'Bad Request'}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

function send(socket: WebSocket, line: ClientLine, beforeSend: () => void): void {
  if (socket.readyState !== socket.OPEN) return;
  beforeSend();
  if (typeof line === 'string') socket.send(line);
  else socket.send(Buffer.concat(line.map((part) => (typeof part === 'string' ? Buffer.from(part) : part))), { binary: false });
}

/** The client's frames as messages; completes when the socket closes. */
function messagesOf(socket: WebSocket): Observable<ClientMessage> {
  return new Observable<ClientMessage>((subscriber) => {
    const onMessage = (data: RawData, isBinary: boolean) => {
      if (isBinary) {
        socket.close(UNSUPPORTED_DATA, 'binary frames are not MCP: send each JSON-RPC message as a text frame');
        return;
      }
      subscriber.next(parseMessage(Array.isArray(data) ? Buffer.concat(data).toString() : data.toString()));
    };
    const onClose = () => subscriber.complete();
    socket.on('message', onMessage);
    socket.on('close', onClose);
    // an error (a frame over maxPayload, a protocol violation) is followed by close: the session ends there
    socket.on('error', () => undefined);
    return () => {
      socket.off('message', onMessage);
      socket.off('close', onClose);
    };
  });
}

export async function openWsFront(spec: ListenSpec, context: FrontContext): Promise<RunningFront> {
  const server = createServer((_request, response) => {
    response.writeHead(426, { 'content-type': 'text/plain; charset=utf-8', upgrade: 'websocket' });
    response.end(`This is mcp-relay's WebSocket MCP endpoint: connect with a WebSocket client to ws://${spec.host}:<port>${spec.path}\n`);
  });
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: context.settings().maxClientMessageBytes,
    // `mcp` when offered, alone or among others; no subprotocol at all is fine too
    handleProtocols: (protocols) => (protocols.has('mcp') ? 'mcp' : false),
  });
  const sockets = new Set<WebSocket>();
  let port = spec.port;

  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = new URL(request.url ?? '/', 'http://relay').pathname;
    if (path !== spec.path) return refuse(socket, 404, `no MCP endpoint at ${path}: this relay's WebSocket endpoint is ${spec.path}`);
    const origin = request.headers.origin;
    if (origin !== undefined && !originAllowed(origin, allowedOrigins(context.settings().http, port))) {
      context.emit({ event: 'front.refused', front: 'ws', remote: remoteOf(request.socket), reason: `origin ${origin} is not allowed`, level: 'warn' });
      return refuse(socket, 403, `origin ${origin} may not connect: add it to http.allowedOrigins in backends.yaml`);
    }
    // the limit in force now, for this connection (ws reads options.maxPayload at each upgrade): a reload applies to
    // the clients that connect after it
    wss.options.maxPayload = context.settings().maxClientMessageBytes;
    wss.handleUpgrade(request, socket, head, (ws) => accept(ws, request));
  });

  function accept(socket: WebSocket, request: IncomingMessage): void {
    sockets.add(socket);
    const deps = sessionDeps(context, 'ws', remoteOf(request.socket));
    const { pingIntervalMs, pongTimeoutMs } = context.settings().websocket;
    // ping on an interval; a pong that does not come back in time means the client is gone (ws README heartbeat)
    let pongDeadline: NodeJS.Timeout | null = null;
    const heartbeat = setInterval(() => {
      if (pongDeadline !== null) return;
      pongDeadline = setTimeout(() => {
        context.emit({ event: 'client.unresponsive', client: deps.identity.id, front: 'ws', pongTimeoutMs, level: 'warn' });
        socket.terminate();
      }, pongTimeoutMs);
      socket.ping();
    }, pingIntervalMs);
    socket.on('pong', () => {
      if (pongDeadline !== null) clearTimeout(pongDeadline);
      pongDeadline = null;
    });
    // a busy client's messages of one event-loop turn leave in one write
    const beforeSend = turnBatching(tcpOf(socket));
    const subscription = session(context.hub, messagesOf(socket), deps).subscribe({
      next: (output) => send(socket, output.line, beforeSend),
      error: () => socket.close(INTERNAL_ERROR, 'mcp-relay ended this session after an internal error; reconnect'),
      complete: () => socket.close(1000),
    });
    socket.once('close', () => {
      clearInterval(heartbeat);
      if (pongDeadline !== null) clearTimeout(pongDeadline);
      sockets.delete(socket);
      subscription.unsubscribe();
    });
  }

  port = await listenOn(server, spec);
  warnIfExposed(spec, context.emit);
  const url = boundUrl(spec, port);
  return {
    spec,
    url,
    sessions: () => sockets.size,
    close: (reason) =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.close(GOING_AWAY, reason.slice(0, 120));
        wss.close();
        server.close(() => resolve());
        // sockets that do not finish their closing handshake are cut, so close() never hangs
        setTimeout(() => {
          for (const socket of sockets) socket.terminate();
          server.closeAllConnections();
        }, 1_000).unref();
      }),
  };
}
