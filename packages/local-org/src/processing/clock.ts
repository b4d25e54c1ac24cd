import { setTimeout as sleep } from 'node:timers/promises';

// The processing model's time. Everything the model waits for (a chunk's processing, a lock wait, a
// request's latency, an upload's transfer) goes through a Clock, so the model's rules are tested on a
// manual clock that only moves when a test advances it, and a benchmark can run modelled time faster
// than real time (timeScale).

export type Clock = {
  /** modelled milliseconds since an arbitrary origin */
  now(): number;
  /** resolves once `ms` modelled milliseconds have passed; rejects when `signal` aborts first */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
};

/** Real time, optionally compressed: with timeScale 0.01 a modelled second takes 10 real milliseconds. */
export function systemClock(timeScale = 1): Clock {
  const origin = performance.now();
  return {
    now: () => (performance.now() - origin) / timeScale,
    sleep: async (ms, signal): Promise<void> => {
      if (ms > 0) await sleep(ms * timeScale, undefined, { signal });
    },
  };
}

/**
 * A clock that stands still until advanced. Sleepers wake in order of their due time; after each wake-up
 * the event loop runs until it settles, so whatever the woken code does next (more sleeps) is seen
 * before time moves on.
 */
export class ManualClock implements Clock {
  private time = 0;
  private sleepers: Array<{ due: number; seq: number; wake: () => void }> = [];
  private seq = 0;

  /** Number of pending sleeps (a test waits for the model to reach a known point). */
  public get pending(): number {
    return this.sleepers.length;
  }

  public now(): number {
    return this.time;
  }

  public sleep(ms: number, signal?: AbortSignal): Promise<void> {
    // Nothing to wait for (as with the system clock): a wait computed late must not hang the test.
    if (ms <= 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const sleeper = { due: this.time + Math.max(0, ms), seq: this.seq++, wake: resolve };
      this.sleepers.push(sleeper);
      signal?.addEventListener('abort', () => {
        this.sleepers = this.sleepers.filter((s) => s !== sleeper);
        reject(signal.reason);
      });
    });
  }

  /** Moves time forward by `ms`, waking every sleeper due on the way, in order. */
  public async advance(ms: number): Promise<void> {
    const end = this.time + ms;
    await settle();
    for (;;) {
      this.sleepers.sort((a, b) => a.due - b.due || a.seq - b.seq);
      const next = this.sleepers[0];
      if (!next || next.due > end) break;
      this.sleepers.shift();
      this.time = next.due;
      next.wake();
      // eslint-disable-next-line no-await-in-loop -- each wake-up runs to its next sleep before time moves
      await settle();
    }
    this.time = end;
  }

  /** Advances until nothing sleeps any more (the model ran to its end), in steps of at most `step`. */
  public async runUntilIdle(step = 1000, limit = 1e9): Promise<void> {
    await settle();
    while (this.sleepers.length && this.time < limit) {
      // eslint-disable-next-line no-await-in-loop -- time moves one step at a time
      await this.advance(step);
    }
  }
}

/** Lets pending promise callbacks and immediates run (several turns: file reads resolve on the poll phase). */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) {
    // eslint-disable-next-line no-await-in-loop
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}
