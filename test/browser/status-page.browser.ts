// The status page in a real headless Chromium (npm run test:browser; .ci/run installs Chromium when it is missing).
// The built relay runs in front of the bundled example backends (notes, calc, clock) with --admin on a free loopback
// port; the page must show them healthy, show calc going down and coming back within a second of each backend.state
// event (timed against the test's own reader of /events), show a client connecting, filter its event list, and,
// with admin.token set, let a person in through the login form and out again.
// SCREENSHOT=docs/status-page.png npm run test:browser also saves the page, with some traffic, as that picture.
import { resolve } from 'node:path';
import type { Page, Route } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startExampleBackend, type ExampleName } from '../../examples/backends.js';
import type { RunningBackend } from '../fixtures/mcp-ws-backend.js';
import { startAdminRelay, type AdminRelay } from '../e2e/admin-relay.js';
import { wsClient } from '../e2e/network-relay.js';
import { eventually, FAST_DEFAULTS } from '../e2e/relay-process.js';
import { launchChromium, type Browser } from './chromium.js';
import { followEvents, type ArrivedEvent } from './event-follower.js';

/** the little of the DOM the checks run in the page use (the tests' tsconfig has no DOM library) */
interface Tagged {
  dataset: Record<string, string | undefined>;
  textContent: string | null;
}
declare const document: { querySelector(selector: string): Tagged | null; cookie: string };

const BUNDLED: ExampleName[] = ['notes', 'calc', 'clock'];
/** the issue's promise: the page shows a backend's new health within a second of its event */
const EVENT_TO_PAGE_MS = 1_000;
const TOKEN = 'ops-secret-123';

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function bundledBackends(): Promise<Map<ExampleName, RunningBackend>> {
  const running = new Map<ExampleName, RunningBackend>();
  cleanups.push(() => Promise.all([...running.values()].map((backend) => backend.close())));
  for (const name of BUNDLED) running.set(name, await startExampleBackend(name, 0));
  return running;
}

async function relayFor(backends: Map<ExampleName, RunningBackend>, head = FAST_DEFAULTS): Promise<AdminRelay> {
  const relay = await startAdminRelay(
    [...backends].map(([name, backend]) => ({ name, url: backend.url })),
    { head, env: { ADMIN_TOKEN: TOKEN } },
  );
  cleanups.push(() => relay.stop());
  return relay;
}

/** a page that records its uncaught errors: none is allowed */
async function openPage(url: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.context.newPage();
  cleanups.push(() => page.close());
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(url);
  return { page, errors };
}

const healthSelector = (backend: string) => `[data-testid="backend-row"][data-backend="${backend}"] [data-testid="backend-health"]`;

/** waits until the backend's health badge passes `wanted`; the time it took */
async function healthShown(page: Page, backend: string, wanted: { is: string } | { isNot: string }, timeoutMs = 10_000): Promise<number> {
  const started = Date.now();
  await page
    .waitForFunction(
      ({ selector, wanted }) => {
        const health = document.querySelector(selector)?.dataset['health'];
        return health !== undefined && ('is' in wanted ? health === wanted.is : health !== wanted.isNot);
      },
      { selector: healthSelector(backend), wanted },
      { timeout: timeoutMs, polling: 'raf' },
    )
    .catch(async (error: unknown) => {
      const shown = await attribute(page, healthSelector(backend), 'data-health').catch(() => null);
      throw new Error(`after ${timeoutMs} ms the page shows ${backend} as ${shown ?? 'nothing'}, not ${'is' in wanted ? wanted.is : `anything but ${wanted.isNot}`}`, { cause: error });
    });
  return Date.now() - started;
}

const attribute = (page: Page, selector: string, name: string) => page.locator(selector).first().getAttribute(name);

