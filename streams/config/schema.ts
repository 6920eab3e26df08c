/** The backends.yaml schema: validated once at the boundary; inside, the resolved types are trusted. */
import { z } from 'zod';
import { parseAdminAddress, parseListen, type AdminAddress, type ListenSpec } from './listen.js';

export const BACKEND_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

const positiveMs = z.number().int().positive();

const backoffSchema = z.strictObject({ initialMs: positiveMs.optional(), maxMs: positiveMs.optional() });

/** Per-backend settings: in `defaults:`, and overridable on each backend. */
const settingsShape = {
  timeoutMs: positiveMs.optional(),
  connectWaitMs: positiveMs.optional(),
  pingIntervalMs: positiveMs.optional(),
  pongTimeoutMs: positiveMs.optional(),
  backoff: backoffSchema.optional(),
  maxMessageBytes: positiveMs.optional(),
  /** after this many consecutive transport failures, calls fail fast for cooldownMs; then one probe call decides */
  circuitBreaker: z.strictObject({ failureThreshold: positiveMs.optional(), cooldownMs: positiveMs.optional() }).optional(),
  /** calls waiting for a reconnect or for a free slot: at most maxLength of them, each at most maxWaitMs */
  queue: z.strictObject({ maxLength: positiveMs.optional(), maxWaitMs: positiveMs.optional() }).optional(),
  /** calls the relay has in flight on the backend at once (across its instances); the rest wait in the queue */
  maxInFlight: positiveMs.optional(),
};

export const wsUrl = z
  .string()
  .refine((value) => {
    try {
      const url = new URL(value);
      return url.protocol === 'ws:' || url.protocol === 'wss:';
    } catch {
      return false;
    }
  }, 'must be a ws:// or wss:// URL');

/** Where a backend is reached: WebSocket (the main case) or Streamable HTTP. */
export const backendUrl = z
  .string()
  .refine((value) => {
    try {
      return ['ws:', 'wss:', 'http:', 'https:'].includes(new URL(value).protocol);
    } catch {
      return false;
    }
  }, 'must be a ws://, wss://, http:// or https:// URL');

const toolFilterSchema = z.strictObject({
  include: z.array(z.string().min(1)).optional(),
  exclude: z.array(z.string().min(1)).optional(),
});

const backendSchema = z
  .strictObject({
    name: z.string().regex(BACKEND_NAME, 'must be 1-64 characters of letters, digits, _ or -'),
    url: backendUrl.optional(),
    /** several instances of one service (the same tools): calls go to the healthy one with the fewest in flight */
    urls: z.array(backendUrl).min(1).max(64).optional(),
    /** a stdio MCP server the relay spawns */
    command: z.string().min(1).optional(),
    args: z.array(z.string()).optional(),
    env: z.record(z.string(), z.string()).optional(),
    cwd: z.string().min(1).optional(),
    subprotocol: z.union([z.string().min(1), z.literal(false), z.null()]).optional(),
    headers: z.record(z.string(), z.string()).optional(),
    enabled: z.boolean().optional(),
    /** per-client: each client gets its own session of this backend (its own connection or process) */
    isolation: z.enum(['shared', 'per-client']).optional(),
    /** exposed names become <prefix><name>; calls go out with the original name */
    prefix: z.string().regex(/^[a-zA-Z0-9_-]{1,32}$/, 'must be 1-32 characters of letters, digits, _ or -').optional(),
    tools: toolFilterSchema.optional(),
    /** per-principal: each principal's calls go over a session of its own, with the credentials its access rule gives */
    credentials: z.literal('per-principal').optional(),
    ...settingsShape,
  })
  .superRefine((backend, ctx) => {
    const given = (['url', 'urls', 'command'] as const).filter((key) => backend[key] !== undefined);
    if (given.length !== 1) {
      ctx.addIssue({ code: 'custom', path: [given[1] ?? 'url'], message: 'give exactly one of url (ws://, http://), urls (several instances of one service) or command (a stdio server)' });
    }
    const stdioOnly = (['args', 'env', 'cwd'] as const).filter((key) => backend[key] !== undefined);
    if (backend.command === undefined && stdioOnly[0]) ctx.addIssue({ code: 'custom', path: [stdioOnly[0]], message: 'only a command: backend takes args, env and cwd' });
    if (backend.command !== undefined && backend.headers !== undefined) ctx.addIssue({ code: 'custom', path: ['headers'], message: 'a command: backend takes env, not headers' });
    const isWs = [backend.url, ...(backend.urls ?? [])].some((url) => url !== undefined && /^wss?:/i.test(url));
    if (!isWs && backend.subprotocol !== undefined) ctx.addIssue({ code: 'custom', path: ['subprotocol'], message: 'only a ws:// backend has a subprotocol' });
  });

