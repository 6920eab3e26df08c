// Two Streamable HTTP servers that answer tools/call themselves, with no backend behind them: the ceiling an HTTP
// front can reach on this machine with the bench's client. `bare`: node:http, one JSON answer per POST, nothing
// else. `sdk`: the MCP SDK's own StreamableHTTPServerTransport (the alternative to writing the relay's front), with
// JSON answers. Prints { url } on stdout, then serves until stdin ends.
//   node dist/bench/http-floor.js --kind bare|sdk
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { parseArgs } from 'node:util';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';

const { values } = parseArgs({ options: { kind: { type: 'string', default: 'bare' } } });

const readBody = (request: IncomingMessage): Promise<string> =>
  new Promise((resolve) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString()));
  });

const echo = (args: unknown) => ({ content: [{ type: 'text', text: JSON.stringify(args ?? {}) }] });

function bare(): (request: IncomingMessage, response: ServerResponse) => void {
  return (request, response) => {
    void readBody(request).then((body) => {
      if (request.method !== 'POST') return void response.writeHead(request.method === 'DELETE' ? 200 : 405).end();
      const message = JSON.parse(body) as { id?: unknown; method?: string; params?: { arguments?: unknown } };
      if (message.id === undefined) return void response.writeHead(202).end();
      const result = message.method === 'initialize' ? { protocolVersion: '2025-11-25', capabilities: { tools: {} }, serverInfo: { name: 'floor', version: '1' } } : echo(message.params?.arguments);
      response.writeHead(200, { 'content-type': 'application/json', 'mcp-session-id': 'floor' });
      response.end(JSON.stringify({ jsonrpc: '2.0', id: message.id, result }));
    });
  };
}

function sdk(): (request: IncomingMessage, response: ServerResponse) => void {
  const transports = new Map<string, StreamableHTTPServerTransport>();
  return (request, response) => {
    void readBody(request).then(async (body) => {
      const parsed: unknown = body === '' ? undefined : JSON.parse(body);
      const sessionId = request.headers['mcp-session-id'];
      let transport = typeof sessionId === 'string' ? transports.get(sessionId) : undefined;
      if (!transport) {
        const created = new StreamableHTTPServerTransport({ sessionIdGenerator: randomUUID, enableJsonResponse: true, onsessioninitialized: (id) => void transports.set(id, created) });
        const server = new Server({ name: 'floor', version: '1' }, { capabilities: { tools: {} } });
        server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: [{ name: 't0_echo', inputSchema: { type: 'object' } }] }));
        server.setRequestHandler(CallToolRequestSchema, (call) => echo(call.params.arguments));
        await server.connect(created);
        transport = created;
      }
      await transport.handleRequest(request, response, parsed);
    });
  };
}

const server = createServer(values.kind === 'sdk' ? sdk() : bare());
server.listen(0, '127.0.0.1', () => {
  const address = server.address() as { port: number };
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${address.port}/mcp` })}\n`);
});
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
