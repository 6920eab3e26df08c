// A pool of benchmark backends in their own process, so backends never share an event loop with the
// client that measures. Prints one JSON line on stdout: { urls: [...] }; then takes commands on stdin.
//   node dist/bench/pool.js --kind sdk|bare --count N --tools M [--port-base P]
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { startBackend, type FixtureTool } from '../test/fixtures/mcp-ws-backend.js';
import { startRawBackend } from '../test/fixtures/raw-ws-backend.js';

const { values } = parseArgs({
  options: {
    kind: { type: 'string', default: 'sdk' },
    count: { type: 'string', default: '1' },
    tools: { type: 'string', default: '1' },
    prefix: { type: 'string', default: 't' },
    port: { type: 'string', default: '0' },
  },
});
const count = Number(values.count);
const toolCount = Number(values.tools);

/** echo answers with its arguments; blob with `bytes` bytes of text */
function sdkTools(index: number): FixtureTool[] {
  const tools: FixtureTool[] = [
    { definition: { name: `${values.prefix}${index}_echo`, description: 'echo', inputSchema: { type: 'object' } }, handler: (args) => ({ content: [{ type: 'text', text: JSON.stringify(args) }] }) },
    {
      definition: { name: `${values.prefix}${index}_blob`, description: 'a text of `bytes` bytes', inputSchema: { type: 'object', properties: { bytes: { type: 'number' } } } },
      handler: (args) => ({ content: [{ type: 'text', text: 'x'.repeat(Number(args['bytes'] ?? 0)) }] }),
    },
  ];
  for (let i = tools.length; i < toolCount; i++) {
    tools.push({ definition: { name: `${values.prefix}${index}_tool${i}`, description: `tool ${i} of backend ${index}`, inputSchema: { type: 'object', properties: { a: { type: 'string' } } } } });
  }
  return tools;
}

async function startBare(index: number, port: number) {
  const echo = `${values.prefix}${index}_echo`;
  return startRawBackend({
    port,
    onMessage: (message: { id?: number; method?: string; params?: { arguments?: unknown } }, send) => {
      if (message.id === undefined) return;
      if (message.method === 'initialize') send({ jsonrpc: '2.0', id: message.id, result: { protocolVersion: '2025-06-18', capabilities: { tools: {} }, serverInfo: { name: 'bare', version: '1' } } });
      else if (message.method === 'tools/list') send({ jsonrpc: '2.0', id: message.id, result: { tools: [{ name: echo, description: 'echo', inputSchema: { type: 'object' } }] } });
      else if (message.method === 'tools/call') send({ jsonrpc: '2.0', id: message.id, result: { content: [{ type: 'text', text: JSON.stringify(message.params?.arguments ?? {}) }] } });
      else send({ jsonrpc: '2.0', id: message.id, result: {} });
    },
  });
}

const port = Number(values.port);
const running = await Promise.all(
  Array.from({ length: count }, (_, index) => (values.kind === 'bare' ? startBare(index, port ? port + index : 0) : startBackend({ name: `b${index}`, tools: sdkTools(index), port: port ? port + index : 0 }))),
);
process.stdout.write(`${JSON.stringify({ urls: running.map((backend) => backend.url) })}\n`);

// "connections" answers with how many connections each backend has accepted so far
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() !== 'connections') return;
  const totals = running.map((backend) => ('connectionsTotal' in backend ? (backend.connectionsTotal as () => number)() : backend.connections()));
  process.stdout.write(`${JSON.stringify({ connections: totals })}\n`);
});
process.stdin.on('end', () => process.exit(0));
process.once('SIGTERM', () => process.exit(0));
