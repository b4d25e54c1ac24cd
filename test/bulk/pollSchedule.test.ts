import { expect } from 'chai';
import { nextPollDelay } from '../../src/bulk/backoff.js';
import { PollSchedule, type PollScheduleOptions } from '../../src/bulk/pollSchedule.js';

/**
 * A job on a simulated clock: queued for `queuedMs` after its close, then processed at `perSecond`,
 * reporting progress only in whole internal batches of `batch` records, as a real org's
 * numberRecordsProcessed moves.
 */
type SimulatedJob = { records: number; queuedMs: number; perSecond: number; batch: number };

function processedAt(job: SimulatedJob, at: number): number {
  const raw = Math.max(0, ((at - job.queuedMs) / 1000) * job.perSecond);
  return Math.min(job.records, Math.floor(raw / job.batch) * job.batch);
}

function finishedAt(job: SimulatedJob): number {
  return job.queuedMs + (job.records / job.perSecond) * 1000;
}

/** Polls `job` as `nextWait` says until it is done: how many polls, and how late the end was seen. */
function run(
  job: SimulatedJob,
  first: number,
  nextWait: (processed: number, at: number) => number,
): { polls: number; lateMs: number } {
  let at = first;
  let polls = 1;
  while (processedAt(job, at) < job.records || at < finishedAt(job)) {
    at += nextWait(processedAt(job, at), at);
    polls++;
  }
  return { polls, lateMs: at - finishedAt(job) };
}

function predicted(job: SimulatedJob, options: Omit<PollScheduleOptions, 'expectedRecords'>): ReturnType<typeof run> {
  const schedule = new PollSchedule({ ...options, expectedRecords: job.records }, 0);
  return run(job, schedule.first(), (processed, at) => schedule.next({ numberRecordsProcessed: processed }, at));
}

function backoffOnly(job: SimulatedJob, options: { initialMs: number; maxMs: number }): ReturnType<typeof run> {
  let delay = options.initialMs;
  return run(job, delay, () => (delay = nextPollDelay(delay, options.maxMs)));
}

