/*
 * What a run is started, resumed or retried with: the target org, and the overrides of the
 * manifest's settings that the commands and tests pass to MigrationRun.
 */
import type { Connection } from '@salesforce/core';
import type { IngestJobClient } from '../bulk/ingestJobClient.js';

export type RunTarget = {
  connection: Connection;
  username: string;
  orgId: string;
};

export type RunOptions = RunTarget & {
  /** keep jobs in the org after their results are saved */
  keepJobs?: boolean;
  /** overrides the manifest's steps-per-wave concurrency */
  concurrency?: number;
  /** overrides every step's jobs-in-parallel */
  parallelism?: number;
  /** injected for tests; defaults to a client on `connection` */
  client?: IngestJobClient;
  /**
   * the org's internal batch size the partition pass packs for (10,000, as every real org); a
   * rehearsal against a local org with smaller batches sets its size
   */
  orgBatchRecords?: number;
  /**
   * the user's manifest, when the run's manifest was derived from it (a retry of dead letters):
   * the run is listed, resumed and indexed under this path
   */
  belongsTo?: string;
  /** the run this run undoes (`sf migrate rollback`), journaled in run.started */
  rollbackOf?: string;
};
