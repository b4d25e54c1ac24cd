/*
 * The shape of a run's outcome, shared by `run`, `resume` and `status`, and the exit codes the
 * commands map it to: 0 done, 1 failed, 68 finished with record failures within
 * thresholds, 69 still running when --wait expired; 75 the org could not be reached; 130/143
 * stopped by SIGINT/SIGTERM. Every code is documented in the README and the commands' help.
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

/**
 * The org could not be reached (refused, unknown host, reset or timed out after the client's
 * retries): sysexits' EX_TEMPFAIL, "try again later". Not 2, which oclif uses for bad flags.
 */
export const NETWORK_FAILURE_EXIT_CODE = 75;

/** stopped by a signal: 128 + the signal's number, as a shell reports a process it killed */
export const SignalExitCode = {
  SIGINT: 130,
  SIGTERM: 143,
} as const;

export type InterruptSignal = keyof typeof SignalExitCode;