describe('PollSchedule', () => {
  const bounds = { initialMs: 5000, maxMs: 120_000 };

  it('backs off as before while no record count is known or no progress shows', () => {
    const blind = new PollSchedule(bounds, 0);
    expect(blind.first()).to.equal(5000);
    expect(blind.next({ numberRecordsProcessed: 40_000 }, 5000)).to.equal(7500);
    const queued = new PollSchedule({ ...bounds, expectedRecords: 100_000 }, 0);
    expect(queued.first()).to.equal(5000);
    expect(queued.next({ numberRecordsProcessed: 0 }, 5000)).to.equal(7500);
    expect(queued.next({}, 12_500)).to.equal(11_250);
    expect(queued.afterFailure()).to.equal(16_875);
  });

  it('looks again soon after its first progress, then aims just past the end, within maxMs', () => {
    const schedule = new PollSchedule({ ...bounds, expectedRecords: 100_000 }, 0);
    schedule.first();
    // The job waited 2 s before processing at 2,500/s. 20,000 in the first 10 s: 2,000/s at the least (it
    // may have started late), 80,000 left ≈ 40 s at that rate: look again halfway, but no later than the
    // 10 s it has been watched
    expect(schedule.next({ numberRecordsProcessed: 20_000 }, 10_000)).to.equal(10_000);
    expect(schedule.rate()).to.equal(2000);
    // 45,000 at 20 s: the job's own rate is 2,500/s; 55,000 left = 22 s, more than 16 shortest waits: look
    // again three quarters of the way
    expect(schedule.next({ numberRecordsProcessed: 45_000 }, 20_000)).to.equal(16_500);
    expect(schedule.rate()).to.equal(2500);
    // 86,250 at 36.5 s: 13,750 left = 5.5 s, aimed 10% late: seen at 42.55 s, the end at 42 s (aimed from the
    // first rate, it would have been seen at 54 s)
    expect(schedule.next({ numberRecordsProcessed: 86_250 }, 36_500)).to.be.closeTo(6050, 1);
    const long = new PollSchedule({ ...bounds, expectedRecords: 10_000_000 }, 0);
    expect(long.next({ numberRecordsProcessed: 10_000 }, 5000)).to.equal(5000);
    expect(long.next({ numberRecordsProcessed: 20_000 }, 10_000)).to.equal(120_000);
  });

  it('aims from the latest interval when the job speeds up (workers freed by other jobs)', () => {
    const schedule = new PollSchedule({ ...bounds, expectedRecords: 80_000 }, 0);
    schedule.next({ numberRecordsProcessed: 10_000 }, 10_000);
    schedule.next({ numberRecordsProcessed: 20_000 }, 20_000);
    // 1,000/s, then 3,000/s over the latest 10 s: 30,000 left ≈ 10 s at 3,000/s, aimed 10% late
    expect(schedule.next({ numberRecordsProcessed: 50_000 }, 30_000)).to.be.closeTo(11_000, 1);
    expect(schedule.rate()).to.equal(3000);
  });

  it('polls soon, but not in a burst, when all records are counted and the job is not yet done', () => {
    const schedule = new PollSchedule({ ...bounds, expectedRecords: 1000 }, 0);
    expect(schedule.next({ numberRecordsProcessed: 1000 }, 5000)).to.equal(1000);
    const tight = new PollSchedule({ initialMs: 200, maxMs: 1000, expectedRecords: 1000 }, 0);
    expect(tight.next({ numberRecordsProcessed: 1000 }, 200)).to.equal(200);
  });

  it('looks at a queued job every initialMs at the longest, when a rate seen earlier says it is short', () => {
    const short = new PollSchedule({ ...bounds, expectedRecords: 2000, rateHint: 500 }, 0);
    const waits = [5000, 10_000, 15_000, 20_000].map((at) => short.next({ numberRecordsProcessed: 0 }, at));
    expect(waits).to.deep.equal([5000, 5000, 5000, 5000]);
    // a long one backs off as before (up to the time the hint says it takes)
    const long = new PollSchedule({ ...bounds, expectedRecords: 2_000_000, rateHint: 500 }, 0);
    expect([5000, 12_500].map((at) => long.next({ numberRecordsProcessed: 0 }, at))).to.deep.equal([7500, 11_250]);
  });

  it('aims the first poll from a rate seen earlier in the run, within initialMs', () => {
    const hinted = new PollSchedule({ ...bounds, expectedRecords: 2000, rateHint: 1000 }, 0);
    expect(hinted.first()).to.equal(2200);
    const slow = new PollSchedule({ ...bounds, expectedRecords: 2_000_000, rateHint: 1000 }, 0);
    expect(slow.first()).to.equal(5000);
  });

  it('spends fewer polls than back-off alone and sees the end sooner, over jobs of many shapes', () => {
    const jobs: SimulatedJob[] = [];
    for (const records of [10_000, 50_000, 150_000, 500_000, 2_000_000])
      for (const perSecond of [300, 1500, 6000])
        for (const queuedMs of [0, 3000, 40_000]) jobs.push({ records, perSecond, queuedMs, batch: 10_000 });
    let predictedPolls = 0;
    let backoffPolls = 0;
    let predictedLate = 0;
    let backoffLate = 0;
    for (const job of jobs) {
      const a = predicted(job, bounds);
      const b = backoffOnly(job, bounds);
      predictedPolls += a.polls;
      backoffPolls += b.polls;
      predictedLate += a.lateMs;
      backoffLate += b.lateMs;
      // never a wait beyond the manifest's bound: each job is seen at most maxMs after it ended
      expect(a.lateMs, JSON.stringify(job)).to.be.at.most(bounds.maxMs);
    }
    expect(predictedPolls).to.be.lessThan(backoffPolls);
    expect(predictedLate).to.be.lessThan(backoffLate / 2);
  });
});
