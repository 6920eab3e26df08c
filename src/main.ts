#!/usr/bin/env node
/**
 * mcp-relay entry: parse the CLI, start the hub on backends.yaml, serve the stdio client and the network listeners.
 * With stdio the only front, stdin's end is the exit; with listeners, SIGTERM or SIGINT is.
 */
import { randomUUID } from 'node:crypto';
import { merge, retry, Subject, timer, type Subscription } from 'rxjs';
import type { ConfigInput } from '../streams/config/config.js';
import type { ListenSpec } from '../streams/config/listen.js';
import { EMPTY_CONFIG } from '../streams/config/schema.js';
import { createHub } from '../streams/hub.js';
import { stdioSession } from '../streams/relay.js';
import { parseCli, USAGE } from './cli.js';
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

/** a pause before rebuilding after an internal error, so a bug cannot spin the CPU */
const REBUILD_DELAY_MS = 200;

/** ±20% so many relays restarting together do not reconnect in lockstep */
const jitter = (ms: number): number => Math.round(ms * (0.8 + Math.random() * 0.4));

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
    case 'run':
      break;
  }

  const log = createEventLog(process.env);
  const file = command.configFile;
  const written = new Subject<ConfigInput>();
  const editConfig = createConfigWriter(file, process.env, (input) => written.next(input));
  const now = () => performance.now();
  const subscriptions: Subscription[] = [];

  log.emit({ event: 'relay.start', version: VERSION, config: file, stdio: command.stdio, listen: command.listen.map((spec) => spec.url), level: 'info' });
  const hub = createHub({
    file,
    env: process.env,
    configInput$: merge(configFile$(file), written),
    openLink: createOpenLink(log.emit),
    jitter,
    editConfig,
    version: VERSION,
    emit: log.emit,
    now,
  });

  let settings: FrontSettings = { http: EMPTY_CONFIG.http, websocket: EMPTY_CONFIG.websocket, maxClientMessageBytes: EMPTY_CONFIG.maxClientMessageBytes };
  let configListen: readonly ListenSpec[] = [];
  const listeners = new Listeners({ hub, emit: log.emit, now, settings: () => settings });
  const wanted = () => [...command.listen, ...configListen.filter((spec) => !command.listen.some((given) => given.url === spec.url))];

  let exiting = false;
  const exit = (reason: string, code?: number) => {
    if (exiting) return;
    exiting = true;
    if (code !== undefined) process.exitCode = code;
    log.emit({ event: 'relay.stop', reason, level: 'info' });
    const closed = listeners.closeAll(`mcp-relay is shutting down (${reason})`);
    for (const subscription of subscriptions) subscription.unsubscribe();
    written.complete();
    // the log's last lines may still be queued or in flight: exit once they have landed (or at the deadline below).
    // This timer keeps the process alive: unref'd, a relay with nothing else left open exited before it fired, and
    // its whole log (still queued: the buffer flushes every 100 ms) was lost.
    setTimeout(() => void closed.then(() => log.close()).then(() => process.exit()), 50);
    setTimeout(() => process.exit(), EXIT_DEADLINE_MS).unref();
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

  // the command line's listeners must come up: a port in use is an error at start, not a silent half-relay
  // (opened before the config's, which may be read synchronously: a failure must be seen here, not swallowed there)
  void listeners.reconcile(command.listen).then((failures) => {
    if (failures.length === 0) return;
    process.stderr.write(`mcp-relay: ${failures.map((failure) => failure.message).join('\nmcp-relay: ')}\n`);
    exit('a --listen address could not be bound', 1);
  });

  // the fronts follow the config in force: its settings for what comes next, its listen: list opened and closed live
  subscriptions.push(
    hub.config$.subscribe({
      next: (state) => {
        const { config } = state;
        settings = { http: config.http, websocket: config.websocket, maxClientMessageBytes: config.maxClientMessageBytes };
        if (canonical(config.listen) === canonical(configListen)) return;
        configListen = config.listen;
        void listeners.reconcile(wanted());
      },
      // the hub's own retry rebuilds the config stream; this subscription only follows it
      error: (error: unknown) => log.emit({ event: 'relay.crash', error: describe(error), action: 'listeners keep their last settings', level: 'error' }),
    }),
  );

  if (command.stdio) {
    const stdio$ = stdioSession(hub, { lines$: lines$(process.stdin), clientId: randomUUID(), emit: log.emit, now, wallClock: () => Date.now() }).pipe(
      // Claude Code never restarts a stdio server: a session that crashed is started again on the same stdin
      retry({ delay: () => timer(REBUILD_DELAY_MS) }),
    );
    const writeLine = lineWriter(process.stdout);
    subscriptions.push(
      stdio$.subscribe({
        next: (output) => writeLine(output.line),
        error: (error: unknown) => log.emit({ event: 'relay.crash', error: describe(error), level: 'error' }),
        complete: () => {
          if (listeners.count === 0) exit('stdin closed');
          else log.emit({ event: 'stdio.closed', action: 'serving the network listeners until SIGTERM', level: 'info' });
        },
      }),
    );
    // a client that vanished makes stdout throw EPIPE: that is the end of the stdio client, not a crash
    process.stdout.on('error', () => (listeners.count === 0 ? exit('stdout closed') : undefined));
  }

  process.once('SIGTERM', () => exit('SIGTERM'));
  process.once('SIGINT', () => exit('SIGINT'));
  // the relay must never exit because of one bad message or backend: log it and keep serving
  process.on('uncaughtException', (error) => log.emit({ event: 'relay.uncaught', error: error.stack ?? String(error), level: 'error' }));
  process.on('unhandledRejection', (reason) => log.emit({ event: 'relay.uncaught', error: describe(reason), level: 'error' }));
}

const canonical = (specs: readonly ListenSpec[]): string => specs.map((spec) => spec.url).join(' ');

main();
