// The event log: LOG_FILE and LOG_LEVEL, bad values that must not take the relay down, and no secrets in any line.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startBackend } from '../fixtures/mcp-ws-backend.js';
import { echoTool } from '../fixtures/tools.js';
import { backendsYaml, configFile, eventually, INITIALIZE, startRawRelay, type RawRelay } from './relay-process.js';

describe('event log', () => {
  let relay: RawRelay | undefined;
  afterEach(async () => relay?.stop());

  it('writes JSON events to LOG_FILE, creating its folder, and nothing to stderr', async () => {
    const { file } = configFile(backendsYaml([]));
    const logFile = join(mkdtempSync(join(tmpdir(), 'relay-log-')), 'logs', 'relay.log');
    relay = startRawRelay(['--config', file], { LOG_FILE: logFile });
    await relay.request(1, 'initialize', INITIALIZE);
    await relay.stop();
    const lines = readFileSync(logFile, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { event: string });
    expect(lines.map((line) => line.event)).toEqual(expect.arrayContaining(['relay.start', 'config.reloaded', 'relay.stop']));
    expect(relay.events).toEqual([]);
  });

  it('falls back to stderr and info, with a log.fallback event, for a LOG_FILE it cannot open and an unknown LOG_LEVEL', async () => {
    const { file } = configFile(backendsYaml([]));
    relay = startRawRelay(['--config', file], { LOG_FILE: '/proc/no-such-dir/relay.log', LOG_LEVEL: 'verbose' });
    expect((await relay.request(1, 'ping'))['result']).toEqual({});
    await eventually(() => {
      const reasons = relay!.events.filter((event) => event.event === 'log.fallback').map((event) => String(event['reason']));
      expect(reasons).toEqual([expect.stringMatching(/cannot open LOG_FILE \/proc\/no-such-dir\/relay\.log/), expect.stringMatching(/LOG_LEVEL "verbose"/)]);
    });
    expect(existsSync('/proc/no-such-dir')).toBe(false);
  });

  it('never shows URL user-info, query values or header values, even in connect errors', async () => {
    const slow = await startBackend({ name: 'slow', tools: [echoTool('slow_echo')], acceptDelayMs: 2_000 });
    try {
      const url = slow.url.replace('ws://', 'ws://user:pw@') + '/mcp?token=SECRET';
      const { file } = configFile(backendsYaml([{ name: 'slow', url, extra: '    connectWaitMs: 300\n    headers: { X-Key: hidden-value }\n' }]));
      relay = startRawRelay(['--config', file]);
      await relay.request(1, 'initialize', INITIALIZE);
      await eventually(() => expect(relay!.events.some((event) => event.event === 'backend.state' && /not open within 300 ms/.test(String(event['error'])))).toBe(true));
      const status = await relay.request(2, 'tools/call', { name: 'relay_get_status', arguments: {} });
      const everything = JSON.stringify(relay.events) + JSON.stringify(status);
      expect(everything).toMatch(/token=\*\*\*/);
      expect(everything).not.toMatch(/SECRET|user:pw|pw@|hidden-value/);
    } finally {
      await slow.close();
    }
  });
});
