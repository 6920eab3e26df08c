/**
 * The relay's Prometheus metrics (prom-client): counted from the event stream the log already gets (call.done,
 * backend.reconnect, auth and limit refusals), and read from the hub when Prometheus scrapes (clients, backend
 * health, breakers, queues, calls in flight), so the per-call path pays nothing beyond the event it emits anyway.
 * Label values are bounded: backend names come from backends.yaml, tools from the catalogue, outcomes and states
 * from fixed sets; never a client id or an argument.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { RelayEvent } from '../../streams/catalogue/events.js';
import { healthOf, type Health } from '../../streams/catalogue/status.js';
import type { Hub } from '../../streams/hub.js';

interface CallTally {
  labels: { backend: string; tool: string; outcome: string };
  count: number;
  reported: number;
  pending: number[];
}

/** latencies one label combination may hold between scrapes */
const MAX_PENDING = 10_000;

const HEALTH: readonly Health[] = ['unknown', 'connecting', 'healthy', 'degraded', 'failed'];
const BREAKER = ['closed', 'open', 'half-open'] as const;

export interface MetricSources {
  hub: Hub;
  /** log lines dropped by the log sink since start */
  logDropped: () => number;
}

export class RelayMetrics {
  readonly registry = new Registry();
  private readonly calls: Counter<'backend' | 'tool' | 'outcome'>;
  private readonly latency: Histogram<'backend' | 'outcome'>;
  private readonly reconnects: Counter<'backend'>;
  private readonly rejections: Counter<'kind'>;

  constructor(sources: MetricSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    const flush = () => this.flush();
    // the tallies go in when either is collected (prom-client collects each metric of a scrape in turn)
    this.calls = new Counter({ name: 'mcp_relay_calls_total', help: 'Forwarded calls by backend, tool (or method) and outcome', labelNames: ['backend', 'tool', 'outcome'], registers, collect: flush });
    this.latency = new Histogram({
      name: 'mcp_relay_call_duration_seconds',
      help: 'Forwarded call latency by backend and outcome',
      labelNames: ['backend', 'outcome'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120, 900],
      registers,
      collect: flush,
    });
    this.reconnects = new Counter({ name: 'mcp_relay_backend_reconnects_total', help: 'Reconnection attempts by backend', labelNames: ['backend'], registers });
    this.rejections = new Counter({ name: 'mcp_relay_rejections_total', help: 'Requests and connections refused, by kind (auth, rate, principal-rate)', labelNames: ['kind'], registers });
    const { hub } = sources;
    new Gauge({
      name: 'mcp_relay_clients',
      help: 'Connected clients by front',
      labelNames: ['front'],
      registers,
      collect() {
        const byFront = { stdio: 0, ws: 0, http: 0 };
        for (const client of hub.clients.status()) byFront[client.front]++;
        for (const [front, count] of Object.entries(byFront)) this.set({ front }, count);
      },
    });
    new Gauge({
      name: 'mcp_relay_backend_health',
      help: 'Each backend\'s health: 1 for the state it is in, 0 for the others',
      labelNames: ['backend', 'state'],
      registers,
      collect() {
        this.reset();
        const states = hub.currentStates();
        const catalogue = hub.currentCatalogue();
        if (!states || !catalogue) return;
        for (const [backend, state] of states) {
          const health = healthOf(state, catalogue);
          for (const each of HEALTH) this.set({ backend, state: each }, each === health ? 1 : 0);
        }
      },
    });
    new Gauge({
      name: 'mcp_relay_breaker_state',
      help: 'Each backend\'s circuit breaker: 1 for the state it is in, 0 for the others',
      labelNames: ['backend', 'state'],
      registers,
      collect() {
        this.reset();
        for (const [backend, state] of hub.currentStates() ?? []) {
          const current = state.gate?.snapshot().breaker.state;
          for (const each of BREAKER) this.set({ backend, state: each }, each === current ? 1 : 0);
        }
      },
    });
    new Gauge({
      name: 'mcp_relay_queue_length',
      help: 'Calls waiting for each backend (a reconnect, or a free slot)',
      labelNames: ['backend'],
      registers,
      collect() {
        this.reset();
        for (const [backend, state] of hub.currentStates() ?? []) this.set({ backend }, state.gate?.snapshot().queue.length ?? 0);
      },
    });
    new Gauge({
      name: 'mcp_relay_calls_in_flight',
      help: 'Forwarded calls in flight on each backend',
      labelNames: ['backend'],
      registers,
      collect() {
        this.reset();
        for (const [backend, state] of hub.currentStates() ?? []) this.set({ backend }, state.gate?.snapshot().in_flight ?? 0);
      },
    });
    const counted = { stdio: { in: 0, out: 0 }, ws: { in: 0, out: 0 }, http: { in: 0, out: 0 } };
    new Counter({
      name: 'mcp_relay_messages_total',
      help: 'JSON-RPC messages from clients (in) and to them (out), by front',
      labelNames: ['front', 'direction'],
      registers,
      collect() {
        for (const front of ['stdio', 'ws', 'http'] as const) {
          for (const direction of ['in', 'out'] as const) {
            const now = hub.traffic[front][direction];
            if (now > counted[front][direction]) this.inc({ front, direction }, now - counted[front][direction]);
            counted[front][direction] = now;
          }
        }
      },
    });
    let dropped = 0;
    new Counter({
      name: 'mcp_relay_log_lines_dropped_total',
      help: 'Log lines dropped because the log was not read fast enough',
      registers,
      collect() {
        const now = sources.logDropped();
        if (now > dropped) this.inc(now - dropped);
        dropped = now;
      },
    });
  }

