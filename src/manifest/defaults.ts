/*
 * What a step gets when neither it nor `defaults` says otherwise. The schema's "default" keywords
 * document the same values; test/manifest/defaults.test.ts proves the two agree.
 */
import type { ColumnDelimiter, LineEnding, Operation, SharedParents } from './types.js';

export const stepDefaults = {
  operation: 'insert' as Operation,
  columnDelimiter: 'COMMA' as ColumnDelimiter,
  lineEnding: 'LF' as LineEnding,
  /**
   * Large, so that the 100 MB upload limit (maxBytesPerJob) usually decides: the org cuts every job
   * into 10,000-record batches and processes batches of all jobs from one queue, so more, smaller
   * jobs do not process faster; each job costs at least five calls (create, upload, close, results,
   * delete) and a first poll. A multiple of 10,000, so no job ends in a part-filled batch that
   * counts whole against the 15,000 batches a day. Measured: README, "Benchmarks".
   */
  maxRecordsPerJob: 1_000_000,
  /** Bulk API 2.0 refuses an upload over 100 MB */
  maxBytesPerJob: 100_000_000,
  poll: { initial: '5s', max: '120s' },
  /** any failed record fails the step's gate: a cutover stops rather than load orphans */
  failureThreshold: { percent: 0 },
  parallelism: 2,
  retry: { codes: ['UNABLE_TO_LOCK_ROW'], attempts: 3 },
  /** update, upsert and delete jobs save what they change first, so the run can be rolled back */
  beforeImage: true,
  /** steps of a wave that write children of one parent object run one after another (plan/sharedParents.ts) */
  sharedParents: 'serialize' as SharedParents,
};

export const manifestDefaults = {
  concurrency: 4,
  runFolder: '.sf-migrate/runs',
};
