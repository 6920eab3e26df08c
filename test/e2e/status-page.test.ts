// The status page as the admin listener serves it, without a browser: the built relay with --admin, the page and
// every file it names fetched over HTTP (all from the relay, none from elsewhere), and the login with a token: the
// form, a wrong token, the cookie a right one sets (and what it opens), logout, and the bounds on the form.
// test/browser/status-page.browser.ts drives the same page in a real Chromium (npm run test:browser).
import { afterEach, describe, expect, it } from 'vitest';
import { startBackend } from '../fixtures/mcp-ws-backend.js';
import { echoTool } from '../fixtures/tools.js';
import { startAdminRelay } from './admin-relay.js';
import { FAST_DEFAULTS } from './relay-process.js';

const TOKEN = 'ops-secret-123';
const WITH_TOKEN = `${FAST_DEFAULTS}admin: { listen: "127.0.0.1:0", token: "\${ADMIN_TOKEN}" }\n`;

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function relay(head = FAST_DEFAULTS): Promise<string> {
  const work = await startBackend({ name: 'work', tools: [echoTool('echo')] });
  cleanups.push(() => work.close());
  const started = await startAdminRelay([{ name: 'work', url: work.url }], { head, env: { ADMIN_TOKEN: TOKEN } });
  cleanups.push(() => started.stop());
  return started.admin;
}

const post = (url: string, body: string, headers: Record<string, string> = {}) =>
  fetch(url, { method: 'POST', body, redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers } });

/** the name=value of a set-cookie header */
const cookieOf = (response: Response): string => (response.headers.get('set-cookie') ?? '').split(';')[0] ?? '';

/** reads an SSE response until its first message, then lets it go */
async function firstMessage(response: Response): Promise<string> {
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  let text = '';
  while (!text.includes('\n\n')) {
    const { value, done } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
  }
  await reader.cancel();
  return text;
}

