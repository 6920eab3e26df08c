/** Picks the transport adapter for a backend entry. */
import { throwError } from 'rxjs';
import { ConnectError } from '../streams/errors.js';
import type { OpenLink } from '../streams/link.js';
import { openWebSocketLink } from './backend-ws.js';

export const openLink: OpenLink = (entry) => {
  switch (entry.transport) {
    case 'ws':
      return openWebSocketLink(entry);
    case 'http':
    case 'stdio':
      return throwError(() => new ConnectError(entry.name, entry.url, `the ${entry.transport} transport is not available in this build`));
  }
};