const listenUrl = z.string().superRefine((value, ctx) => {
  const parsed = parseListen(value);
  if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: parsed });
});

const httpFrontSchema = z.strictObject({
  /** Origins a browser page may call from; default: the listener's own loopback origins */
  allowedOrigins: z.array(z.string().min(1)).optional(),
  sessionIdleMs: positiveMs.optional(),
  /** events kept per session for a client that resumes a dropped stream with Last-Event-ID */
  resumeBufferEvents: positiveMs.optional(),
});

const wsFrontSchema = z.strictObject({ pingIntervalMs: positiveMs.optional(), pongTimeoutMs: positiveMs.optional() });

/** a value that must come from the environment: exactly one ${VAR}, so a committed file cannot hold the secret */
const ENV_ONLY = /^\$\{[A-Za-z_][A-Za-z0-9_]*\}$/;
const secretFromEnv = z.string().regex(ENV_ONLY, 'a secret is not written in the file: give ${ENV_VAR} and set that variable');
/** a credential header: the secret part from the environment (`Bearer ${GITHUB_TOKEN}`) */
const credentialValue = z.string().regex(/\$\{[A-Za-z_][A-Za-z0-9_]*\}/, 'a credential is not written in the file: put the secret in an environment variable and write ${ENV_VAR} here');

const globList = z.array(z.string().min(1));
const credentialsSchema = z.record(
  z.string().regex(BACKEND_NAME, 'must be a backend name'),
  z.strictObject({ headers: z.record(z.string(), credentialValue).optional(), env: z.record(z.string(), credentialValue).optional() }),
);
/** what a principal may use: globs over exposed names (`!pattern` excludes); absent means everything */
const accessShape = {
  backends: globList.optional(),
  tools: globList.optional(),
  resources: globList.optional(),
  prompts: globList.optional(),
  admin: z.boolean().optional(),
  credentials: credentialsSchema.optional(),
};

const tokenSchema = z.strictObject({ name: z.string().min(1).max(128), token: secretFromEnv, ...accessShape });

const jwtSchema = z
  .strictObject({
    issuer: z.string().min(1),
    audience: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
    jwksUrl: z.string().url().optional(),
    jwksFile: z.string().min(1).optional(),
    /** scopes every token must carry */
    scopes: z.array(z.string().min(1)).optional(),
    /** which claim names the principal (default sub) */
    claims: z.strictObject({ name: z.string().min(1).optional() }).optional(),
    clockSkewSeconds: z.number().int().nonnegative().max(600).optional(),
    /** the resource identifier in the protected-resource metadata (default: the first audience) */
    resource: z.string().url().optional(),
  })
  .superRefine((jwt, ctx) => {
    if ((jwt.jwksUrl === undefined) === (jwt.jwksFile === undefined)) ctx.addIssue({ code: 'custom', path: ['jwksUrl'], message: 'give exactly one of jwksUrl (the issuer\'s JWKS endpoint) or jwksFile (a JWKS JSON file)' });
  });

/** an access rule for JWT principals: the first whose every claim matches applies */
const accessRuleSchema = z.strictObject({ match: z.record(z.string(), z.union([z.string(), z.array(z.string())])).optional(), ...accessShape });

const authSchema = z
  .strictObject({
    tokens: z.array(tokenSchema).optional(),
    jwt: jwtSchema.optional(),
    access: z.array(accessRuleSchema).optional(),
    /** listen beyond loopback with no authentication at all (logged as a warning at every start) */
    allowUnauthenticated: z.boolean().optional(),
  })
  .superRefine((auth, ctx) => {
    // a principal is its name: two entries of one name would share sessions, seats and a rate
    const seen = new Map<string, number>();
    (auth.tokens ?? []).forEach((token, index) => {
      const first = seen.get(token.name);
      if (first !== undefined) ctx.addIssue({ code: 'custom', path: ['tokens', index, 'name'], message: `duplicate token name '${token.name}' (also auth.tokens[${first}])` });
      else seen.set(token.name, index);
    });
  });

const rateSchema = z.strictObject({ requestsPerSecond: z.number().positive(), burst: z.number().int().positive().optional() });

const limitsSchema = z.strictObject({
  maxConnections: positiveMs.optional(),
  maxConnectionsPerToken: positiveMs.optional(),
  maxMessageBytes: positiveMs.optional(),
  maxInFlightPerClient: positiveMs.optional(),
  rateLimit: rateSchema.extend({ perPrincipal: rateSchema.optional() }).optional(),
  /** a client that lets more than this pile up unread is disconnected */
  maxUnsentBytes: positiveMs.optional(),
});

const tlsSchema = z.strictObject({ cert: z.string().min(1), key: z.string().min(1), passphrase: secretFromEnv.optional() });

