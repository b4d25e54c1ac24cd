/*
 * The shape of a run's outcome, shared by `run`, `resume` and `status`, and the exit codes the
 * commands map it to (DESIGN §5): 0 done, 1 failed, 68 finished with record failures within
 * thresholds, 69 still running when --wait expired.
 */
import type { Operation } from '../manifest/types.js';
import type { JobState } from '../journal/events.js';

/** a job that ended Failed or Aborted with an error of its own (e.g. `InvalidBatch : …`), not a row's */
export type JobError = { jobId: string; state: JobState; errorMessage: string };

export type StepSummary = {
  step: string;
  object: string;
  operation: Operation;
  wave: number;
  /** records in the step's source files */
  records: number;
  succeeded: number;
  /** records that failed for good (after retries) */
  failed: number;
  /** records no job processed (a job that failed or was aborted), after retries */
  unprocessed: number;
  /** failed records by Salesforce status code, e.g. { "REQUIRED_FIELD_MISSING": 3 } */
  failuresByCode: Record<string, number>;
  /** jobs that failed as a whole; their rows are in the dead letters with the job's error */
  jobErrors?: JobError[];
  jobs: number;
  /** retry rounds run for rows that failed with a retryable code */
  retryRounds: number;
  durationMs: number;
  gate: 'passed' | 'failed';
  gateReason?: string;
  /** CSV of the rows that failed for good, relative to the run folder */
  deadLetter?: string;
};

export type RunStatus = 'succeeded' | 'completedWithFailures' | 'failed' | 'waiting';

export type RunOutcome = {
  runId: string;
  runDir: string;
  status: RunStatus;
  reason?: string;
  steps: StepSummary[];
  /** the command that continues this run, when it is not finished */
  resumeCommand?: string;
};

export const ExitCode = {
  succeeded: 0,
  failed: 1,
  completedWithFailures: 68,
  waiting: 69,
} as const satisfies Record<RunStatus, number>;
