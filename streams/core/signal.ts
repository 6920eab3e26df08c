/** A named trigger that closes a loop in the graph (a call kicks its backend's reconnect). The Subject stays private. */
import { Subject, type Observable } from 'rxjs';

export interface Signal<T> {
  fire(value: T): void;
  readonly fired$: Observable<T>;
}

export function createSignal<T>(): Signal<T> {
  const subject = new Subject<T>();
  return { fire: (value) => subject.next(value), fired$: subject.asObservable() };
}
