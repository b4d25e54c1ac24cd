/*
 * The Bulk API 2.0 ingest job vocabulary as it travels on the wire: the job info of the Bulk API
 * 2.0 Developer Guide ("Create a Job", "Get Information About a Job"). Field names are the
 * server's. Where the facts come from: docs/architecture.md §7.
 */
import type { ColumnDelimiter, LineEnding, Operation } from '../manifest/types.js';
import type { JobState } from '../journal/events.js';

export type { ColumnDelimiter, JobState, LineEnding, Operation };

/** What the server answers for create, close, abort, info and list (a subset; extra fields are kept as sent). */
export type IngestJobInfo = {
  id: string;
  operation: Operation;
  object: string;
  state: JobState;
  createdById?: string;
  createdDate?: string;
  systemModstamp?: string;
  externalIdFieldName?: string;
  concurrencyMode?: string;
  contentType?: string;
  apiVersion?: number;
  contentUrl?: string;
  lineEnding?: LineEnding;
  columnDelimiter?: ColumnDelimiter;
  numberRecordsProcessed?: number;
  numberRecordsFailed?: number;
  errorMessage?: string;
  jobType?: string;
  retries?: number;
  totalProcessingTime?: number;
  apiActiveProcessingTime?: number;
  apexProcessingTime?: number;
};

export type CreateJobRequest = {
  object: string;
  operation: Operation;
  externalIdFieldName?: string;
  columnDelimiter?: ColumnDelimiter;
  lineEnding?: LineEnding;
  assignmentRuleId?: string;
};

/** The three result files of a finished job. */
export type ResultKind = 'successful' | 'failed' | 'unprocessed';

/** One HTTP exchange with the org, for API-call accounting. `status` is 0 when no response arrived. */
export type BulkRequestEvent = {
  method: string;
  /** path below the instance URL, e.g. /services/data/v62.0/jobs/ingest/750…/batches (never a token) */
  path: string;
  status: number;
  ms: number;
};

export type RetryOptions = {
  /** tries per call, the first included (default 5) */
  attempts?: number;
  /** delay before the second try; doubles each try (default 500) */
  baseDelayMs?: number;
  /** cap of one delay (default 20000) */
  maxDelayMs?: number;
};

export type PollOptions = {
  /** wait before the first status call */
  initialMs: number;
  /** no wait is longer (it grows by half each poll until the job's progress predicts its end) */
  maxMs: number;
  /** records uploaded to the job, to predict its end from its progress */
  expectedRecords?: number;
  /** records per second seen in an earlier job of the run, to aim the first poll */
  rateHint?: number;
  /** aborting it stops the wait (the job keeps running in the org) */
  signal?: AbortSignal;
  /**
   * tells of another job of the run ending: the org's workers it held go to other batches, so this
   * job may speed up, and a long wait aimed from its slower rate is cut to at most `initialMs`
   */
  wake?: PollWake;
  onPoll?: (info: IngestJobInfo) => void;
};

/** subscribes a listener to another job's end; returns the unsubscribe */
export type PollWake = { subscribe(listener: () => void): () => void };

export type SavedResults = { records: number; bytes: number };

/** States from which a job never moves again. */
export const TERMINAL_JOB_STATES: readonly JobState[] = ['JobComplete', 'Failed', 'Aborted'];

export const isTerminalJobState = (state: JobState): boolean => TERMINAL_JOB_STATES.includes(state);
