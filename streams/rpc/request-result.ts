/** A relay-initiated request (handshake, listing): the result object, or the backend's error as a HandshakeError. */
import { filter, map, type Observable } from 'rxjs';
import { HandshakeError } from '../core/errors.js';
import type { Params } from '../core/jsonrpc.js';
import type { RpcChannel } from './rpc-channel.js';

export const requestResult = (channel: RpcChannel, method: string, params?: Params): Observable<Record<string, unknown>> =>
  channel.request(method, params).pipe(
    filter((event) => event.kind === 'response'),
    map((event) => {
      const response = event.response;
      if ('error' in response) {
        throw new HandshakeError(channel.backend, method, `error ${response.error.code}: ${response.error.message}`, response.error.code);
      }
      return response.result;
    }),
  );