const auditSchema = z.strictObject({ file: z.string().min(1), redactKeys: z.array(z.string().min(1)).optional() });

export const configSchema = z
  .strictObject({
    listen: z.array(listenUrl).nullable().optional(),
    http: httpFrontSchema.nullable().optional(),
    websocket: wsFrontSchema.nullable().optional(),
    backends: z.array(backendSchema).nullable().optional(),
    defaults: z.strictObject(settingsShape).nullable().optional(),
    startupGraceMs: z.number().int().nonnegative().optional(),
    /** on SIGTERM, calls in flight get this long to finish */
    shutdownGraceMs: z.number().int().nonnegative().optional(),
    /** health, readiness, metrics and status over HTTP, for operators (a non-loopback address needs a token) */
    admin: z
      .strictObject({ listen: z.string().superRefine((value, ctx) => (typeof parseAdminAddress(value) === 'string' ? ctx.addIssue({ code: 'custom', message: parseAdminAddress(value) as string }) : undefined)), token: secretFromEnv.optional() })
      .nullable()
      .optional(),
    /** the relay's initialize instructions: a section per backend, within maxChars */
    instructions: z.strictObject({ maxChars: positiveMs.optional() }).nullable().optional(),
    maxClientMessageBytes: positiveMs.optional(),
    management: z.strictObject({ allowChanges: z.boolean().optional() }).nullable().optional(),
    auth: authSchema.nullable().optional(),
    limits: limitsSchema.nullable().optional(),
    tls: tlsSchema.nullable().optional(),
    audit: auditSchema.nullable().optional(),
  })
  .superRefine((config, ctx) => {
    const seen = new Map<string, number>();
    (config.backends ?? []).forEach((backend, index) => {
      const first = seen.get(backend.name);
      if (first !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['backends', index, 'name'],
          message: `duplicate backend name '${backend.name}' (also backends[${first}])`,
        });
      } else seen.set(backend.name, index);
    });
  });

export type RawConfig = z.infer<typeof configSchema>;

export interface BackendSettings {
  timeoutMs: number;
  connectWaitMs: number;
  pingIntervalMs: number;
  pongTimeoutMs: number;
  backoff: { initialMs: number; maxMs: number };
  maxMessageBytes: number;
  circuitBreaker: { failureThreshold: number; cooldownMs: number };
  queue: { maxLength: number; maxWaitMs: number };
  maxInFlight: number;
}

export type Transport = 'ws' | 'http' | 'stdio';

export interface StdioCommand {
  command: string;
  args: string[];
  /** added to the relay's own environment, ${ENV} already substituted */
  env: Record<string, string>;
  cwd: string | null;
}

export interface ToolFilter {
  include: string[];
  exclude: string[];
}

export interface BackendEntry {
  name: string;
  transport: Transport;
  /** ws(s):// or http(s):// URL; for a command: backend, `stdio:` and the command line (for display only) */
  url: string;
  /** the instances of a replicated backend (`urls:`), each a URL; empty for a single url: or command: */
  replicas: string[];
  command: StdioCommand | null;
  /** '' for none */
  prefix: string;
  toolFilter: ToolFilter;
  /** null: offer no subprotocol */
  subprotocol: string | null;
  /** values with ${ENV} already substituted; never logged or shown */
  headers: Record<string, string>;
  enabled: boolean;
  /** shared: one connection for every client; per-client: one per client session, opened when it initializes */
  isolation: 'shared' | 'per-client';
  /** per-principal: a session per client, with the principal's own credentials (isolation is per-client then) */
  credentials: 'shared' | 'per-principal';
  settings: BackendSettings;
}

export interface HttpFrontSettings {
  /** null: the listener's own loopback origins only */
  allowedOrigins: string[] | null;
  sessionIdleMs: number;
  resumeBufferEvents: number;
}

export interface WsFrontSettings {
  /** a WebSocket client is pinged this often, and terminated when its pong is this late */
  pingIntervalMs: number;
  pongTimeoutMs: number;
}

/** include and exclude globs over exposed names; both empty lets everything through */
export interface GlobFilter {
  include: string[];
  exclude: string[];
}

/** a principal's own credentials for a per-principal backend (${ENV} substituted): never logged or shown */
export interface BackendCredentials {
  headers: Record<string, string>;
  env: Record<string, string>;
}

export interface AccessSettings {
  backends: GlobFilter;
  tools: GlobFilter;
  resources: GlobFilter;
  prompts: GlobFilter;
  admin: boolean;
  credentials: Record<string, BackendCredentials>;
}

export interface TokenSettings {
  name: string;
  /** the secret itself, from the environment */
  token: string;
  access: AccessSettings;
}

