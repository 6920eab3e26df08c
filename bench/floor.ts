// The floor of any stdio-to-WebSocket relay on this machine: a relay that does nothing but move lines to frames and
// back, swapping ids as text. `node dist/bench/floor.js <ws-url>` speaks newline JSON-RPC on stdin/stdout.
// The benchmark runs the same latency and throughput loads through it to show how much of the relay's cost is the
// extra process hop itself (two pipes, a socket, two more context switches per call on a 2-core machine).
import WebSocket from 'ws';
import { lines$ } from '../src/stdio.js';

const url = process.argv[2];
if (!url) throw new Error('usage: floor.js <ws-url>');
const socket = new WebSocket(url, ['mcp'], { perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 });
const ids = new Map<number, string>();
let next = 1;
let queued: string[] = [];
let pending: string[] = [];

/** the two layouts servers write: id last (the TypeScript SDK) or right after jsonrpc */
function swapId(text: string): string | null {
  const last = /"id":(\d+)\}$/.exec(text);
  if (last) {
    const clientId = ids.get(Number(last[1]));
    if (clientId === undefined) return null;
    ids.delete(Number(last[1]));
    return `${text.slice(0, last.index)}"id":${clientId}}`;
  }
  const first = /^\{"jsonrpc":"2\.0","id":(\d+),/.exec(text);
  const clientId = first ? ids.get(Number(first[1])) : undefined;
  if (!first || clientId === undefined) return null;
  ids.delete(Number(first[1]));
  return `{"jsonrpc":"2.0","id":${clientId},${text.slice(first[0].length)}`;
}

socket.on('message', (data) => {
  const line = swapId(data.toString());
  if (line === null) return;
  if (pending.push(line) === 1) {
    queueMicrotask(() => {
      process.stdout.write(`${pending.join('\n')}\n`);
      pending = [];
    });
  }
});

/** the two layouts clients write: id last (the SDK's Client, so Claude Code) or right after jsonrpc */
const forward = (line: string) => {
  const first = /^\{"jsonrpc":"2\.0","id":("[^"]*"|\d+),/.exec(line);
  const last = first ? -1 : line.lastIndexOf(',"id":');
  if (!first && (last === -1 || !line.endsWith('}'))) return;
  const id = next++;
  ids.set(id, first ? (first[1] as string) : line.slice(last + 6, -1));
  socket.send(first ? `{"jsonrpc":"2.0","id":${id},${line.slice(first[0].length)}` : `${line.slice(0, last)},"id":${id}}`);
};

socket.once('open', () => {
  for (const line of queued) forward(line);
  queued = [];
});

lines$(process.stdin).subscribe({
  next: (line) => {
    if (socket.readyState === WebSocket.OPEN) forward(line);
    else queued.push(line);
  },
  complete: () => process.exit(0),
});
