// The test's own reader of the relay's /events: each message with the moment it arrived here, so the page can be
// timed against the event it is meant to show.
export interface ArrivedEvent {
  /** Date.now() when the test read it */
  at: number;
  seq: number;
  data: { event: string; backend?: string; health?: string; [key: string]: unknown };
}

export interface EventFollower {
  events: ArrivedEvent[];
  /** resolves with the first event, arrived at or after `since`, that matches */
  next(match: (event: ArrivedEvent['data']) => boolean, since: number, timeoutMs?: number): Promise<ArrivedEvent>;
  stop(): void;
}

export async function followEvents(admin: string, headers: Record<string, string> = {}): Promise<EventFollower> {
  const controller = new AbortController();
  const response = await fetch(`${admin}/events`, { headers, signal: controller.signal });
  if (!response.ok || response.body === null) throw new Error(`${admin}/events answered HTTP ${response.status}`);
  const events: ArrivedEvent[] = [];
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  void (async () => {
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) !== -1) {
        const message = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = /^data: (.*)$/m.exec(message)?.[1];
        if (data !== undefined) events.push({ at: Date.now(), seq: Number(/^id: (\d+)$/m.exec(message)?.[1]), data: JSON.parse(data) as ArrivedEvent['data'] });
      }
    }
  })();
  const next = async (match: (event: ArrivedEvent['data']) => boolean, since: number, timeoutMs = 10_000): Promise<ArrivedEvent> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = events.find((event) => event.at >= since && match(event.data));
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no such event within ${timeoutMs} ms; the last: ${JSON.stringify(events.slice(-5).map((event) => event.data))}`);
      await new Promise((done) => setTimeout(done, 10));
    }
  };
  return { events, next, stop: () => controller.abort() };
}
