/**
 * Backend connections as spans of their own: one from each attempt (the first connect, or a reconnect after a
 * failure) to its verdict (connected, or the error that failed it), read from the events the log already gets.
 * One open span per backend at most; a backend removed from the config ends its attempt so.
 */
import { SpanKind, SpanStatusCode, type Span, type Tracer } from '@opentelemetry/api';
import type { RelayEvent } from '../../streams/catalogue/events.js';

export class ConnectSpans {
  private readonly open = new Map<string, Span>();

  constructor(private readonly tracer: Tracer) {}

  observe(event: RelayEvent): void {
    const backend = event['backend'];
    if (typeof backend !== 'string') return;
    switch (event.event) {
      case 'backend.reconnect':
        this.end(backend, 'superseded by the next attempt');
        this.start(backend, 'backend reconnect', { 'mcp.relay.attempt': Number(event['attempt']) || 0, ...(typeof event['lastError'] === 'string' ? { 'mcp.relay.last_error': event['lastError'] } : {}) });
        return;
      case 'backend.state': {
        const phase = event['phase'];
        const error = typeof event['error'] === 'string' ? event['error'] : undefined;
        if (phase === 'connecting' && error === undefined) {
          if (!this.open.has(backend)) this.start(backend, 'backend connect', {}, String(event['url'] ?? ''));
          return;
        }
        const span = this.open.get(backend);
        if (span === undefined) return;
        if (typeof event['url'] === 'string') span.setAttribute('url.full', event['url']);
        if (phase === 'connected') {
          span.setAttributes({ 'mcp.relay.health': String(event['health']), 'mcp.relay.tools': Number(event['tools']) || 0 });
          this.open.delete(backend);
          span.end();
        } else this.end(backend, error ?? `the backend is ${String(event['health'])}`);
        return;
      }
      case 'backend.removed':
        this.end(backend, 'removed from the config');
        return;
    }
  }

  /** the process is exiting: attempts still open end as such */
  closeAll(): void {
    for (const backend of [...this.open.keys()]) this.end(backend, 'the relay stopped');
  }

  private start(backend: string, name: string, attributes: Record<string, string | number>, url?: string): void {
    this.open.set(backend, this.tracer.startSpan(name, { kind: SpanKind.INTERNAL, attributes: { 'mcp.relay.backend': backend, ...(url ? { 'url.full': url } : {}), ...attributes } }));
  }

  private end(backend: string, failure: string): void {
    const span = this.open.get(backend);
    if (span === undefined) return;
    this.open.delete(backend);
    span.setStatus({ code: SpanStatusCode.ERROR, message: failure });
    span.end();
  }
}
