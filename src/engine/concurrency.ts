/**
 * Runs `work` over `items` with at most `limit` in flight. The first failure stops new items from
 * starting; the ones already running are allowed to settle (so their journal lines are written)
 * before the failure is rethrown — an interrupted side effect must never go unrecorded.
 */
export async function forEachConcurrent<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
  /** called once, at the first failure: lets the caller tell the running items to wind down */
  onFailure?: (error: unknown) => void,
): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const lane = async (): Promise<void> => {
    while (!failure && next < items.length) {
      const item = items[next++];
      try {
        // eslint-disable-next-line no-await-in-loop
        await work(item);
      } catch (error) {
        if (!failure) {
          failure = { error };
          onFailure?.(error);
        }
      }
    }
  };
  const lanes = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, () => lane());
  await Promise.all(lanes);
  if (failure) throw failure.error;
}

/**
 * A counting semaphore: at most `size` holders at once, the rest wait in arrival order. A wait can
 * be given up through `signal` (it then resolves undefined and holds nothing). With `opensAfter`, no
 * slot is given before that promise settles (a step waiting for another step of its wave that
 * shares its parent object: plan/sharedParents.ts).
 */
export class Slots {
  private free: number;
  private readonly waiting: Array<() => void> = [];
  private gate: Promise<unknown> | undefined;

  public constructor(size: number, opensAfter?: Promise<unknown>) {
    this.free = Math.max(1, size);
    this.gate = opensAfter?.then(
      () => (this.gate = undefined),
      () => (this.gate = undefined),
    );
  }

  /** Resolves with a release function once a slot is held, or undefined if `signal` fired first. */
  public async acquire(signal?: AbortSignal): Promise<(() => void) | undefined> {
    if (signal?.aborted) return undefined;
    if (this.gate && !(await settledUnlessAborted(this.gate, signal))) return undefined;
    if (this.free > 0) {
      this.free--;
      return this.releaser();
    }
    return new Promise((resolve) => {
      const granted = (): void => {
        signal?.removeEventListener('abort', gaveUp);
        resolve(this.releaser());
      };
      const gaveUp = (): void => {
        const index = this.waiting.indexOf(granted);
        if (index >= 0) this.waiting.splice(index, 1);
        resolve(undefined);
      };
      this.waiting.push(granted);
      signal?.addEventListener('abort', gaveUp, { once: true });
    });
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    };
  }
}

/** what takes a processing slot: a Slots, or one holder's turn at a Slots taken in order (InOrder) */
export type SlotSource = { acquire(signal?: AbortSignal): Promise<(() => void) | undefined> };

/**
 * A Slots taken by holders 0, 1, 2… in that order, whichever asks first: holder k asks only once
 * holder k − 1 has taken it, or is `passed` (it ended without asking). A serial-lane chain's jobs
 * share parents, and the rows of a parent cut over two jobs must reach the org in file order (of two
 * rows with one key, the later wins), although the next job may finish its upload first.
 */
export class InOrder {
  private readonly taken: Array<{ promise: Promise<void>; resolve: () => void }>;

  public constructor(
    private readonly slots: Slots,
    holders: number,
  ) {
    this.taken = Array.from({ length: holders }, () => {
      let resolve = (): void => undefined;
      const promise = new Promise<void>((done) => (resolve = done));
      return { promise, resolve };
    });
  }

  /** holder k's way to the slot */
  public turn(k: number): SlotSource {
    return {
      acquire: async (signal?: AbortSignal): Promise<(() => void) | undefined> => {
        if (k > 0 && !(await settledUnlessAborted(this.taken[k - 1].promise, signal))) return undefined;
        const release = await this.slots.acquire(signal);
        this.passed(k);
        return release;
      },
    };
  }

  /** holder k took the slot or will not: the next may ask */
  public passed(k: number): void {
    this.taken[k]?.resolve();
  }
}

/** true once `promise` settled, false if `signal` fired first */
async function settledUnlessAborted(promise: Promise<unknown>, signal?: AbortSignal): Promise<boolean> {
  if (!signal) {
    await promise.catch(() => undefined);
    return true;
  }
  if (signal.aborted) return false;
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<false>((resolve) => {
    onAbort = (): void => resolve(false);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([
      promise.then(
        () => true,
        () => true,
      ),
      aborted,
    ]);
  } finally {
    signal.removeEventListener('abort', onAbort!);
  }
}