describe('the status page in Chromium', () => {
  it('shows the bundled backends healthy, calc going down and back within a second of each event, and a client connecting', async () => {
    const backends = await bundledBackends();
    const { admin, ws } = await relayFor(backends);
    const events = await followEvents(admin);
    cleanups.push(() => events.stop());
    const { page, errors } = await openPage(`${admin}/`);

    // the page loads, follows /events, and shows every bundled backend healthy
    await page.waitForSelector('[data-testid="live-state"][data-state="live"]', { timeout: 10_000 });
    for (const name of BUNDLED) await healthShown(page, name, { is: 'healthy' });
    expect(await page.locator('[data-testid="backend-row"]').evaluateAll((rows) => rows.map((row) => (row as unknown as Tagged).dataset['backend']))).toEqual(BUNDLED);
    expect(await page.locator(`[data-backend="calc"] [data-testid="backend-tools"]`).textContent()).toBe('3');
    expect(await page.locator('[data-testid="client-row"]').count()).toBe(0);

    // a client connects: it shows in the clients table, and its calls in calc's sparkline
    const client = await wsClient(ws, {}, 'status-page-test');
    cleanups.push(() => client.client.close());
    await page.waitForSelector('[data-testid="client-row"][data-front="ws"]', { timeout: 5_000 });
    expect(await page.locator('[data-testid="client-row"]').textContent()).toContain('status-page-test');
    for (let call = 0; call < 5; call++) await client.client.callTool({ name: 'calc_add', arguments: { a: call, b: 1 } });
    await page.waitForFunction(() => Number(document.querySelector('[data-backend="calc"] [data-testid="latency-sparkline"]')?.dataset['points']) >= 5, null, { timeout: 5_000 });

    // from here until calc is back, /status answers are held in the browser: only the events can move the page
    const held: Route[] = [];
    await page.route('**/status', (route) => void held.push(route));

    // calc goes down: the page says so within a second of the relay's event
    const calc = backends.get('calc') as RunningBackend;
    const port = calc.port;
    const downAt = Date.now();
    await calc.close();
    const down = await events.next((event) => event.event === 'backend.state' && event.backend === 'calc' && event.health !== 'healthy', downAt);
    await healthShown(page, 'calc', { isNot: 'healthy' });
    expectWithinASecond(down, 'calc down');
    expect(await page.locator(`[data-backend="calc"] [data-testid="backend-error"]`).textContent()).not.toBe('');
    // the others are untouched
    for (const name of ['notes', 'clock']) expect(await attribute(page, healthSelector(name), 'data-health')).toBe('healthy');
    // the page polls on, and is held: what comes next can only come from the event stream
    await eventually(() => expect(held.length).toBeGreaterThan(0), 3_000);

    // and comes back on the same port: healthy again within a second of its event
    const upAt = Date.now();
    backends.set('calc', await startExampleBackend('calc', port));
    const up = await events.next((event) => event.event === 'backend.state' && event.backend === 'calc' && event.health === 'healthy', upAt);
    await healthShown(page, 'calc', { is: 'healthy' });
    expectWithinASecond(up, 'calc up');
    await Promise.all(held.map((route) => route.continue()));
    await page.unroute('**/status');

    // its timeline has the outage, and the last reconnect is filled in at the next poll
    await page.waitForFunction(() => document.querySelector('[data-backend="calc"] [data-testid="backend-last-reconnect"]')?.textContent !== '-', null, { timeout: 5_000 });
    const changes = await page.locator('[data-backend="calc"] [data-testid="health-timeline"]').evaluate((band) => [...band.querySelectorAll('rect[class^="health-"]')].map((rect) => rect.getAttribute('class')));
    expect(changes.slice(-2)).toEqual([`health-${down.data.health}`, 'health-healthy']);
    expect(changes).toContain('health-healthy');

    // the event list, filtered to calc and to warnings: calc's failure is there, and nothing else
    await page.selectOption('[data-testid="filter-backend"]', 'calc');
    await page.selectOption('[data-testid="filter-level"]', 'warn');
    const shown = await page.locator('[data-testid="event-row"]').evaluateAll((rows) => rows.map((row) => ({ ...(row as unknown as Tagged).dataset })));
    expect(shown.length).toBeGreaterThan(0);
    expect(shown.every((row) => row['backend'] === 'calc' && (row['level'] === 'warn' || row['level'] === 'error'))).toBe(true);
    expect(shown.some((row) => row['event'] === 'backend.state')).toBe(true);
    await page.selectOption('[data-testid="filter-backend"]', '');
    await page.selectOption('[data-testid="filter-level"]', 'info');
    expect(await page.locator('[data-testid="event-row"][data-event="client.connect"]').count()).toBeGreaterThan(0);

    const screenshot = process.env['SCREENSHOT'];
    if (screenshot) await operatorView(page, ws, client.client, resolve(screenshot));
    expect(errors).toEqual([]);
  });

  it('lets a person in with the admin token through the login form, and out again', async () => {
    const backends = await bundledBackends();
    const { admin } = await relayFor(backends, `${FAST_DEFAULTS}admin: { listen: "127.0.0.1:0", token: "\${ADMIN_TOKEN}" }\n`);
    const { page, errors } = await openPage(`${admin}/`);

    await page.waitForSelector('[data-testid="login-form"]');
    expect(await page.locator('[data-testid="backends"]').count()).toBe(0);
    await page.fill('[data-testid="login-token"]', 'a guess');
    await Promise.all([page.waitForURL(`${admin}/login`), page.click('[data-testid="login-submit"]')]);
    expect(await page.locator('[data-testid="login-error"]').textContent()).toContain('That is not the admin token');

    await page.fill('[data-testid="login-token"]', TOKEN);
    await Promise.all([page.waitForURL(`${admin}/`), page.click('[data-testid="login-submit"]')]);
    await page.waitForSelector('[data-testid="live-state"][data-state="live"]', { timeout: 10_000 });
    for (const name of BUNDLED) await healthShown(page, name, { is: 'healthy' });
    // the page's own requests carry the cookie, which its scripts cannot read
    expect(await page.evaluate(() => document.cookie)).toBe('');
    const cookies = await browser.context.cookies(admin);
    expect(cookies).toMatchObject([{ name: 'mcp_relay_admin', httpOnly: true, sameSite: 'Strict', path: '/' }]);
    expect(cookies[0]?.value).not.toContain(TOKEN);

    await Promise.all([page.waitForURL(`${admin}/`), page.click('[data-testid="logout"]')]);
    await page.waitForSelector('[data-testid="login-form"]');
    expect(await browser.context.cookies(admin)).toEqual([]);
    expect(errors).toEqual([]);
  });
});

function expectWithinASecond(event: ArrivedEvent, what: string): void {
  const late = Date.now() - event.at;
  expect(late, `${what}: the page showed it ${late} ms after the event reached the test`).toBeLessThan(EVENT_TO_PAGE_MS);
}

/** some traffic from two clients, so the picture looks like a relay at work, then the screenshot with calc's events */
async function operatorView(page: Page, ws: string, first: Awaited<ReturnType<typeof wsClient>>['client'], file: string): Promise<void> {
  const second = (await wsClient(ws, {}, 'claude-code')).client;
  cleanups.push(() => second.close());
  for (let round = 0; round < 24; round++) {
    await Promise.all([
      first.callTool({ name: 'clock_sleep', arguments: { ms: 20 + ((round * 37) % 90) } }),
      second.callTool({ name: 'notes_add', arguments: { text: `note ${round}` } }),
      round % 6 === 0 ? second.callTool({ name: 'calc_stats', arguments: { numbers: [round, 2, 3] } }) : null,
    ]);
  }
  // calc's own story: its calls, its outage and its return
  await page.selectOption('[data-testid="filter-backend"]', 'calc');
  await page.waitForTimeout(1_500);
  await page.screenshot({ path: file, fullPage: true });
}
