#!/usr/bin/env node
/** mcp-relay entry: parse the CLI, wire the graph to stdin/stdout, backends.yaml and WebSockets; exit 0 when stdin ends. */
import { merge, retry, Subject, timer } from 'rxjs';
import { relay } from '../streams/relay.js';
import { createOpenLink } from './open-link.js';
import { parseCli, USAGE } from './cli.js';
import { configFile$ } from './config-source.js';
import { createConfigWriter } from './config-writer.js';
import type { ConfigInput } from '../streams/config/config.js';
import { createEventLog } from './logger.js';
import { lineWriter, lines$ } from './stdio.js';
import { VERSION } from './version.js';

/** stdin EOF or a signal: the client is gone, so everything closes and the process exits within this */
const EXIT_DEADLINE_MS = 1_500;

/** a pause before rebuilding after an internal error, so a bug cannot spin the CPU */
const REBUILD_DELAY_MS = 200;

/** ±20% so many relays restarting together do not reconnect in lockstep */
const jitter = (ms: number): number => Math.round(ms * (0.8 + Math.random() * 0.4));

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

  let exiting = false;
  const exit = (reason: string) => {
    if (exiting) return;
    exiting = true;
    log.emit({ event: 'relay.stop', reason, level: 'info' });
    subscription.unsubscribe();
    written.complete();
    // the log's last lines may still be queued or in flight: exit once they have landed (or at the deadline below).
    // This timer keeps the process alive: unref'd, a relay with nothing else left open exited before it fired, and
    // its whole log (still queued: the buffer flushes every 100 ms) was lost.
    setTimeout(() => void log.close().then(() => process.exit()), 50);
    setTimeout(() => process.exit(), EXIT_DEADLINE_MS).unref();
  };

  log.emit({ event: 'relay.start', version: VERSION, config: file, level: 'info' });
  const subscription = relay({
    file,
    env: process.env,
    configInput$: merge(configFile$(file), written),
    lines$: lines$(process.stdin),
    openLink: createOpenLink(log.emit),
    jitter,
    editConfig,
    version: VERSION,
    emit: log.emit,
    now: () => performance.now(),
  })
    .pipe(
      // Claude Code never restarts a stdio server: a bug that reaches the top rebuilds the graph instead of exiting
      retry({
        delay: (error: unknown) => {
          log.emit({ event: 'relay.crash', error: error instanceof Error ? (error.stack ?? error.message) : String(error), action: 'rebuilding the relay', level: 'error' });
          return timer(REBUILD_DELAY_MS);
        },
      }),
    )
    .subscribe({
      next: lineWriter(process.stdout),
      // unreachable while the retry above rebuilds forever; kept so an error is never silent
      error: (error: unknown) => {
        log.emit({ event: 'relay.crash', error: error instanceof Error ? (error.stack ?? error.message) : String(error), level: 'error' });
        process.exitCode = 1;
        exit('internal error');
      },
      complete: () => exit('stdin closed'),
    });

  process.once('SIGTERM', () => exit('SIGTERM'));
  process.once('SIGINT', () => exit('SIGINT'));
  // a client that vanished makes stdout throw EPIPE: that is an exit, not a crash
  process.stdout.on('error', () => exit('stdout closed'));
  // the relay must never exit because of one bad message or backend: log it and keep serving
  process.on('uncaughtException', (error) => log.emit({ event: 'relay.uncaught', error: error.stack ?? String(error), level: 'error' }));
  process.on('unhandledRejection', (reason) => log.emit({ event: 'relay.uncaught', error: reason instanceof Error ? (reason.stack ?? reason.message) : String(reason), level: 'error' }));
}

main();
