// A backend in its own process (run-backend.js), so a test can kill it -9 and start it again on the same port.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { resolve } from 'node:path';

const RUN_BACKEND = resolve(import.meta.dirname, '../../dist/test/fixtures/run-backend.js');

/** a loopback port free right now (for a backend that must come back on the same one) */
export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((done) => probe.listen(0, '127.0.0.1', done));
  const port = (probe.address() as { port: number }).port;
  await new Promise((done) => probe.close(done));
  return port;
}

/** the backend `proc` on that port with the named tools, once it says READY */
export async function backendProcess(port: number, tools: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [RUN_BACKEND, '--port', String(port), '--name', 'proc', '--tools', tools], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((done, fail) => {
    child.stdout?.on('data', (chunk: Buffer) => (chunk.toString().includes('READY') ? done() : undefined));
    child.once('exit', (code) => fail(new Error(`backend exited ${code}`)));
  });
  return child;
}
