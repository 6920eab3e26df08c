/**
 * The admin listener's life: opened at start where the command line (--admin) or backends.yaml (admin.listen) says,
 * and, when only the file names it, moved or closed by a reload. Its metrics, event ring and backend history are
 * made once, at the first open, and outlive a move, as do the status page's logins: counters never restart and
 * nobody is logged out because the listener changed port.
 * A move binds the new address before the old one closes; if it cannot, the old one stays and the log says why.
 */
import type { EmitEvent, RelayEvent } from '../../streams/catalogue/events.js';
import type { Readiness } from '../../streams/catalogue/readiness.js';
import { isLoopbackHost, type AdminAddress } from '../../streams/config/listen.js';
import type { Hub } from '../../streams/hub.js';
import { AdminLogin } from './admin-login.js';
import { openAdmin, type RunningAdmin } from './admin-server.js';
import { PageAssets } from './page-assets.js';
import { BackendHistory } from './backend-history.js';
import { EventRing } from './event-ring.js';
import { RelayMetrics } from './metrics.js';

export interface AdminControlDeps {
  hub: Hub;
  logDropped: () => number;
  readiness: () => Readiness;
  /** relay_get_status with the clients (null before the config has loaded once) */
  status: () => Record<string, unknown> & { servers?: Array<{ name: string }> };
  /** the token in force (admin.token), read per request: a reload changes it at once */
  token: () => string | null;
  emit: EmitEvent;
}

interface Observers {
  metrics: RelayMetrics;
  events: EventRing;
  history: BackendHistory;
  /** the status page's logins: a move of the listener logs nobody out */
  login: AdminLogin;
}

export class AdminAddressError extends Error {
  constructor(
    readonly address: string,
    message: string,
  ) {
    super(message);
    this.name = 'AdminAddressError';
  }
}

export class AdminControl {
  private observers: Observers | null = null;
  private running: RunningAdmin | null = null;
  private address: string | null = null;
  /** one change at a time: a reload during a bind waits for it */
  private pending: Promise<void> = Promise.resolve();

  constructor(private readonly deps: AdminControlDeps) {}

  /** every event of the log: counted and kept only once the listener has been asked for */
  observe(event: RelayEvent): void {
    const observers = this.observers;
    if (observers === null) return;
    observers.metrics.observe(event);
    observers.events.push(event);
    observers.history.observe(event);
  }

  /**
   * The listener at this address (null: none). Rejects with AdminAddressError when it cannot be opened there (in use,
   * beyond loopback without a token), leaving the one before in place.
   */
  reconcile(address: AdminAddress | null): Promise<void> {
    const next = this.pending.then(() => this.apply(address));
    this.pending = next.catch(() => undefined);
    return next;
  }

  close(): Promise<void> {
    return this.reconcile(null);
  }

  private async apply(address: AdminAddress | null): Promise<void> {
    if ((address?.text ?? null) === this.address) return;
    const before = this.running;
    if (address === null) {
      this.running = null;
      this.address = null;
      if (before !== null) {
        await before.close();
        this.deps.emit({ event: 'admin.close', url: before.url, level: 'info' });
      }
      return;
    }
    if (this.deps.token() === null && !isLoopbackHost(address.host)) {
      // backends.yaml cannot name such an address (parse-config.ts refuses it): only --admin can
      throw new AdminAddressError(address.text, `--admin ${address.text} is beyond loopback: set admin.token (\${ADMIN_TOKEN}) in backends.yaml, or bind 127.0.0.1`);
    }
    let opened: RunningAdmin;
    try {
      opened = await openAdmin(address, this.sources());
    } catch (error: unknown) {
      throw new AdminAddressError(address.text, `cannot open the admin listener on ${address.text}: ${error instanceof Error ? error.message : String(error)}`);
    }
    this.running = opened;
    this.address = address.text;
    this.deps.emit({ event: 'admin.listen', url: opened.url, ...(before === null ? {} : { previous: before.url }), level: 'info' });
    await before?.close();
  }

  private sources() {
    const observers = (this.observers ??= {
      metrics: new RelayMetrics({ hub: this.deps.hub, logDropped: this.deps.logDropped }),
      events: new EventRing(),
      history: new BackendHistory(),
      login: new AdminLogin(this.deps.token, new PageAssets()),
    });
    const { history } = observers;
    return {
      metrics: observers.metrics,
      events: observers.events,
      readiness: this.deps.readiness,
      token: this.deps.token,
      login: observers.login,
      status: () => {
        const status = this.deps.status();
        // what only the events know: when each backend was last tried again, and its recent health changes
        return status.servers === undefined ? status : { ...status, servers: status.servers.map((server) => ({ ...server, ...history.view(server.name) })) };
      },
    };
  }
}
