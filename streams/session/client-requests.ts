/** Client requests beyond tools/call: the aggregate lists (paged), and requests routed by URI or prompt name. */
import { catchError, forkJoin, map, mergeMap, of, take, timeout, type Observable } from 'rxjs';
import type { BackendStates } from '../backend/backends.js';
import type { Catalogue } from '../catalogue/catalogue.js';
import type { Outgoing } from './client-output.js';
import { forwardRequest, type CallDeps } from './forward.js';
import { ErrorCode, failure, isObjectRecord, success, type JsonRpcRequest } from '../core/jsonrpc.js';
import { MANAGEMENT_TOOLS } from '../management/management.js';
import { resourceOwner, type Offers } from '../catalogue/offers.js';
import { pageOf } from '../catalogue/paging.js';
import { requestResult } from '../rpc/request-result.js';
import type { ClientSetup } from './session-replay.js';

export type ListedKind = 'tools' | 'resources' | 'prompts';

export interface ClientRequestDeps extends Omit<CallDeps, 'cancelled$'> {
  catalogue$: Observable<Catalogue>;
  /** the catalogue as it is now, for the hot path */
  currentCatalogue?: () => Catalogue | undefined;
  offers$: Observable<Offers>;
  /** emits (and replays) once the first lists may be answered */
  firstListReady$: Observable<unknown>;
  /** what a list answer showed the client: list_changed compares against it */
  onListed: (kind: ListedKind, key: string) => void;
  /** what the client set up on the backends, replayed to a backend that reconnects */
  setup: ClientSetup;
}

const reply = (message: Outgoing['message']): Observable<Outgoing> => of({ message });

/** The aggregate a list method answers with, after the first connection attempts (some clients never re-list). */
export function listReply(request: JsonRpcRequest, deps: ClientRequestDeps): Observable<Outgoing> {
  return deps.firstListReady$.pipe(
    take(1),
    mergeMap(() => deps.catalogue$.pipe(take(1))),
    mergeMap((catalogue) => deps.offers$.pipe(take(1), map((offers) => ({ catalogue, offers })))),
    map(({ catalogue, offers }) => {
      const [field, items, kind, key] = ((): [string, readonly unknown[], ListedKind, string] => {
        switch (request.method) {
          case 'tools/list':
            return ['tools', [...MANAGEMENT_TOOLS, ...catalogue.tools], 'tools', catalogue.key];
          case 'prompts/list':
            return ['prompts', offers.prompts, 'prompts', offers.promptsKey];
          case 'resources/templates/list':
            return ['resourceTemplates', offers.resourceTemplates, 'resources', offers.resourcesKey];
          default:
            return ['resources', offers.resources, 'resources', offers.resourcesKey];
        }
      })();
      const page = pageOf(items, request.params?.['cursor']);
      if ('error' in page) return { message: failure(request.id, ErrorCode.InvalidParams, page.error) };
      deps.onListed(kind, key);
      return { message: success(request.id, page.nextCursor === undefined ? { [field]: page.items } : { [field]: page.items, nextCursor: page.nextCursor }) };
    }),
  );
}

interface Routed {
  backend: string;
  subject: string;
  params: Record<string, unknown>;
}

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

/** prompts/get, resources/read, resources/(un)subscribe, completion/complete: to the owning backend. */
export function routedReply(request: JsonRpcRequest, cancelled$: CallDeps['cancelled$'], deps: ClientRequestDeps): Observable<Outgoing> {
  const offers$ = deps.offers$.pipe(take(1));
  return offers$.pipe(
    // a client that knows a URI or prompt from an earlier session may ask before the first handshakes are done
    mergeMap((offers) => (typeof route(request, offers) === 'string' ? deps.firstListReady$.pipe(take(1), mergeMap(() => offers$)) : of(offers))),
    mergeMap((offers) => {
      const routed = route(request, offers);
      if (typeof routed === 'string') return reply(failure(request.id, ErrorCode.InvalidParams, routed));
      const uri = request.params?.['uri'];
      if (typeof uri === 'string' && request.method === 'resources/subscribe') deps.setup.subscriptions.add(uri);
      if (typeof uri === 'string' && request.method === 'resources/unsubscribe') deps.setup.subscriptions.delete(uri);
      return forwardRequest(request, routed, { ...deps, cancelled$ });
    }),
  );
}

/** logging/setLevel: every connected backend that declares logging gets it; the client gets {} once they answered (or not). */
export function setLevelReply(request: JsonRpcRequest, states$: Observable<BackendStates>, setup: ClientSetup): Observable<Outgoing> {
  const level = request.params?.['level'];
  if (typeof level !== 'string') return reply(failure(request.id, ErrorCode.InvalidParams, 'logging/setLevel needs params.level, a string'));
  setup.logLevel = level;
  return states$.pipe(
    take(1),
    mergeMap((states) => {
      const sessions = [...states.values()].flatMap((state) => (state.session && state.session.capabilities['logging'] !== undefined ? [state.session] : []));
      if (sessions.length === 0) return of(null);
      // one backend that fails or never answers must not fail the client's request
      return forkJoin(sessions.map((session) => requestResult(session.channel, 'logging/setLevel', request.params ?? {}).pipe(timeout(5_000), catchError(() => of(null)))));
    }),
    map(() => ({ message: success(request.id, {}) })),
  );
}
