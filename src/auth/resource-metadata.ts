/**
 * How a client that was refused finds where to get a token (MCP authorization, 2025-11-25): the RFC 9728 protected
 * resource metadata document, the well-known paths it is served at, and the RFC 6750 WWW-Authenticate challenge that
 * points at it.
 */
import type { JwtSettings } from '../../streams/config/schema.js';

export interface RequestOrigin {
  /** the request came over TLS (or a trusted proxy said so) */
  secure: boolean;
  /** the Host header */
  host: string | undefined;
  /** the MCP endpoint's path on this listener, e.g. /mcp */
  endpointPath: string;
}

const WELL_KNOWN = '/.well-known/oauth-protected-resource';
// a Host header is the client's to choose: only a plain host[:port] goes into a URL we hand out
const PLAIN_HOST = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

function httpUrl(value: string | undefined): URL | null {
  if (value === undefined) return null;
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url : null;
  } catch {
    return null;
  }
}

/** '/mcp/' -> '/mcp', '/' -> '' (RFC 9728 §3.1: no terminating slash before the suffix) */
const trimPath = (path: string): string => {
  const trimmed = path.replace(/\/+$/, '');
  return trimmed === '' || trimmed.startsWith('/') ? trimmed : `/${trimmed}`;
};

/** The resource the client talks to: the configured one when it is a URL, else this listener as the client reached it. */
export function resourceUrl(settings: JwtSettings | null, request: RequestOrigin): string {
  if (settings !== null && httpUrl(settings.resource) !== null) return settings.resource;
  const scheme = request.secure ? 'https' : 'http';
  const path = trimPath(request.endpointPath);
  const host = request.host !== undefined && PLAIN_HOST.test(request.host) ? request.host : 'localhost';
  const candidate = `${scheme}://${host}${path}`;
  return httpUrl(candidate) === null ? `${scheme}://localhost${path}` : candidate;
}

/** RFC 9728 document. Without `request`, a resource that is not a URL is given as configured. */
export function protectedResourceMetadata(settings: JwtSettings, request?: RequestOrigin): Record<string, unknown> {
  return {
    resource: request === undefined ? settings.resource : resourceUrl(settings, request),
    authorization_servers: [settings.issuer],
    // left out when none are required: an empty list would tell clients to ask for no scope at all
    ...(settings.scopes.length > 0 ? { scopes_supported: settings.scopes } : {}),
    bearer_methods_supported: ['header'],
    resource_name: 'mcp-relay',
  };
}

/**
 * The well-known paths a listener at `endpointPath` answers: the root form, the path-suffixed form, and (behind a
 * proxy that serves the relay under another path) the suffixed form of the configured resource's own path.
 */
export function metadataPaths(endpointPath: string, settings?: JwtSettings | null): string[] {
  const configured = httpUrl(settings?.resource);
  const suffixes = [trimPath(endpointPath), configured === null ? '' : trimPath(configured.pathname)];
  return [...new Set([WELL_KNOWN, ...suffixes.filter((suffix) => suffix !== '').map((suffix) => `${WELL_KNOWN}${suffix}`)])];
}

/** The metadata URL to advertise: the well-known URL inserted between the resource's host and path (RFC 9728 §3.1). */
export function metadataUrl(settings: JwtSettings | null, request: RequestOrigin): string {
  const resource = new URL(resourceUrl(settings, request));
  return `${resource.origin}${WELL_KNOWN}${trimPath(resource.pathname)}${resource.search}`;
}

/** a quoted-string: one line of printable ASCII (a header value allows nothing else), quotes and backslashes escaped */
function quoted(value: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are what is being removed
  const line = value.replace(/[\u0000-\u001f\u007f]+/g, ' ').replace(/[^\u0020-\u007e]/g, '?');
  const short = line.length > 400 ? `${line.slice(0, 397)}...` : line;
  return `"${short.replace(/[\\"]/g, (char) => `\\${char}`)}"`;
}

/** WWW-Authenticate header value per RFC 6750 §3 and RFC 9728 §5.1. */
export function wwwAuthenticate(options: {
  metadataUrl?: string;
  scopes?: string[];
  error?: 'invalid_request' | 'invalid_token' | 'insufficient_scope';
  description?: string;
}): string {
  const params: Array<[string, string]> = [['realm', 'mcp-relay']];
  if (options.error !== undefined) params.push(['error', options.error]);
  if (options.description !== undefined && options.description !== '') params.push(['error_description', options.description]);
  if (options.metadataUrl !== undefined) params.push(['resource_metadata', options.metadataUrl]);
  if (options.scopes !== undefined && options.scopes.length > 0) params.push(['scope', options.scopes.join(' ')]);
  return `Bearer ${params.map(([key, value]) => `${key}=${quoted(value)}`).join(', ')}`;
}
