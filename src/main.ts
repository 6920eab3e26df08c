#!/usr/bin/env node
/**
 * mcp-relay entry: parse the CLI, start the hub on backends.yaml, serve the stdio client and the network listeners.
 * With stdio the only front, stdin's end is the exit; with listeners, SIGTERM or SIGINT is. Either drains first:
 * the calls in flight are answered (within shutdownGraceMs), then everything closes.
 */
import { randomInt, randomUUID } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { merge, race, retry, Subject, take, timer, type Subscription } from 'rxjs';
import { isMissingFile, type ConfigInput } from '../streams/config/config.js';
import { DEFAULT_SHUTDOWN_GRACE_MS, EMPTY_CONFIG, type AuditSettings, type AuthSettings } from '../streams/config/schema.js';
import { ShuttingDownError } from '../streams/core/errors.js';
import type { AdminAddress, ListenSpec } from '../streams/config/listen.js';
import { buildCatalogue } from '../streams/catalogue/catalogue.js';
import { buildStatus } from '../streams/catalogue/status.js';
import { readiness } from '../streams/catalogue/readiness.js';
import type { ConfigState } from '../streams/config/config.js';
import { AdminControl } from './admin/admin-control.js';
import { ErrorCode, failure } from '../streams/core/jsonrpc.js';
import { canonicalJson } from '../streams/config/diff.js';
import { openAudit, type AuditLog } from './audit.js';
import { Authenticator } from './auth/authenticator.js';
import { Principals } from './fronts/principals.js';
import { SecurityEvents } from './security-events.js';
import { createHub } from '../streams/hub.js';
import { stdioSession } from '../streams/relay.js';
import { parseCli, STATUS_USAGE, USAGE, type CliCommand } from './cli.js';
import { loadTracing } from './tracing/tracing-wanted.js';
import type * as TracingModule from './tracing/start-tracing.js';
import { statusCommand } from './status-command.js';
import { configFile$ } from './config-source.js';
import { createConfigWriter } from './config-writer.js';
import type { FrontSettings } from './fronts/front.js';
import { Listeners } from './fronts/listeners.js';
import { createEventLog } from './logger.js';
import { createOpenLink } from './open-link.js';
import { lineWriter, lines$ } from './stdio.js';
import { VERSION } from './version.js';

/** stdin EOF or a signal: everything closes and the process exits within this */
const EXIT_DEADLINE_MS = 1_500;

/** the longest stdin line read: the default limit on a backend's frames (a longer request could go nowhere) */
const MAX_STDIO_LINE_CHARS = 32 * 1024 * 1024;

/** a pause before rebuilding after an internal error, so a bug cannot spin the CPU */
const REBUILD_DELAY_MS = 200;

/** ±20% so many relays restarting together do not reconnect in lockstep */
const jitter = (ms: number): number => Math.round(ms * (0.8 + Math.random() * 0.4));

/** what the admin listener reads from the event stream, once it is open */
const describe = (error: unknown): string => (error instanceof Error ? (error.stack ?? error.message) : String(error));

function main(): void {
  const command = parseCli(process.argv.slice(2), process.env, process.cwd());
  switch (command.kind) {
    case 'help':
      process.stdout.write(USAGE);
      return;
    case 'version':
      process.stdout.write(`mcp-relay ${VERSION}\n`);
      return;
    case 'usage-error':
      process.stderr.write(`mcp-relay: ${command.message}\n\n${USAGE}`);
      process.exitCode = 2;
      return;
    case 'status-help':
      process.stdout.write(STATUS_USAGE);
      return;
    case 'status':
      void statusCommand({
        admin: command.admin,
        json: command.json,
        token: command.token,
        color: process.stdout.isTTY === true && !process.env['NO_COLOR'],
        write: (text) => process.stdout.write(text),
        fail: (text) => process.stderr.write(text),
      }).then((code) => (process.exitCode = code));
      return;
    case 'run':
      // the OpenTelemetry SDK is loaded only when the environment asks for traces: otherwise it costs nothing
      void loadTracing(process.env).then(
        (tracing) => run(command, tracing),
        (error: unknown) => {
          process.stderr.write(`mcp-relay: traces are off: the OpenTelemetry SDK did not load (${describe(error)})\n`);
          run(command, null);
        },
      );
      return;
  }
}

