// npm run demo: the relay in front of the example backends, driven by the MCP SDK's own
// client over stdio, the way Claude Code drives it. It shows the aggregated catalogue,
// one call routed to each backend (with progress), the relay's status, a second client
// joining over WebSocket, a backend added and removed while the relay runs (both clients
// hear of it), and the relay's event log.
//
// The relay runs on a copy of backends.yaml in a temporary directory, so the demo never
// edits the repository's file. The relay's stdout is the MCP channel (the SDK client reads
// it); its stderr (the event log) goes to a file in that directory. This process is not
// the relay, so it prints to stdout freely.
import { createWriteStream, existsSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ToolListChangedNotificationSchema, type CallToolResult, type Progress } from '@modelcontextprotocol/sdk/types.js';
import { WebSocketClientTransport } from '../test/fixtures/ws-client-transport.js';
import { EXAMPLE_PORTS, startExampleBackends } from './backends.js';

/** the whole demo, start to exit; a hang anywhere ends in a clear failure, not a stuck terminal */
const HARD_TIMEOUT_MS = 60_000;
/** one request to the relay */
const CALL_TIMEOUT_MS = 20_000;
/** how long to wait for notifications/tools/list_changed after a change */
const LIST_CHANGED_WAIT_MS = 10_000;
const LOG_TAIL_LINES = 14;

// dist/examples/demo.js -> dist/src/main.js and the repository's backends.yaml, from any cwd
const RELAY_MAIN = fileURLToPath(new URL('../src/main.js', import.meta.url));
const BUNDLED_CONFIG = fileURLToPath(new URL('../../backends.yaml', import.meta.url));

// ---- output: plain text when stdout is not a terminal (CI, pipes, files) ----

const useColor = process.stdout.isTTY === true && !process.env['NO_COLOR'] && !process.env['CI'];
const paint =
  (code: string) =>
  (text: string): string =>
    useColor ? `\x1b[${code}m${text}\x1b[0m` : text;
const bold = paint('1');
const dim = paint('2');
const red = paint('31');
const green = paint('32');
const yellow = paint('33');
const cyan = paint('36');

const out = (line = ''): void => void process.stdout.write(`${line}\n`);
const indent = (text: string, by = '   '): string =>
  text
    .split('\n')
    .map((line) => by + line)
    .join('\n');

const started = Date.now();
const elapsed = (): string => `${((Date.now() - started) / 1000).toFixed(1)} s`;

let stepNumber = 0;
let currentStep = 'start-up';
function heading(title: string): void {
  currentStep = title;
  const text = `${++stepNumber}. ${title}`;
  out();
  out(bold(text));
  out(dim('='.repeat(text.length)));
}

// ---- the pieces that need cleaning up, whichever way the demo ends ----

let workDir: string | null = null;
let logFile: string | null = null;
let logWritten: Promise<void> = Promise.resolve();
let client: Client | null = null;
let webClient: Client | null = null;
let relayPid: number | undefined;
let stopBackends: (() => Promise<void>) | null = null;

const withDeadline = <T>(promise: Promise<T>, ms: number): Promise<T | undefined> =>
  Promise.race([promise, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), ms).unref())]);

/** Closes both clients, stops the relay (a relay with a listener serves on after stdin ends: SIGTERM), then the backends. */
async function closeAll(): Promise<void> {
  const web = webClient;
  webClient = null;
  if (web) await withDeadline(web.close().catch(() => undefined), 2_000);
  if (relayPid !== undefined) {
    try {
      process.kill(relayPid, 'SIGTERM');
    } catch {
      // it has exited already
    }
  }
  const closing = client;
  client = null;
  if (closing) await withDeadline(closing.close().catch(() => undefined), 5_000);
  await withDeadline(logWritten, 2_000);
  const stop = stopBackends;
  stopBackends = null;
  if (stop) await withDeadline(stop().catch(() => undefined), 3_000);
}

