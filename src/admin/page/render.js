// @ts-check
// Draws the model into the page: the summary line, the backends, the clients and the event list. Every table is
// rebuilt whole (a few dozen rows at most), keyed by data-testid and data-* attributes that tests and people can
// select on.
import { el, fill } from './dom.js';
import { healthTimeline, sparkline } from './charts.js';
import { ago, clockTime, duration, span } from './format.js';

/** @typedef {import('./model.js').PageModel} PageModel */
/** @typedef {import('./model.js').RelayEvent} RelayEvent */
/** @typedef {{ backend: string, level: string }} EventFilter */

/** events drawn at most; the model keeps more, for the filters */
const SHOWN_EVENTS = 200;
/** fields every event has, shown in their own columns */
const OWN_COLUMNS = new Set(['seq', 'time', 'level', 'event', 'backend']);

/** @param {string} id */
const byId = (id) => {
  const element = document.getElementById(id);
  if (element === null) throw new Error(`the status page has no #${id}`);
  return element;
};

/** @param {PageModel} model */
export function renderSummary(model) {
  const status = model.status;
  const servers = status?.servers ?? [];
  const healthy = servers.filter((server) => model.health(server).health === 'healthy').length;
  const clients = status?.clients?.length ?? 0;
  const parts = status === null ? ['waiting for the relay…'] : status.loading ? [`loading ${status.config_file ?? 'backends.yaml'}…`] : [
    `${servers.length} backend${servers.length === 1 ? '' : 's'}, ${healthy} healthy`,
    `${status.total_tools ?? 0} tools`,
    `${clients} client${clients === 1 ? '' : 's'}`,
    status.config_file ?? '',
  ];
  fill(byId('summary'), [document.createTextNode(parts.filter(Boolean).join(' · '))]);
  const configError = byId('config-error');
  configError.hidden = !status?.config_error;
  configError.textContent = status?.config_error ? `backends.yaml did not load (the last good config is in force): ${status.config_error}` : '';
}

/** @param {PageModel} model */
export function renderBackends(model) {
  const servers = model.status?.servers ?? [];
  const now = model.now();
  const rows = servers.map((server) => {
    const { health, tools, error } = model.health(server);
    const counts = model.calls.get(server.name);
    const latency = model.latency(server.name);
    const last = latency.at(-1);
    return el(
      'tr',
      { 'data-testid': 'backend-row', 'data-backend': server.name },
      el('td', { class: 'name' }, el('strong', {}, server.name), server.url ? el('div', { class: 'url' }, server.url) : null),
      el('td', {}, el('span', { class: `badge health-${health}`, 'data-testid': 'backend-health', 'data-health': health }, health)),
      el('td', { class: 'number', 'data-testid': 'backend-tools' }, tools),
      el('td', { class: 'number', 'data-testid': 'backend-calls' }, counts?.calls ?? 0),
      el('td', { class: `number${counts?.errors ? ' bad' : ''}`, 'data-testid': 'backend-errors' }, counts?.errors ?? 0),
      el('td', { class: 'number' }, server.calls_in_flight ?? 0),
      el('td', {}, server.breaker ? el('span', { class: `badge breaker-${server.breaker.state}` }, server.breaker.state) : '-'),
      el(
        'td',
        { 'data-testid': 'backend-last-reconnect', title: server.last_reconnect ?? 'never reconnected' },
        server.last_reconnect ? ago(now - Date.parse(server.last_reconnect)) : '-',
        server.reconnects ? el('span', { class: 'muted' }, ` (${server.reconnects}×)`) : null,
      ),
      el('td', { class: 'latency' }, sparkline(latency), el('span', { class: 'muted' }, last ? ` ${duration(last.ms)}` : '')),
      el('td', { class: 'timeline-cell' }, timelineWithSpan(model.timeline(server), now)),
      el('td', { class: 'error', 'data-testid': 'backend-error' }, error ?? ''),
    );
  });
  if (rows.length === 0) rows.push(el('tr', {}, el('td', { colspan: 11, class: 'empty' }, model.status === null ? 'waiting for the relay…' : 'no backends in backends.yaml')));
  fill(byId('backends-body'), rows);
}

