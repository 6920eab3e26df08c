// The status page's model (src/admin/page/model.js, plain browser JavaScript with no DOM), run here in Node: health
// from a backend.state event wins over a /status that has not caught up yet, and only over that; the replay and live
// events land in order; the latency points and call counts come out as the page draws them.
import { describe, expect, it } from 'vitest';

interface HealthChange {
  time: string;
  health: string;
  error?: string;
}
interface Server {
  name: string;
  health: string;
  tools: number;
  error?: string;
  history?: HealthChange[];
}
interface Model {
  events: Array<{ seq: number; event: string }>;
  applyStatus(status: { servers: Server[] }): void;
  applyEvent(event: Record<string, unknown>): void;
  resetStream(): void;
  health(server: Server): { health: string; tools: number; error?: string };
  timeline(server: Server): HealthChange[];
  latency(backend: string): Array<{ ms: number; ok: boolean }>;
  backendNames(): string[];
  visibleEvents(filter: { backend: string; level: string; limit: number }): Array<{ seq: number }>;
}
// a path the type checker does not follow: the module is JavaScript for the browser, checked by tsconfig.page.json
const MODEL = '../../src/admin/page/model.js';
const { PageModel, callCounts } = (await import(MODEL)) as { PageModel: new () => Model; callCounts: (text: string) => Map<string, { calls: number; errors: number }> };

const at = (second: number) => `2026-05-01T12:00:${String(second).padStart(2, '0')}.000Z`;
const state = (seq: number, second: number, backend: string, health: string, error?: string) => ({
  seq,
  time: at(second),
  level: health === 'failed' ? 'warn' : 'info',
  event: 'backend.state',
  backend,
  health,
  tools: health === 'healthy' ? 3 : 0,
  ...(error === undefined ? {} : { error }),
});
const healthyNotes: Server = { name: 'notes', health: 'healthy', tools: 3, history: [{ time: at(1), health: 'healthy' }] };

describe('the status page model', () => {
  it('shows a backend.state newer than /status knows at once, and /status again once it has caught up', () => {
    const model = new PageModel();
    model.applyStatus({ servers: [healthyNotes] });
    expect(model.health(healthyNotes)).toEqual({ health: 'healthy', tools: 3 });
    model.applyEvent(state(7, 5, 'notes', 'failed', 'connection closed'));
    expect(model.health(healthyNotes)).toEqual({ health: 'failed', tools: 0, error: 'connection closed' });
    // a /status answer made before the event still says healthy: the event wins
    model.applyStatus({ servers: [healthyNotes] });
    expect(model.health(healthyNotes)).toMatchObject({ health: 'failed' });
    // /status has caught up (its history has the change): it is the truth again, with its own error text
    const caughtUp: Server = { ...healthyNotes, health: 'failed', error: 'connection closed; retrying', history: [...(healthyNotes.history ?? []), { time: at(5), health: 'failed' }] };
    expect(model.health(caughtUp)).toEqual({ health: 'failed', tools: 3, error: 'connection closed; retrying' });
  });

  it('does not let a replayed (older) backend.state override /status', () => {
    const model = new PageModel();
    const recovered: Server = { name: 'calc', health: 'healthy', tools: 3, history: [{ time: at(1), health: 'failed' }, { time: at(9), health: 'healthy' }] };
    // the replay comes newest first
    model.applyEvent(state(12, 9, 'calc', 'healthy'));
    model.applyEvent(state(4, 1, 'calc', 'failed', 'refused'));
    expect(model.health(recovered)).toEqual({ health: 'healthy', tools: 3 });
    expect(model.timeline(recovered).map((change) => change.health)).toEqual(['failed', 'healthy']);
  });

  it('adds live changes after /status history to the timeline, once each', () => {
    const model = new PageModel();
    model.applyEvent(state(20, 10, 'notes', 'failed', 'gone'));
    model.applyEvent(state(21, 10, 'notes', 'failed', 'still gone'));
    model.applyEvent(state(25, 12, 'notes', 'healthy'));
    expect(model.timeline(healthyNotes)).toEqual([
      { time: at(1), health: 'healthy' },
      { time: at(10), health: 'failed', error: 'gone' },
      { time: at(12), health: 'healthy' },
    ]);
  });

  it('keeps events newest first whether they come as the replay (newest first) or live, by their ids', () => {
    const model = new PageModel();
    for (const seq of [5, 4, 2]) model.applyEvent({ seq, time: at(1), level: 'info', event: `e${seq}` });
    for (const seq of [6, 7]) model.applyEvent({ seq, time: at(1), level: 'info', event: `e${seq}` });
    model.applyEvent({ seq: 3, time: at(1), level: 'info', event: 'e3' });
    expect(model.events.map((event) => event.seq)).toEqual([7, 6, 5, 4, 3, 2]);
    model.resetStream();
    expect(model.events).toEqual([]);
  });

  it('filters events by backend and least level', () => {
    const model = new PageModel();
    model.applyEvent({ seq: 1, time: at(1), level: 'debug', event: 'a', backend: 'notes' });
    model.applyEvent({ seq: 2, time: at(1), level: 'info', event: 'b', backend: 'calc' });
    model.applyEvent({ seq: 3, time: at(1), level: 'warn', event: 'c', backend: 'notes' });
    model.applyEvent({ seq: 4, time: at(1), level: 'error', event: 'd' });
    const seqs = (backend: string, level: string, limit = 10) => model.visibleEvents({ backend, level, limit }).map((event) => event.seq);
    expect(seqs('', 'debug')).toEqual([4, 3, 2, 1]);
    expect(seqs('', 'warn')).toEqual([4, 3]);
    expect(seqs('notes', 'debug')).toEqual([3, 1]);
    expect(seqs('notes', 'info')).toEqual([3]);
    expect(seqs('', 'debug', 2)).toEqual([4, 3]);
    expect(model.backendNames()).toEqual(['calc', 'notes']);
  });

  it('draws latency from call.done in call order, at most 60 points, failures marked', () => {
    const model = new PageModel();
    for (let seq = 1; seq <= 70; seq++) model.applyEvent({ seq, time: at(1), level: 'info', event: 'call.done', backend: 'clock', tool: 'clock_now', ms: seq, outcome: seq === 70 ? 'timeout' : 'ok' });
    const points = model.latency('clock');
    expect(points).toHaveLength(60);
    expect(points[0]).toEqual(expect.objectContaining({ ms: 11, ok: true }));
    expect(points.at(-1)).toEqual(expect.objectContaining({ ms: 70, ok: false }));
    expect(model.latency('notes')).toEqual([]);
  });

  it('counts calls and failed calls per backend from /metrics, tool errors not counted as failures', () => {
    const counts = callCounts(
      [
        '# TYPE mcp_relay_calls_total counter',
        'mcp_relay_calls_total{backend="notes",tool="notes_add",outcome="ok"} 5',
        'mcp_relay_calls_total{backend="notes",tool="notes_add",outcome="tool-error"} 2',
        'mcp_relay_calls_total{backend="notes",tool="notes_search",outcome="timeout"} 1',
        'mcp_relay_calls_total{backend="calc",tool="calc_add",outcome="backend-down"} 3',
      ].join('\n'),
    );
    expect(Object.fromEntries(counts)).toEqual({ notes: { calls: 8, errors: 1 }, calc: { calls: 3, errors: 3 } });
  });
});
