// A Streamable HTTP backend whose tool answers with plain JSON after 305 s, through the built relay, for real.
// Node's global fetch gave up on any response whose headers took over 300 s (undici's headersTimeout), whatever
// the backend's timeoutMs said; the relay's HTTP client sets no such limit. It takes five minutes, so it is not
// part of `npm test`: `npm run test:long` runs it, and .ci/run runs that.
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect, it } from 'vitest';
import { configFile, startSdkRelay, textOf } from '../e2e/relay-process.js';

const ANSWER_AFTER_MS = 305_000;

it('answers a call the backend answers with plain JSON after more than 300 s', async () => {
  const held = new Set<ServerResponse>();
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      if (request.method !== 'POST') return void response.writeHead(405).end();
      const message = JSON.parse(body) as { id?: number; method: string };
      const reply = (result: unknown) => response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', id: message.id, result }));
      if (message.id === undefined) return void response.writeHead(202).end();
      switch (message.method) {
        case 'initialize':
          return reply({ protocolVersion: '2025-06-18', capabilities: { tools: {} }, serverInfo: { name: 'slow-json', version: '1' } });
        case 'tools/list':
          return reply({ tools: [{ name: 'five_minutes', description: 'answers after 305 s', inputSchema: { type: 'object' } }] });
        case 'tools/call': {
          // the headers too come only with the answer: plain JSON, no SSE, nothing in between
          held.add(response);
          const timer = setTimeout(() => {
            held.delete(response);
            reply({ content: [{ type: 'text', text: 'done after five minutes' }] });
          }, ANSWER_AFTER_MS);
          response.once('close', () => clearTimeout(timer));
          return;
        }
        default:
          return reply({});
      }
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
  const { file } = configFile(`defaults:\n  timeoutMs: 400000\n  backoff: { initialMs: 100, maxMs: 400 }\nbackends:\n  - name: slow\n    url: ${url}\n`);
  const relay = await startSdkRelay(file);
  try {
    await relay.client.listTools();
    const started = Date.now();
    const result = await relay.client.callTool({ name: 'five_minutes', arguments: {} }, undefined, { timeout: 400_000 });
    expect(textOf(result)).toBe('done after five minutes');
    expect(Date.now() - started).toBeGreaterThanOrEqual(ANSWER_AFTER_MS - 1_000);
    expect(relay.events.filter((event) => event.event === 'call.done' && event['outcome'] !== 'ok')).toEqual([]);
  } finally {
    await relay.close();
    for (const response of held) response.destroy();
    server.closeAllConnections();
    server.close();
  }
});