/** the health bands, and how far back they reach ("4m") */
const timelineWithSpan = (/** @type {import('./model.js').HealthChange[]} */ changes, /** @type {number} */ now) => {
  const band = healthTimeline(changes, now);
  return el('span', { class: 'muted' }, band, ` ${span(Number(band.dataset['spanMs']))}`);
};

/** @param {unknown} info the client's initialize clientInfo */
const clientName = (info) => {
  if (typeof info !== 'object' || info === null) return '';
  const { name, version } = /** @type {{ name?: unknown, version?: unknown }} */ (info);
  return typeof name === 'string' ? `${name}${typeof version === 'string' ? ` ${version}` : ''}` : '';
};

/** @param {PageModel} model */
export function renderClients(model) {
  const now = model.now();
  const rows = (model.status?.clients ?? []).map((client) =>
    el(
      'tr',
      { 'data-testid': 'client-row', 'data-client': client.id, 'data-front': client.front },
      el('td', { class: 'mono', title: client.id }, client.id.slice(0, 8)),
      el('td', {}, clientName(client.client_info)),
      el('td', {}, client.front),
      el('td', { class: 'mono' }, client.remote ?? 'local'),
      el('td', {}, client.principal ?? '-'),
      el('td', { title: client.connected_since }, ago(now - Date.parse(client.connected_since))),
      el('td', { class: 'number' }, client.calls_in_flight),
      el('td', { class: 'number' }, client.calls_done),
    ),
  );
  if (rows.length === 0) rows.push(el('tr', {}, el('td', { colspan: 8, class: 'empty' }, 'no clients connected')));
  fill(byId('clients-body'), rows);
}

/** @param {RelayEvent} event the fields not in their own columns, as key=value */
const details = (event) =>
  Object.entries(event)
    .filter(([key]) => !OWN_COLUMNS.has(key))
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(' ')
    .slice(0, 400);

/** @param {PageModel} model @param {EventFilter} filter */
export function renderEvents(model, filter) {
  const shown = model.visibleEvents({ ...filter, limit: SHOWN_EVENTS });
  const rows = shown.map((event) =>
    el(
      'tr',
      { 'data-testid': 'event-row', 'data-event': event.event, 'data-level': event.level, 'data-backend': typeof event.backend === 'string' ? event.backend : '' },
      el('td', { class: 'mono', title: event.time }, clockTime(event.time)),
      el('td', {}, el('span', { class: `badge level-${event.level}` }, event.level)),
      el('td', { class: 'mono' }, event.event),
      el('td', {}, typeof event.backend === 'string' ? event.backend : ''),
      el('td', { class: 'details' }, details(event)),
    ),
  );
  if (rows.length === 0) rows.push(el('tr', {}, el('td', { colspan: 5, class: 'empty' }, model.events.length === 0 ? 'no events yet' : 'no events match the filters')));
  fill(byId('events-body'), rows);
  byId('events-count').textContent = `${shown.length} of ${model.events.length}`;
}

/** the backend filter's choices follow the backends heard of; the one chosen stays chosen */
export function renderBackendFilter(/** @type {PageModel} */ model) {
  const select = /** @type {HTMLSelectElement} */ (byId('filter-backend'));
  const names = model.backendNames();
  const current = [...select.options].slice(1).map((option) => option.value);
  if (current.join('\n') === names.join('\n')) return;
  const chosen = select.value;
  fill(select, [el('option', { value: '' }, 'every backend'), ...names.map((name) => el('option', { value: name }, name))]);
  select.value = names.includes(chosen) ? chosen : '';
}

/** the event stream's state, in the header */
export function renderLive(/** @type {'live' | 'reconnecting' | 'connecting'} */ state) {
  const live = byId('live');
  live.dataset['state'] = state;
  live.textContent = state === 'live' ? 'live' : state === 'connecting' ? 'connecting…' : 'reconnecting…';
}

/** a problem reaching the relay, or none (null) */
export function renderBanner(/** @type {string | null} */ message, /** @type {boolean} */ loginAgain = false) {
  const banner = byId('banner');
  banner.hidden = message === null;
  fill(banner, message === null ? [] : [document.createTextNode(message), ...(loginAgain ? [document.createTextNode(' '), el('a', { href: '/' }, 'Log in again')] : [])]);
}
