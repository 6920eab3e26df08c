// A backend in its own process (the test fixture's run-backend), to kill -9 and start again on the same port.
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';

const RUN_BACKEND = resolve(import.meta.dirname, '../test/fixtures/run-backend.js');

export async function backendProcess(port: number): Promise<ChildProcess> {
  for (;;) {
    const child = spawn(process.execPath, [RUN_BACKEND, '--port', String(port), '--name', 'proc', '--tools', 'echo'], { stdio: ['ignore', 'pipe', 'ignore'] });
    const ready = await new Promise<boolean>((done) => {
      child.stdout?.on('data', (chunk: Buffer) => (chunk.toString().includes('READY') ? done(true) : undefined));
      child.once('exit', () => done(false));
    });
    if (ready) return child;
    // the old process may still hold the port for a moment after SIGKILL
    await new Promise((done) => setTimeout(done, 20));
  }
}
