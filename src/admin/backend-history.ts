/**
 * What status cannot derive from the current states: when each backend was last tried again, and its recent health
 * changes (the status page's reconnect timeline), kept from the events the log already gets. Bounded per backend;
 * a backend removed from the config is forgotten with its last event.
 */
import type { RelayEvent } from '../../streams/catalogue/events.js';

export interface HealthChange {
  time: string;
  health: string;
  error?: string;
}

export interface BackendHistoryView {
  /** the last time the relay tried it again after a failure (ISO 8601) */
  last_reconnect?: string;
  reconnects: number;
  /** its last health changes, oldest first */
  history: HealthChange[];
}

/** health changes kept per backend */
const KEPT_CHANGES = 50;

export class BackendHistory {
  private readonly backends = new Map<string, BackendHistoryView>();

  constructor(private readonly clock: () => number = Date.now) {}

  private of(name: string): BackendHistoryView {
    let view = this.backends.get(name);
    if (view === undefined) this.backends.set(name, (view = { reconnects: 0, history: [] }));
    return view;
  }

  observe(event: RelayEvent): void {
    const name = event['backend'];
    if (typeof name !== 'string') return;
    switch (event.event) {
      case 'backend.reconnect': {
        const view = this.of(name);
        view.reconnects++;
        view.last_reconnect = new Date(this.clock()).toISOString();
        return;
      }
      case 'backend.state': {
        const view = this.of(name);
        const health = String(event['health']);
        const error = typeof event['error'] === 'string' ? event['error'] : undefined;
        if (view.history.at(-1)?.health === health) return;
        view.history.push({ time: new Date(this.clock()).toISOString(), health, ...(error === undefined ? {} : { error }) });
        if (view.history.length > KEPT_CHANGES) view.history.shift();
        return;
      }
      case 'backend.removed':
        this.backends.delete(name);
        return;
    }
  }

  /** one backend's history; a backend never seen has none */
  view(name: string): BackendHistoryView {
    return this.backends.get(name) ?? { reconnects: 0, history: [] };
  }
}
