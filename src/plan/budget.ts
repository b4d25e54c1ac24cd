/*
 * How many API calls a run will spend. Orgs have a rolling 24-hour API request limit, and a cutover
 * that runs out of it halfway stops with REQUEST_LIMIT_EXCEEDED, so `plan` shows the bill up front.
 */
import { PollSchedule } from '../bulk/pollSchedule.js';
import type { ResolvedStep } from '../manifest/types.js';
import { MAX_SOQL_CHARACTERS } from '../bulk/soql.js';

/**
 * Calls every ingest job spends besides its polls when it loads cleanly: create, upload, close
 * (UploadComplete), the successful results, delete. The failed and unprocessed results are asked for
 * only when the job's counts do not prove them empty (engine/resultDownloads.ts):
 * a job with failed rows costs one call more, a job that did not process every record (Failed,
 * Aborted) two. So this is also the least a job costs, which the preflight's budget check relies on.
 */
export const CALLS_PER_JOB_BESIDES_POLLS = 5;

/** what a job whose counts prove nothing costs besides its polls: both other result files downloaded */
export const MOST_CALLS_PER_JOB_BESIDES_POLLS = CALLS_PER_JOB_BESIDES_POLLS + 2;

/**
 * The processing rate the poll estimate assumes for one job. Bulk API 2.0 works through a job in
 * internal batches of 10,000 records; for objects without heavy automation a batch commonly takes
 * 10 to 30 seconds, so 500 records a second is a middle figure. Triggers, flows and sharing
 * recalculation slow it down (more polls); the estimate is a guide, not a promise.
 */
export const ASSUMED_RECORDS_PER_SECOND = 500;

export type PollBounds = { initialMs: number; maxMs: number };

/**
 * The status calls one job needs when it takes `records / recordsPerSecond` seconds, counted by
 * running the ingest job client's own PollSchedule against a job that processes at that rate from
 * its close: it backs off from `initialMs` until progress shows, then aims at the predicted end.
 * It always polls at least once.
 */
export function estimatePolls(
  records: number,
  bounds: PollBounds,
  recordsPerSecond: number = ASSUMED_RECORDS_PER_SECOND,
): number {
  const processingMs = (records / recordsPerSecond) * 1000;
  const schedule = new PollSchedule({ ...bounds, expectedRecords: records }, 0);
  let at = schedule.first();
  let polls = 1;
  while (at < processingMs) {
    const processed = Math.min(records, Math.floor((at / 1000) * recordsPerSecond));
    at += schedule.next({ numberRecordsProcessed: processed }, at);
    polls++;
  }
  return polls;
}

/** All the calls of one job that loads cleanly: the fixed five plus its polls. */
export function estimateJobCalls(records: number, bounds: PollBounds): { polls: number; apiCalls: number } {
  const polls = estimatePolls(records, bounds);
  return { polls, apiCalls: CALLS_PER_JOB_BESIDES_POLLS + polls };
}

/**
 * Before images (engine/beforeImages.ts): before each job of an update, upsert, delete or
 * hardDelete step, one query job per piece of the job's keys — create, a poll, one results page,
 * and the delete that leaves no finished job behind (bulk/queryJobClient.ts `queryToFile`).
 */
export const CALLS_PER_BEFORE_IMAGE_QUERY = 4;

/**
 * Keys in one piece: a quoted 18-character Id and its comma take 21 characters of the SOQL
 * statement's 100,000 (an external id is assumed as long); 2,000 are left for the field list.
 */
export const BEFORE_IMAGE_KEYS_PER_QUERY = Math.floor((MAX_SOQL_CHARACTERS - 2000) / 21);

/** The calls a job's before image costs (0 for inserts and steps with `beforeImage: false`). */
export function estimateBeforeImageCalls(
  records: number,
  step: Pick<ResolvedStep, 'operation' | 'beforeImage'>,
): number {
  if (step.beforeImage === false || step.operation === 'insert' || records === 0) return 0;
  return Math.ceil(records / BEFORE_IMAGE_KEYS_PER_QUERY) * CALLS_PER_BEFORE_IMAGE_QUERY;
}
