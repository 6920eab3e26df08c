/** A session's view through its principal's access: the backends, tools, resources and prompts it may use, nothing else. */
import { map } from 'rxjs';
import type { Access } from '../access/access.js';
import { restrictCatalogue, restrictOffers, restrictStates } from '../access/restrict.js';
import type { SessionView, ViewSnapshot } from './view.js';

export interface RestrictedView extends SessionView {
  /** the latest view before the principal's restriction: what exists, to tell a refusal from a typo */
  unrestricted(): ViewSnapshot | null;
}

export function restrictedView(view: SessionView, access: Access): RestrictedView {
  // the stdio user and an unauthenticated relay: the view as it is, at no cost on the per-call path
  if (access.full) return { ...view, unrestricted: () => null };
  let raw: ViewSnapshot | null = null;
  return {
    unrestricted: () => raw,
    ...view,
    states$: view.states$.pipe(map((states) => restrictStates(states, access))),
    catalogue$: view.catalogue$.pipe(map((catalogue) => restrictCatalogue(catalogue, access))),
    offers$: view.offers$.pipe(map((offers) => restrictOffers(offers, access))),
    currentStates: () => {
      const states = view.currentStates();
      return states && restrictStates(states, access);
    },
    currentCatalogue: () => {
      const catalogue = view.currentCatalogue();
      return catalogue && restrictCatalogue(catalogue, access);
    },
    isolatedStatus: () => view.isolatedStatus().filter((backend) => access.backend(backend.name)),
    snapshots$: view.snapshots$.pipe(
      map((snapshot): ViewSnapshot => {
        raw = snapshot;
        return { states: restrictStates(snapshot.states, access), catalogue: restrictCatalogue(snapshot.catalogue, access), offers: restrictOffers(snapshot.offers, access) };
      }),
    ),
  };
}
