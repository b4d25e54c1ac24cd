/**
 * When to ask the org about a job next.
 *
 * Back-off alone (each wait half again as long as the last, up to the manifest's `max`) polls a long
 * job many times and notices a short one late: a job that ends just after a poll waits out the whole
 * next interval. Salesforce reports `numberRecordsProcessed` as a job runs, so once progress is seen
 * the job's own rate predicts its end, and the next poll is aimed just after it. Until progress is
 * seen (the job is queued, or the org reports none), the schedule backs off as before.
 *
 * The first answer that shows progress gives only a rate that errs slow: processing began somewhere between
 * the previous answer and this one (a job queued, or cut into batches, reports nothing for a while), so
 * the schedule looks again soon: halfway to the end that slow rate predicts, and no later than the time
 * the job has been watched so far. From two answers with progress the rate is the job's own: the faster
 * of its rate since then and over the latest interval, since a job's rate grows as the org's workers
 * leave other jobs' batches for its own. While the end it predicts is far (more than 16 shortest waits
 * away), the schedule looks again three quarters of the way there; near it, the poll is aimed just past
 * it. (Looking again halfway would see a job that speeds up sooner, but spends more polls on steady jobs
 * than back-off alone.)
 * (Measured with the local org's realistic model, bench --compare: aimed at the slow rate, a
 * 60,000-record job that waited 2 s before its first batch was seen ended 7.8 s late, of its 24 s; a
 * 340,000-record job that shared the workers with ten others at first was seen 115 s late, of its 100 s,
 * and still 64 s late aimed from its rate over two answers.)
 *
 * Every wait stays within the manifest's bounds: the first is at most `initial` (sooner only when a
 * rate seen earlier in the run predicts the job done sooner), later ones at most `max`, and none
 * shorter than `floorMs`, so a wrong prediction costs one short extra poll, never a burst of them.
 */
import { nextPollDelay } from './backoff.js';

export type PollScheduleOptions = {
  /** the manifest's `poll.initial`: the longest first wait */
  initialMs: number;
  /** the manifest's `poll.max`: the longest wait */
  maxMs: number;
  /** records uploaded to the job; without it the schedule only backs off */
  expectedRecords?: number;
  /** records per second seen in an earlier job of the run, to aim the first poll */
  rateHint?: number;
  /** the shortest wait a prediction may choose (default: the smaller of 1 s and `initialMs`) */
  floorMs?: number;
};

/** What the schedule needs of a status answer. */
export type PollSample = { numberRecordsProcessed?: number };

/** Aim a little past the predicted end: arriving just before it costs a whole extra poll. */
const PREDICTION_MARGIN = 1.1;

/** Aim at the end only when it is predicted within this many shortest waits; look again before. */
const AIM_WITHIN_FLOORS = 16;

export class PollSchedule {
  private readonly maxMs: number;
  private readonly floorMs: number;
  private backoff: number;
  /**
   * where progress began at the latest (the answer before the first that showed any), the first answer
   * that showed progress, and the latest one
   */
  private firstProgress?: { at: number; processed: number };
  private firstSeen?: { at: number; processed: number };
  private previousProgress?: { at: number; processed: number };
  private lastProgress?: { at: number; processed: number };
  private lastAskedAt: number;

  public constructor(
    private readonly options: PollScheduleOptions,
    startedAt: number,
  ) {
    this.maxMs = Math.max(1, options.maxMs);
    this.backoff = Math.max(1, Math.min(options.initialMs, this.maxMs));
    this.floorMs = Math.max(1, Math.min(options.floorMs ?? 1000, this.backoff));
    this.lastAskedAt = startedAt;
  }

  /** The wait before the first status call. */
  public first(): number {
    const { expectedRecords, rateHint } = this.options;
    if (expectedRecords !== undefined && rateHint !== undefined && rateHint > 0) {
      const predicted = Math.ceil((expectedRecords / rateHint) * 1000 * PREDICTION_MARGIN);
      return this.clamp(predicted, this.backoff);
    }
    return this.backoff;
  }

