// /readyz while the relay drains: SIGTERM with a call in flight turns readiness to 503 at once (so a load balancer
// stops sending), while /healthz still answers and the call in flight is still answered.
import { afterEach, describe, expect, it } from 'vitest';
import { startBackend } from '../fixtures/mcp-ws-backend.js';
import { slowTool } from '../fixtures/tools.js';
import { startAdminRelay } from './admin-relay.js';
import { wsClient } from './network-relay.js';
import { eventually, FAST_DEFAULTS, textOf } from './relay-process.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('the admin listener during a graceful shutdown', () => {
  it('answers /readyz 503 while draining, /healthz 200, and the call in flight still gets its answer', async () => {
    const work = await startBackend({ name: 'work', tools: [slowTool('slow', 1_500)] });
    cleanups.push(() => work.close());
    const started = await startAdminRelay([{ name: 'work', url: work.url }], { head: `${FAST_DEFAULTS}shutdownGraceMs: 10000\n` });
    cleanups.push(() => started.stop());
    const { client } = await wsClient(started.ws);
    cleanups.push(() => client.close());
    await eventually(async () => expect((await fetch(`${started.admin}/readyz`)).status).toBe(200));

    const call = client.callTool({ name: 'slow', arguments: {} });
    // the call is at the backend: in flight when the signal comes
    await eventually(() => expect(work.calls().map((made) => made.tool)).toContain('slow'));
    started.relay.child.kill('SIGTERM');
    await eventually(() => {
      if (!started.relay.events.some((event) => event.event === 'relay.draining')) throw new Error('not draining yet');
    });
    const ready = await fetch(`${started.admin}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ ready: false, reason: expect.stringMatching(/shutting down/i) });
    expect((await fetch(`${started.admin}/healthz`)).status).toBe(200);
    expect(textOf(await call)).toMatch(/^slow:/);
    expect((await started.relay.exited).code).toBe(0);
  });
});
