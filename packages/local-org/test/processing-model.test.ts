/* eslint-disable camelcase -- Salesforce custom object names (Slow__c) */
import { expect } from 'chai';
import { DailyAllocation } from '../src/processing/allocation.js';
import { BatchPool, type ModelBatch, type PoolJobs } from '../src/processing/batch-pool.js';
import { ManualClock } from '../src/processing/clock.js';
import { modelSettings, modelSettingsProblems, type ModelSettings } from '../src/processing/model-settings.js';

// The rules of the realistic model on a manual clock: no test here waits for real time.

type Applied = { job: string; batch: number; chunk: number; at: number; rows: number; locked: number[] };

class FakeBatch implements ModelBatch {
  public nextChunk = 0;
  public retries = 0;
  public settled = 0;
  public abandonedAt?: number;

  public constructor(
    private readonly world: World,
    public readonly jobId: string,
    public readonly object: string,
    public readonly index: number,
    public readonly records: number,
    private readonly parentOfRow: (row: number) => string[] = (): string[] => [],
  ) {}

  public parentsOf(chunk: number): Promise<string[][]> {
    const size = this.world.settings.chunkRows;
    const rows = Math.min(size, this.records - chunk * size);
    return Promise.resolve(Array.from({ length: rows }, (_, i) => this.parentOfRow(chunk * size + i)));
  }

  public apply(chunk: number, locked: ReadonlySet<number>): Promise<void> {
    const size = this.world.settings.chunkRows;
    const rows = Math.min(size, this.records - chunk * size);
    this.world.applied.push({
      job: this.jobId,
      batch: this.index,
      chunk,
      at: this.world.clock.now(),
      rows,
      locked: [...locked],
    });
    return Promise.resolve();
  }

  public settle(): Promise<void> {
    this.settled += 1;
    return Promise.resolve();
  }

  public abandon(): Promise<void> {
    this.abandonedAt = this.nextChunk;
    return Promise.resolve();
  }
}

class World implements PoolJobs {
  public readonly clock = new ManualClock();
  public readonly applied: Applied[] = [];
  public readonly failed = new Map<string, string>();
  public readonly started: string[] = [];
  public readonly ended: string[] = [];
  /** batches a stop suspended, as job/batch@nextChunk */
  public readonly suspended: string[] = [];
  public retried = 0;
  public readonly settings: ModelSettings;
  public readonly allocation: DailyAllocation;
  public readonly pool: BatchPool;

  public constructor(given: Partial<ModelSettings> = {}) {
    this.settings = modelSettings({ requestLatencyMs: 0, ...given });
    this.allocation = new DailyAllocation(this.settings.dailyBatches, this.settings.dailyRecords);
    this.pool = new BatchPool(this.settings, this.clock, this.allocation, this);
  }

  public live(jobId: string): boolean {
    return !this.failed.has(jobId);
  }
  public batchStarted(batch: ModelBatch): void {
    this.started.push(`${batch.jobId}/${batch.index}`);
  }
  public batchRetried(): void {
    this.retried += 1;
  }
  public failJob(jobId: string, message: string): Promise<void> {
    this.failed.set(jobId, message);
    return Promise.resolve();
  }
  public batchEnded(batch: ModelBatch): void {
    this.ended.push(`${batch.jobId}/${batch.index}`);
  }
  public batchSuspended(batch: ModelBatch): void {
    this.suspended.push(`${batch.jobId}/${batch.index}@${batch.nextChunk}`);
  }

  /** A job of `records` rows cut into batches as the org cuts it. */
  public job(jobId: string, records: number, object = 'Account', parentOfRow?: (row: number) => string[]): FakeBatch[] {
    const size = this.settings.batchRecords;
    return Array.from(
      { length: Math.ceil(records / size) },
      (_, i) =>
        new FakeBatch(this, jobId, object, i, Math.min(size, records - i * size), (row) =>
          parentOfRow ? parentOfRow(i * size + row) : [],
        ),
    );
  }
}

