// The built relay with an admin listener on a free loopback port and a WebSocket front, in front of the given
// backends: what the admin, status page and browser tests start. Its URLs come from its own admin.listen and
// front.listen events.
import { spawnRelay } from './network-relay.js';
import { backendsYaml, configFile, eventually, FAST_DEFAULTS, type RelayEventLine } from './relay-process.js';

export interface AdminRelay {
  relay: ReturnType<typeof spawnRelay>;
  /** http://127.0.0.1:PORT */
  admin: string;
  /** ws://127.0.0.1:PORT/mcp */
  ws: string;
  stop(): Promise<void>;
}

/** `head` may carry its own `admin:` block (a token); without one, --admin 127.0.0.1:0 */
export async function startAdminRelay(backends: Array<{ name: string; url: string }>, { head = FAST_DEFAULTS, env = {} }: { head?: string; env?: Record<string, string> } = {}): Promise<AdminRelay> {
  const { file } = configFile(backendsYaml(backends, head));
  const relay = spawnRelay(['--config', file, '--no-stdio', '--listen', 'ws://127.0.0.1:0/mcp', ...(head.includes('admin:') ? [] : ['--admin', '127.0.0.1:0'])], env);
  const stop = async () => {
    if (relay.child.exitCode === null && relay.child.signalCode === null) relay.child.kill('SIGKILL');
    await relay.exited;
  };
  const url = (event: string) =>
    eventually(() => {
      const found = relay.events.find((line: RelayEventLine) => line.event === event)?.['url'];
      if (typeof found !== 'string') throw new Error(`no ${event} event yet: ${JSON.stringify(relay.events.slice(-3))}`);
      return found;
    });
  try {
    return { relay, admin: await url('admin.listen'), ws: await url('front.listen'), stop };
  } catch (error: unknown) {
    await stop();
    throw error;
  }
}
