// The audit log against the real relay: a line per call (client, principal, front, tool, backend, duration, outcome,
// argument and result bytes) with the redactKeys values replaced at any depth, a line per auth rejection and per
// management-tool use; and a clean shutdown (SIGTERM) that loses none of them. Also: a relay refuses to listen beyond
// loopback without auth, and says so.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { startFullBackend, type FullBackend } from '../fixtures/full-backend.js';
import { configFile, eventually, FAST_DEFAULTS } from './relay-process.js';
import { httpClient, spawnRelay, startNetworkRelay, wsClient } from './network-relay.js';

const TOKENS = { AUDIT_ALICE: 'alice-audit-6b6b6b6b', AUDIT_ROOT: 'root-audit-7c7c7c7c' };

let backend: FullBackend;

beforeAll(async () => {
  backend = await startFullBackend({ name: 'full' });
});

afterAll(async () => {
  await backend.close();
});

type Line = Record<string, unknown>;

describe('the audit log', () => {
  it('records each call, auth rejection and management use, redacted, and loses none on SIGTERM', async () => {
    const { dir, file } = configFile(`${FAST_DEFAULTS}auth:
  tokens:
    - name: alice
      token: \${AUDIT_ALICE}
    - name: root
      token: \${AUDIT_ROOT}
      admin: true
audit:
  file: logs/audit.jsonl
  redactKeys: [password, apiKey]
backends:
  - name: full
    url: ${backend.url}
`);
    const relay = await startNetworkRelay(file, { env: TOKENS });
    onTestFinished(() => relay.stop());
    const { client: alice } = await wsClient(relay.ws, {}, 'alice', TOKENS.AUDIT_ALICE);
    const { client: root } = await httpClient(relay.http, {}, 'root', TOKENS.AUDIT_ROOT);
    const calls = 40;
    await Promise.all(Array.from({ length: calls }, (_, i) => alice.callTool({ name: 'echo', arguments: { i, password: 'hunter2', nested: { deeper: [{ apiKey: 'sk-live-123' }] } } })));
    await root.callTool({ name: 'relay_get_status', arguments: {} });
    await root.callTool({ name: 'relay_remove_server', arguments: { name: 'nope' } });
    const refused = await fetch(relay.http, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: 'Bearer wrong' }, body: '{}' });
    expect(refused.status).toBe(401);
    // the last lines are still queued when SIGTERM comes: a clean shutdown writes them
    await relay.stop();

    const lines = readFileSync(join(dir, 'logs/audit.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Line);
    const callLines = lines.filter((line) => line['kind'] === 'call');
    expect(callLines).toHaveLength(calls);
    for (const line of callLines) {
      expect(line).toMatchObject({ principal: 'alice', front: 'ws', tool: 'echo', backend: 'full', outcome: 'ok' });
      expect(typeof line['client']).toBe('string');
      expect(Number(line['ms'])).toBeGreaterThanOrEqual(0);
      expect(Number(line['argumentBytes'])).toBeGreaterThan(40);
      expect(Number(line['resultBytes'])).toBeGreaterThan(20);
      expect(new Date(String(line['time'])).getTime()).toBeGreaterThan(Date.now() - 60_000);
      expect(line['arguments']).toMatchObject({ password: '[redacted]', nested: { deeper: [{ apiKey: '[redacted]' }] } });
    }
    const text = JSON.stringify(lines);
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('sk-live-123');
    expect(text).not.toContain(TOKENS.AUDIT_ALICE);
    expect(lines.filter((line) => line['kind'] === 'management').map((line) => [line['tool'], line['principal'], line['outcome']])).toEqual([
      ['relay_get_status', 'root', 'ok'],
      ['relay_remove_server', 'root', 'error'],
    ]);
    expect(lines.find((line) => line['kind'] === 'auth.rejected')).toMatchObject({ front: 'http', status: 401, remote: expect.stringMatching(/^127\.0\.0\.1:/) });
  });
});

describe('exposure', () => {
  it('refuses to listen beyond loopback without auth, naming what to do', async () => {
    const { file } = configFile(`${FAST_DEFAULTS}backends: []\n`);
    const relay = spawnRelay(['--config', file, '--no-stdio', '--listen', 'ws://0.0.0.0:0/mcp']);
    let stderr = '';
    relay.child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    expect((await relay.exited).code).toBe(1);
    expect(stderr).toMatch(/reachable from other machines and the relay has no authentication: add auth:/);
  });

  it('warns at every start when auth.allowUnauthenticated is set', async () => {
    const { file } = configFile(`${FAST_DEFAULTS}auth: { allowUnauthenticated: true }\nbackends: []\n`);
    const relay = await startNetworkRelay(file);
    try {
      await eventually(() => expect(relay.events.find((event) => event.event === 'auth.disabled')).toMatchObject({ level: 40 }));
    } finally {
      // a failed expectation must not leave the relay running
      await relay.stop();
    }
  });
});
