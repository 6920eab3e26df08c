import { describe, expect, it } from 'vitest';
import { byteLength, serializeForClient } from '../../streams/session/client-output.js';

const deep = (levels: number): unknown => {
  let value: unknown = 'bottom';
  for (let i = 0; i < levels; i++) value = { inner: value };
  return value;
};

describe('serializeForClient', () => {
  it('passes a message under the limit through as one line', () => {
    const outgoing = { message: { jsonrpc: '2.0' as const, id: 1, result: { content: [] } } };
    expect(serializeForClient(outgoing, 1_000)).toEqual({ line: '{"jsonrpc":"2.0","id":1,"result":{"content":[]}}' });
  });

  it('replaces an oversized tool result with an isError result naming size, limit, tool and backend', () => {
    const outgoing = { message: { jsonrpc: '2.0' as const, id: 'c1', result: { content: [{ type: 'text', text: 'x'.repeat(500) }] } }, backend: 'files', tool: 'read' };
    const serialized = serializeForClient(outgoing, 200);
    expect('oversized' in serialized && serialized.oversized.bytes).toBeGreaterThan(500);
    const replaced = JSON.parse((serialized as { line: string }).line) as { id: string; result: { isError: boolean; content: Array<{ text: string }> } };
    expect(replaced.id).toBe('c1');
    expect(replaced.result.isError).toBe(true);
    expect(replaced.result.content[0]?.text).toMatch(/the result of tool 'read' from backend 'files' is \d+ bytes, over the relay's limit of 200 bytes/);
  });

  it('answers an oversized non-tool response with a JSON-RPC error and drops an oversized notification', () => {
    const response = serializeForClient({ message: { jsonrpc: '2.0', id: 2, result: { tools: ['y'.repeat(300)] } } }, 100);
    expect(JSON.parse((response as { line: string }).line)).toMatchObject({ id: 2, error: { code: -32603 } });
    const note = serializeForClient({ message: { jsonrpc: '2.0', method: 'notifications/message', params: { data: 'z'.repeat(300) } } }, 100);
    expect(note).toHaveProperty('dropped');
    expect(note).not.toHaveProperty('line');
  });

  it('turns a result nested too deeply to serialize into an error result instead of throwing', () => {
    const outgoing = { message: { jsonrpc: '2.0' as const, id: 3, result: { structuredContent: deep(50_000) as Record<string, unknown> } }, backend: 'evil', tool: 'deep' };
    const line = (serializeForClient(outgoing, 9_000_000) as { line: string }).line;
    expect(JSON.parse(line)).toMatchObject({ id: 3, result: { isError: true, content: [{ text: expect.stringMatching(/result of tool 'deep' from backend 'evil' cannot be serialized/) }] } });
  });

  it('counts UTF-8 bytes, not characters, near the limit', () => {
    expect(byteLength('é'.repeat(10), 10)).toBe(20);
    expect(byteLength('abc', 100)).toBe(3);
  });
});

describe('serializeForClient, a line in parts', () => {
  const bytes = new TextEncoder().encode(`{"result":{"text":"${'é'.repeat(300)}"},"jsonrpc":"2.0",`);
  const outgoing = { message: { jsonrpc: '2.0' as const, id: 'c1', result: {} }, line: [bytes, '"id":"c1"}'], backend: 'files', tool: 'read' };

  it('passes the parts on as they are when under the limit', () => {
    expect(serializeForClient(outgoing, 1_000)).toEqual({ line: outgoing.line });
  });

  it('counts the bytes as bytes (600 for 300 é), and replaces the line when over the limit', () => {
    const serialized = serializeForClient(outgoing, 620);
    expect('oversized' in serialized && serialized.oversized.bytes).toBe(bytes.length + '"id":"c1"}'.length);
    expect(JSON.parse((serialized as { line: string }).line)).toMatchObject({ id: 'c1', result: { isError: true } });
  });
});