  /**
   * Calls are counted here, per label combination, and handed to prom-client when it is scraped: its inc() and
   * observe() hash the label object on every call (children too), which cost the stdio throughput 6% with /metrics
   * on (bench/observability.ts). Per call this is two Map reads, an add and a push; latencies wait for the next
   * scrape, at most MAX_PENDING of them per combination (then they go in at once).
   */
  private readonly tallies = new Map<string, Map<string, CallTally>>();

  private tallyOf(backend: string, tool: string, outcome: string): CallTally {
    let byBackend = this.tallies.get(backend);
    if (byBackend === undefined) this.tallies.set(backend, (byBackend = new Map()));
    const key = `${tool}\u0000${outcome}`;
    let tally = byBackend.get(key);
    if (tally === undefined) byBackend.set(key, (tally = { labels: { backend, tool, outcome }, count: 0, reported: 0, pending: [] }));
    return tally;
  }

  /** the tallies into prom-client, at a scrape */
  private flush(): void {
    for (const byBackend of this.tallies.values()) {
      for (const tally of byBackend.values()) {
        if (tally.count > tally.reported) this.calls.inc(tally.labels, tally.count - tally.reported);
        tally.reported = tally.count;
        const latency = { backend: tally.labels.backend, outcome: tally.labels.outcome };
        for (const seconds of tally.pending) this.latency.observe(latency, seconds);
        tally.pending.length = 0;
      }
    }
  }

  /** one event of the log: what it counts */
  observe(event: RelayEvent): void {
    switch (event.event) {
      case 'call.done': {
        const tally = this.tallyOf(String(event['backend']), String(event['tool'] ?? event['method'] ?? ''), String(event['outcome']));
        tally.count++;
        if (typeof event['ms'] === 'number') tally.pending.push(event['ms'] / 1_000);
        if (tally.pending.length >= MAX_PENDING) this.flush();
        return;
      }
      case 'backend.reconnect':
        this.reconnects.inc({ backend: String(event['backend']) });
        return;
      case 'auth.rejected':
        this.rejections.inc({ kind: 'auth' });
        return;
      case 'client.limited':
        this.rejections.inc({ kind: String(event['limit']) }, typeof event['refused'] === 'number' ? event['refused'] : 1);
        return;
    }
  }
}