describe('processing model: the batch pool on a manual clock', () => {
  it('cuts a job into batches of batchRecords in upload order, each processed in chunks of chunkRows', async () => {
    const w = new World({ workers: 1, msPerRecord: 1 });
    const batches = w.job('J1', 25_000);
    expect(batches.map((b) => b.records)).to.deep.equal([10_000, 10_000, 5000]);
    w.pool.enqueue(batches);
    await w.clock.runUntilIdle(10_000);
    expect(w.started).to.deep.equal(['J1/0', 'J1/1', 'J1/2']);
    expect(w.applied.filter((a) => a.batch === 0)).to.have.length(50);
    expect(w.applied.filter((a) => a.batch === 2)).to.have.length(25);
    expect(w.applied.every((a) => a.rows === 200)).to.equal(true);
    // one worker: 25,000 records at 1 ms each, one after another
    expect(w.clock.now()).to.be.at.least(25_000);
    expect(w.applied.at(-1)!.at).to.equal(25_000);
  });

  it('runs at most `workers` batches at once, across jobs, taking them in job order', async () => {
    const w = new World({ workers: 2, msPerRecord: 1 });
    w.pool.enqueue(w.job('J1', 30_000));
    w.pool.enqueue(w.job('J2', 10_000));
    await w.clock.advance(0);
    expect(w.pool.stats.active).to.equal(2);
    expect(w.started).to.deep.equal(['J1/0', 'J1/1']);
    await w.clock.runUntilIdle(1000);
    expect(w.pool.stats.peakActive).to.equal(2);
    expect(w.started).to.deep.equal(['J1/0', 'J1/1', 'J1/2', 'J2/0']);
    // two workers, four equal batches: two rounds of 10 s
    expect(w.applied.at(-1)!.at).to.equal(20_000);
    expect(w.ended).to.have.members(['J1/0', 'J1/1', 'J1/2', 'J2/0']);
  });

  it('suspends the batches of a job queued after the org stopped, so nothing waits for them for ever', async () => {
    const w = new World({ workers: 1, msPerRecord: 10 });
    await w.pool.stop();
    // a job that was still cutting its upload into batches when the org stopped
    const late = w.job('L', 25_000, 'Account');
    w.pool.enqueue(late);
    await w.clock.advance(0);
    expect(w.suspended).to.deep.equal(['L/0@0', 'L/1@0', 'L/2@0']);
    expect(late.map((batch) => batch.abandonedAt)).to.deep.equal([undefined, undefined, undefined]);
    expect(w.started).to.deep.equal([]);
  });

  it('a stop suspends the running batch after the chunks it wrote, and the queued ones where they stand', async () => {
    const w = new World({ workers: 1, msPerRecord: 10 });
    const batches = w.job('S', 25_000, 'Account');
    w.pool.enqueue(batches);
    await w.clock.advance(6000); // three chunks of 2 s written, the fourth waiting
    const stopping = w.pool.stop();
    await w.clock.advance(0);
    await stopping;
    expect(w.suspended).to.deep.equal(['S/1@0', 'S/2@0', 'S/0@3']);
    expect(w.ended).to.deep.equal([]);
    expect(batches[0].settled).to.equal(1);
    expect(batches.map((batch) => batch.abandonedAt)).to.deep.equal([undefined, undefined, undefined]);
  });

  it('a row whose parent another running batch holds fails UNABLE_TO_LOCK_ROW after the lock wait', async () => {
    const w = new World({ workers: 2, msPerRecord: 10, lockWaitMs: 10_000 });
    // job A: all 1,200 rows are children of P (6 chunks of 2 s: P held for 12 s); job B: row 0 a child
    // of P, row 1 of Q, the rest of nobody
    const a = w.job('A', 1200, 'Contact', () => ['P']);
    const b = w.job('B', 200, 'Contact', (row) => (row === 0 ? ['P'] : row === 1 ? ['Q'] : []));
    w.pool.enqueue([...a, ...b]);
    await w.clock.runUntilIdle(500);
    const bChunk = w.applied.find((x) => x.job === 'B')!;
    // B waited the lock wait (10 s); P was still held by A then; its chunk took 2 s more
    expect(bChunk.locked).to.deep.equal([0]);
    expect(bChunk.at).to.equal(10_000 + 200 * 10);
    expect(w.applied.filter((x) => x.job === 'A').every((x) => x.locked.length === 0)).to.equal(true);
    expect(w.pool.stats.lockFailures).to.equal(1);
  });

  it('a lock released within the wait is taken: no failure', async () => {
    const w = new World({ workers: 2, msPerRecord: 10, lockWaitMs: 10_000 });
    // A holds P for one chunk (2 s); B waits until A is done, then takes it
    w.pool.enqueue([...w.job('A', 200, 'Contact', () => ['P']), ...w.job('B', 200, 'Contact', () => ['P'])]);
    await w.clock.runUntilIdle(500);
    expect(w.applied.map((x) => x.locked)).to.deep.equal([[], []]);
    expect(w.applied.map((x) => x.at)).to.deep.equal([2000, 4000]);
  });

  it('one batch never contends with itself: a parent held by the same batch is no lock failure', async () => {
    const w = new World({ workers: 1, msPerRecord: 10 });
    w.pool.enqueue(w.job('A', 1000, 'Contact', () => ['P']));
    await w.clock.runUntilIdle(1000);
    expect(w.pool.stats.lockFailures).to.equal(0);
  });

  it('a batch past its time-out is queued again with its rest; past maxBatchRetries its job fails', async () => {
    // 10,000 records at 300 ms = 3,000 s a batch, 60 s a chunk: an attempt writes chunks until its 300 s
    // time-out has passed (5 chunks), then the rest of the batch is retried
    const w = new World({ workers: 1, msPerRecord: 300, batchTimeoutMs: 300_000, maxBatchRetries: 3 });
    const [batch] = w.job('J', 10_000);
    w.pool.enqueue([batch]);
    await w.clock.runUntilIdle(60_000);
    // 60 s a chunk: an attempt runs chunks until 300 s have passed (5 chunks), then is retried
    expect(w.retried).to.equal(3);
    expect(batch.retries).to.equal(4);
    expect(w.failed.get('J')).to.match(/after 3 retries/);
    expect(batch.settled).to.equal(4);
    expect(w.applied).to.have.length(20); // 4 attempts × 5 chunks, each written once
    expect(new Set(w.applied.map((a) => a.chunk)).size).to.equal(20);
    expect(batch.abandonedAt).to.equal(20); // the rest (chunks 20..49) is unprocessed
  });

  it('a batch that finishes within the retries completes its job', async () => {
    const w = new World({ workers: 1, msPerRecord: 300, batchTimeoutMs: 300_000, maxBatchRetries: 20 });
    const [batch] = w.job('J', 10_000);
    w.pool.enqueue([batch]);
    await w.clock.runUntilIdle(60_000);
    expect(w.failed.size).to.equal(0);
    expect(batch.retries).to.equal(9); // 50 chunks, 5 an attempt: 10 attempts
    expect(w.applied).to.have.length(50);
    expect(w.ended).to.deep.equal(['J/0']);
  });

  it('enforces the daily batch allocation: the batch past it fails its job, the rest unprocessed', async () => {
    const w = new World({ workers: 1, msPerRecord: 0, dailyBatches: 2 });
    const batches = w.job('J', 35_000);
    w.pool.enqueue(batches);
    await w.clock.runUntilIdle(1000);
    expect(w.started).to.deep.equal(['J/0', 'J/1']);
    expect(w.failed.get('J')).to.match(/^ExceededQuota : /);
    expect(batches.slice(2).map((b) => b.abandonedAt)).to.deep.equal([0, 0]);
    // a rolling window: a day later the allocation is back
    await w.clock.advance(24 * 60 * 60 * 1000);
    const next = w.job('K', 10_000);
    w.pool.enqueue(next);
    await w.clock.runUntilIdle(1000);
    expect(w.failed.has('K')).to.equal(false);
  });

  it('enforces the daily record allocation', () => {
    const allocation = new DailyAllocation(15_000, 25_000);
    expect(allocation.take(0, 10_000)).to.equal(true);
    expect(allocation.take(1, 10_000)).to.equal(true);
    expect(allocation.take(2, 10_000)).to.equal(false);
    expect(allocation.used(2)).to.deep.equal({ batches: 2, records: 20_000 });
    // a day after the first batch, it no longer counts; the second still does
    expect(allocation.take(24 * 60 * 60 * 1000, 10_000)).to.equal(true);
    expect(allocation.used(24 * 60 * 60 * 1000)).to.deep.equal({ batches: 2, records: 20_000 });
  });

  it('an object with its own time per record (triggers) takes longer', async () => {
    const w = new World({ workers: 1, msPerRecord: 1, objectMsPerRecord: { Slow__c: 5 } });
    w.pool.enqueue([...w.job('A', 200, 'Account'), ...w.job('B', 200, 'Slow__c')]);
    await w.clock.runUntilIdle(100);
    expect(w.applied.map((a) => a.at)).to.deep.equal([200, 200 + 1000]);
  });

  it('checks model settings read from a user', () => {
    expect(modelSettingsProblems({ workers: 4, objectMsPerRecord: { A: 3 } })).to.deep.equal([]);
    expect(modelSettingsProblems({ workers: 0, nope: 1, chunkRows: 2.5, objectMsPerRecord: { A: -1 } })).to.deep.equal([
      '"workers" must be a positive number',
      'unknown model setting "nope" (known: workers, batchRecords, chunkRows, msPerRecord, objectMsPerRecord, ' +
        'batchTimeoutMs, maxBatchRetries, lockWaitMs, requestLatencyMs, uploadBytesPerSecond, dailyBatches, ' +
        'dailyRecords, timeScale)',
      '"chunkRows" must be an integer',
      '"objectMsPerRecord.A" must be a non-negative number',
    ]);
  });
});
