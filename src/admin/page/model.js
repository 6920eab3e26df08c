// @ts-check
// What the status page knows, merged from its three sources: /status every second (the truth, a little late), the
// /events stream (the news, at once) and /metrics every few seconds (call and error totals). No DOM here: render.js
// draws it. The rule that keeps health fresh: a backend.state event newer than the last health change /status knows
// of wins over /status, so a backend going down shows the moment its event arrives, not at the next poll.

/**
 * @typedef {{ time: string, health: string, error?: string }} HealthChange
 * @typedef {{ name: string, url?: string, enabled?: boolean, health: string, tools: number, error?: string,
 *   breaker?: { state: string }, calls_in_flight?: number, last_reconnect?: string, reconnects?: number,
 *   history?: HealthChange[], isolation?: string }} ServerStatus
 * @typedef {{ id: string, front: string, remote?: string, principal?: string, connected_since: string,
 *   calls_in_flight: number, calls_done: number, client_info?: unknown }} ClientStatus
 * @typedef {{ config_file?: string, loading?: boolean, config_error?: string, total_tools?: number,
 *   servers?: ServerStatus[], clients?: ClientStatus[] }} RelayStatus
 * @typedef {{ seq: number, time: string, level: string, event: string, backend?: unknown } & Record<string, unknown>} RelayEvent
 *   seq: the SSE message's id, the relay's count of its events (a millisecond holds several)
 * @typedef {{ seq: number, time: string, ms: number, ok: boolean }} LatencyPoint
 * @typedef {HealthChange & { seq: number, tools: number }} LiveChange
 * @typedef {{ calls: number, errors: number }} CallCounts
 */

export const LEVELS = ['debug', 'info', 'warn', 'error'];
/** events the page keeps (the relay replays 100 on connect) */
export const KEPT_EVENTS = 500;
/** calls per backend's latency sparkline */
export const LATENCY_POINTS = 60;
/** live health changes kept per backend, as the relay keeps 50 in /status */
const KEPT_CHANGES = 50;
/** outcomes that are not the relay's or the backend's failure (as `mcp-relay status` counts them) */
const OK_OUTCOMES = new Set(['ok', 'tool-error']);

/**
 * inserts `item` into `list` kept in order of `seq`, newest first or oldest first: the replay comes newest first and
 * live events oldest first, and either way the usual place (an end) costs one comparison
 * @template {{ seq: number }} T
 * @param {T[]} list @param {T} item @param {'newest-first' | 'oldest-first'} order
 */
export function insertBySeq(list, item, order) {
  const before = order === 'newest-first' ? (/** @type {T} */ a) => a.seq > item.seq : (/** @type {T} */ a) => a.seq < item.seq;
  const last = list.at(-1);
  if (last === undefined || before(last)) return void list.push(item);
  const index = list.findIndex((entry) => !before(entry));
  list.splice(index, 0, item);
}

/** per backend, calls and calls that failed, from the Prometheus text of /metrics */
export function callCounts(/** @type {string} */ text) {
  /** @type {Map<string, CallCounts>} */
  const counts = new Map();
  for (const line of text.split('\n')) {
    const match = /^mcp_relay_calls_total\{backend="([^"]*)",tool="[^"]*",outcome="([^"]*)"\} (\d+(?:\.\d+)?)/.exec(line);
    if (!match) continue;
    const [, backend = '', outcome = '', value = '0'] = match;
    const row = counts.get(backend) ?? { calls: 0, errors: 0 };
    row.calls += Number(value);
    if (!OK_OUTCOMES.has(outcome)) row.errors += Number(value);
    counts.set(backend, row);
  }
  return counts;
}

export class PageModel {
  /** @type {RelayStatus | null} */
  status = null;
  /** the relay's clock minus this browser's, so "12s ago" is the relay's 12 s */
  clockOffsetMs = 0;
  /** @type {RelayEvent[]} newest first */
  events = [];
  /** @type {Map<string, CallCounts>} */
  calls = new Map();
  /** @type {Map<string, LiveChange>} the newest backend.state per backend */
  #liveHealth = new Map();
  /** @type {Map<string, LiveChange[]>} health changes from events, oldest first */
  #liveChanges = new Map();
  /** @type {Map<string, LatencyPoint[]>} oldest first */
  #latency = new Map();

  now() {
    return Date.now() + this.clockOffsetMs;
  }

