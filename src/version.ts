/** The package version, read once from package.json next to the build. */
import { readFileSync } from 'node:fs';

function readVersion(): string {
  for (const path of ['../../package.json', '../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'mcp-relay' && pkg.version) return pkg.version;
    } catch {
      // try the next layout (dist/src or src)
    }
  }
  return '0.0.0';
}

export const VERSION = readVersion();
