/** backends.yaml text -> RelayConfig, or a ConfigError naming the file, the line and the field. */
import { isMap, isNode, isScalar, LineCounter, parseDocument, type Document } from 'yaml';
import { ConfigError } from '../core/errors.js';
import { isLoopbackHost, parseAdminAddress, parseListen, type AdminAddress, type ListenSpec } from './listen.js';
import {
  configSchema,
  DEFAULT_HTTP_FRONT,
  DEFAULT_LIMITS,
  DEFAULT_MAX_CLIENT_MESSAGE_BYTES,
  DEFAULT_SETTINGS,
  DEFAULT_SHUTDOWN_GRACE_MS,
  DEFAULT_INSTRUCTIONS_MAX_CHARS,
  DEFAULT_STARTUP_GRACE_MS,
  DEFAULT_WS_FRONT,
  type AccessSettings,
  type AdminSettings,
  type AuthSettings,
  type BackendCredentials,
  type BackendEntry,
  type GlobFilter,
  type LimitSettings,
  type BackendSettings,
  type RawConfig,
  type RelayConfig,
} from './schema.js';

export type Env = Readonly<Record<string, string | undefined>>;

type Path = ReadonlyArray<string | number>;

const fieldName = (path: Path): string =>
  path.reduce<string>((name, key) => (typeof key === 'number' ? `${name}[${key}]` : name ? `${name}.${key}` : key), '');

/** The line of the deepest node on the path that exists, so a missing field points at its parent. */
function lineOf(doc: Document, lines: LineCounter, path: Path): number | undefined {
  for (let depth = path.length; depth >= 0; depth--) {
    const parent = depth === 0 ? null : depth === 1 ? doc.contents : doc.getIn(path.slice(0, depth - 1), true);
    // a key's own line: a block value (`key:` then an indented map) starts on the line below
    const key = isMap(parent) ? parent.items.find((pair) => isScalar(pair.key) && pair.key.value === path[depth - 1])?.key : undefined;
    const node = isNode(key) ? key : depth === 0 ? doc.contents : doc.getIn(path.slice(0, depth), true);
    if (isNode(node) && node.range) return lines.linePos(node.range[0]).line;
  }
  return undefined;
}

const ENV_REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

function substituteEnv(value: string, env: Env, fail: (name: string) => never): string {
  return value.replace(ENV_REFERENCE, (_match, name: string) => env[name] ?? fail(name));
}

function resolveSettings(base: BackendSettings, over: Partial<RawSettings> | null | undefined): BackendSettings {
  if (!over) return base;
  return {
    timeoutMs: over.timeoutMs ?? base.timeoutMs,
    connectWaitMs: over.connectWaitMs ?? base.connectWaitMs,
    pingIntervalMs: over.pingIntervalMs ?? base.pingIntervalMs,
    pongTimeoutMs: over.pongTimeoutMs ?? base.pongTimeoutMs,
    backoff: {
      initialMs: over.backoff?.initialMs ?? base.backoff.initialMs,
      maxMs: over.backoff?.maxMs ?? base.backoff.maxMs,
    },
    maxMessageBytes: over.maxMessageBytes ?? base.maxMessageBytes,
    circuitBreaker: {
      failureThreshold: over.circuitBreaker?.failureThreshold ?? base.circuitBreaker.failureThreshold,
      cooldownMs: over.circuitBreaker?.cooldownMs ?? base.circuitBreaker.cooldownMs,
    },
    queue: { maxLength: over.queue?.maxLength ?? base.queue.maxLength, maxWaitMs: over.queue?.maxWaitMs ?? base.queue.maxWaitMs },
    maxInFlight: over.maxInFlight ?? base.maxInFlight,
  };
}

type RawSettings = NonNullable<RawConfig['defaults']>;