export interface JwtSettings {
  issuer: string;
  audience: string[];
  jwksUrl: string | null;
  jwksFile: string | null;
  scopes: string[];
  nameClaim: string;
  clockSkewSeconds: number;
  /** the protected resource's identifier (RFC 9728): the first audience unless given */
  resource: string;
}

export interface AccessRule {
  /** claim -> the values that match (any of them; an array claim matches when it holds one) */
  match: Record<string, string[]>;
  access: AccessSettings;
}

export interface AuthSettings {
  tokens: TokenSettings[];
  jwt: JwtSettings | null;
  access: AccessRule[];
  allowUnauthenticated: boolean;
}

export interface RateSettings {
  requestsPerSecond: number;
  burst: number;
}

export interface LimitSettings {
  /** per listener */
  maxConnections: number;
  /** per principal, across listeners */
  maxConnectionsPerToken: number;
  maxInFlightPerClient: number;
  /** per connection */
  rateLimit: RateSettings;
  /** per principal, across its connections */
  principalRateLimit: RateSettings;
  maxUnsentBytes: number;
}

export interface TlsSettings {
  cert: string;
  key: string;
  passphrase: string | null;
}

export interface AdminSettings {
  listen: AdminAddress;
  /** the bearer token the admin listener asks for (from the environment); null: none (loopback only) */
  token: string | null;
}

export interface AuditSettings {
  file: string;
  redactKeys: string[];
}

export interface RelayConfig {
  backends: BackendEntry[];
  /** network fronts from the file (the command line's --listen come on top) */
  listen: ListenSpec[];
  http: HttpFrontSettings;
  websocket: WsFrontSettings;
  startupGraceMs: number;
  shutdownGraceMs: number;
  /** the size limit of the instructions in the relay's initialize result */
  instructionsMaxChars: number;
  /** the admin listener from the file (the command line's --admin wins); null: none */
  admin: AdminSettings | null;
  maxClientMessageBytes: number;
  management: { allowChanges: boolean };
  /** null: no authentication (loopback listeners only, unless auth.allowUnauthenticated) */
  auth: AuthSettings | null;
  limits: LimitSettings;
  tls: TlsSettings | null;
  audit: AuditSettings | null;
}

export const DEFAULT_SETTINGS: BackendSettings = {
  timeoutMs: 900_000,
  connectWaitMs: 10_000,
  pingIntervalMs: 30_000,
  pongTimeoutMs: 10_000,
  backoff: { initialMs: 5_000, maxMs: 300_000 },
  maxMessageBytes: 33_554_432,
  circuitBreaker: { failureThreshold: 5, cooldownMs: 30_000 },
  queue: { maxLength: 1_000, maxWaitMs: 10_000 },
  maxInFlight: 256,
};

export const DEFAULT_STARTUP_GRACE_MS = 5_000;
export const DEFAULT_SHUTDOWN_GRACE_MS = 10_000;
/** Claude Code reads every server's instructions at start: a page of text, not a manual */
export const DEFAULT_INSTRUCTIONS_MAX_CHARS = 2_000;
/** The SDK's stdio reader (Claude Code's) drops the whole connection on one message over 10 MB. */
export const DEFAULT_MAX_CLIENT_MESSAGE_BYTES = 9_000_000;

export const DEFAULT_HTTP_FRONT: HttpFrontSettings = { allowedOrigins: null, sessionIdleMs: 30 * 60_000, resumeBufferEvents: 1_000 };

export const DEFAULT_WS_FRONT: WsFrontSettings = { pingIntervalMs: 30_000, pongTimeoutMs: 10_000 };

/** what a person would pick for a shared service: an agent makes a few calls a second, a burst of a few dozen */
export const DEFAULT_LIMITS: LimitSettings = {
  maxConnections: 1_000,
  maxConnectionsPerToken: 50,
  maxInFlightPerClient: 64,
  rateLimit: { requestsPerSecond: 100, burst: 200 },
  principalRateLimit: { requestsPerSecond: 500, burst: 1_000 },
  maxUnsentBytes: 64 * 1024 * 1024,
};

export const EMPTY_CONFIG: RelayConfig = {
  backends: [],
  listen: [],
  http: DEFAULT_HTTP_FRONT,
  websocket: DEFAULT_WS_FRONT,
  startupGraceMs: DEFAULT_STARTUP_GRACE_MS,
  shutdownGraceMs: DEFAULT_SHUTDOWN_GRACE_MS,
  instructionsMaxChars: DEFAULT_INSTRUCTIONS_MAX_CHARS,
  admin: null,
  maxClientMessageBytes: DEFAULT_MAX_CLIENT_MESSAGE_BYTES,
  management: { allowChanges: true },
  auth: null,
  limits: DEFAULT_LIMITS,
  tls: null,
  audit: null,
};
