// ListenSubscriptions: acknowledgement with what is honoured, list_changed tagged with the subscription id for the
// kinds asked, only for changes after the listen, and nothing after a cancel.
import { describe, expect, it } from 'vitest';
import { ListenSubscriptions, type ListKeys } from '../../streams/session/listen.js';

const SUB = 'io.modelcontextprotocol/subscriptionId';
const listen = (id: string | number, notifications: unknown) => ({ jsonrpc: '2.0' as const, id, method: 'subscriptions/listen', params: { notifications } });

describe('ListenSubscriptions', () => {
  it('acknowledges what it honours (not resource subscriptions), tagged with the listen id, on that request', () => {
    const listens = new ListenSubscriptions();
    expect(listens.listen(listen('s1', { toolsListChanged: true, promptsListChanged: false, resourceSubscriptions: ['file:///a'] }), () => 'k')).toEqual({
      message: { jsonrpc: '2.0', method: 'notifications/subscriptions/acknowledged', params: { notifications: { toolsListChanged: true }, _meta: { [SUB]: 's1' } } },
      related: 's1',
    });
  });

  it('refuses a listen without a filter, and a second one on the same id', () => {
    const listens = new ListenSubscriptions();
    expect(listens.listen({ jsonrpc: '2.0', id: 1, method: 'subscriptions/listen' }, () => 'k')).toMatchObject({ error: { code: -32602 } });
    listens.listen(listen(2, { toolsListChanged: true }), () => 'k');
    expect(listens.listen(listen(2, { toolsListChanged: true }), () => 'k')).toMatchObject({ error: { code: -32600 } });
  });

  it('tells each subscription of the changes to the kinds it asked for, after it asked, until it is cancelled', () => {
    const listens = new ListenSubscriptions();
    let keys: Record<string, string | null> = { tools: 't1', prompts: 'p1', resources: 'r1' };
    const now: ListKeys = (kind) => keys[kind] ?? null;
    listens.listen(listen('a', { toolsListChanged: true }), now);
    listens.listen(listen('b', { promptsListChanged: true, toolsListChanged: true }), now);
    expect(listens.changed(now)).toEqual([]);
    keys = { ...keys, tools: 't2' };
    const told = listens.changed(now).map((out) => [out.related, out.message]);
    expect(told).toEqual([
      ['a', { jsonrpc: '2.0', method: 'notifications/tools/list_changed', params: { _meta: { [SUB]: 'a' } } }],
      ['b', { jsonrpc: '2.0', method: 'notifications/tools/list_changed', params: { _meta: { [SUB]: 'b' } } }],
    ]);
    expect(listens.changed(now)).toEqual([]);
    keys = { ...keys, prompts: 'p2', resources: 'r2' };
    expect(listens.changed(now).map((out) => [out.related, out.message['method' as keyof typeof out.message]])).toEqual([['b', 'notifications/prompts/list_changed']]);
    expect(listens.cancel('b')).toBe(true);
    expect(listens.cancel('b')).toBe(false);
    keys = { ...keys, prompts: 'p3', tools: 't3' };
    expect(listens.changed(now).map((out) => out.related)).toEqual(['a']);
  });

  it('a listen before the first view starts from the first view', () => {
    const listens = new ListenSubscriptions();
    let key: string | null = null;
    listens.listen(listen(1, { toolsListChanged: true }), () => key);
    key = 'first';
    expect(listens.changed(() => key)).toEqual([]);
    key = 'second';
    expect(listens.changed(() => key)).toHaveLength(1);
  });
});
