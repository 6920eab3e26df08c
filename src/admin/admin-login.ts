/**
 * Who may read the admin listener when admin.token is set: a program sends the token as a bearer header; a person
 * opens the status page, types the token once into a login form, and gets a cookie holding a random session id (never
 * the token). The cookie is HttpOnly (the page's scripts cannot read it) and SameSite=Strict (no other site's page can
 * send it); it cannot be Secure, because the admin listener speaks plain http, where a Secure cookie is never sent back.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LoginSessions, sameToken } from './login-sessions.js';
import { LoginThrottle } from './login-throttle.js';
import type { PageAssets } from './page-assets.js';

export const SESSION_COOKIE = 'mcp_relay_admin';
/** the login form's body, at most: a token and a field name */
export const MAX_FORM_BYTES = 4 * 1024;

const cookieOf = (request: IncomingMessage): string | undefined => {
  for (const pair of (request.headers.cookie ?? '').split(';')) {
    const [name, ...value] = pair.trim().split('=');
    if (name === SESSION_COOKIE) return value.join('=');
  }
  return undefined;
};

const setCookie = (value: string, maxAgeSeconds: number): string => `${SESSION_COOKIE}=${value}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${maxAgeSeconds}`;

const seeOther = (response: ServerResponse, headers: Record<string, string> = {}): void => {
  response.writeHead(303, { location: '/', 'cache-control': 'no-store', ...headers });
  response.end();
};

/**
 * a body over the bound is still read to its end (and dropped) up to this, so the client, still sending, gets the
 * answer rather than a reset connection; beyond it, the connection is cut
 */
const MAX_DRAINED_BYTES = 64 * 1024;

/** the form's fields, or why not: too large, or not a form */
function readForm(request: IncomingMessage): Promise<URLSearchParams | 'too large' | 'not a form'> {
  return new Promise((resolve, reject) => {
    const isForm = /^application\/x-www-form-urlencoded\b/i.test(request.headers['content-type'] ?? '');
    if (Number(request.headers['content-length'] ?? 0) > MAX_FORM_BYTES) resolve('too large');
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_FORM_BYTES) chunks.push(chunk);
      else resolve('too large');
      if (size > MAX_DRAINED_BYTES) request.destroy();
    });
    request.once('end', () => resolve(isForm ? new URLSearchParams(Buffer.concat(chunks).toString('utf8')) : 'not a form'));
    request.once('error', reject);
  });
}

export class AdminLogin {
  constructor(
    private readonly token: () => string | null,
    /** the login form's page (admin-server.ts serves the rest of the page from the same assets) */
    readonly page: PageAssets,
    private readonly sessions = new LoginSessions(),
    private readonly throttle = new LoginThrottle(),
  ) {}

  /** whether a token is asked for at all */
  get required(): boolean {
    return this.token() !== null;
  }

  /** the token as a bearer header, or the cookie of a login made with the token in force; anyone when there is none */
  authorized(request: IncomingMessage): boolean {
    const token = this.token();
    if (token === null) return true;
    const bearer = /^Bearer\s+(.+)$/i.exec(request.headers.authorization ?? '')?.[1];
    if (bearer !== undefined && sameToken(bearer, token)) return true;
    const session = cookieOf(request);
    return session !== undefined && this.sessions.valid(session, token);
  }

  /** POST /login: the right token opens a session and goes to the page; a wrong one shows the form again */
  async login(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const token = this.token();
    if (token === null) return seeOther(response);
    const address = request.socket.remoteAddress ?? 'unknown';
    const waitMs = this.throttle.waitMs(address);
    if (waitMs > 0) {
      const seconds = Math.ceil(waitMs / 1000);
      return this.page.login(response, 429, `Too many wrong tokens from your address: try again in ${seconds} s.`, { 'retry-after': String(seconds) });
    }
    const form = await readForm(request);
    if (form === 'too large') return this.page.login(response, 413, `The form was larger than ${MAX_FORM_BYTES} bytes.`);
    if (form === 'not a form') return this.page.login(response, 415, 'Send the token from the login form (application/x-www-form-urlencoded).');
    if (!sameToken(form.get('token') ?? '', token)) {
      this.throttle.failed(address);
      return this.page.login(response, 401, 'That is not the admin token (admin.token in backends.yaml).');
    }
    this.throttle.succeeded(address);
    seeOther(response, { 'set-cookie': setCookie(this.sessions.open(token), Math.floor(this.sessions.ttlMs / 1000)) });
  }

  /** POST /logout: the session ends here too, not only in the browser */
  logout(request: IncomingMessage, response: ServerResponse): void {
    const session = cookieOf(request);
    if (session !== undefined) this.sessions.close(session);
    seeOther(response, { 'set-cookie': setCookie('', 0) });
  }
}