describe('the status page', () => {
  it('is served at / as HTML, and it and every file it names come from the relay alone', async () => {
    const admin = await relay();
    const page = await fetch(`${admin}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toMatch(/default-src 'none'; script-src 'self'; style-src 'self'/);
    const html = await page.text();
    expect(html).toContain('<script type="module" src="/page/status-page.js"></script>');
    expect(html).toContain('data-auth="none"');
    expect(await (await fetch(`${admin}/index.html`)).text()).toBe(html);

    // follow every reference: src=, href= in the HTML, and the modules' imports
    const seen = new Map<string, string>([['/', html]]);
    const queue = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1] as string).filter((ref) => !ref.startsWith('data:'));
    while (queue.length > 0) {
      const path = queue.shift() as string;
      if (seen.has(path) || path === '/logout') continue;
      expect(path, `${path} is a path on the relay`).toMatch(/^\/page\/[a-z-]+\.(js|css)$/);
      const asset = await fetch(`${admin}${path}`);
      expect(asset.status, path).toBe(200);
      expect(asset.headers.get('content-type')).toBe(path.endsWith('.js') ? 'text/javascript; charset=utf-8' : 'text/css; charset=utf-8');
      const text = await asset.text();
      seen.set(path, text);
      for (const match of text.matchAll(/^import [^;]*? from '\.\/([a-z-]+\.js)';$/gm)) queue.push(`/page/${match[1]}`);
    }
    expect([...seen.keys()].sort()).toEqual(['/', '/page/charts.js', '/page/dom.js', '/page/format.js', '/page/model.js', '/page/render.js', '/page/status-page.css', '/page/status-page.js']);
    for (const [path, text] of seen) {
      // any scheme-relative or absolute address (a CDN, a font, a host); the SVG namespace is a name, not a fetch
      const urls = [...text.replaceAll("'http://www.w3.org/2000/svg'", '').matchAll(/(?:https?:|wss?:)?\/\/[a-z0-9-]+(?:\.[a-z0-9-]+)+/gi)].map((match) => match[0]);
      expect(urls, `external URLs in ${path}`).toEqual([]);
      expect(text, path).not.toMatch(/@import|url\(\s*['"]?(?!data:)/);
    }

    // no files beyond the list, and every other method on the page is refused
    expect((await fetch(`${admin}/page/admin-server.js`)).status).toBe(404);
    expect((await fetch(`${admin}/page/../admin-server.js`)).status).toBe(404);
    expect((await fetch(`${admin}/page/login.html`)).status).toBe(404);
    const put = await fetch(`${admin}/`, { method: 'PUT' });
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toBe('GET, HEAD');
    // without a token there is nothing to log in to
    expect((await post(`${admin}/login`, 'token=x')).headers.get('location')).toBe('/');
  });

  it('asks for the token with a login form; the right one sets a session cookie that opens the admin endpoints until logout', async () => {
    const admin = await relay(WITH_TOKEN);
    const form = await fetch(`${admin}/`);
    expect(form.status).toBe(200);
    expect(form.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const formHtml = await form.text();
    expect(formHtml).toMatch(/<form method="post" action="\/login"/);
    expect(formHtml).toContain('name="token" type="password"');
    expect(formHtml).not.toContain('status-page.js');
    expect(formHtml).not.toContain('data-testid="login-error"');
    expect((await fetch(`${admin}/status`)).status).toBe(401);

    const wrong = await post(`${admin}/login`, 'token=guess');
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('set-cookie')).toBeNull();
    expect(await wrong.text()).toMatch(/data-testid="login-error"[^>]*>That is not the admin token/);

    const right = await post(`${admin}/login`, `token=${encodeURIComponent(TOKEN)}`, { origin: admin });
    expect(right.status).toBe(303);
    expect(right.headers.get('location')).toBe('/');
    const setCookie = right.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(/^mcp_relay_admin=[A-Za-z0-9_-]{43}; HttpOnly; SameSite=Strict; Path=\/; Max-Age=\d+$/);
    expect(setCookie).not.toContain(TOKEN);
    const cookie = { cookie: cookieOf(right) };

    const page = await fetch(`${admin}/`, { headers: cookie });
    const html = await page.text();
    expect(html).toContain('status-page.js');
    expect(html).toContain('data-auth="token"');
    const status = await fetch(`${admin}/status`, { headers: cookie });
    expect(status.status).toBe(200);
    expect(((await status.json()) as { servers: Array<{ name: string }> }).servers.map((server) => server.name)).toEqual(['work']);
    expect((await fetch(`${admin}/metrics`, { headers: cookie })).status).toBe(200);
    expect([200, 503]).toContain((await fetch(`${admin}/readyz`, { headers: cookie })).status);
    const events = await fetch(`${admin}/events`, { headers: cookie });
    expect(events.status).toBe(200);
    expect(await firstMessage(events)).toMatch(/^id: \d+\ndata: \{"time"/);

    // not without it, nor with a made-up one; the bearer header works as before
    for (const path of ['/status', '/events', '/metrics', '/readyz']) {
      expect((await fetch(`${admin}${path}`)).status, path).toBe(401);
      expect((await fetch(`${admin}${path}`, { headers: { cookie: 'mcp_relay_admin=made-up' } })).status, path).toBe(401);
    }
    expect((await fetch(`${admin}/status`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);

    const logout = await post(`${admin}/logout`, '', cookie);
    expect(logout.status).toBe(303);
    expect(logout.headers.get('set-cookie')).toMatch(/^mcp_relay_admin=; HttpOnly; SameSite=Strict; Path=\/; Max-Age=0$/);
    // the session has ended in the relay too, not only in the browser
    expect((await fetch(`${admin}/status`, { headers: cookie })).status).toBe(401);
    expect(await (await fetch(`${admin}/`, { headers: cookie })).text()).toContain('action="/login"');
  });

  it('refuses a login form from another site, a form too large, and an address that keeps guessing', async () => {
    const admin = await relay(WITH_TOKEN);
    const elsewhere = await post(`${admin}/login`, `token=${TOKEN}`, { origin: 'http://evil.example' });
    expect(elsewhere.status).toBe(403);
    expect(elsewhere.headers.get('set-cookie')).toBeNull();
    expect((await post(`${admin}/login`, `token=${TOKEN}`, { 'sec-fetch-site': 'cross-site', origin: admin })).status).toBe(403);
    expect((await post(`${admin}/login`, `token=${TOKEN}`, { origin: 'null' })).status).toBe(403);
    const large = await post(`${admin}/login`, `token=${'x'.repeat(8 * 1024)}`);
    expect(large.status).toBe(413);
    // the same without a length up front: counted as it arrives
    const chunks = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let chunk = 0; chunk < 4; chunk++) controller.enqueue(new TextEncoder().encode(chunk === 0 ? 'token=' : 'x'.repeat(2048)));
        controller.close();
      },
    });
    const streamed = await fetch(`${admin}/login`, { method: 'POST', body: chunks, duplex: 'half', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' } } as RequestInit);
    expect(streamed.status).toBe(413);
    expect((await post(`${admin}/login`, JSON.stringify({ token: TOKEN }), { 'content-type': 'application/json' })).status).toBe(415);
    expect((await fetch(`${admin}/login`, { method: 'DELETE' })).status).toBe(405);

    for (let attempt = 1; attempt <= 5; attempt++) expect((await post(`${admin}/login`, `token=guess-${attempt}`)).status).toBe(401);
    const refused = await post(`${admin}/login`, `token=${TOKEN}`);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await refused.text()).toMatch(/Too many wrong tokens from your address: try again in \d+ s/);
    expect(refused.headers.get('set-cookie')).toBeNull();
  });
});
