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
