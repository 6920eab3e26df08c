// @ts-check
// The status page: polls /status about once a second (and /metrics every few seconds, for call and error totals),
// follows /events with an EventSource and applies each event at once, and redraws at most every 50 ms.
// The latency sparklines come from the call.done events on /events (each point one call, with its own ms), not from
// polling /metrics: no extra work for the relay, and a call shows the moment it ends.
// Nothing here runs unless someone has the page open; a hidden tab polls every 10 s instead of every second.
import { PageModel } from './model.js';
import { renderBackendFilter, renderBackends, renderBanner, renderClients, renderEvents, renderLive, renderSummary } from './render.js';

const POLL_MS = 1_000;
const HIDDEN_POLL_MS = 10_000;
/** /metrics is read every this many polls */
const METRICS_EVERY = 5;
/** a stream the relay refused (a login ended, a restart) is tried again after this */
const STREAM_RETRY_MS = 3_000;
/** redraws are gathered: a burst of events is one redraw */
const RENDER_DELAY_MS = 50;

const model = new PageModel();

/** @param {string} id */
const select = (id) => /** @type {HTMLSelectElement} */ (document.getElementById(id));

function render() {
  renderSummary(model);
  renderBackends(model);
  renderClients(model);
  renderBackendFilter(model);
  renderEvents(model, { backend: select('filter-backend').value, level: select('filter-level').value });
}

/** @type {ReturnType<typeof setTimeout> | undefined} */
let renderTimer;
function scheduleRender() {
  renderTimer ??= setTimeout(() => {
    renderTimer = undefined;
    render();
  }, RENDER_DELAY_MS);
}

/**
 * keeps the relay's clock offset within what an answer's Date header allows (it has whole seconds): stable when the
 * clocks agree, corrected when they do not
 * @param {Response} response @param {number} sent @param {number} received
 */
function followClock(response, sent, received) {
  const date = Date.parse(response.headers.get('date') ?? '');
  if (Number.isNaN(date)) return;
  model.clockOffsetMs = Math.min(Math.max(model.clockOffsetMs, date - received), date + 1_000 - sent);
}

class LoginEnded extends Error {
  name = 'LoginEnded';
}

/** @param {string} path */
async function read(path) {
  const sent = Date.now();
  const response = await fetch(path, { cache: 'no-store', credentials: 'same-origin' });
  if (response.status === 401) throw new LoginEnded(`${path} asks for a login`);
  if (!response.ok) throw new Error(`${path} answered HTTP ${response.status}`);
  followClock(response, sent, Date.now());
  return response;
}

let polls = 0;
let polling = false;
/** @type {ReturnType<typeof setTimeout> | undefined} */
let pollTimer;
async function poll() {
  if (polling) return; // one poll at a time: the one running schedules the next
  polling = true;
  clearTimeout(pollTimer);
  try {
    model.applyStatus(await (await read('/status')).json());
    if (polls++ % METRICS_EVERY === 0) model.applyMetrics(await (await read('/metrics')).text());
    renderBanner(null);
  } catch (error) {
    if (error instanceof LoginEnded) renderBanner('Your login has ended (the admin token changed, or the relay restarted).', true);
    else renderBanner(`Cannot reach the relay: ${error instanceof Error ? error.message : String(error)}. Trying again…`);
  } finally {
    polling = false;
    render();
    pollTimer = setTimeout(poll, document.hidden ? HIDDEN_POLL_MS : POLL_MS);
  }
}

function follow() {
  const source = new EventSource('/events');
  renderLive('connecting');
  // the relay replays its last events on every (re)connect: what came before is dropped, not doubled
  source.addEventListener('open', () => {
    model.resetStream();
    renderLive('live');
  });
  source.addEventListener('message', (message) => {
    let event;
    try {
      event = JSON.parse(message.data);
    } catch {
      return; // not an event of ours: nothing to show
    }
    model.applyEvent({ ...event, seq: Number(message.lastEventId) });
    scheduleRender();
  });
  source.addEventListener('error', () => {
    renderLive('reconnecting');
    // EventSource retries a dropped connection by itself, but not one the relay refused (401, a restart's 502)
    if (source.readyState === EventSource.CLOSED) setTimeout(follow, STREAM_RETRY_MS);
  });
}

for (const id of ['filter-backend', 'filter-level']) select(id).addEventListener('change', render);
// back from a hidden tab: fresh numbers now, not at the end of the slow poll
document.addEventListener('visibilitychange', () => {
  if (!document.hidden) void poll();
});
follow();
void poll();
