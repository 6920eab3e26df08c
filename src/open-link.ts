/** Picks the transport adapter for a backend entry. */
import type { EmitEvent } from '../streams/catalogue/events.js';
import type { OpenLink } from '../streams/rpc/link.js';
import { openHttpLink } from './backend-http.js';
import { openStdioLinkWith } from './backend-stdio.js';
import { openWebSocketLink } from './backend-ws.js';

/** A stdio server's stderr is its log: each line becomes a backend.stderr event. */
export function createOpenLink(emit: EmitEvent): OpenLink {
  const openStdioLink = openStdioLinkWith((backend, line) => emit({ event: 'backend.stderr', backend, line, level: 'info' }));
  return (entry) => {
    switch (entry.transport) {
      case 'ws':
        return openWebSocketLink(entry);
      case 'stdio':
        return openStdioLink(entry);
      case 'http':
        return openHttpLink(entry);
    }
  };
}
