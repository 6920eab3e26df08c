// @ts-check
// How times and durations read on the status page: short, for a glance.

/** a span at a glance, in its largest whole unit: "12s", "3m", "2h", "4d" */
export function span(/** @type {number} */ ms) {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86_400)}d`;
}

/** "now", "12s ago", "3m ago"; "-" for no time at all */
export function ago(/** @type {number | undefined} */ ms) {
  if (ms === undefined || Number.isNaN(ms)) return '-';
  return Math.round(ms / 1000) < 1 ? 'now' : `${span(ms)} ago`;
}

/** milliseconds as a person reads a latency */
export function duration(/** @type {number} */ ms) {
  if (ms < 10) return `${ms.toFixed(1)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

/** an ISO time as local wall-clock time with milliseconds, for the event list */
export function clockTime(/** @type {string} */ iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const pad = (/** @type {number} */ n, width = 2) => String(n).padStart(width, '0');
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
}