let failing = false;
async function fail(error: unknown): Promise<never> {
  if (!failing) {
    failing = true;
    const message = error instanceof Error ? error.message : String(error);
    out();
    out(red(bold(`Demo failed during "${currentStep}": ${message}`)));
    await withDeadline(closeAll(), 8_000);
    if (logFile && existsSync(logFile)) {
      const lines = (await readFile(logFile, 'utf8').catch(() => '')).trimEnd().split('\n').slice(-20);
      out();
      out(bold(`Last lines of the relay's log (${logFile}):`));
      out(indent(lines.join('\n')));
    }
    if (workDir) out(`\nThe temporary directory is kept for inspection: ${workDir}`);
  }
  process.exit(1);
}

const hardTimer = setTimeout(() => void fail(new Error(`the demo did not finish within ${HARD_TIMEOUT_MS / 1000} s`)), HARD_TIMEOUT_MS);

// ---- the MCP side ----

type ToolResult = CallToolResult;

const textOf = (result: ToolResult): string =>
  result.content
    .filter((item): item is Extract<ToolResult['content'][number], { type: 'text' }> => item.type === 'text')
    .map((item) => item.text)
    .join('\n');

/** structuredContent on one line when the tool sent it, else its text */
const brief = (result: ToolResult): string => (result.structuredContent ? JSON.stringify(result.structuredContent) : textOf(result));

async function call(name: string, args: Record<string, unknown> = {}, onprogress?: (progress: Progress) => void): Promise<ToolResult> {
  if (!client) throw new Error('the client is not connected');
  out(`${cyan('->')} ${bold(name)} ${dim(JSON.stringify(args))}`);
  const result = (await client.callTool({ name, arguments: args }, undefined, {
    timeout: CALL_TIMEOUT_MS,
    ...(onprogress ? { onprogress, resetTimeoutOnProgress: true } : {}),
  })) as ToolResult;
  if (result.isError) throw new Error(`${name} answered with an error result: ${textOf(result)}`);
  return result;
}

async function toolNames(): Promise<string[]> {
  if (!client) throw new Error('the client is not connected');
  const { tools } = await client.listTools(undefined, { timeout: CALL_TIMEOUT_MS });
  return tools.map((tool) => tool.name);
}

interface ServerStatus {
  name: string;
  url: string;
  health: string;
  connected: boolean;
  tools: number;
  tool_names: string[];
  error?: string;
}
interface RelayStatus {
  total_servers: number;
  connected_servers: number;
  total_tools: number;
  servers: ServerStatus[];
}

async function status(): Promise<{ text: string; status: RelayStatus }> {
  if (!client) throw new Error('the client is not connected');
  const result = (await client.callTool({ name: 'relay_get_status', arguments: {} }, undefined, { timeout: CALL_TIMEOUT_MS })) as ToolResult;
  const text = textOf(result);
  if (result.isError) throw new Error(`relay_get_status answered with an error result: ${text}`);
  return { text, status: JSON.parse(text) as RelayStatus };
}

function expectTools(names: readonly string[], present: readonly string[], absent: readonly string[] = []): void {
  const missing = present.filter((name) => !names.includes(name));
  const extra = absent.filter((name) => names.includes(name));
  if (missing.length > 0) throw new Error(`tools/list lacks ${missing.join(', ')} (it has: ${names.join(', ')})`);
  if (extra.length > 0) throw new Error(`tools/list still has ${extra.join(', ')}`);
}

const listChangedAt: number[] = [];
/** off during start-up, when the catalogue fills up backend by backend */
let announceListChanged = false;
let listChangedWaiters: Array<() => void> = [];

