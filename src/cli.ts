/** Command-line arguments: mcp-relay [--config PATH] [--listen URL ...] [--no-stdio]; RELAY_CONFIG and ./backends.yaml as fallbacks. */
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { parseAdminAddress, parseListen, type AdminAddress, type ListenSpec } from '../streams/config/listen.js';

export const USAGE = `Usage: mcp-relay [--config PATH] [--listen URL ...] [--no-stdio] [--admin HOST:PORT]
       mcp-relay status [--admin HOST:PORT] [--json]

One MCP server in front of every MCP backend listed in backends.yaml: to a local client over
stdio (what Claude Code starts), and to web clients and remote agents over WebSocket and
Streamable HTTP when asked to listen.

Options:
  -c, --config PATH   backends file (default: $RELAY_CONFIG, else ./backends.yaml)
  -l, --listen URL    serve MCP clients at ws://HOST:PORT/PATH (WebSocket) or
                      http://HOST:PORT/PATH (Streamable HTTP); repeatable, any mix;
                      also \`listen: [...]\` in backends.yaml. Binds exactly HOST.
      --no-stdio      do not serve stdin/stdout: a pure network service
      --admin HOST:PORT
                      serve /healthz, /readyz, /metrics (Prometheus), /status and /events
                      (SSE) for operators; also \`admin: { listen, token }\` in backends.yaml.
                      Beyond loopback it needs admin.token.
  -h, --help          show this help
  -v, --version       show the version

With stdio as the only front, the relay exits when stdin ends; with listeners it keeps
serving until SIGTERM or SIGINT.

Environment: RELAY_CONFIG, LOG_LEVEL (trace..fatal, default info), LOG_FILE (default: stderr).
`;

export const STATUS_USAGE = `Usage: mcp-relay status [--admin HOST:PORT] [--json]

A running relay's backends and clients, from its admin listener (start the relay with
--admin HOST:PORT, or admin.listen in backends.yaml).

Options:
      --admin HOST:PORT   the admin listener (default: $RELAY_ADMIN, else 127.0.0.1:9464)
      --json              print JSON for scripts instead of tables

Environment: RELAY_ADMIN, RELAY_ADMIN_TOKEN (the listener's admin.token, when it has one).
Exit 1 when the relay cannot be reached.
`;

export type CliCommand =
  | { kind: 'run'; configFile: string; listen: ListenSpec[]; stdio: boolean; admin: AdminAddress | null }
  | { kind: 'status'; admin: AdminAddress; json: boolean; token: string | null }
  | { kind: 'status-help' }
  | { kind: 'help' }
  | { kind: 'version' }
  | { kind: 'usage-error'; message: string };

/** `mcp-relay status ...` */
function parseStatus(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): CliCommand {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: { admin: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false });
  } catch (error: unknown) {
    return { kind: 'usage-error', message: error instanceof Error ? error.message : String(error) };
  }
  if (parsed.values.help) return { kind: 'status-help' };
  const given = parsed.values.admin ?? (env['RELAY_ADMIN'] || undefined) ?? '127.0.0.1:9464';
  const admin = parseAdminAddress(given);
  if (typeof admin === 'string') return { kind: 'usage-error', message: `--admin ${admin}` };
  return { kind: 'status', admin, json: parsed.values.json === true, token: env['RELAY_ADMIN_TOKEN'] || null };
}

export function parseCli(argv: readonly string[], env: Readonly<Record<string, string | undefined>>, cwd: string): CliCommand {
  if (argv[0] === 'status') return parseStatus(argv.slice(1), env);
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: {
        config: { type: 'string', short: 'c' },
        listen: { type: 'string', short: 'l', multiple: true },
        'no-stdio': { type: 'boolean' },
        admin: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (error: unknown) {
    return { kind: 'usage-error', message: error instanceof Error ? error.message : String(error) };
  }
  if (parsed.values.help) return { kind: 'help' };
  if (parsed.values.version) return { kind: 'version' };
  if (parsed.values.config === '') return { kind: 'usage-error', message: '--config needs a path' };
  const listen: ListenSpec[] = [];
  for (const text of parsed.values.listen ?? []) {
    const spec = parseListen(text);
    if (typeof spec === 'string') return { kind: 'usage-error', message: `--listen ${spec}` };
    if (!listen.some((other) => other.url === spec.url)) listen.push(spec);
  }
  const admin = parsed.values.admin === undefined ? null : parseAdminAddress(parsed.values.admin);
  if (typeof admin === 'string') return { kind: 'usage-error', message: `--admin ${admin}` };
  const file = parsed.values.config ?? (env['RELAY_CONFIG'] || undefined) ?? 'backends.yaml';
  return { kind: 'run', configFile: resolve(cwd, file), listen, stdio: parsed.values['no-stdio'] !== true, admin };
}
