// @ts-check
// The two small drawings per backend, as inline SVG: a latency sparkline of its last calls, and its health over the
// last minutes as coloured bands (the reconnect timeline).
import { svg } from './dom.js';
import { clockTime, duration } from './format.js';

/** @typedef {import('./model.js').LatencyPoint} LatencyPoint */
/** @typedef {import('./model.js').HealthChange} HealthChange */

const SPARK = { width: 120, height: 24, pad: 2 };
const BAND = { width: 220, height: 14 };
/** how far back the health timeline reaches at most, and at least (a young relay's timeline spans its life) */
export const TIMELINE_MS = 10 * 60_000;
const MIN_TIMELINE_MS = 10_000;

/**
 * each call one point, left to right, scaled to the slowest; calls that failed are red dots
 * @param {LatencyPoint[]} points oldest first
 */
export function sparkline(points) {
  const { width, height, pad } = SPARK;
  const chart = svg('svg', { class: 'sparkline', width, height, viewBox: `0 0 ${width} ${height}`, 'data-testid': 'latency-sparkline', 'data-points': points.length, role: 'img' });
  if (points.length === 0) {
    chart.append(svg('title', {}, 'no calls seen yet'), svg('line', { class: 'baseline', x1: 0, x2: width, y1: height - pad, y2: height - pad }));
    return chart;
  }
  const slowest = Math.max(...points.map((point) => point.ms), 1);
  const step = points.length > 1 ? (width - 2 * pad) / (points.length - 1) : 0;
  const at = (/** @type {LatencyPoint} */ point, /** @type {number} */ index) => ({ x: pad + index * step, y: height - pad - (point.ms / slowest) * (height - 2 * pad) });
  const sorted = points.map((point) => point.ms).sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
  chart.append(svg('title', {}, `last ${points.length} calls: median ${duration(median)}, slowest ${duration(slowest)}`));
  chart.append(svg('polyline', { class: 'line', points: points.map((point, index) => `${at(point, index).x.toFixed(1)},${at(point, index).y.toFixed(1)}`).join(' ') }));
  points.forEach((point, index) => {
    if (!point.ok) chart.append(svg('circle', { class: 'failed-call', cx: at(point, index).x.toFixed(1), cy: at(point, index).y.toFixed(1), r: 2 }));
  });
  return chart;
}

/**
 * the backend's health as bands from each change to the next, from its first known change (10 s ago at least,
 * TIMELINE_MS at most) to now
 * @param {HealthChange[]} changes oldest first
 * @param {number} now the relay's clock
 */
export function healthTimeline(changes, now) {
  const { width, height } = BAND;
  const first = changes.length > 0 ? Date.parse(changes[0]?.time ?? '') : now;
  const span = Math.min(TIMELINE_MS, Math.max(MIN_TIMELINE_MS, now - first));
  const from = now - span;
  const x = (/** @type {number} */ time) => ((Math.max(time, from) - from) / span) * width;
  const band = svg('svg', {
    class: 'timeline',
    width,
    height,
    viewBox: `0 0 ${width} ${height}`,
    'data-testid': 'health-timeline',
    'data-changes': changes.length,
    'data-last-health': changes.at(-1)?.health ?? '',
    'data-span-ms': span,
    role: 'img',
  });
  band.append(svg('title', {}, `health from ${clockTime(new Date(from).toISOString())} to now`), svg('rect', { class: 'before', x: 0, y: 0, width, height }));
  changes.forEach((change, index) => {
    const start = Date.parse(change.time);
    const end = index + 1 < changes.length ? Date.parse(changes[index + 1]?.time ?? '') : now;
    if (end < from) return;
    const left = x(start);
    const title = `${change.health} from ${clockTime(change.time)} for ${duration(Math.max(0, end - start))}${change.error ? `: ${change.error}` : ''}`;
    band.append(svg('rect', { class: `health-${change.health}`, x: left.toFixed(1), y: 0, width: Math.max(1, x(end) - left).toFixed(1), height }, svg('title', {}, title)));
  });
  return band;
}
