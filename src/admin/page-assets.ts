/**
 * The status page's files (src/admin/page/, copied beside this module by `npm run build`): plain HTML, CSS and
 * JavaScript modules served as they are, with no build step and nothing fetched from elsewhere. They are read on the
 * first request and kept, so a relay whose page nobody opens never touches them.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { ServerResponse } from 'node:http';

const PAGE_DIR = new URL('./page/', import.meta.url);

const TYPES: Record<string, string> = { html: 'text/html; charset=utf-8', css: 'text/css; charset=utf-8', js: 'text/javascript; charset=utf-8' };

/** the URL paths served, and their files: a fixed list, so no request names a file of its own */
const ASSETS = new Map(['status-page.css', 'status-page.js', 'model.js', 'render.js', 'charts.js', 'dom.js', 'format.js'].map((file) => [`/page/${file}`, file]));
const PAGE = 'index.html';
const LOGIN = 'login.html';

/** same origin only: no inline script or style, no framing (the login form), nothing loaded from elsewhere */
const PAGE_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
  'cache-control': 'no-cache',
};

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);

export class PageAssets {
  private readonly files = new Map<string, Promise<string>>();

  constructor(private readonly dir: URL = PAGE_DIR) {}

  private read(file: string): Promise<string> {
    let text = this.files.get(file);
    if (text === undefined) {
      text = readFile(new URL(file, this.dir), 'utf8');
      this.files.set(file, text);
      // a failed read is tried again next time (a build finishing), not kept as the answer
      text.catch(() => this.files.delete(file));
    }
    return text;
  }

  /** whether `path` is one of the page's static files */
  has(path: string): boolean {
    return ASSETS.has(path);
  }

  /** the status page; `withLogout` shows its log-out button (a token is in force) */
  page(response: ServerResponse, withLogout: boolean): void {
    this.send(response, 200, PAGE, (text) => (withLogout ? text.replace('data-auth="none"', 'data-auth="token"') : text));
  }

  /** the login form, with what went wrong last time */
  login(response: ServerResponse, status: number, error: string | null, headers: Record<string, string> = {}): void {
    const message = error === null ? '' : `<p class="login-error" data-testid="login-error" role="alert">${escapeHtml(error)}</p>`;
    this.send(response, status, LOGIN, (text) => text.replace('<!--error-->', message), headers);
  }

  asset(response: ServerResponse, path: string): void {
    this.send(response, 200, ASSETS.get(path) as string);
  }

  private send(response: ServerResponse, status: number, file: string, fill: (text: string) => string = (text) => text, headers: Record<string, string> = {}): void {
    this.read(file).then(
      (text) => {
        response.writeHead(status, { 'content-type': TYPES[file.slice(file.lastIndexOf('.') + 1)] ?? 'application/octet-stream', ...PAGE_HEADERS, ...headers });
        response.end(fill(text));
      },
      (error: unknown) => {
        response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        response.end(
          `the status page's file ${file} cannot be read from ${fileURLToPath(this.dir)} (${error instanceof Error ? error.message : String(error)}): ` +
            'a build copies src/admin/page there (npm run build)\n',
        );
      },
    );
  }
}
