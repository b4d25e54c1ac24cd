import type { StepState } from '../journal/state.js';

/**
 * Whether a step whose chunks are all planned will send the org nothing more: every job ended
 * JobComplete with each uploaded record processed and none failed, so no row is retried and no retry
 * round follows. The steps of its wave waiting their turn behind it (plan/sharedParents.ts) may then
 * hand their jobs to the org rather than wait for its result downloads, deletes and accounting too
 * (bench --compare: the pool idle for those, at each turn). Only when a job is closed changes; the
 * journal and resume are as before (a resumed wave's waiting step gets its turn the same way, or when
 * the step ends).
 */
export function sendsTheOrgNothingMore(step: StepState): boolean {
  return step.chunks.every(
    (chunk) =>
      chunk.finished !== undefined &&
      chunk.finished.state === 'JobComplete' &&
      chunk.finished.failed === 0 &&
      chunk.finished.processed === chunk.records,
  );
}