  /** The wait after a status answer received at `now` (ms) that did not end the job. */
  public next(sample: PollSample, now: number): number {
    this.backoff = nextPollDelay(this.backoff, this.maxMs);
    const processed = sample.numberRecordsProcessed ?? 0;
    const expected = this.options.expectedRecords;
    if (processed > 0 && (this.lastProgress === undefined || processed > this.lastProgress.processed)) {
      // Progress happened somewhere since the previous answer; the first time, the previous answer
      // (or the start) is the latest moment processing can have begun, which keeps the rate honest.
      this.firstProgress ??= { at: this.lastAskedAt, processed: 0 };
      this.firstSeen ??= { at: now, processed };
      this.previousProgress = this.lastProgress;
      this.lastProgress = { at: now, processed };
    }
    this.lastAskedAt = now;
    const rate = this.rate();
    if (expected === undefined) return this.backoff;
    if (rate === undefined) return this.queuedWait(expected);
    const remaining = expected - processed;
    // Everything counted but the job not yet marked done: it ends in moments.
    if (remaining <= 0) return this.floorMs;
    const predicted = (remaining / rate) * 1000;
    // one answer with progress: its rate errs slow, so look again soon, where the job's own rate shows
    if (!this.sawTwo()) {
      const watched = now - (this.firstProgress?.at ?? now);
      return this.clamp(Math.ceil(Math.min(predicted / 2, watched)), this.maxMs);
    }
    // far from the end: look again three quarters of the way, since the rate may still change (a job that
    // shared the workers with other jobs' batches speeds up when they end); near it, aim just past it
    if (predicted > AIM_WITHIN_FLOORS * this.floorMs) return this.clamp(Math.ceil((predicted * 3) / 4), this.maxMs);
    return this.clamp(Math.ceil(predicted * PREDICTION_MARGIN), this.maxMs);
  }

  /** The wait after a status call that failed (and was already retried): back off. */
  public afterFailure(): number {
    this.backoff = nextPollDelay(this.backoff, this.maxMs);
    return this.backoff;
  }

  /**
   * Records per second: once two answers showed progress, the faster of the rate between the first and
   * the latest of them and the rate over the latest interval; from one, over the time since processing
   * began at the latest (which errs slow).
   */
  public rate(): number | undefined {
    const last = this.lastProgress;
    const over = (first?: { at: number; processed: number }): number | undefined =>
      first && last && last.at > first.at
        ? ((last.processed - first.processed) / (last.at - first.at)) * 1000
        : undefined;
    if (!this.sawTwo()) return over(this.firstProgress);
    return Math.max(over(this.firstSeen) ?? 0, over(this.previousProgress) ?? 0);
  }

  /**
   * No progress yet (the job waits in the org's queue behind other jobs' batches): back off, but a job
   * that a rate seen earlier in the run says is short is looked at every `initial` at the longest, since
   * it ends soon after it starts. (bench --compare 1M: 2,000-record jobs queued 40 s behind a 340,000-record
   * one, then processed in 5 s, were seen 18 and 30 s late through a back-off grown to 17 s.)
   */
  private queuedWait(expected: number): number {
    const { rateHint, initialMs } = this.options;
    if (rateHint === undefined || rateHint <= 0) return this.backoff;
    const duration = (expected / rateHint) * 1000 * PREDICTION_MARGIN;
    return Math.min(this.backoff, Math.max(initialMs, duration));
  }

  private sawTwo(): boolean {
    return this.firstSeen !== undefined && this.lastProgress !== undefined && this.lastProgress.at > this.firstSeen.at;
  }

  private clamp(ms: number, ceiling: number): number {
    return Math.max(this.floorMs, Math.min(ceiling, ms));
  }
}
