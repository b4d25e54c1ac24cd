/*
 * What `sf migrate verify` finds, as its --json result (schemas/migrate-verify.json) and as the
 * HTML report shows it.
 */
import type { Operation } from '../manifest/types.js';

/**
 * - unaccounted: the step's source records are not exactly its successes plus its dead letters
 * - notRun: the run finished without finishing the step (an earlier wave's gate stopped it)
 * - missing: a record the run wrote (its sf__Id) is not in the org
 * - stillPresent: a record a delete step reports deleted is still in the org
 * - duplicate: an external id the run wrote is held by more than one record in the org
 * - emptyLookup: the uploaded row named a parent, the record's lookup field is empty in the org
 * - fieldMismatch: a sampled record's field differs from the uploaded value
 */
export type DiscrepancyKind =
  'unaccounted' | 'notRun' | 'missing' | 'stillPresent' | 'duplicate' | 'emptyLookup' | 'fieldMismatch';

export type Discrepancy = {
  step: string;
  kind: DiscrepancyKind;
  /** the record: its Id, or for duplicates the external id value */
  key?: string;
  field?: string;
  expected?: string;
  actual?: string;
};

export type StepVerification = {
  step: string;
  object: string;
  operation: Operation;
  wave: number;
  /** the step finished in the run (step.finished journaled) */
  finished: boolean;
  /** records of the step's sources (its round-0 chunks) */
  sourceRecords: number;
  /** rows the org reported successful, over all retry rounds */
  succeeded: number;
  /** rows of the step's dead-letter files */
  deadLetters: number;
  /** dead-letter rows the pre-upload pass held back (our own codes); part of deadLetters */
  heldBack: number;
  /** dead-letter rows by error code */
  deadLettersByCode: Record<string, number>;
  retryRounds: number;
  /** records resubmitted in retry rounds (one record twice when retried twice) */
  retriedRecords: number;
  /** sourceRecords = succeeded + deadLetters */
  accounted: boolean;
  /** records looked up in the org (successful rows) */
  checkedInOrg: number;
  /** whether duplicates could be checked: the step writes an external id */
  duplicatesChecked: boolean;
  /** rows compared field by field */
  sampled: number;
  /** discrepancies of this step, by kind (all of them, also those past the listed ones) */
  discrepancies: Partial<Record<DiscrepancyKind, number>>;
  /** from the journal: when the step finished, and how long it ran */
  finishedAt?: string;
  durationMs?: number;
};

export type VerifyResult = {
  runId: string;
  runDir: string;
  manifest: string;
  username: string;
  orgId: string;
  /** run.finished's status */
  runStatus: 'succeeded' | 'completedWithFailures' | 'failed';
  startedAt: string;
  finishedAt?: string;
  /** true when every step reconciles and the org agrees: exit 0 */
  verified: boolean;
  sampleSize: number;
  seed: number;
  steps: StepVerification[];
  /** the discrepancies found, up to a limit per step (see discrepanciesOmitted) */
  discrepancies: Discrepancy[];
  /** discrepancies counted but not listed, past the limit per step */
  discrepanciesOmitted: number;
  /** the HTML report written, when --report asked for one */
  report?: string;
};