  /** @param {RelayStatus} status */
  applyStatus(status) {
    this.status = status;
  }

  /** @param {string} text the Prometheus text of /metrics */
  applyMetrics(text) {
    this.calls = callCounts(text);
  }

  /** the event stream (re)opened: its replay is about to come again, so what came from it before goes */
  resetStream() {
    this.events = [];
    this.#liveHealth.clear();
    this.#liveChanges.clear();
    this.#latency.clear();
  }

  /** @param {RelayEvent} event one message of /events */
  applyEvent(event) {
    insertBySeq(this.events, event, 'newest-first');
    if (this.events.length > KEPT_EVENTS) this.events.pop();
    const backend = typeof event.backend === 'string' ? event.backend : undefined;
    if (backend === undefined) return;
    switch (event.event) {
      case 'backend.state': {
        /** @type {LiveChange} */
        const change = {
          seq: event.seq,
          time: event.time,
          health: String(event['health']),
          tools: typeof event['tools'] === 'number' ? event['tools'] : 0,
          ...(typeof event['error'] === 'string' ? { error: event['error'] } : {}),
        };
        const newest = this.#liveHealth.get(backend);
        if (newest === undefined || change.seq > newest.seq) this.#liveHealth.set(backend, change);
        const changes = this.#liveChanges.get(backend) ?? [];
        insertBySeq(changes, change, 'oldest-first');
        if (changes.length > KEPT_CHANGES) changes.shift();
        this.#liveChanges.set(backend, changes);
        return;
      }
      case 'call.done': {
        if (typeof event['ms'] !== 'number') return;
        const points = this.#latency.get(backend) ?? [];
        insertBySeq(points, { seq: event.seq, time: event.time, ms: event['ms'], ok: OK_OUTCOMES.has(String(event['outcome'])) }, 'oldest-first');
        if (points.length > LATENCY_POINTS) points.shift();
        this.#latency.set(backend, points);
        return;
      }
      case 'backend.removed':
        this.#liveHealth.delete(backend);
        this.#liveChanges.delete(backend);
        this.#latency.delete(backend);
        return;
    }
  }

  /**
   * the backend's health (and the tools that come with it) now: /status's, unless an event newer than /status's last
   * health change says otherwise
   * @param {ServerStatus} server
   * @returns {{ health: string, tools: number, error?: string }}
   */
  health(server) {
    const known = server.history?.at(-1)?.time ?? '';
    const live = this.#liveHealth.get(server.name);
    if (live !== undefined && live.time > known && live.health !== server.health) {
      return { health: live.health, tools: live.tools, ...(live.error === undefined ? {} : { error: live.error }) };
    }
    return { health: server.health, tools: server.tools, ...(server.error === undefined ? {} : { error: server.error }) };
  }

  /**
   * its health changes, oldest first: /status's history, then the events that came after it
   * @param {ServerStatus} server
   * @returns {HealthChange[]}
   */
  timeline(server) {
    const history = server.history ?? [];
    const known = history.at(-1)?.time ?? '';
    /** @type {HealthChange[]} */
    const merged = [...history];
    for (const { time, health, error } of this.#liveChanges.get(server.name) ?? []) {
      if (time > known && merged.at(-1)?.health !== health) merged.push({ time, health, ...(error === undefined ? {} : { error }) });
    }
    return merged;
  }

  /** @param {string} backend @returns {LatencyPoint[]} its last calls, oldest first */
  latency(backend) {
    return this.#latency.get(backend) ?? [];
  }

  /** every backend the page has heard of, for the event filter */
  backendNames() {
    const names = new Set((this.status?.servers ?? []).map((server) => server.name));
    for (const event of this.events) if (typeof event.backend === 'string') names.add(event.backend);
    return [...names].sort();
  }

  /**
   * the events the filters let through, newest first
   * @param {{ backend: string, level: string, limit: number }} filter backend '' is every backend; level is the least
   */
  visibleEvents({ backend, level, limit }) {
    const least = Math.max(0, LEVELS.indexOf(level));
    /** @type {RelayEvent[]} */
    const shown = [];
    for (const event of this.events) {
      if (shown.length >= limit) break;
      if (backend !== '' && event.backend !== backend) continue;
      if (LEVELS.indexOf(event.level) < least) continue;
      shown.push(event);
    }
    return shown;
  }
}
