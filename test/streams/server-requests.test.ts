import { describe, expect, it } from 'vitest';
import { ErrorCode, type JsonRpcResponse } from '../../streams/core/jsonrpc.js';
import { ServerRequests } from '../../streams/session/server-requests.js';
import { fakeSession, inbound, note, request } from './session-fakes.js';

const ALL = { sampling: {}, elicitation: {}, roots: { listChanged: true } };

const answer = (id: string | number, result: Record<string, unknown> = { ok: true }): JsonRpcResponse => ({ jsonrpc: '2.0', id, result });

/** The relay id a forwarded request got. */
function relayIdOf(outgoing: ReturnType<ServerRequests['forward']>): string | number {
  if (outgoing === null || !('id' in outgoing.message) || outgoing.message.id === null) throw new Error('expected a forwarded request');
  return outgoing.message.id;
}

describe('ServerRequests', () => {
  describe('forward and resolve', () => {
    it('forwards a request to the client under a relay id, the rest of the message unchanged', () => {
      const alpha = fakeSession('alpha');
      const requests = new ServerRequests(() => ALL);
      const message = request(7, 'sampling/createMessage', { messages: [], maxTokens: 10 });
      const outgoing = requests.forward(inbound(alpha, message));
      expect(outgoing).toEqual({ message: { ...message, id: expect.any(String) }, backend: 'alpha' });
      expect(relayIdOf(outgoing)).not.toBe(7);
      expect(alpha.respond).not.toHaveBeenCalled();
    });

    it('maps the client\'s answer back to the backend\'s own id, on that backend\'s channel', () => {
      const alpha = fakeSession('alpha');
      const requests = new ServerRequests(() => ALL);
      const relayId = relayIdOf(requests.forward(inbound(alpha, request(7, 'roots/list'))));
      expect(requests.resolve(answer(relayId, { roots: [{ uri: 'file:///w' }] }))).toBe(true);
      expect(alpha.respond).toHaveBeenCalledTimes(1);
      expect(alpha.respond).toHaveBeenCalledWith({ jsonrpc: '2.0', id: 7, result: { roots: [{ uri: 'file:///w' }] } });
    });

    it('maps an error answer back too', () => {
      const alpha = fakeSession('alpha');
      const requests = new ServerRequests(() => ALL);
      const relayId = relayIdOf(requests.forward(inbound(alpha, request('req-a', 'elicitation/create', { message: 'name?' }))));
      const error = { code: -1, message: 'user declined' };
      expect(requests.resolve({ jsonrpc: '2.0', id: relayId, error })).toBe(true);
      expect(alpha.respond).toHaveBeenCalledWith({ jsonrpc: '2.0', id: 'req-a', error });
    });

    it('keeps two backends that use the same id apart', () => {
      const alpha = fakeSession('alpha');
      const beta = fakeSession('beta');
      const requests = new ServerRequests(() => ALL);
      const forAlpha = relayIdOf(requests.forward(inbound(alpha, request(1, 'sampling/createMessage'))));
      const forBeta = relayIdOf(requests.forward(inbound(beta, request(1, 'sampling/createMessage'))));
      expect(forAlpha).not.toBe(forBeta);
      expect(requests.resolve(answer(forBeta, { from: 'client to beta' }))).toBe(true);
      expect(beta.respond).toHaveBeenCalledWith({ jsonrpc: '2.0', id: 1, result: { from: 'client to beta' } });
      expect(alpha.respond).not.toHaveBeenCalled();
      expect(requests.resolve(answer(forAlpha, { from: 'client to alpha' }))).toBe(true);
      expect(alpha.respond).toHaveBeenCalledWith({ jsonrpc: '2.0', id: 1, result: { from: 'client to alpha' } });
    });

    it('answers each forwarded request once: a second answer with the same id is not ours', () => {
      const alpha = fakeSession('alpha');
      const requests = new ServerRequests(() => ALL);
      const relayId = relayIdOf(requests.forward(inbound(alpha, request(7, 'ping'))));
      expect(requests.resolve(answer(relayId))).toBe(true);
      expect(requests.resolve(answer(relayId))).toBe(false);
      expect(alpha.respond).toHaveBeenCalledTimes(1);
    });

    it('returns false for an id it never gave out, and answers nobody', () => {
      const alpha = fakeSession('alpha');
      const requests = new ServerRequests(() => ALL);
      requests.forward(inbound(alpha, request(7, 'ping')));
      expect(requests.resolve(answer('relay-999'))).toBe(false);
      // the backend's own id is not a relay id
      expect(requests.resolve(answer(7))).toBe(false);
      expect(requests.resolve({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'parse error' } })).toBe(false);
      expect(alpha.respond).not.toHaveBeenCalled();
    });

    it('forwards ping whatever the client declared', () => {
      const alpha = fakeSession('alpha');
      const requests = new ServerRequests(() => ({}));
      expect(requests.forward(inbound(alpha, request(3, 'ping')))).toEqual({ message: { jsonrpc: '2.0', id: expect.any(String), method: 'ping' }, backend: 'alpha' });
      expect(alpha.respond).not.toHaveBeenCalled();
    });

    it('reads the client capabilities when each request comes, not once', () => {
      const alpha = fakeSession('alpha');
      let declared: Record<string, unknown> = {};
      const requests = new ServerRequests(() => declared);
      expect(requests.forward(inbound(alpha, request(1, 'sampling/createMessage')))).toBeNull();
      declared = { sampling: {} };
      expect(requests.forward(inbound(alpha, request(2, 'sampling/createMessage')))).not.toBeNull();
    });

    it('ignores a notification', () => {
      const alpha = fakeSession('alpha');
      const requests = new ServerRequests(() => ALL);
      expect(requests.forward(inbound(alpha, note('notifications/progress', { progress: 1 })))).toBeNull();
      expect(alpha.respond).not.toHaveBeenCalled();
    });
  });

  describe('requests the client cannot serve', () => {
    it.each(['tasks/get', 'tools/call', 'toString', 'constructor', '__proto__'])('answers the unknown method %s with -32601 itself and forwards nothing', (method) => {
      const alpha = fakeSession('alpha');
      const requests = new ServerRequests(() => ALL);
      expect(requests.forward(inbound(alpha, request(9, method)))).toBeNull();
      expect(alpha.respond).toHaveBeenCalledTimes(1);
      expect(alpha.respond).toHaveBeenCalledWith({
        jsonrpc: '2.0',
        id: 9,
        error: { code: ErrorCode.MethodNotFound, message: `${method} is not available: the client behind mcp-relay does not serve it` },
      });
    });

    it.each<[string, string, Record<string, unknown>]>([
      ['sampling/createMessage', 'sampling', { elicitation: {}, roots: {} }],
      ['elicitation/create', 'elicitation', { sampling: {} }],
      ['roots/list', 'roots', {}],
    ])('answers %s with -32601 when the client did not declare %s', (method, capability, declared) => {
      const alpha = fakeSession('alpha');
      const requests = new ServerRequests(() => declared);
      expect(requests.forward(inbound(alpha, request('r1', method)))).toBeNull();
      expect(alpha.respond).toHaveBeenCalledWith({
        jsonrpc: '2.0',
        id: 'r1',
        error: { code: ErrorCode.MethodNotFound, message: expect.stringContaining(`'${capability}'`) },
      });
    });

    it('keeps nothing pending for a request it answered itself', () => {
      const alpha = fakeSession('alpha');
      const requests = new ServerRequests(() => ({}));
      requests.forward(inbound(alpha, request(1, 'roots/list')));
      expect(requests.resolve(answer('relay-1'))).toBe(false);
      expect(requests.cancel(inbound(alpha, note('notifications/cancelled', { requestId: 1 })))).toBeNull();
    });
  });

  describe('cancel', () => {
    it('tells the client under the relay id when a backend withdraws its request, other params kept', () => {
      const alpha = fakeSession('alpha');
      const requests = new ServerRequests(() => ALL);
      const relayId = relayIdOf(requests.forward(inbound(alpha, request(7, 'sampling/createMessage'))));
      expect(requests.cancel(inbound(alpha, note('notifications/cancelled', { requestId: 7, reason: 'timed out' })))).toEqual({
        message: { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: relayId, reason: 'timed out' } },
      });
    });

    it('forgets the cancelled request: a late answer from the client goes nowhere', () => {
      const alpha = fakeSession('alpha');
      const requests = new ServerRequests(() => ALL);
      const relayId = relayIdOf(requests.forward(inbound(alpha, request(7, 'sampling/createMessage'))));
      requests.cancel(inbound(alpha, note('notifications/cancelled', { requestId: 7 })));
      expect(requests.resolve(answer(relayId))).toBe(false);
      expect(alpha.respond).not.toHaveBeenCalled();
    });

    it('ignores a cancel for a request it does not hold, or that another session made', () => {
      const alpha = fakeSession('alpha');
      const beta = fakeSession('beta');
      const requests = new ServerRequests(() => ALL);
      const relayId = relayIdOf(requests.forward(inbound(alpha, request(7, 'sampling/createMessage'))));
      expect(requests.cancel(inbound(alpha, note('notifications/cancelled', { requestId: 8 })))).toBeNull();
      expect(requests.cancel(inbound(alpha, note('notifications/cancelled', { requestId: '7' })))).toBeNull();
      expect(requests.cancel(inbound(beta, note('notifications/cancelled', { requestId: 7 })))).toBeNull();
      expect(requests.cancel(inbound(alpha, note('notifications/cancelled')))).toBeNull();
      // alpha's request is still pending
      expect(requests.resolve(answer(relayId))).toBe(true);
      expect(alpha.respond).toHaveBeenCalledWith({ jsonrpc: '2.0', id: 7, result: { ok: true } });
    });
  });

  describe('withdrawEnded', () => {
    const configured = () => true;

    it("withdraws only the requests whose session's connection has closed, telling the client with the relay id", () => {
      const alpha = fakeSession('alpha');
      const beta = fakeSession('beta');
      const requests = new ServerRequests(() => ALL);
      const forAlpha = relayIdOf(requests.forward(inbound(alpha, request(1, 'sampling/createMessage', { _meta: { progressToken: 'a-tok' } }))));
      const forBeta = relayIdOf(requests.forward(inbound(beta, request(1, 'roots/list'))));
      expect(requests.withdrawEnded(configured)).toEqual([]);
      expect(requests.waiting).toBe(2);

      alpha.close();
      expect(requests.withdrawEnded(configured)).toEqual([
        {
          message: { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: forAlpha, reason: "backend 'alpha' disconnected before the answer; its request is withdrawn" } },
          backend: 'alpha',
        },
      ]);
      expect(requests.waiting).toBe(1);
      // withdrawn once; the client's late answer and progress are not ours any more
      expect(requests.withdrawEnded(configured)).toEqual([]);
      expect(requests.resolve(answer(forAlpha))).toBe(false);
      expect(requests.progressFromClient({ progressToken: `${String(forAlpha)}-progress`, progress: 1 })).toBe(false);
      expect(alpha.respond).not.toHaveBeenCalled();
      expect(requests.resolve(answer(forBeta))).toBe(true);
      expect(beta.respond).toHaveBeenCalledTimes(1);
    });

    it('withdraws the requests of a backend that is no longer configured, even before its connection has closed', () => {
      const alpha = fakeSession('alpha');
      const beta = fakeSession('beta');
      const requests = new ServerRequests(() => ALL);
      const forAlpha = relayIdOf(requests.forward(inbound(alpha, request('x', 'elicitation/create'))));
      relayIdOf(requests.forward(inbound(beta, request('y', 'elicitation/create'))));
      expect(requests.withdrawEnded((backend) => backend !== 'alpha')).toEqual([
        { message: { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: forAlpha, reason: "backend 'alpha' was removed before the answer; its request is withdrawn" } }, backend: 'alpha' },
      ]);
      expect(requests.waiting).toBe(1);
    });
  });
});
