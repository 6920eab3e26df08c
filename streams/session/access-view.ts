/** A session's view through its principal's access: the backends, tools, resources and prompts it may use, nothing else. */
import { map } from 'rxjs';
import type { Access } from '../access/access.js';
import { restrictCatalogue, restrictOffers, restrictStates } from '../access/restrict.js';
import type { SessionView } from './view.js';

export function restrictedView(view: SessionView, access: Access): SessionView {
  // the stdio user and an unauthenticated relay: the view as it is, at no cost on the per-call path
  if (access.full) return view;
  return {
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
      map((snapshot) => ({ states: restrictStates(snapshot.states, access), catalogue: restrictCatalogue(snapshot.catalogue, access), offers: restrictOffers(snapshot.offers, access) })),
    ),
  };
}
