// One bare echo backend in its own process for the soak (bench/soak.ts), so the soak can kill -9 it and start it
// again on the same port. No MCP SDK: the soak measures the relay, not a backend's validation.
//   node dist/bench/soak-backend.js --name s0 [--port P]
// Prints one JSON line on stdout once listening: {"url":"ws://127.0.0.1:P"}; exits when stdin ends or on SIGTERM.
// Its one tool, <name>_echo, answers with the backend's name and the call's arguments, so a caller can tell a
// response that went to the wrong request, the wrong client or the wrong backend; `d` (ms) delays the answer, so
// answers come back out of order.
import { parseArgs } from 'node:util';
import { startRawBackend } from '../test/fixtures/raw-ws-backend.js';

const { values } = parseArgs({ options: { name: { type: 'string', default: 's0' }, port: { type: 'string', default: '0' } } });
const name = values.name;
const tool = `${name}_echo`;

interface Message {
  id?: number | string;
  method?: string;
  params?: { name?: string; arguments?: Record<string, unknown> };
}

const backend = await startRawBackend({
  port: Number(values.port),
  onMessage: (message: Message, send) => {
    if (message.id === undefined || typeof message !== 'object') return;
    const id = message.id;
    switch (message.method) {
      case 'initialize':
        send({ jsonrpc: '2.0', id, result: { protocolVersion: '2025-06-18', capabilities: { tools: {} }, serverInfo: { name, version: '1' } } });
        return;
      case 'tools/list':
        send({ jsonrpc: '2.0', id, result: { tools: [{ name: tool, description: 'echoes its arguments and the backend name', inputSchema: { type: 'object' } }] } });
        return;
      case 'tools/call': {
        const args = message.params?.arguments ?? {};
        const answer = () =>
          send({
            jsonrpc: '2.0',
            id,
            result: message.params?.name === tool ? { content: [{ type: 'text', text: JSON.stringify({ backend: name, args }) }] } : { content: [{ type: 'text', text: `no tool ${String(message.params?.name)} on ${name}` }], isError: true },
          });
        const delay = Number(args['d'] ?? 0);
        if (delay > 0) setTimeout(answer, Math.min(delay, 1_000));
        else answer();
        return;
      }
      default:
        send({ jsonrpc: '2.0', id, result: {} });
    }
  },
});
process.stdout.write(`${JSON.stringify({ url: backend.url })}\n`);
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
process.once('SIGTERM', () => process.exit(0));
