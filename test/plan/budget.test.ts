import { expect } from 'chai';
import {
  CALLS_PER_JOB_BESIDES_POLLS,
  MOST_CALLS_PER_JOB_BESIDES_POLLS,
  estimateJobCalls,
  estimatePolls,
} from '../../src/plan/budget.js';

describe('API call budget', () => {
  const schedule = { initialMs: 5000, maxMs: 120_000 };

  it('polls at least once, even for a job that is done at once', () => {
    expect(estimatePolls(0, schedule)).to.equal(1);
    expect(estimatePolls(1, schedule, 1e9)).to.equal(1);
  });

  it("counts the polls of the ingest job client's schedule: the first progress predicts the end", () => {
    // A first progress errs slow (the job may have queued first), so the schedule looks again no
    // later than it has watched, then aims from the job's own rate just past the predicted end.
    // 10 s of work at 100 records/s: 5 s (500 done), 7.5 s, 10.25 s → 3 polls
    expect(estimatePolls(1000, schedule, 100)).to.equal(3);
    // 20 s: 5 s (500 done), 10 s (1000 done: 100/s), aimed at 21 s → 3 polls (back-off alone:
    // 5, 12.5, 23.75 → 3 as well, but seeing the end 2.75 s late instead of 1 s)
    expect(estimatePolls(2000, schedule, 100)).to.equal(3);
  });

  it('stops growing the wait at maxMs, so long jobs cost one poll per maxMs', () => {
    const short = { initialMs: 1000, maxMs: 1000 };
    expect(estimatePolls(60_000, short, 1000)).to.equal(60);
    const hour = estimatePolls(3_600_000, schedule, 1000);
    // an hour at a 2-minute ceiling needs about 30 polls plus the ramp-up
    expect(hour).to.be.within(30, 40);
  });

  it('adds the five fixed calls of a clean job to its polls (no failed or unprocessed results asked for)', () => {
    expect(CALLS_PER_JOB_BESIDES_POLLS).to.equal(5);
    expect(MOST_CALLS_PER_JOB_BESIDES_POLLS).to.equal(7);
    const { polls, apiCalls } = estimateJobCalls(150_000, schedule);
    expect(apiCalls).to.equal(5 + polls);
    expect(polls).to.be.greaterThan(1);
  });
});
