/**
 * The admin listener, for operators and load balancers: /healthz (the process serves), /readyz (config loaded, every
 * enabled backend tried once, at least one connected; 503 with the reason otherwise, and while shutting down),
 * /metrics (Prometheus text), /status (relay_get_status plus clients, as JSON) and /events (the event log over SSE:
 * the last events newest first, then live). A token, when set, is asked for as a bearer header; a listener beyond
 * loopback without one is refused before it opens (parse-config.ts, main.ts).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AdminAddress } from '../../streams/config/listen.js';
import type { RelayEvent } from '../../streams/catalogue/events.js';
import type { Readiness } from '../../streams/catalogue/readiness.js';
import type { EventRing, TimedEvent } from './event-ring.js';
import type { RelayMetrics } from './metrics.js';

export interface AdminSources {
  metrics: RelayMetrics;
  events: EventRing;
  readiness: () => Readiness;
  status: () => unknown;
  /** the bearer token asked for; null: none */
  token: () => string | null;
}

export interface RunningAdmin {
  url: string;
  close(): Promise<void>;
}

/** events replayed to a new /events stream before it goes live */
const REPLAY_EVENTS = 100;
/** an /events reader this far behind is disconnected (it may reconnect and get the replay) */
const MAX_UNSENT_EVENT_BYTES = 1024 * 1024;

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

function authorized(request: IncomingMessage, token: string | null): boolean {
  if (token === null) return true;
  const header = request.headers.authorization ?? '';
  const presented = /^Bearer\s+(.+)$/i.exec(header)?.[1] ?? '';
  return timingSafeEqual(digest(presented), digest(token));
}

const json = (response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
  response.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
  response.end(`${JSON.stringify(body)}\n`);
};

const LEVEL_NAMES: Record<string, string> = { debug: 'debug', info: 'info', warn: 'warn', error: 'error' };

/** one event as an SSE message: its JSON, with its time and level as a person reads them */
const sseEvent = ({ time, event }: TimedEvent): string => {
  const { level = 'info', ...fields } = event as RelayEvent & { level?: string };
  return `data: ${JSON.stringify({ time: new Date(time).toISOString(), level: LEVEL_NAMES[level] ?? level, ...fields })}\n\n`;
};

export async function openAdmin(address: AdminAddress, sources: AdminSources): Promise<RunningAdmin> {
  const streams = new Set<ServerResponse>();
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://admin').pathname;
    if (request.method !== 'GET' && request.method !== 'HEAD') return json(response, 405, { error: `${request.method} is not served here: every admin endpoint is GET` }, { allow: 'GET' });
    if (path === '/healthz') return json(response, 200, { status: 'ok' });
    if (!authorized(request, sources.token())) return json(response, 401, { error: 'Unauthorized: send Authorization: Bearer <admin.token>' }, { 'www-authenticate': 'Bearer realm="mcp-relay admin"' });
    switch (path) {
      case '/readyz': {
        const readiness = sources.readiness();
        return json(response, readiness.ready ? 200 : 503, readiness);
      }
      case '/metrics':
        sources.metrics.registry
          .metrics()
          .then((text) => {
            response.writeHead(200, { 'content-type': sources.metrics.registry.contentType });
            response.end(text);
          })
          .catch((error: unknown) => json(response, 500, { error: error instanceof Error ? error.message : String(error) }));
        return;
      case '/status':
        return json(response, 200, sources.status());
      case '/events': {
        response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
        for (const timed of sources.events.recent(REPLAY_EVENTS)) response.write(sseEvent(timed));
        // a reader that stops reading is let go, not buffered for without end
        const stop = sources.events.follow((timed) => {
          if (response.writableLength > MAX_UNSENT_EVENT_BYTES) response.end();
          else response.write(sseEvent(timed));
        });
        streams.add(response);
        response.once('close', () => {
          stop();
          streams.delete(response);
        });
        return;
      }
      default:
        return json(response, 404, { error: `no admin endpoint at ${path}: try /healthz, /readyz, /metrics, /status or /events` });
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${address.host.includes(':') ? `[${address.host}]` : address.host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const stream of streams) stream.end();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
