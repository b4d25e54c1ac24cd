/*
 * Waiting between tries and between polls. One place, so tests can replace the clock and so no
 * caller can loop without a wait.
 */

export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

export type RetryPolicy = { attempts: number; baseDelayMs: number; maxDelayMs: number };

export const DEFAULT_RETRY_POLICY: RetryPolicy = { attempts: 5, baseDelayMs: 500, maxDelayMs: 20_000 };

function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  const error = new Error('The operation was aborted');
  error.name = 'AbortError';
  return error;
}

/**
 * Resolves after `ms`; rejects with the signal's reason as soon as the signal fires. Uses the global
 * timer (not node:timers/promises) so fake timers in tests control it too.
 */
export const sleep: Sleep = (ms, signal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortReason(signal));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortReason(signal as AbortSignal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/**
 * The wait before retry number `retry` (1 = the wait after the first failure): exponential from
 * `baseDelayMs`, capped at `maxDelayMs`, with "equal jitter" (between half and all of it) so many
 * jobs that failed together do not come back together.
 */
export function retryDelay(retry: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, retry - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** The next poll interval: half again as long, never above `maxMs`, never below 1 ms. */
export function nextPollDelay(current: number, maxMs: number): number {
  return Math.max(1, Math.min(maxMs, Math.ceil(current * 1.5)));
}

/**
 * The wait before retry number `retry` after the org refused a call for its limit of concurrent
 * long-running requests (ConcurrentPerOrgLongTxn). Salesforce counts requests that run 20 seconds or
 * longer against that limit ("API Request Limits and Allocations"), so a slot frees up in seconds,
 * not in the half second that a dropped packet needs: the same curve, starting at 5 s and capped at
 * 60 s unless the policy already waits longer.
 */
export function concurrentLimitDelay(retry: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const slower = {
    ...policy,
    baseDelayMs: Math.max(policy.baseDelayMs, 5000),
    maxDelayMs: Math.max(policy.maxDelayMs, 60_000),
  };
  return retryDelay(retry, slower, random);
}
