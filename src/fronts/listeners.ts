/** The set of network listeners in force: the command line's plus backends.yaml's; a reload opens and closes them live. */
import type { ListenSpec } from '../../streams/config/listen.js';
import { ListenError, type FrontContext, type RunningFront } from './front.js';
import { openHttpFront } from './http-front.js';
import { openWsFront } from './ws-front.js';

export class Listeners {
  /** by canonical URL; the promise is null when it could not listen */
  private readonly running = new Map<string, Promise<RunningFront | null>>();

  constructor(private readonly context: FrontContext) {}

  get count(): number {
    return this.running.size;
  }

  /** Opens what is new and closes what is gone; resolves with the listeners that could not start. */
  async reconcile(specs: readonly ListenSpec[]): Promise<ListenError[]> {
    const wanted = new Map(specs.map((spec) => [spec.url, spec]));
    const closing: Array<Promise<void>> = [];
    for (const [url, front] of this.running) {
      if (wanted.has(url)) continue;
      this.running.delete(url);
      closing.push(front.then((open) => (open ? this.close(open, 'the listener was removed from the config') : undefined)));
    }
    const failures: ListenError[] = [];
    const opening = [...wanted.values()]
      .filter((spec) => !this.running.has(spec.url))
      .map((spec) => {
        const open: Promise<RunningFront | null> = this.open(spec).catch((error: unknown) => {
          const failure = error instanceof ListenError ? error : new ListenError(spec.url, undefined, error instanceof Error ? error.message : String(error));
          failures.push(failure);
          this.context.emit({ event: 'front.error', url: spec.url, error: failure.message, level: 'error' });
          // forgotten, so a later reload tries again (unless a later reload already put its own attempt there)
          if (this.running.get(spec.url) === open) this.running.delete(spec.url);
          return null;
        });
        this.running.set(spec.url, open);
        return open;
      });
    await Promise.all([...closing, ...opening]);
    return failures;
  }

  /** after a reload: every open listener ends the sessions whose token is gone */
  recheck(): void {
    for (const front of this.running.values()) void front.then((open) => open?.recheck());
  }

  async closeAll(reason: string): Promise<void> {
    const fronts = [...this.running.values()];
    this.running.clear();
    await Promise.all(fronts.map((front) => front.then((open) => (open ? this.close(open, reason) : undefined))));
  }

  private async open(spec: ListenSpec): Promise<RunningFront> {
    const front = spec.kind === 'ws' ? await openWsFront(spec, this.context) : await openHttpFront(spec, this.context);
    this.context.emit({ event: 'front.listen', front: spec.kind, url: front.url, level: 'info' });
    return front;
  }

  private async close(front: RunningFront, reason: string): Promise<void> {
    const sessions = front.sessions();
    await front.close(reason);
    this.context.emit({ event: 'front.close', front: front.spec.kind, url: front.url, sessions, reason, level: 'info' });
  }
}
