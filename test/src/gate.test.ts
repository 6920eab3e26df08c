// The front door without sockets: which requests authenticateRequest admits, and what it says to the others.
import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { parseListen, type ListenSpec } from '../../streams/config/listen.js';
import type { AuthSettings } from '../../streams/config/schema.js';
import type { RelayEvent } from '../../streams/catalogue/events.js';
import { Authenticator } from '../../src/auth/authenticator.js';
import type { FrontContext } from '../../src/fronts/front.js';
import { authenticateRequest } from '../../src/fronts/gate.js';

const spec = (url: string) => parseListen(url) as ListenSpec;
const request = (headers: Record<string, string> = {}, url = '/mcp') => ({ url, headers, socket: { remoteAddress: '10.1.2.3', remotePort: 4567 } }) as unknown as IncomingMessage;
const open: AuthSettings = { tokens: [], jwt: null, access: [], allowUnauthenticated: true };

function context(authenticator: Authenticator, events: RelayEvent[] = []): FrontContext {
  return { emit: (event: RelayEvent) => events.push(event), security: { authenticator: () => authenticator } } as unknown as FrontContext;
}

describe('authenticateRequest', () => {
  it('admits anyone on loopback without auth, and no one beyond loopback once the auth block is gone', () => {
    const none = new Authenticator(null);
    expect(authenticateRequest(request(), 'http', spec('http://127.0.0.1:1/mcp'), context(none))).toMatchObject({ ok: true, principal: { kind: 'anonymous' } });
    const events: RelayEvent[] = [];
    const refused = authenticateRequest(request(), 'ws', spec('ws://0.0.0.0:1/mcp'), context(none, events));
    expect(refused).toMatchObject({ ok: false, status: 403, reason: expect.stringMatching(/no longer has an auth: block/) });
    expect(events[0]).toMatchObject({ event: 'auth.rejected', remote: '10.1.2.3:4567' });
    expect(authenticateRequest(request(), 'http', spec('http://0.0.0.0:1/mcp'), context(new Authenticator(open)))).toMatchObject({ ok: true });
  });

  it('admits no one before the config has loaded', () => {
    expect(authenticateRequest(request(), 'http', spec('http://127.0.0.1:1/mcp'), context(new Authenticator(null, true)))).toMatchObject({ ok: false, status: 503 });
  });

  it('finds a token in the header or a browser subprotocol, refuses one in the query, and never echoes it', () => {
    const auth = new Authenticator({ tokens: [{ name: 'alice', token: 's3cret-token', access: { backends: { include: [], exclude: [] }, tools: { include: [], exclude: [] }, resources: { include: [], exclude: [] }, prompts: { include: [], exclude: [] }, admin: false, credentials: {} } }], jwt: null, access: [], allowUnauthenticated: false });
    const at = spec('http://127.0.0.1:1/mcp');
    expect(authenticateRequest(request({ authorization: 'Bearer s3cret-token' }), 'http', at, context(auth))).toMatchObject({ ok: true, principal: { name: 'alice', kind: 'token' } });
    expect(authenticateRequest(request({ 'sec-websocket-protocol': 'mcp, bearer.s3cret-token' }), 'ws', at, context(auth))).toMatchObject({ ok: true, principal: { name: 'alice' } });
    const inQuery = authenticateRequest(request({ authorization: 'Bearer s3cret-token' }, '/mcp?access_token=s3cret-token'), 'http', at, context(auth));
    expect(inQuery).toMatchObject({ ok: false, status: 401 });
    const wrong = authenticateRequest(request({ authorization: 'Bearer s3cret-tokeX' }), 'http', at, context(auth));
    expect(wrong).toMatchObject({ ok: false, status: 401, headers: { 'www-authenticate': expect.stringContaining('error="invalid_token"') } });
    expect(JSON.stringify([inQuery, wrong])).not.toContain('s3cret');
  });

  it('compares a claim other than scope whole: a free-text claim holding the value among other words does not match', async () => {
    const { ruleMatches } = await import('../../src/auth/authenticator.js');
    const rule = { match: { department: ['admin'] }, access: {} as never };
    expect(ruleMatches(rule, { department: 'admin' })).toBe(true);
    expect(ruleMatches(rule, { department: 'x admin' })).toBe(false);
    expect(ruleMatches(rule, { department: ['x', 'admin'] })).toBe(true);
    expect(ruleMatches({ match: { scope: ['mcp:admin'] }, access: {} as never }, { scope: 'mcp:tools mcp:admin' })).toBe(true);
  });
});
