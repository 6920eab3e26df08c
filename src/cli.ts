/** Command-line arguments: mcp-relay [--config PATH] [--listen URL ...] [--no-stdio]; RELAY_CONFIG and ./backends.yaml as fallbacks. */
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { parseAdminAddress, parseListen, type AdminAddress, type ListenSpec } from '../streams/config/listen.js';

export const USAGE = `Usage: mcp-relay [--config PATH] [--listen URL ...] [--no-stdio] [--admin HOST:PORT]

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

export type CliCommand =
  | { kind: 'run'; configFile: string; listen: ListenSpec[]; stdio: boolean; admin: AdminAddress | null }
  | { kind: 'help' }
  | { kind: 'version' }
  | { kind: 'usage-error'; message: string };

export function parseCli(argv: readonly string[], env: Readonly<Record<string, string | undefined>>, cwd: string): CliCommand {
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
