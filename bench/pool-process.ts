// Starts bench/pool.js as a child process and hands back its backend URLs.
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';

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
  let buffered = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    buffered += chunk;
    let newline = buffered.indexOf('\n');
    while (newline !== -1) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      const waiter = waiting.shift();
      if (waiter) waiter(line);
      else lines.push(line);
      newline = buffered.indexOf('\n');
    }
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
