/*
 * How many API calls a run will spend. Orgs have a rolling 24-hour API request limit, and a cutover
 * that runs out of it halfway stops with REQUEST_LIMIT_EXCEEDED, so `plan` shows the bill up front.
 */
import { nextPollDelay } from '../bulk/backoff.js';

/**
 * Calls every ingest job spends besides its polls: create, upload, close (UploadComplete), the
 * three result downloads (successful, failed, unprocessed) and delete.
 */
export const CALLS_PER_JOB_BESIDES_POLLS = 7;

/**
 * The processing rate the poll estimate assumes for one job. Bulk API 2.0 works through a job in
 * internal batches of 10,000 records; for objects without heavy automation a batch commonly takes
 * 10 to 30 seconds, so 500 records a second is a middle figure. Triggers, flows and sharing
 * recalculation slow it down (more polls); the estimate is a guide, not a promise.
 */
export const ASSUMED_RECORDS_PER_SECOND = 500;

export type PollSchedule = { initialMs: number; maxMs: number };

/**
 * The status calls one job needs when it takes `records / recordsPerSecond` seconds: the poller
 * waits `initialMs`, then half again as long each time up to `maxMs` (the same schedule as the
 * ingest job client), and it always polls at least once.
 */
export function estimatePolls(
  records: number,
  schedule: PollSchedule,
  recordsPerSecond: number = ASSUMED_RECORDS_PER_SECOND,
): number {
  const processingMs = (records / recordsPerSecond) * 1000;
  let waited = 0;
  let delay = Math.max(1, schedule.initialMs);
  let polls = 0;
  do {
    waited += delay;
    polls++;
    delay = nextPollDelay(delay, schedule.maxMs);
  } while (waited < processingMs);
  return polls;
}

/** All the calls of one job: the fixed seven plus its polls. */
export function estimateJobCalls(records: number, schedule: PollSchedule): { polls: number; apiCalls: number } {
  const polls = estimatePolls(records, schedule);
  return { polls, apiCalls: CALLS_PER_JOB_BESIDES_POLLS + polls };
}
