/** Command-line arguments: mcp-relay [--config PATH]; RELAY_CONFIG and ./backends.yaml as fallbacks. */
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';

export const USAGE = `Usage: mcp-relay [--config PATH]

One MCP server (stdio) in front of every WebSocket MCP backend listed in backends.yaml.

Options:
  -c, --config PATH   backends file (default: $RELAY_CONFIG, else ./backends.yaml)
  -h, --help          show this help
  -v, --version       show the version

Environment: RELAY_CONFIG, LOG_LEVEL (trace..fatal, default info), LOG_FILE (default: stderr).
`;

export type CliCommand = { kind: 'run'; configFile: string } | { kind: 'help' } | { kind: 'version' } | { kind: 'usage-error'; message: string };

export function parseCli(argv: readonly string[], env: Readonly<Record<string, string | undefined>>, cwd: string): CliCommand {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: {
        config: { type: 'string', short: 'c' },
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
  const file = parsed.values.config ?? (env['RELAY_CONFIG'] || undefined) ?? 'backends.yaml';
  return { kind: 'run', configFile: resolve(cwd, file) };
}
