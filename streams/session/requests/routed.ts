/**
 * prompts/get, resources/read, resources/(un)subscribe, completion/complete: to the backend that owns the prompt or
 * URI. A subscription another client already holds on the backend is answered here; the last one out unsubscribes.
 */
import { mergeMap, of, take, type Observable } from 'rxjs';
import { resourceOwner, type Offers } from '../../catalogue/offers.js';
import { ErrorCode, failure, isObjectRecord, success, type JsonRpcRequest } from '../../core/jsonrpc.js';
import type { Outgoing } from '../client-output.js';
import { forwardRequest } from '../forward.js';
import type { CallDeps } from '../call-deps.js';
import type { RequestDeps } from '../request-deps.js';

interface Routed {
  backend: string;
  subject: string;
  params: Record<string, unknown>;
}

const reply = (message: Outgoing['message']): Observable<Outgoing> => of({ message });

/** Which backend a routed request goes to, with the params it must see; a string is the error to answer with. */
function route(request: JsonRpcRequest, offers: Offers): Routed | string {
  const params = request.params ?? {};
  if (request.method === 'prompts/get') {
    const name = params['name'];
    if (typeof name !== 'string') return 'prompts/get needs params.name, a string';
    const backend = offers.promptRoutes.get(name);
    if (backend === undefined) return `Unknown prompt '${name}': no backend behind this relay provides it. Call relay_get_status to see which backends are connected.`;
    const original = offers.promptOriginals.get(name);
    return { backend, subject: `prompt '${name}'`, params: original === undefined ? params : { ...params, name: original } };
  }
  if (request.method === 'completion/complete') {
    const ref = params['ref'];
    if (!isObjectRecord(ref)) return 'completion/complete needs params.ref';
    if (ref['type'] === 'ref/prompt' && typeof ref['name'] === 'string') {
      const backend = offers.promptRoutes.get(ref['name']);
      if (backend === undefined) return `Unknown prompt '${ref['name']}' in completion/complete`;
      const original = offers.promptOriginals.get(ref['name']);
      return { backend, subject: `prompt '${ref['name']}'`, params: original === undefined ? params : { ...params, ref: { ...ref, name: original } } };
    }
    if (ref['type'] === 'ref/resource' && typeof ref['uri'] === 'string') {
      const backend = resourceOwner(offers, ref['uri']);
      return backend === undefined ? `Unknown resource '${ref['uri']}' in completion/complete` : { backend, subject: `resource '${ref['uri']}'`, params };
    }
    return 'completion/complete needs a ref of type ref/prompt (with name) or ref/resource (with uri)';
  }
  const uri = params['uri'];
  if (typeof uri !== 'string') return `${request.method} needs params.uri, a string`;
  const backend = resourceOwner(offers, uri);
  if (backend === undefined) return `Unknown resource '${uri}': no backend behind this relay lists it or a template that matches it. Call resources/list or relay_get_status.`;
  return { backend, subject: `resource '${uri}'`, params };
}

/** resources/(un)subscribe as this client's: true when the backend need not hear it (another client holds it) */
function settledHere(request: JsonRpcRequest, uri: string, deps: RequestDeps): boolean {
  if (request.method === 'resources/subscribe') {
    deps.client.subscriptions.add(uri);
    return deps.clients.subscribedElsewhere(uri, deps.client);
  }
  deps.client.subscriptions.delete(uri);
  return deps.clients.subscribedElsewhere(uri, deps.client);
}

export function routedReply(request: JsonRpcRequest, cancelled$: CallDeps['cancelled$'], deps: RequestDeps): Observable<Outgoing> {
  const offers$ = deps.offers$.pipe(take(1));
  return offers$.pipe(
    // a client that knows a URI or prompt from an earlier session may ask before the first handshakes are done
    mergeMap((offers) => (typeof route(request, offers) === 'string' ? deps.firstListReady$.pipe(take(1), mergeMap(() => offers$)) : of(offers))),
    mergeMap((offers) => {
      const routed = route(request, offers);
      if (typeof routed === 'string') {
        deps.onUnknown?.(request);
        return reply(failure(request.id, ErrorCode.InvalidParams, routed));
      }
      const uri = request.params?.['uri'];
      const subscription = request.method === 'resources/subscribe' || request.method === 'resources/unsubscribe';
      // a per-client backend's subscriptions are this client's alone: always its own backend's business
      if (subscription && typeof uri === 'string' && !deps.isIsolated?.(routed.backend) && settledHere(request, uri, deps)) return reply(success(request.id, {}));
      return forwardRequest(request, routed, { ...deps, cancelled$ });
    }),
  );
}
