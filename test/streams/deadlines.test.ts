// One timer per connection for every call's timeout: exact expiry times, re-arming on progress, ended calls never expiring.
import { asyncScheduler, type SchedulerLike } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { Deadlines } from '../../streams/deadlines.js';
import { scheduler } from './helpers.js';

/** runs `script` in virtual time; returns "key@ms" for every expiry */
function expiries(script: (deadlines: Deadlines<string>, cold: (marbles: string) => { subscribe: (next: (key: string) => void) => unknown }) => void, timers?: SchedulerLike): string[] {
  const log: string[] = [];
  scheduler().run(({ cold, flush }) => {
    const deadlines = new Deadlines<string>(100, (key) => log.push(`${key}@${asyncScheduler.now()}`), timers ?? asyncScheduler);
    script(deadlines, (marbles) => cold<string>(marbles));
    flush();
  });
  return log;
}

describe('Deadlines', () => {
  it('expires each key exactly ms after it was armed, oldest first', () => {
    expect(expiries((deadlines, cold) => cold('a 29ms b 29ms c').subscribe((key) => deadlines.arm(key)))).toEqual(['a@100', 'b@130', 'c@160']);
  });

  it('never expires a deleted key, and the others keep their times', () => {
    expect(
      expiries((deadlines, cold) => {
        cold('a 29ms b 29ms c').subscribe((key) => deadlines.arm(key));
        cold('50ms b').subscribe((key) => deadlines.delete(key));
      }),
    ).toEqual(['a@100', 'c@160']);
  });

  it('restarts the clock of a key armed again (progress), moving it behind the others', () => {
    expect(
      expiries((deadlines, cold) => {
        cold('a 29ms b 29ms c').subscribe((key) => deadlines.arm(key));
        cold('80ms a').subscribe((key) => deadlines.arm(key));
      }),
    ).toEqual(['b@130', 'c@160', 'a@180']);
  });

  it('expires nothing after clear', () => {
    expect(
      expiries((deadlines, cold) => {
        cold('a 29ms b').subscribe((key) => deadlines.arm(key));
        cold('50ms x').subscribe(() => deadlines.clear());
      }),
    ).toEqual([]);
  });

  it('uses one timer for a thousand calls that end in time, and none once the queue is empty', () => {
    let scheduled = 0;
    const counting: SchedulerLike = {
      now: () => asyncScheduler.now(),
      schedule: ((...args: Parameters<SchedulerLike['schedule']>) => {
        scheduled++;
        return asyncScheduler.schedule(...args);
      }) as SchedulerLike['schedule'],
    };
    const log = expiries((deadlines, cold) => {
      cold('x').subscribe(() => {
        for (let i = 0; i < 1_000; i++) deadlines.arm(`call-${i}`);
      });
      cold('10ms x').subscribe(() => {
        for (let i = 0; i < 999; i++) deadlines.delete(`call-${i}`);
      });
    }, counting);
    expect(log).toEqual(['call-999@100']);
    expect(scheduled).toBe(1);
  });
});