/** Never throws: anything the YAML library or a hostile file can throw (alias bombs, say) is a ConfigError too. */
export function parseConfig(text: string, file: string, env: Env): RelayConfig | ConfigError {
  try {
    return parseConfigText(text, file, env);
  } catch (error: unknown) {
    if (error instanceof ConfigError) return error;
    return new ConfigError(file, `cannot load: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function parseConfigText(text: string, file: string, env: Env): RelayConfig | ConfigError {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const yamlError = doc.errors[0];
  if (yamlError) {
    const line = yamlError.linePos?.[0]?.line ?? lines.linePos(yamlError.pos[0]).line;
    return new ConfigError(file, `invalid YAML: ${yamlError.message.split('\n')[0] ?? yamlError.code}`, line);
  }
  // an editor's truncate-then-write shows an empty file for a moment: that must not tear every backend down
  if (doc.contents === null) return new ConfigError(file, 'the file is empty; write `backends: []` to run with no backends');
  const raw: unknown = doc.toJS({ maxAliasCount: 1_000 }) ?? {};
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const at = (issue?.path ?? []).filter((key): key is string | number => typeof key !== 'symbol');
    // an unknown key is the mistake, not the block holding it: point at the key and its line
    const path = issue?.code === 'unrecognized_keys' && issue.keys[0] !== undefined ? [...at, issue.keys[0]] : at;
    return new ConfigError(file, issue?.message ?? 'invalid', lineOf(doc, lines, path), fieldName(path) || undefined);
  }
  const defaults = resolveSettings(DEFAULT_SETTINGS, parsed.data.defaults);
  try {
    const backends = (parsed.data.backends ?? []).map((backend, index): BackendEntry => {
      const substituted = (field: 'headers' | 'env'): Record<string, string> => {
        const values: Record<string, string> = {};
        for (const [key, value] of Object.entries(backend[field] ?? {})) {
          const path = ['backends', index, field, key];
          values[key] = substituteEnv(value, env, (name) => {
            throw new ConfigError(file, `environment variable ${name} is not set`, lineOf(doc, lines, path), fieldName(path));
          });
        }
        return values;
      };
      const headers = substituted('headers');
      const command = backend.command === undefined ? null : { command: backend.command, args: backend.args ?? [], env: substituted('env'), cwd: backend.cwd ?? null };
      const url = backend.url ?? backend.urls?.[0] ?? `stdio:${[backend.command, ...(backend.args ?? [])].join(' ')}`;
      return {
        name: backend.name,
        transport: command ? 'stdio' : /^wss?:/i.test(url) ? 'ws' : 'http',
        url,
        replicas: backend.urls ?? [],
        command,
        prefix: backend.prefix ?? '',
        toolFilter: { include: backend.tools?.include ?? [], exclude: backend.tools?.exclude ?? [] },
        subprotocol: backend.subprotocol === undefined ? 'mcp' : backend.subprotocol || null,
        headers,
        enabled: backend.enabled ?? true,
        // a principal's own credentials need a session of its own
        isolation: backend.credentials === 'per-principal' ? 'per-client' : (backend.isolation ?? 'shared'),
        credentials: backend.credentials ?? 'shared',
        settings: resolveSettings(defaults, backend),
      };
    });
    const http = parsed.data.http ?? {};
    const secret = (value: string, path: Path): string =>
      substituteEnv(value, env, (name) => {
        throw new ConfigError(file, `environment variable ${name} is not set`, lineOf(doc, lines, path), fieldName(path));
      });
    const fail = (message: string, path: Path): never => {
      throw new ConfigError(file, message, lineOf(doc, lines, path), fieldName(path));
    };
    const auth = parsed.data.auth ? resolveAuth(parsed.data.auth, secret, fail) : null;
    const listen = (parsed.data.listen ?? []).map((text) => parseListen(text) as ListenSpec);
    const tlsListener = listen.findIndex((spec) => spec.tls);
    if (tlsListener !== -1 && !parsed.data.tls) {
      const path = ['listen', tlsListener];
      throw new ConfigError(file, `${listen[tlsListener]?.url} needs a certificate: add tls: { cert: FILE, key: FILE }`, lineOf(doc, lines, path), fieldName(path));
    }
    const tls = parsed.data.tls ? { cert: parsed.data.tls.cert, key: parsed.data.tls.key, passphrase: parsed.data.tls.passphrase === undefined ? null : secret(parsed.data.tls.passphrase, ['tls', 'passphrase']) } : null;
    return {
      backends,
      listen,
      http: {
        allowedOrigins: http.allowedOrigins ?? DEFAULT_HTTP_FRONT.allowedOrigins,
        sessionIdleMs: http.sessionIdleMs ?? DEFAULT_HTTP_FRONT.sessionIdleMs,
        resumeBufferEvents: http.resumeBufferEvents ?? DEFAULT_HTTP_FRONT.resumeBufferEvents,
      },
      websocket: {
        pingIntervalMs: parsed.data.websocket?.pingIntervalMs ?? DEFAULT_WS_FRONT.pingIntervalMs,
        pongTimeoutMs: parsed.data.websocket?.pongTimeoutMs ?? DEFAULT_WS_FRONT.pongTimeoutMs,
      },
      startupGraceMs: parsed.data.startupGraceMs ?? DEFAULT_STARTUP_GRACE_MS,
      shutdownGraceMs: parsed.data.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS,
      instructionsMaxChars: parsed.data.instructions?.maxChars ?? DEFAULT_INSTRUCTIONS_MAX_CHARS,
      admin: parsed.data.admin ? resolveAdmin(parsed.data.admin, secret, fail) : null,
      maxClientMessageBytes: parsed.data.limits?.maxMessageBytes ?? parsed.data.maxClientMessageBytes ?? DEFAULT_MAX_CLIENT_MESSAGE_BYTES,
      management: { allowChanges: parsed.data.management?.allowChanges ?? true },
      auth,
      limits: resolveLimits(parsed.data.limits),
      tls,
      audit: parsed.data.audit ? { file: parsed.data.audit.file, redactKeys: parsed.data.audit.redactKeys ?? [] } : null,
    };
  } catch (error: unknown) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
}

type RawAuth = NonNullable<RawConfig['auth']>;
type RawAccess = NonNullable<RawAuth['tokens']>[number] | NonNullable<RawAuth['access']>[number];

/** `!pattern` excludes; no list at all lets everything through */
function globFilter(patterns: readonly string[] | undefined): GlobFilter {
  const list = patterns ?? [];
  return { include: list.filter((pattern) => !pattern.startsWith('!')), exclude: list.filter((pattern) => pattern.startsWith('!')).map((pattern) => pattern.slice(1)) };
}

function resolveAccess(raw: RawAccess, secret: (value: string, path: Path) => string, at: Path): AccessSettings {
  const credentials: Record<string, BackendCredentials> = {};
  for (const [backend, given] of Object.entries(raw.credentials ?? {})) {
    const substituted = (field: 'headers' | 'env') => Object.fromEntries(Object.entries(given[field] ?? {}).map(([key, value]) => [key, secret(value, [...at, 'credentials', backend, field, key])]));
    credentials[backend] = { headers: substituted('headers'), env: substituted('env') };
  }
  return {
    backends: globFilter(raw.backends),
    tools: globFilter(raw.tools),
    resources: globFilter(raw.resources),
    prompts: globFilter(raw.prompts),
    admin: raw.admin ?? false,
    credentials,
  };
}

function resolveAuth(raw: RawAuth, secret: (value: string, path: Path) => string, fail: (message: string, path: Path) => never): AuthSettings {
  const tokens = (raw.tokens ?? []).map((token, index) => ({ name: token.name, token: secret(token.token, ['auth', 'tokens', index, 'token']), access: resolveAccess(token, secret, ['auth', 'tokens', index]) }));
  // one secret, two principals: whoever holds it would be the first of them, silently
  tokens.forEach((token, index) => {
    const other = tokens.findIndex((candidate) => candidate.token === token.token);
    if (other !== index) fail(`auth.tokens[${index}] ('${token.name}') has the same secret as auth.tokens[${other}] ('${tokens[other]?.name}'): give each principal its own token`, ['auth', 'tokens', index, 'token']);
  });
  const jwt = raw.jwt;
  const audience = jwt === undefined ? [] : typeof jwt.audience === 'string' ? [jwt.audience] : jwt.audience;
  return {
    tokens,
    jwt:
      jwt === undefined
        ? null
        : {
            issuer: jwt.issuer,
            audience,
            jwksUrl: jwt.jwksUrl ?? null,
            jwksFile: jwt.jwksFile ?? null,
            scopes: jwt.scopes ?? [],
            nameClaim: jwt.claims?.name ?? 'sub',
            clockSkewSeconds: jwt.clockSkewSeconds ?? 30,
            resource: jwt.resource ?? audience[0] ?? '',
          },
    access: (raw.access ?? []).map((rule, index) => ({
      match: Object.fromEntries(Object.entries(rule.match ?? {}).map(([claim, values]) => [claim, typeof values === 'string' ? [values] : values])),
      access: resolveAccess(rule, secret, ['auth', 'access', index]),
    })),
    allowUnauthenticated: raw.allowUnauthenticated ?? false,
  };
}

function resolveLimits(raw: RawConfig['limits']): LimitSettings {
  if (!raw) return DEFAULT_LIMITS;
  const rate = raw.rateLimit;
  const perConnection = rate ? { requestsPerSecond: rate.requestsPerSecond, burst: rate.burst ?? Math.max(1, Math.ceil(rate.requestsPerSecond * 2)) } : DEFAULT_LIMITS.rateLimit;
  const perPrincipal = rate?.perPrincipal;
  return {
    maxConnections: raw.maxConnections ?? DEFAULT_LIMITS.maxConnections,
    maxConnectionsPerToken: raw.maxConnectionsPerToken ?? DEFAULT_LIMITS.maxConnectionsPerToken,
    maxInFlightPerClient: raw.maxInFlightPerClient ?? DEFAULT_LIMITS.maxInFlightPerClient,
    rateLimit: perConnection,
    principalRateLimit: perPrincipal
      ? { requestsPerSecond: perPrincipal.requestsPerSecond, burst: perPrincipal.burst ?? Math.max(1, Math.ceil(perPrincipal.requestsPerSecond * 2)) }
      : rate
        ? { requestsPerSecond: perConnection.requestsPerSecond * 5, burst: perConnection.burst * 5 }
        : DEFAULT_LIMITS.principalRateLimit,
    maxUnsentBytes: raw.maxUnsentBytes ?? DEFAULT_LIMITS.maxUnsentBytes,
  };
}

/** an admin listener beyond loopback shows every backend and client: it needs a token */
function resolveAdmin(raw: NonNullable<RawConfig['admin']>, secret: (value: string, path: Path) => string, fail: (message: string, path: Path) => never): AdminSettings {
  const listen = parseAdminAddress(raw.listen) as AdminAddress;
  const token = raw.token === undefined ? null : secret(raw.token, ['admin', 'token']);
  if (token === null && !isLoopbackHost(listen.host)) fail(`an admin listener on ${listen.text} (beyond loopback) needs token: \${ADMIN_TOKEN} (set in the environment); or bind 127.0.0.1`, ['admin', 'listen']);
  return { listen, token };
}