/** Resolves when more than `seen` list_changed notifications have arrived. */
function listChangedBeyond(seen: number): Promise<void> {
  const arrived = new Promise<void>((resolve, reject) => {
    if (listChangedAt.length > seen) return resolve();
    const timer = setTimeout(
      () => reject(new Error(`no notifications/tools/list_changed within ${LIST_CHANGED_WAIT_MS / 1000} s`)),
      LIST_CHANGED_WAIT_MS,
    );
    listChangedWaiters.push(() => {
      if (listChangedAt.length > seen) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  // awaited later, after the call that causes it: a timeout meanwhile must not count as unhandled
  arrived.catch(() => undefined);
  return arrived;
}

function progressBar({ progress, total }: Progress): string {
  const width = 20;
  const filled = total ? Math.round((progress / total) * width) : 0;
  return `[${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${progress}${total === undefined ? '' : `/${total}`} ms`;
}

// ---- the event log ----

interface LogLine {
  time?: number;
  event?: string;
  [key: string]: unknown;
}

const DETAIL_KEYS = ['front', 'url', 'remote', 'backend', 'tool', 'health', 'outcome', 'ms', 'tools', 'added', 'removed', 'backends', 'reason', 'error'] as const;

function describeEvent(line: LogLine, origin: number): string {
  const at = line.time === undefined ? '' : `+${((line.time - origin) / 1000).toFixed(3)}s`;
  const details = DETAIL_KEYS.filter((key) => line[key] !== undefined && !(Array.isArray(line[key]) && (line[key] as unknown[]).length === 0))
    .map((key) => {
      const value = line[key];
      if (key === 'ms' && typeof value === 'number') return `ms=${Math.round(value)}`;
      return `${key}=${Array.isArray(value) ? value.join(',') : String(value)}`;
    })
    .join(' ');
  return `${at.padStart(9)}  ${String(line.event).padEnd(18)} ${dim(details)}`;
}

/** The WebSocket listener's bound URL, from the front.listen event in the relay's log. */
async function listeningUrl(file: string): Promise<string> {
  let url: string | undefined;
  await waitFor(async () => {
    const lines = (await readFile(file, 'utf8').catch(() => '')).split('\n').filter((line) => line.includes('"front.listen"'));
    url = lines.length > 0 ? (JSON.parse(lines[0] as string) as { url: string }).url : undefined;
    return url !== undefined;
  }, 'the relay to report its WebSocket listener (front.listen)');
  return url as string;
}

async function waitFor(check: () => boolean | Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

// ---- the demo ----

async function main(): Promise<void> {
  if (!existsSync(RELAY_MAIN)) throw new Error(`${RELAY_MAIN} is missing: run \`npm run build\` first (npm run demo does)`);

  out(bold('mcp-relay demo'));
  out('One stdio MCP server in front of several WebSocket MCP backends, driven by the MCP SDK client.');

  heading('Start the example backends');
  try {
    const examples = await startExampleBackends();
    stopBackends = examples.close;
  } catch (error: unknown) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(
      `could not start the example backends on ports ${Object.values(EXAMPLE_PORTS).join(', ')} (${reason}); ` +
        'is another `npm run demo` or `node dist/examples/run-backends.js` still running?',
      { cause: error },
    );
  }
  for (const [name, port] of Object.entries(EXAMPLE_PORTS)) {
    out(`   ${name.padEnd(8)} ws://127.0.0.1:${port}${name === 'weather' ? dim('   (not in backends.yaml yet: added live below)') : ''}`);
  }

  heading('Start the relay');
  workDir = await mkdtemp(join(tmpdir(), 'mcp-relay-demo-'));
  const config = join(workDir, 'backends.yaml');
  await copyFile(BUNDLED_CONFIG, config);
  logFile = join(workDir, 'relay.log');
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined && key !== 'LOG_FILE') env[key] = value;
  env['LOG_LEVEL'] = 'info';
  const transport = new StdioClientTransport({
    command: process.execPath,
    // stdio for this client, and a WebSocket listener on a free port for the one that joins later
    args: [RELAY_MAIN, '--config', config, '--listen', 'ws://127.0.0.1:0/mcp'],
    cwd: workDir,
    env,
    stderr: 'pipe',
  });
  // drain the relay's stderr (its event log) to a file, or a full pipe would block it
  const log = createWriteStream(logFile);
  logWritten = new Promise<void>((resolve) => log.once('close', () => resolve()));
  transport.stderr?.pipe(log);

  client = new Client({ name: 'mcp-relay-demo', version: '1.0.0' }, { capabilities: {} });
  client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
    listChangedAt.push(Date.now());
    if (announceListChanged) {
      out(`${yellow('<-')} ${bold('notifications/tools/list_changed')} ${dim(`(the client's tool list is stale: it lists tools again)`)}`);
    }
    const waiters = listChangedWaiters;
    listChangedWaiters = [];
    for (const wake of waiters) wake();
  });
  await client.connect(transport, { timeout: CALL_TIMEOUT_MS });
  relayPid = transport.pid ?? undefined;
  const server = client.getServerVersion();
  out(`   node ${dim(`${RELAY_MAIN} --config ${config} --listen ws://127.0.0.1:0/mcp`)}`);
  out(`   connected over stdio to ${bold(`${server?.name ?? '?'} ${server?.version ?? ''}`)}, relay pid ${transport.pid ?? '?'}`);
  out(`   config: a copy of the bundled backends.yaml; event log: ${logFile}`);

  heading('The aggregated catalogue (tools/list)');
  const names = await toolNames();
  expectTools(names, ['notes_add', 'notes_search', 'calc_stats', 'clock_now', 'clock_sleep', 'relay_get_status'], ['weather_forecast']);
  const first = (await status()).status;
  const unhealthy = first.servers.filter((s) => s.health !== 'healthy');
  if (unhealthy.length > 0) throw new Error(`backends not healthy: ${unhealthy.map((s) => `${s.name} ${s.health}${s.error ? ` (${s.error})` : ''}`).join('; ')}`);
  const owned = new Set(first.servers.flatMap((s) => s.tool_names));
  out(`   ${names.length} tools: ${first.total_tools} from ${first.connected_servers}/${first.total_servers} backends, plus the relay's own`);
  for (const s of first.servers) out(`   ${bold(s.name.padEnd(8))} ${green(s.health.padEnd(8))} ${s.tool_names.join(', ')}`);
  out(`   ${bold('relay'.padEnd(8))} ${dim('built-in'.padEnd(8))} ${names.filter((name) => !owned.has(name)).join(', ')}`);
  if (listChangedAt.length > 0) {
    out(dim(`   (${listChangedAt.length} notifications/tools/list_changed arrived while the backends connected: the catalogue grew as each one listed its tools)`));
  }
  announceListChanged = true;

  heading('One call routed to each backend');
  const added = await call('notes_add', { text: 'Buy oat milk for the team' });
  out(`${green('<-')} ${brief(added)}`);
  await call('notes_add', { text: 'Book the meeting room' });
  const found = await call('notes_search', { query: 'milk' });
  out(`${green('<-')} ${brief(found)}`);
  const stats = await call('calc_stats', { numbers: [3, 1, 4, 1, 5, 9, 2, 6] });
  out(`${green('<-')} ${brief(stats)}`);
  const now = await call('clock_now', { timezone: 'Europe/Lisbon' });
  out(`${green('<-')} ${brief(now)}`);
  let progressLines = 0;
  const slept = await call('clock_sleep', { ms: 1500 }, (progress) => {
    progressLines += 1;
    out(`   ${dim('progress')} ${progressBar(progress)}`);
  });
  out(`${green('<-')} ${brief(slept)}`);
  if (progressLines === 0) throw new Error('clock_sleep sent no progress notifications through the relay');

  heading('relay_get_status');
  out(indent((await status()).text));

  heading('A second client joins over WebSocket');
  const wsUrl = await listeningUrl(logFile);
  const web = new Client({ name: 'mcp-relay-demo-web', version: '1.0.0' }, { capabilities: {} });
  let webListChanged = 0;
  web.setNotificationHandler(ToolListChangedNotificationSchema, () => void (webListChanged += 1));
  await web.connect(new WebSocketClientTransport(wsUrl), { timeout: CALL_TIMEOUT_MS });
  webClient = web;
  out(`   connected to ${bold(wsUrl)}: its own session, on the same backend connections`);
  const webTools = (await web.listTools(undefined, { timeout: CALL_TIMEOUT_MS })).tools.map((tool) => tool.name);
  expectTools(webTools, ['notes_search', 'calc_add']);
  out(`   tools/list over WebSocket: ${webTools.length} tools, the same catalogue`);
  const webFound = (await web.callTool({ name: 'notes_search', arguments: { query: 'meeting' } }, undefined, { timeout: CALL_TIMEOUT_MS })) as ToolResult;
  out(`${cyan('->')} ${bold('notes_search')} ${dim('{"query":"meeting"}')} ${dim('(from the WebSocket client)')}`);
  out(`${green('<-')} ${brief(webFound)} ${dim('(the note the stdio client added)')}`);
  const clientsNow = (JSON.parse(textOf((await call('relay_get_status')) as ToolResult)) as { clients?: Array<{ front: string; remote?: string; calls_done: number }> }).clients ?? [];
  out(`   relay_get_status lists ${clientsNow.length} clients: ${clientsNow.map((entry) => `${entry.front}${entry.remote ? ` ${entry.remote}` : ''} (${entry.calls_done} calls)`).join(', ')}`);
  if (clientsNow.length !== 2) throw new Error(`expected 2 clients in relay_get_status, got ${clientsNow.length}`);

  heading('Add a backend while the relay runs (relay_add_server)');
  const before = listChangedAt.length;
  const addCalled = Date.now();
  const changed = listChangedBeyond(before);
  const addResult = await call('relay_add_server', { name: 'weather', url: `ws://127.0.0.1:${EXAMPLE_PORTS.weather}` });
  out(`${green('<-')} ${textOf(addResult)}`);
  await changed;
  out(dim(`   list_changed arrived ${(listChangedAt[before] ?? Date.now()) - addCalled} ms after the call was sent`));
  await waitFor(() => webListChanged > 0, 'the WebSocket client to hear notifications/tools/list_changed');
  out(`${yellow('<-')} ${bold('notifications/tools/list_changed')} ${dim('reached the WebSocket client too (it had listed tools)')}`);
  const afterAdd = await toolNames();
  expectTools(afterAdd, ['weather_forecast']);
  out(`   tools/list now has ${afterAdd.length} tools; new: ${bold(afterAdd.filter((name) => !names.includes(name)).join(', '))}`);
  const copied = await readFile(config, 'utf8');
  if (!copied.includes('name: weather')) throw new Error(`relay_add_server did not write weather to ${config}`);
  out(dim(`   ${config} now lists weather too (comments and order kept)`));

  heading('Call the new backend');
  const forecast = await call('weather_forecast', { city: 'Lisbon' });
  out(indent(textOf(forecast)));

  heading('Remove it again (relay_remove_server)');
  const beforeRemove = listChangedAt.length;
  const removedChanged = listChangedBeyond(beforeRemove);
  const removeResult = await call('relay_remove_server', { name: 'weather' });
  out(`${green('<-')} ${textOf(removeResult)}`);
  await removedChanged;
  const afterRemove = await toolNames();
  expectTools(afterRemove, ['notes_add'], ['weather_forecast']);
  out(`   tools/list is back to ${afterRemove.length} tools`);

  heading("The relay's event log (stderr, one JSON line per event)");
  // the clients leave and the relay is stopped (SIGTERM: with a listener, stdin's end alone does not stop it)
  await closeAll();
  const events = (await readFile(logFile, 'utf8'))
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogLine)
    .filter((line) => typeof line.event === 'string');
  const origin = events[0]?.time ?? 0;
  const counts = new Map<string, number>();
  for (const line of events) counts.set(line.event as string, (counts.get(line.event as string) ?? 0) + 1);
  out(`   ${events.length} events: ${[...counts].map(([event, count]) => `${event} x${count}`).join(', ')}`);
  out(dim(`   the last ${Math.min(LOG_TAIL_LINES, events.length)}:`));
  for (const line of events.slice(-LOG_TAIL_LINES)) out(`   ${describeEvent(line, origin)}`);
  if (!counts.has('relay.stop')) throw new Error('the relay did not log relay.stop when it was stopped');
  out(dim('   (live: LOG_FILE=relay.log, then tail -f relay.log | npx pino-pretty)'));

  heading('Done');
  await rm(workDir, { recursive: true, force: true });
  out(`   relay exited, backends stopped, ${workDir} removed`);
  out(green(bold(`   demo complete in ${elapsed()}; ${listChangedAt.length} list_changed notifications received`)));
}

try {
  await main();
  clearTimeout(hardTimer);
  // nothing should be left running; if a handle lingers, do not hang the terminal on it
  setTimeout(() => process.exit(0), 1_000).unref();
} catch (error: unknown) {
  clearTimeout(hardTimer);
  await fail(error);
}
