// Starts bench/pool.js as a child process and hands back its backend URLs.
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { lines$ } from '../src/stdio.js';

const POOL_MAIN = resolve(import.meta.dirname, 'pool.js');

export interface Pool {
  urls: string[];
  child: ChildProcess;
  /** connections each backend has accepted so far */
  connections(): Promise<number[]>;
  stop(): Promise<void>;
}

export async function startPool(kind: 'sdk' | 'bare', count: number, tools: number, port = 0): Promise<Pool> {
  const child = spawn(process.execPath, [POOL_MAIN, '--kind', kind, '--count', String(count), '--tools', String(tools), '--port', String(port)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines: string[] = [];
  const waiting: Array<(line: string) => void> = [];
  if (!child.stdout) throw new Error('the pool has no stdout');
  lines$(child.stdout).subscribe((line) => {
    const waiter = waiting.shift();
    if (waiter) waiter(line);
    else lines.push(line);
  });
  const nextLine = () => new Promise<string>((done) => (lines.length > 0 ? done(lines.shift() as string) : waiting.push(done)));
  const { urls } = JSON.parse(await nextLine()) as { urls: string[] };
  return {
    urls,
    child,
    connections: async () => {
      child.stdin.write('connections\n');
      return (JSON.parse(await nextLine()) as { connections: number[] }).connections;
    },
    stop: async () => {
      const exited = new Promise((done) => child.once('exit', done));
      child.stdin.end();
      await exited;
    },
  };
}
