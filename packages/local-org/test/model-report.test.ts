import { expect } from 'chai';
import { DailyAllocation } from '../src/processing/allocation.js';
import { BatchPool, type ModelBatch, type PoolJobs } from '../src/processing/batch-pool.js';
import { ManualClock } from '../src/processing/clock.js';
import { modelSettings } from '../src/processing/model-settings.js';

// The model's report (processing/model-report.ts) on a manual clock: worker-time is split exactly into
// work, lock waits and idle time, and a job's moments are stamped in modelled time. No test waits for real
// time, and the manual clock never wakes late, so lag is 0 throughout.

class Batch implements ModelBatch {
  public nextChunk = 0;
  public retries = 0;
  public constructor(
    public readonly jobId: string,
    public readonly index: number,
    public readonly records: number,
    private readonly parent?: string,
    public readonly object = 'Contact',
  ) {}
  public parentsOf(chunk: number): Promise<string[][]> {
    const rows = Math.min(200, this.records - chunk * 200);
    return Promise.resolve(Array.from({ length: rows }, () => (this.parent ? [this.parent] : [])));
  }
  public apply(): Promise<void> {
    return Promise.resolve();
  }
  public settle(): Promise<void> {
    return Promise.resolve();
  }
  public abandon(): Promise<void> {
    return Promise.resolve();
  }
}

function pool(workers: number): { clock: ManualClock; pool: BatchPool } {
  const clock = new ManualClock();
  const settings = modelSettings({ workers, msPerRecord: 1, requestLatencyMs: 0, lockWaitMs: 1000 });
  const jobs: PoolJobs = {
    live: () => true,
    batchStarted: () => undefined,
    batchRetried: () => undefined,
    failJob: () => Promise.resolve(),
    batchEnded: () => undefined,
    batchSuspended: () => undefined,
  };
  return { clock, pool: new BatchPool(settings, clock, new DailyAllocation(15_000, 150_000_000), jobs) };
}

describe('processing model: the report of what the pool did', () => {
  it('splits worker-time into work, a partly filled last round and an empty pool', async () => {
    const { clock, pool: p } = pool(2);
    // 25,000 records on 2 workers at 1 ms a record: two batches of 10 s together, then one of 5 s alone
    p.enqueue([new Batch('J1', 0, 10_000), new Batch('J1', 1, 10_000), new Batch('J1', 2, 5000)]);
    await clock.runUntilIdle(1000);
    await clock.advance(20_000 - clock.now());
    const { pool: totals, jobs } = p.report.toJSON();
    expect(totals).to.include({
      workers: 2,
      elapsedMs: 20_000,
      busyMs: 25_000,
      workMs: 25_000,
      lockWaitMs: 0,
      lagMs: 0,
      lateWakeMs: 0,
      idleQueuedMs: 0,
      // the third batch's 5 s with the other worker idle
      idlePartlyBusyMs: 5000,
      // 15 s to 20 s, both workers idle
      idleEmptyMs: 10_000,
      idleCuttingMs: 0,
    });
    expect(totals.busyMs + totals.idleQueuedMs + totals.idlePartlyBusyMs + totals.idleEmptyMs).to.equal(2 * 20_000);
    expect(jobs).to.have.length(1);
    expect(jobs[0]).to.include({ id: 'J1', batches: 3, records: 25_000, firstBatchStarted: 0, lastBatchEnded: 15_000 });
  });

  it('counts the time a row waited for a parent another batch held as lock wait, not work', async () => {
    const { clock, pool: p } = pool(2);
    // both batches write children of P: J1 holds it for 2 s; J2's one chunk waits the 1 s lock wait, then fails
    p.enqueue([new Batch('J1', 0, 2000, 'P'), new Batch('J2', 0, 200, 'P')]);
    await clock.runUntilIdle(100);
    const { pool: totals, jobs } = p.report.toJSON();
    expect(totals.workMs).to.equal(2200);
    expect(totals.lockWaitMs).to.equal(1000);
    expect(totals.busyMs).to.equal(totals.workMs + totals.lockWaitMs + totals.lagMs);
    expect(totals.lagMs).to.equal(0);
    expect(jobs.find((j) => j.id === 'J2')?.lockWaitMs).to.equal(1000);
    expect(jobs.find((j) => j.id === 'J1')?.lockWaitMs).to.equal(0);
    expect(p.stats.lockFailures).to.equal(200);
  });

  it('counts an empty pool while a closed job is still being cut apart from an empty pool with no job', async () => {
    const { clock, pool: p } = pool(1);
    const { report } = p;
    report.stamp('J1', 'closed');
    report.state('J1', 'UploadComplete');
    const cutEnded = report.cutStarted();
    await clock.advance(3000);
    cutEnded();
    cutEnded(); // a second call changes nothing
    report.stamp('J1', 'queued');
    p.enqueue([new Batch('J1', 0, 1000)]);
    await clock.runUntilIdle(100);
    report.state('J1', 'JobComplete');
    await clock.advance(500);
    report.polled('J1', 'JobComplete');
    const json = report.toJSON();
    expect(json.pool).to.include({ idleCuttingMs: 3000, busyMs: 1000, idleEmptyMs: 500, elapsedMs: 4500 });
    expect(json.jobs[0]).to.include({ closed: 0, queued: 3000, firstBatchStarted: 3000, lastBatchEnded: 4000 });
    expect(json.jobs[0].states).to.deep.equal([
      { state: 'UploadComplete', at: 0 },
      { state: 'JobComplete', at: 4000 },
    ]);
    expect(json.jobs[0].polls).to.deep.equal([{ at: 4500, state: 'JobComplete' }]);
    // the pool's state over time: [at, running, queued, being cut]
    expect(json.segments).to.deep.equal([
      [0, 0, 0, 1],
      // (the cut's end, the batch queued and taken, all at 3000: one segment)
      [3000, 1, 0, 0],
      [4000, 0, 0, 0],
    ]);
  });
});
