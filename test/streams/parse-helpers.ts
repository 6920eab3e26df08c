/** parseConfig as the config tests call it: a config they expect, or the ConfigError they expect. */
import { ConfigError } from '../../streams/core/errors.js';
import { parseConfig } from '../../streams/config/parse-config.js';
import type { RelayConfig } from '../../streams/config/schema.js';

export const FILE = '/etc/relay/backends.yaml';

export const yaml = (...lines: string[]): string => `${lines.join('\n')}\n`;

export function parsed(text: string, env: Record<string, string> = {}): RelayConfig {
  const result = parseConfig(text, FILE, env);
  if (result instanceof ConfigError) throw new Error(`expected a config, got: ${result.message}`);
  return result;
}

export function failed(text: string, env: Record<string, string> = {}): ConfigError {
  const result = parseConfig(text, FILE, env);
  if (!(result instanceof ConfigError)) throw new Error(`expected a ConfigError, got ${JSON.stringify(result)}`);
  return result;
}
