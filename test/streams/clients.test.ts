import { describe, expect, it } from 'vitest';
import { ClientRecord } from '../../streams/session/client-record.js';
import { Clients } from '../../streams/session/clients.js';
import { fakeSession, inbound, note } from './session-fakes.js';

function client(clients: Clients, id: string, capabilities: Record<string, unknown> | null, since = 0): ClientRecord {
  const record = new ClientRecord({ id, front: 'ws' }, since);
  record.capabilities = capabilities;
  clients.add(record);
  return record;
}

describe('Clients', () => {
  it('sends a backend request with no call in flight, and every notification, only to clients that may use the backend', () => {
    const clients = new Clients();
    const allowed = client(clients, 'allowed', { sampling: {} }, 1);
    const other = client(clients, 'other', { sampling: {} }, 2);
    other.mayUse = (backend) => backend !== 'alpha';
    // the other client connected later (it would win a tie) but may not use alpha
    expect(clients.routeRequest('alpha', 'sampling/createMessage')).toEqual({ record: allowed, ambiguous: false });
    allowed.mayUse = () => false;
    expect(clients.routeRequest('alpha', 'sampling/createMessage')).toMatchObject({ record: null, reason: "no connected client that may use this backend declared the 'sampling' capability" });
    expect(clients.notificationTargets(inbound(fakeSession('beta'), note('notifications/message', { level: 'info', data: 'x' })))).toEqual([other]);
    expect(clients.notificationTargets(inbound(fakeSession('alpha'), note('notifications/message', { level: 'info', data: 'x' })))).toEqual([]);
  });

  it('declares to backends the union of what the connected clients can serve, sub-capabilities merged', () => {
    const clients = new Clients();
    client(clients, 'a', { sampling: {} });
    client(clients, 'b', { elicitation: { form: {} } });
    const c = client(clients, 'c', { elicitation: { url: {} }, roots: { listChanged: true } });
    expect(clients.declared()).toEqual({ sampling: {}, elicitation: { form: {}, url: {} }, roots: { listChanged: true } });
    clients.remove(c);
    expect(clients.declared()).toEqual({ sampling: {}, elicitation: { form: {} } });
  });

  it('holds the most verbose log level any client asked for, and every URI any client subscribed to', () => {
    const clients = new Clients();
    const a = client(clients, 'a', {});
    const b = client(clients, 'b', {});
    expect(clients.logLevel()).toBeNull();
    a.logLevel = 'error';
    b.logLevel = 'info';
    expect(clients.logLevel()).toBe('info');
    a.subscriptions.add('file:///x');
    b.subscriptions.add('file:///y');
    expect([...clients.subscriptions()]).toEqual(['file:///x', 'file:///y']);
    expect(clients.subscribedElsewhere('file:///x', b)).toBe(true);
    expect(clients.subscribedElsewhere('file:///x', a)).toBe(false);
  });

  it("routes a backend's request to the client whose call is in flight on that backend", () => {
    const clients = new Clients();
    const a = client(clients, 'a', { sampling: {} });
    const b = client(clients, 'b', { sampling: {} });
    a.callStarted('alpha', 7, clients.nextSeq());
    b.callStarted('beta', 7, clients.nextSeq());
    expect(clients.routeRequest('alpha', 'sampling/createMessage')).toEqual({ record: a, relatedCall: 7, ambiguous: false });
    expect(clients.routeRequest('beta', 'sampling/createMessage')).toEqual({ record: b, relatedCall: 7, ambiguous: false });
  });

  it('among several clients with calls in flight there, picks the capable one that started most recently, and says it was ambiguous', () => {
    const clients = new Clients();
    const a = client(clients, 'a', { sampling: {} });
    const b = client(clients, 'b', {});
    const c = client(clients, 'c', { sampling: {} });
    a.callStarted('alpha', 'a-1', clients.nextSeq());
    c.callStarted('alpha', 'c-1', clients.nextSeq());
    b.callStarted('alpha', 'b-1', clients.nextSeq());
    expect(clients.routeRequest('alpha', 'sampling/createMessage')).toEqual({ record: c, relatedCall: 'c-1', ambiguous: true });
    // c's call ends: a's is the only capable one left in flight there
    c.callEnded('alpha', 'c-1');
    expect(clients.routeRequest('alpha', 'sampling/createMessage')).toEqual({ record: a, relatedCall: 'a-1', ambiguous: false });
  });

  it('refuses when the client whose call is in flight did not declare the capability, or nobody connected can serve it', () => {
    const clients = new Clients();
    const a = client(clients, 'a', {});
    a.callStarted('alpha', 1, clients.nextSeq());
    expect(clients.routeRequest('alpha', 'elicitation/create')).toMatchObject({ record: null, reason: "the client whose call is in flight on this backend did not declare the 'elicitation' capability" });
    expect(clients.routeRequest('beta', 'roots/list')).toMatchObject({ record: null, reason: "no connected client that may use this backend declared the 'roots' capability" });
    expect(new Clients().routeRequest('beta', 'ping')).toMatchObject({ record: null, reason: 'no client is connected to mcp-relay' });
  });

  it('with no call in flight on the backend, picks the capable client that was active last', () => {
    const clients = new Clients();
    const a = client(clients, 'a', { roots: {} }, 1);
    client(clients, 'b', { roots: {} }, 2);
    a.callStarted('other', 1, clients.nextSeq());
    expect(clients.routeRequest('alpha', 'roots/list')).toMatchObject({ record: a, ambiguous: true });
  });

  it('sends resources/updated only to the subscribed clients, elicitation/complete to those that can elicit, the rest to all', () => {
    const clients = new Clients();
    const a = client(clients, 'a', { elicitation: {} });
    const b = client(clients, 'b', {});
    b.subscriptions.add('file:///x');
    const alpha = fakeSession('alpha');
    expect(clients.notificationTargets(inbound(alpha, note('notifications/resources/updated', { uri: 'file:///x' })))).toEqual([b]);
    expect(clients.notificationTargets(inbound(alpha, note('notifications/elicitation/complete', { elicitationId: 'e' })))).toEqual([a]);
    expect(clients.notificationTargets(inbound(alpha, note('notifications/message', { level: 'info' })))).toEqual([a, b]);
  });
});
