/** Where the network fronts listen: `ws(s)://host:port/path` or `http(s)://host:port/path`, from --listen or `listen:` in backends.yaml. */
export interface ListenSpec {
  kind: 'ws' | 'http';
  /** wss:// or https://: served with the certificate in `tls:` */
  tls: boolean;
  /** bound exactly as given (brackets of an IPv6 literal removed) */
  host: string;
  /** 0: any free port (the bound one is in the front.listen event) */
  port: number;
  path: string;
  /** the spec written back canonically: the key a listener is known by */
  url: string;
}

const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|localhost)$/i;

export const isLoopbackHost = (host: string): boolean => LOOPBACK.test(host);

/** The spec, or the reason it is not one (for a usage error or a config error). */
export function parseListen(text: string): ListenSpec | string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `${JSON.stringify(text)} is not a URL: write ws://HOST:PORT/PATH or http://HOST:PORT/PATH`;
  }
  if (!['ws:', 'wss:', 'http:', 'https:'].includes(url.protocol)) return `${text}: a listener is ws:// or wss:// (WebSocket), http:// or https:// (Streamable HTTP)`;
  if (url.port === '' && !/:\d+(\/|$)/.test(text.replace(/^[a-z]+:\/\/\[[^\]]*\]/i, ''))) return `${text}: give the port explicitly (ws://127.0.0.1:8765/mcp; 0 for any free port)`;
  if (url.username || url.password || url.search || url.hash) return `${text}: a listener URL has no user, query or fragment`;
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') return `${text}: give the host to bind (127.0.0.1 for this machine only)`;
  const port = Number(url.port === '' ? 0 : url.port);
  const kind = url.protocol === 'ws:' || url.protocol === 'wss:' ? 'ws' : 'http';
  const tls = url.protocol === 'wss:' || url.protocol === 'https:';
  const hostText = host.includes(':') ? `[${host}]` : host;
  return { kind, tls, host, port, path: url.pathname, url: `${url.protocol}//${hostText}:${port}${url.pathname}` };
}

/** Where the admin listener (health, metrics, status) binds: `HOST:PORT`, from --admin or `admin.listen`. */
export interface AdminAddress {
  host: string;
  /** 0: any free port (the bound one is in the admin.listen event) */
  port: number;
  /** written back canonically */
  text: string;
}

/** The address, or the reason it is not one. */
export function parseAdminAddress(text: string): AdminAddress | string {
  const match = /^(\[[^\]]+\]|[^:[\]]+):(\d{1,5})$/.exec(text.trim());
  const port = Number(match?.[2]);
  if (!match || port > 65_535) return `${JSON.stringify(text)} is not HOST:PORT (127.0.0.1:9464, say; 0 for any free port)`;
  const host = (match[1] as string).replace(/^\[(.*)\]$/, '$1');
  return { host, port, text: `${host.includes(':') ? `[${host}]` : host}:${port}` };
}
