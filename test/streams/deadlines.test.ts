// One timer per connection for every call's timeout: exact expiry times, re-arming on progress, ended calls never expiring.
import { asyncScheduler, type SchedulerLike } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { Deadlines } from '../../streams/rpc/deadlines.js';
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

  it('keeps its queue near the number of live calls when they end out of order behind one that never ends', () => {
    let longest = 0;
    const log = expiries((deadlines, cold) => {
      cold('x').subscribe(() => {
        deadlines.arm('stuck');
        // 10,000 calls, each ending two calls after it starts: never the oldest, so never dropped from the front
        for (let i = 0; i < 10_000; i++) {
          deadlines.arm(`call-${i}`);
          if (i >= 2) deadlines.delete(`call-${i - 2}`);
          longest = Math.max(longest, deadlines.queueLength);
        }
      });
    });
    expect(log).toEqual(['stuck@100', 'call-9998@100', 'call-9999@100']);
    expect(longest).toBeLessThanOrEqual(70);
  });

  it('keeps its queue small for a call re-armed by 10,000 progress notifications, and expires it from the last', () => {
    let longest = 0;
    const log = expiries((deadlines, cold) => {
      cold('x').subscribe(() => deadlines.arm('busy'));
      cold('50ms x').subscribe(() => {
        for (let i = 0; i < 10_000; i++) {
          deadlines.arm('busy');
          longest = Math.max(longest, deadlines.queueLength);
        }
      });
    });
    expect(log).toEqual(['busy@150']);
    expect(longest).toBeLessThanOrEqual(70);
  });

  // the drained ring is rebuilt small (above 4,096 slots): what follows must not notice
  it('times the next call exactly after a burst of 20,000 calls has drained', () => {
    let afterBurst = -1;
    const log = expiries((deadlines, cold) => {
      cold('x').subscribe(() => {
        for (let i = 0; i < 20_000; i++) deadlines.arm(`c${i}`);
        for (let i = 0; i < 20_000; i++) deadlines.delete(`c${i}`);
        afterBurst = deadlines.queueLength;
      });
      cold('30ms x').subscribe(() => deadlines.arm('next'));
    });
    expect(afterBurst).toBe(0);
    expect(log).toEqual(['next@130']);
  });

  it('expires what a plain model says, through random arms, re-arms and deletes over time', () => {
    // a deterministic walk: at each ms some keys are armed (again) or deleted; the model keeps key -> deadline
    let state = 11;
    const next = () => (state = (Math.imul(state, 1103515245) + 12345) & 0x7fffffff) / 0x7fffffff;
    const steps: Array<{ at: number; key: string; op: 'arm' | 'delete' }> = [];
    for (let at = 0; at < 400; at++) for (let n = 0; n < 5; n++) steps.push({ at, key: `k${Math.floor(next() * 60)}`, op: next() < 0.7 ? 'arm' : 'delete' });
    const model = new Map<string, number>();
    const expected: string[] = [];
    for (let at = 0; at <= 600; at++) {
      // due keys expire before the work of the same ms, oldest deadline first (ties in arming order)
      for (const [key, deadline] of [...model].filter(([, due]) => due <= at).sort((a, b) => a[1] - b[1])) {
        model.delete(key);
        expected.push(`${key}@${deadline}`);
      }
      for (const step of steps.filter((s) => s.at === at)) {
        model.delete(step.key);
        if (step.op === 'arm') model.set(step.key, at + 100);
      }
    }
    const log = expiries((deadlines) => {
      for (const step of steps) asyncScheduler.schedule(() => (step.op === 'arm' ? deadlines.arm(step.key) : deadlines.delete(step.key)), step.at);
    });
    expect(log).toEqual(expected);
    expect(log.length).toBeGreaterThan(20);
  });
});
