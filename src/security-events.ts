/**
 * The security side of the event stream: every refusal (auth, origin, limits, a slow or faulty client) counted by
 * kind for status, and each auth rejection, limit and management-tool use written to the audit log. Events are
 * already what the relay logs; reading them here keeps the fronts free of a second reporting path.
 */
import type { RelayEvent } from '../streams/catalogue/events.js';
import type { AuditLog } from './audit.js';

const COUNTED: Record<string, (event: RelayEvent) => string> = {
  'auth.rejected': (event) => `auth_rejected_${event['status'] === 403 ? 'forbidden' : 'unauthorized'}`,
  'front.refused': () => 'origin_refused',
  'front.limited': (event) => `connections_refused_${String(event['limit'])}`,
  'client.limited': (event) => `requests_refused_${String(event['limit'])}`,
  'client.slow': () => 'slow_readers_disconnected',
  'client.refused': (event) => (String(event['reason']).includes('limit') ? 'oversized_frames' : String(event['reason']).includes('binary') ? 'binary_frames' : 'bad_frames'),
  'client.revoked': () => 'sessions_revoked',
  'access.denied': (event) => `access_denied_${String(event['kind'])}`,
  'management.call': (event) => (event['outcome'] === 'refused' ? 'management_refused' : ''),
};

export class SecurityEvents {
  private readonly counts = new Map<string, number>();

  constructor(private readonly audit: () => AuditLog | null) {}

  /** counts the event (the number of refusals it stands for) and audits it where it is one of the audited kinds */
  observe(event: RelayEvent): void {
    const kind = COUNTED[event.event]?.(event);
    if (kind) this.counts.set(kind, (this.counts.get(kind) ?? 0) + (typeof event['refused'] === 'number' ? event['refused'] : 1));
    const audit = this.audit();
    if (!audit) return;
    switch (event.event) {
      // a browser page from an origin that is not allowed is refused at the same door as a bad token
      case 'auth.rejected':
      case 'front.refused':
        audit.write({ kind: 'auth.rejected', front: event['front'] as 'ws' | 'http', remote: String(event['remote']), reason: String(event['reason']), status: Number(event['status'] ?? 403) });
        return;
      case 'management.call':
        audit.write({
          kind: 'management',
          client: String(event['client']),
          principal: String(event['principal']),
          front: String(event['front']),
          tool: String(event['tool']),
          arguments: event['arguments'],
          outcome: event['outcome'] as 'ok' | 'refused' | 'error',
        });
        return;
      case 'access.denied':
        audit.write({ kind: 'access.denied', client: String(event['client']), principal: String(event['principal']), front: String(event['front']), what: String(event['kind']), name: String(event['name']), method: String(event['method']) });
        return;
      case 'front.limited':
      case 'client.limited':
      case 'client.slow':
      case 'client.refused':
        audit.write({
          kind: 'limit',
          ...(typeof event['client'] === 'string' ? { client: event['client'] } : {}),
          ...(typeof event['principal'] === 'string' ? { principal: event['principal'] } : {}),
          front: String(event['front']),
          ...(typeof event['remote'] === 'string' ? { remote: event['remote'] } : {}),
          limit: String(event['limit'] ?? event['reason'] ?? event.event),
          detail: event.event,
        });
    }
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.counts].sort(([a], [b]) => a.localeCompare(b)));
  }
}
