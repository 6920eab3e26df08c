import { describe, expect, it } from 'vitest';
import { declaredToBackends, toClient } from '../../streams/session/inbound.js';
import { ErrorCode, type JsonRpcRequest } from '../../streams/core/jsonrpc.js';
import { ServerRequests } from '../../streams/session/server-requests.js';
import { fakeSession, inbound, note, request } from './session-fakes.js';

const everything = new ServerRequests(() => ({ sampling: {}, elicitation: {}, roots: {} }));

describe('toClient', () => {
  describe('notifications/message', () => {
    it('tags a message without a logger with the backend name, other params kept', () => {
      const alpha = fakeSession('alpha');
      expect(toClient(inbound(alpha, note('notifications/message', { level: 'warning', data: { n: 1 } })), everything)).toEqual({
        message: { jsonrpc: '2.0', method: 'notifications/message', params: { level: 'warning', data: { n: 1 }, logger: 'alpha' } },
        backend: 'alpha',
      });
    });

    it('puts the backend before the backend\'s own logger', () => {
      const alpha = fakeSession('alpha');
      expect(toClient(inbound(alpha, note('notifications/message', { level: 'info', logger: 'db', data: 'up' })), everything)).toEqual({
        message: { jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', logger: 'alpha/db', data: 'up' } },
        backend: 'alpha',
      });
    });

    it('uses the backend name alone when the logger is not a string, or there are no params', () => {
      const alpha = fakeSession('alpha');
      const logger = (params?: Record<string, unknown>) => {
        const out = toClient(inbound(alpha, note('notifications/message', params)), everything);
        return out !== null && 'params' in out.message ? out.message.params?.['logger'] : 'no params';
      };
      expect(logger({ level: 'info', logger: 42, data: 'x' })).toBe('alpha');
      expect(logger({ level: 'info', logger: null, data: 'x' })).toBe('alpha');
      expect(logger()).toBe('alpha');
    });
  });

  it('passes notifications/resources/updated through with its backend', () => {
    const alpha = fakeSession('alpha');
    expect(toClient(inbound(alpha, note('notifications/resources/updated', { uri: 'file:///a' })), everything)).toEqual({
      message: { jsonrpc: '2.0', method: 'notifications/resources/updated', params: { uri: 'file:///a' } },
      backend: 'alpha',
    });
  });

  it('sends a request through ServerRequests: a relay id, and the answer mapped back', () => {
    const alpha = fakeSession('alpha');
    const requests = new ServerRequests(() => ({ sampling: {} }));
    const out = toClient(inbound(alpha, request(5, 'sampling/createMessage', { maxTokens: 1 })), requests);
    expect(out).toEqual({ message: { jsonrpc: '2.0', id: expect.any(String), method: 'sampling/createMessage', params: { maxTokens: 1 } }, backend: 'alpha' });
    const relayId = (out?.message as JsonRpcRequest).id;
    expect(relayId).not.toBe(5);
    expect(requests.resolve({ jsonrpc: '2.0', id: relayId, result: { content: 'hi' } })).toBe(true);
    expect(alpha.respond).toHaveBeenCalledWith({ jsonrpc: '2.0', id: 5, result: { content: 'hi' } });
  });

  it('gives null for a request ServerRequests answered itself', () => {
    const alpha = fakeSession('alpha');
    expect(toClient(inbound(alpha, request(5, 'roots/list')), new ServerRequests(() => ({})))).toBeNull();
    expect(alpha.respond).toHaveBeenCalledWith(expect.objectContaining({ id: 5, error: expect.objectContaining({ code: ErrorCode.MethodNotFound }) }));
  });

  it('maps a backend\'s notifications/cancelled to the relay id of its forwarded request', () => {
    const alpha = fakeSession('alpha');
    const requests = new ServerRequests(() => ({ sampling: {} }));
    const relayId = (toClient(inbound(alpha, request(5, 'sampling/createMessage')), requests)?.message as JsonRpcRequest).id;
    expect(toClient(inbound(alpha, note('notifications/cancelled', { requestId: 5 })), requests)).toEqual({
      message: { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: relayId } },
    });
  });

  it.each(['notifications/progress', 'notifications/tools/list_changed', 'notifications/initialized', 'vendor/custom'])('gives null for %s', (method) => {
    const alpha = fakeSession('alpha');
    expect(toClient(inbound(alpha, note(method, { x: 1 })), everything)).toBeNull();
    expect(alpha.respond).not.toHaveBeenCalled();
  });
});

describe('declaredToBackends', () => {
  const initialize = (capabilities: unknown): { kind: string; message: JsonRpcRequest } => ({
    kind: 'request',
    message: request(0, 'initialize', { protocolVersion: '2025-11-25', capabilities, clientInfo: { name: 'c', version: '1' } }),
  });

  it('keeps sampling, elicitation and roots, with their values, and nothing else', () => {
    const declared = declaredToBackends(
      initialize({ sampling: { tools: {} }, elicitation: { form: {} }, roots: { listChanged: true }, experimental: { x: 1 }, tools: {}, tasks: {} }),
    );
    expect(declared).toStrictEqual({ sampling: { tools: {} }, elicitation: { form: {} }, roots: { listChanged: true } });
  });

  it('leaves out what the client did not declare, with no undefined keys', () => {
    expect(declaredToBackends(initialize({ roots: {} }))).toStrictEqual({ roots: {} });
    expect(Object.keys(declaredToBackends(initialize({ sampling: {} })))).toEqual(['sampling']);
  });

  it.each<[string, Parameters<typeof declaredToBackends>[0]]>([
    ['no initialize message (the client never sent one)', { kind: 'timeout' }],
    ['no params', { message: request(0, 'initialize') }],
    ['no capabilities', initialize(undefined)],
    ['capabilities that are not an object', initialize(['sampling'])],
    ['capabilities that are a string', initialize('sampling')],
  ])('declares nothing for %s', (_what, input) => {
    expect(declaredToBackends(input)).toStrictEqual({});
  });
});
