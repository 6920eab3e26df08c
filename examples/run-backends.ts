// Starts the example backends (see backends.ts) until SIGINT/SIGTERM, for
// trying the relay by hand: node dist/examples/run-backends.js
// Logs go to stderr; stdout stays empty.
import { EXAMPLE_PORTS, startExampleBackends } from './backends.js';

const { backends, close } = await startExampleBackends();
const names = Object.keys(EXAMPLE_PORTS);
backends.forEach((b, i) => process.stderr.write(`${names[i] ?? '?'} up: ${b.url}\n`));
process.stderr.write('Ctrl-C to stop\n');

const stop = (signal: NodeJS.Signals): void => {
  process.stderr.write(`${signal}: stopping backends\n`);
  void close().then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
