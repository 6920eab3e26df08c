/**
 * The admin listener, for operators and load balancers: /healthz (the process serves), /readyz (config loaded, every
 * enabled backend tried once, at least one connected; 503 with the reason otherwise, and while shutting down),
 * /metrics (Prometheus text), /status (relay_get_status plus clients, as JSON), /events (the event log over SSE:
 * the last events newest first, then live) and / (the status page, for a person, built on /status and /events).
 * A token, when set, is asked for as a bearer header or the status page's login cookie (admin-login.ts); a listener
 * beyond loopback without one is refused before it opens (parse-config.ts, main.ts).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AdminAddress } from '../../streams/config/listen.js';
import type { RelayEvent } from '../../streams/catalogue/events.js';
import type { Readiness } from '../../streams/catalogue/readiness.js';
import type { EventRing, TimedEvent } from './event-ring.js';
import type { RelayMetrics } from './metrics.js';
import { AdminLogin } from './admin-login.js';
import { PageAssets } from './page-assets.js';

export interface AdminSources {
  metrics: RelayMetrics;
  events: EventRing;
  readiness: () => Readiness;
  status: () => unknown;
  /** the bearer token asked for; null: none */
  token: () => string | null;
  /** the logins, when they must outlive this listener (a reload that moves it keeps everyone logged in) */
  login?: AdminLogin;
}

export interface RunningAdmin {
  url: string;
  close(): Promise<void>;
}

/** events replayed to a new /events stream before it goes live */
const REPLAY_EVENTS = 100;
/** an /events reader this far behind is disconnected (it may reconnect and get the replay) */
const MAX_UNSENT_EVENT_BYTES = 1024 * 1024;

/** a request's whole body must arrive within this (the login form; every other request has none): a slow one is
 * answered 408 at Node's next check of its connections (every 30 s), so it holds a socket for under a minute */
const REQUEST_TIMEOUT_MS = 10_000;

/** the endpoints that take a POST (the login form's); every other one is GET */
const POST_PATHS = new Set(['/login', '/logout']);

/**
 * a form posted from another site's page is refused, whatever cookie the browser would send along: browsers say where
 * a request comes from in Sec-Fetch-Site (or, older ones, Origin); a request with neither is not from a browser page
 */
function crossOrigin(request: IncomingMessage): boolean {
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined) return site !== 'same-origin' && site !== 'none';
  const origin = request.headers.origin;
  if (origin === undefined) return false;
  try {
    return new URL(origin).host !== request.headers.host;
  } catch {
    return true; // "null": a sandboxed frame, a file, a redirect from elsewhere
  }
}

const json = (response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
  response.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
  response.end(`${JSON.stringify(body)}\n`);
};

const LEVEL_NAMES: Record<string, string> = { debug: 'debug', info: 'info', warn: 'warn', error: 'error' };

/** one event as an SSE message: its JSON, with its time and level as a person reads them; its id orders events within a millisecond */
const sseEvent = ({ time, seq, event }: TimedEvent): string => {
  const { level = 'info', ...fields } = event as RelayEvent & { level?: string };
  return `id: ${seq}\ndata: ${JSON.stringify({ time: new Date(time).toISOString(), level: LEVEL_NAMES[level] ?? level, ...fields })}\n\n`;
};

export async function openAdmin(address: AdminAddress, sources: AdminSources): Promise<RunningAdmin> {
  const streams = new Set<ServerResponse>();
  const page = sources.login?.page ?? new PageAssets();
  const login = sources.login ?? new AdminLogin(sources.token, page);
  const server = createServer({ requestTimeout: REQUEST_TIMEOUT_MS }, (request, response) => {
    const path = new URL(request.url ?? '/', 'http://admin').pathname;
    if (POST_PATHS.has(path)) {
      // a person who types /login in the address bar is shown the form
      if (request.method === 'GET' || request.method === 'HEAD') return void response.writeHead(303, { location: '/' }).end();
      if (request.method !== 'POST') return json(response, 405, { error: `${path} takes the login form's POST` }, { allow: 'POST' });
      if (crossOrigin(request)) return json(response, 403, { error: `a form posted from another site's page (${request.headers.origin ?? request.headers['sec-fetch-site']}) is refused: post it from the status page itself` });
      if (path === '/logout') return login.logout(request, response);
      return void login.login(request, response).catch((error: unknown) => {
        if (!response.headersSent) json(response, 400, { error: `the login form did not arrive: ${error instanceof Error ? error.message : String(error)}` });
      });
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') return json(response, 405, { error: `${request.method} is not served here: every admin endpoint but /login and /logout is GET` }, { allow: 'GET, HEAD' });
    if (path === '/healthz') return json(response, 200, { status: 'ok' });
    // the page's scripts and styles are the same for everyone (and in the npm package): the login form uses them too
    if (page.has(path)) return page.asset(response, path);
    const authorized = login.authorized(request);
    if (path === '/' || path === '/index.html') return authorized ? page.page(response, login.required) : page.login(response, 200, null);
    if (!authorized) return json(response, 401, { error: 'Unauthorized: send Authorization: Bearer <admin.token>, or log in at /' }, { 'www-authenticate': 'Bearer realm="mcp-relay admin"' });
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
        return json(response, 404, { error: `no admin endpoint at ${path}: try / (the status page), /healthz, /readyz, /metrics, /status or /events` });
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