function run(command: Extract<CliCommand, { kind: 'run' }>, tracingModule: typeof TracingModule | null): void {
  const log = createEventLog(process.env);
  const tracing = tracingModule?.startTracing({ env: process.env, version: VERSION, emit: (event) => log.emit(event) }) ?? null;
  const file = command.configFile;
  // the audit log and the refusal counts read the same events the log writes
  let audit: AuditLog | null = null;
  const security = new SecurityEvents(() => audit);
  // the admin listener's metrics and event ring exist only when it is asked for: without it, an event costs nothing more
  let adminControl: AdminControl | null = null;
  const emit = (event: Parameters<typeof log.emit>[0]) => {
    log.emit(event);
    security.observe(event);
    tracing?.observe(event);
    adminControl?.observe(event);
  };
  const written = new Subject<ConfigInput>();
  let loadedOnce = false;
  const editConfig = createConfigWriter(file, process.env, (input) => written.next(input), { loadedOnce: () => loadedOnce });
  const now = () => performance.now();
  const subscriptions: Subscription[] = [];

  log.emit({ event: 'relay.start', version: VERSION, config: file, stdio: command.stdio, listen: command.listen.map((spec) => spec.url), level: 'info' });
  const hub = createHub({
    file,
    env: process.env,
    configInput$: merge(configFile$(file), written),
    openLink: createOpenLink(emit),
    jitter,
    editConfig,
    version: VERSION,
    emit,
    now,
    security: () => security.snapshot(),
    ...(tracing === null ? {} : { tracing: tracing.tracing }),
  });

  let settings: FrontSettings = { http: EMPTY_CONFIG.http, websocket: EMPTY_CONFIG.websocket, maxClientMessageBytes: EMPTY_CONFIG.maxClientMessageBytes, limits: EMPTY_CONFIG.limits, tls: EMPTY_CONFIG.tls };
  let configListen: readonly ListenSpec[] = [];
  // closed until backends.yaml has loaded once: it may ask for tokens
  let authenticator = new Authenticator(null, true);
  let auditSettings: AuditSettings | null = null;
  const listeners = new Listeners({
    hub,
    emit,
    now,
    settings: () => settings,
    // a random seed per process: a client cannot choose request ids that collide in the relay's tables
    security: { authenticator: () => authenticator, principals: new Principals(now), audit: () => audit, idSeed: randomInt(2 ** 31) },
  });
  /** a reload's auth applies to new connections at once; connections whose token it revoked are ended */
  const applyAuth = (auth: AuthSettings | null) => {
    // a JWKS file is found next to backends.yaml
    if (auth?.jwt?.jwksFile) auth = { ...auth, jwt: { ...auth.jwt, jwksFile: resolve(dirname(file), auth.jwt.jwksFile) } };
    if (!authenticator.closed && canonicalJson(auth) === canonicalJson(authenticator.settings)) return;
    authenticator = new Authenticator(auth);
    if (auth?.allowUnauthenticated && !authenticator.required) emit({ event: 'auth.disabled', warning: 'auth.allowUnauthenticated: true: network clients need no token and may use every backend', level: 'warn' });
    listeners.recheck();
  };
  const applyAudit = (wanted: AuditSettings | null) => {
    if (canonicalJson(wanted) === canonicalJson(auditSettings)) return;
    auditSettings = wanted;
    const previous = audit;
    audit = wanted ? openAudit({ ...wanted, file: resolve(dirname(file), wanted.file) }, { onError: (error) => log.emit({ event: 'audit.error', error: error.message, level: 'error' }) }) : null;
    void previous?.close();
  };
  const wanted = () => [...command.listen, ...configListen.filter((spec) => !command.listen.some((given) => given.url === spec.url))];

  let exiting = false;
  const exit = (reason: string, code?: number) => {
    if (exiting) return;
    exiting = true;
    if (code !== undefined) process.exitCode = code;
    log.emit({ event: 'relay.stop', reason, level: 'info' });
    // the audit log's last lines are written before the process goes (a clean shutdown loses none)
    const closed = Promise.all([listeners.closeAll(`mcp-relay is shutting down (${reason})`), adminControl?.close()]).then(() => Promise.all([audit?.close(), tracing?.shutdown()]));
    for (const subscription of subscriptions) subscription.unsubscribe();
    written.complete();
    // the log's last lines may still be queued or in flight: exit once they have landed (or at the deadline below).
    // This timer keeps the process alive: unref'd, a relay with nothing else left open exited before it fired, and
    // its whole log (still queued: the buffer flushes every 100 ms) was lost.
    setTimeout(() => void closed.then(() => log.close()).then(() => process.exit()), 50);
    setTimeout(() => process.exit(), EXIT_DEADLINE_MS).unref();
  };

  let graceMs = DEFAULT_SHUTDOWN_GRACE_MS;
  let draining = false;
  /**
   * SIGTERM, SIGINT, or stdin's end with no listener left: the relay drains. No new connection or call (HTTP and
   * upgrades get 503 Retry-After; a call is answered "shutting down"); the calls in flight get shutdownGraceMs; what
   * still runs then is answered with an error; then exit() closes the sessions (WebSocket 1001), backends and logs.
   */
  /** the grace period is over: what still runs is answered with an error, then the relay exits */
  const graceOver = (reason: string) => {
    const abandoned = hub.drain.abortAll(new ShuttingDownError(true, graceMs));
    if (abandoned > 0) emit({ event: 'relay.drain_timeout', abandoned, grace_ms: graceMs, level: 'warn' });
    // the error answers go out in this turn's writes (stdout batches per microtask): exit on the next one
    setImmediate(() => exit(reason));
  };
  const shutdown = (reason: string) => {
    if (draining || exiting) return;
    draining = true;
    // the fronts read the drain: a new request or upgrade is answered 503, a new call on a session -32061
    hub.drain.start();
    emit({ event: 'relay.draining', reason, calls_in_flight: hub.drain.inFlight, grace_ms: graceMs, level: 'info' });
    subscriptions.push(
      race(hub.drain.idle$, timer(graceMs))
        .pipe(take(1))
        .subscribe({ next: () => graceOver(reason), error: () => exit(reason) }),
    );
  };
  /** a second signal, while draining or exiting: at once, with the signal's conventional code */
  const onSignal = (signal: 'SIGTERM' | 'SIGINT') => {
    if (!draining && !exiting) return shutdown(signal);
    log.emit({ event: 'relay.stop', reason: `${signal} again: exiting at once`, level: 'warn' });
    void Promise.race([log.close(), new Promise((done) => setTimeout(done, 100))]).then(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };

  subscriptions.push(
    hub.run$
      .pipe(
        // a bug that reaches the top rebuilds the hub's streams instead of exiting: no client is ever restarted by it
        retry({
          delay: (error: unknown) => {
            log.emit({ event: 'relay.crash', error: describe(error), action: 'rebuilding the hub', level: 'error' });
            return timer(REBUILD_DELAY_MS);
          },
        }),
      )
      .subscribe(),
  );

  let configState: ConfigState | null = null;
  const readinessNow = () =>
    readiness({ shuttingDown: draining || exiting, loadedOnce, config: configState, states: hub.currentStates(), catalogue: hub.currentCatalogue() });
  const admin = new AdminControl({
    hub,
    logDropped: log.dropped,
    readiness: readinessNow,
    token: () => configState?.config.admin?.token ?? null,
    emit,
    status: () =>
      configState
        ? { ...buildStatus(file, configState, hub.currentStates() ?? new Map(), hub.currentCatalogue() ?? buildCatalogue([], new Map(), new Set()), hub.clients.status(), security.snapshot()) }
        : { config_file: file, loading: true },
  });
  /** --admin wins; otherwise admin.listen of the config in force, followed on every reload (the same address: nothing) */
  const followAdmin = (address: AdminAddress | null, atStart: boolean) => {
    if (address !== null) adminControl = admin;
    admin.reconcile(address).catch((error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      if (atStart) {
        // the address given at start must open: an operator's health checks would otherwise fail without a word
        process.stderr.write(`mcp-relay: ${message}\n`);
        exit('the admin listener could not be opened', 1);
        return;
      }
      emit({ event: 'admin.error', error: message, action: 'the admin listener stays where it was: fix admin.listen in backends.yaml', level: 'error' });
    });
  };

  let first = true;
  // the fronts follow the config in force: its settings for what comes next, its listen: list opened and closed live
  subscriptions.push(
    hub.config$.subscribe({
      next: (state) => {
        const { config } = state;
        configState = state;
        if (state.outcome === 'loaded') loadedOnce = true;
        graceMs = config.shutdownGraceMs;
        // certificate files are found next to backends.yaml, as the audit file is
        const tls = config.tls && { ...config.tls, cert: resolve(dirname(file), config.tls.cert), key: resolve(dirname(file), config.tls.key) };
        settings = { http: config.http, websocket: config.websocket, maxClientMessageBytes: config.maxClientMessageBytes, limits: config.limits, tls };
        applyAudit(config.audit);
        if (state.error === null || isMissingFile(state) || !authenticator.closed) applyAuth(config.auth);
        if (first) {
          first = false;
          followAdmin(command.admin ?? config.admin?.listen ?? null, true);
          // the command line's listeners must come up: a port in use is an error at start, not a silent half-relay.
          // They open once the config is known, so the auth they enforce is the file's from the first connection on.
          // a file that did not load is often the cause (its tls: block, its auth:): say so beside the listener's error
          const unloaded = state.error !== null && !isMissingFile(state) ? `\nmcp-relay: backends.yaml did not load, so its settings are not in force: ${state.error.message}` : '';
          void listeners.reconcile(command.listen).then((failures) => {
            if (failures.length === 0) return;
            process.stderr.write(`mcp-relay: ${failures.map((failure) => failure.message).join('\nmcp-relay: ')}${unloaded}\n`);
            exit('a --listen address could not be bound', 1);
          });
        } else if (command.admin === null && state.outcome === 'loaded') {
          // a reload moves or closes the admin listener the file names (--admin is the command line's, for good)
          followAdmin(config.admin?.listen ?? null, false);
        }
        if (canonical(config.listen) === canonical(configListen)) return;
        configListen = config.listen;
        void listeners.reconcile(wanted());
      },
      // the hub's own retry rebuilds the config stream; this subscription only follows it
      error: (error: unknown) => emit({ event: 'relay.crash', error: describe(error), action: 'listeners keep their last settings', level: 'error' }),
    }),
  );

  if (command.stdio) {
    const writeLine = lineWriter(process.stdout);
    // a line longer than any backend takes (or one that never ends) is dropped as it comes, so memory stays bounded
    const lineLimit = {
      maxChars: MAX_STDIO_LINE_CHARS,
      onOversized: (chars: number) => {
        emit({ event: 'client.oversized', front: 'stdio', chars, limit: MAX_STDIO_LINE_CHARS, dropped: true, level: 'warn' });
        writeLine(JSON.stringify(failure(null, ErrorCode.InvalidRequest, `Invalid request: a line of ${chars} characters is over the relay's limit of ${MAX_STDIO_LINE_CHARS} for one message on stdin; it was dropped unread (its id could not be known)`)));
      },
    };
    const stdio$ = stdioSession(hub, { lines$: lines$(process.stdin, lineLimit), clientId: randomUUID(), emit, now, wallClock: () => Date.now() }).pipe(
      // Claude Code never restarts a stdio server: a session that crashed is started again on the same stdin
      retry({ delay: () => timer(REBUILD_DELAY_MS) }),
    );
    subscriptions.push(
      stdio$.subscribe({
        next: (output) => writeLine(output.line),
        error: (error: unknown) => log.emit({ event: 'relay.crash', error: describe(error), level: 'error' }),
        complete: () => {
          // the stdio session ends once stdin has and its calls are answered
          if (listeners.count === 0) exit('stdin closed');
          else log.emit({ event: 'stdio.closed', action: 'serving the network listeners until SIGTERM', level: 'info' });
        },
      }),
    );
    // stdin's end: every request read before it is still answered (the session ends after the last), within
    // shutdownGraceMs; then what runs is answered with an error. No drain: a request read before the end still starts
    process.stdin.once('end', () => {
      if (listeners.count > 0 || draining || exiting) return;
      emit({ event: 'relay.draining', reason: 'stdin closed', calls_in_flight: hub.drain.inFlight, grace_ms: graceMs, level: 'info' });
      setTimeout(() => graceOver('stdin closed'), graceMs).unref();
    });
    // a client that vanished makes stdout throw EPIPE: that is the end of the stdio client, not a crash
    process.stdout.on('error', () => (listeners.count === 0 ? exit('stdout closed') : undefined));
  }

  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
  // Node prints its warnings to stderr with a synchronous write (stderr is a pipe): with the log unread, that write
  // would block the whole relay. They go to the event log instead, which never blocks (log-sink.ts)
  process.removeAllListeners('warning');
  process.on('warning', (warning) => emit({ event: 'relay.warning', name: warning.name, warning: warning.message, level: 'warn' }));
  // the relay must never exit because of one bad message or backend: log it and keep serving
  process.on('uncaughtException', (error) => log.emit({ event: 'relay.uncaught', error: error.stack ?? String(error), level: 'error' }));
  process.on('unhandledRejection', (reason) => log.emit({ event: 'relay.uncaught', error: describe(reason), level: 'error' }));
}

const canonical = (specs: readonly ListenSpec[]): string => specs.map((spec) => spec.url).join(' ');

main();
