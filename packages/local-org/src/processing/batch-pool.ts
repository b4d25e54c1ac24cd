/* eslint-disable no-param-reassign -- a batch's progress (nextChunk, retries) is the state the pool drives */
import type { DailyAllocation } from './allocation.js';
import type { Clock } from './clock.js';
import type { ModelSettings } from './model-settings.js';
import { ModelReport, type BatchAttempt } from './model-report.js';

// The org's batch workers in the realistic model. Every closed job's internal batches join one queue in
// job order; a fixed number of workers take batches from its head, whatever job they belong to, and
// process each chunk by chunk (guide, "How Requests Are Processed": batches are processed in parallel,
// in chunks). The rules:
// - a chunk takes rows × the object's time per record;
// - a batch holds every parent record its rows wrote a child of until its attempt ends. A row whose
//   parent another batch holds at that instant waits the lock wait; if the parent is still held then,
//   it fails UNABLE_TO_LOCK_ROW. This is the contention a real org shows when one parent's children
//   are spread over batches processed at once (the Record Locking Cheat Sheet);
// - a batch still running when its time-out passes is put back at the end of the queue with the rest
//   of its rows (what it wrote stays written); after the last allowed retry the job is Failed and the
//   rest of its data is not processed;
// - a batch that would pass the daily batch or record allocation fails its job.

const LOCK_POLL_MS = 250;

/** One internal batch of a job, as the pool drives it; the job side (rows, results, store) is behind it. */
export type ModelBatch = {
  readonly jobId: string;
  readonly object: string;
  /** 0-based number of the batch within its job */
  readonly index: number;
  readonly records: number;
  /** the first chunk not yet processed (chunks written by an earlier attempt stay written) */
  nextChunk: number;
  retries: number;
  /** for each row of chunk `chunk`, the parent record ids it writes a child of (nothing is written) */
  parentsOf(chunk: number): Promise<string[][]>;
  /** writes chunk `chunk`; the rows at the `locked` indexes fail UNABLE_TO_LOCK_ROW instead */
  apply(chunk: number, locked: ReadonlySet<number>): Promise<void>;
  /** an attempt ended: the results of what it wrote are stored */
  settle(): Promise<void>;
  /** the rest of the batch will not be processed: its rows are answered as unprocessed */
  abandon(): Promise<void>;
};

/** What the pool tells the jobs side. */
export type PoolJobs = {
  /** false once the job was aborted or failed: its batches are not processed further */
  live(jobId: string): boolean;
  /** a batch took its place in the daily allocation (DailyBulkApiBatches) */
  batchStarted(batch: ModelBatch): void;
  /** a batch was put back in the queue after its time-out */
  batchRetried(batch: ModelBatch): void;
  /** the job is Failed with this errorMessage */
  failJob(jobId: string, message: string): Promise<void>;
  /** a batch reached its end: processed, or abandoned */
  batchEnded(batch: ModelBatch): void;
  /** the org stopped before the batch ended: it resumes at its nextChunk on the next start */
  batchSuspended(batch: ModelBatch): void;
};

/** Observable for tests and stats: batches being processed now, the most at once, retries, lock failures. */
export type PoolStats = { active: number; peakActive: number; retries: number; lockFailures: number };

export class BatchPool {
  public readonly stats: PoolStats = { active: 0, peakActive: 0, retries: 0, lockFailures: 0 };
  /** what the pool did in modelled time (model-report.ts); the jobs side stamps its jobs' moments in it */
  public readonly report: ModelReport;
  private readonly queue: ModelBatch[] = [];
  /** parent record id → the batch holding it */
  private readonly locks = new Map<string, ModelBatch>();
  private readonly started = new WeakSet<ModelBatch>();
  private readonly running = new Set<Promise<void>>();
  private stopping = false;
  /** aborts the waits of running batches when the org stops */
  private readonly stopped = new AbortController();

  public constructor(
    private readonly settings: ModelSettings,
    private readonly clock: Clock,
    private readonly allocation: DailyAllocation,
    private readonly jobs: PoolJobs,
  ) {
    this.report = new ModelReport(clock, settings.workers, settings.timeScale);
  }

  /** Queues a job's batches after every batch already queued (the queue is in job order). */
  public enqueue(batches: ModelBatch[]): void {
    if (this.stopping) {
      // a job still cutting its batches when the org stopped: nothing will take them now, so they are
      // suspended at once (or the job, and the org's stop waiting for it, would wait for ever)
      for (const batch of batches) this.jobs.batchSuspended(batch);
      return;
    }
    this.queue.push(...batches);
    this.report.enqueued(batches);
    this.pump();
  }

  /** Takes a failed or aborted job's queued batches out of the queue; their rows are unprocessed. */
  public async dropJob(jobId: string): Promise<void> {
    const dropped = this.queue.filter((b) => b.jobId === jobId);
    this.queue.splice(0, this.queue.length, ...this.queue.filter((b) => b.jobId !== jobId));
    this.report.dequeued(dropped.length);
    for (const batch of dropped) {
      // eslint-disable-next-line no-await-in-loop -- one job's batches, abandoned in order
      await batch.abandon();
      this.jobs.batchEnded(batch);
    }
  }

  /**
   * Stops taking batches; a running one stops before the chunk it waits on (what it wrote stays written).
   * Every batch not ended is suspended where it stands, to resume on the next start.
   */
  public async stop(): Promise<void> {
    this.stopping = true;
    this.stopped.abort();
    const left = this.queue.splice(0);
    this.report.dequeued(left.length);
    for (const batch of left) this.jobs.batchSuspended(batch);
    await Promise.all(this.running);
  }

  private pump(): void {
    while (!this.stopping && this.stats.active < this.settings.workers && this.queue.length) {
      const batch = this.queue.shift()!;
      this.stats.active += 1;
      this.stats.peakActive = Math.max(this.stats.peakActive, this.stats.active);
      this.report.batchStarted(batch.jobId);
      const attempt: BatchAttempt = { busyMs: 0, workMs: 0, lockWaitMs: 0, lateMs: 0 };
      const takenAt = this.clock.now();
      const work = this.process(batch, attempt).finally(() => {
        this.report.batchEnded(batch.jobId, { ...attempt, busyMs: this.clock.now() - takenAt });
        this.stats.active -= 1;
        this.running.delete(work);
        this.pump();
      });
      this.running.add(work);
    }
  }

  private async process(batch: ModelBatch, attempt: BatchAttempt): Promise<void> {
    const { settings, clock, jobs } = this;
    if (this.stopping) return jobs.batchSuspended(batch);
    if (!jobs.live(batch.jobId)) return this.end(batch, 'abandon');
    // (a batch resumed after a restart has written chunks: it took its allocation then)
    if (!this.started.has(batch) && batch.nextChunk === 0) {
      if (!this.allocation.take(clock.now(), batch.records)) {
        await jobs.failJob(
          batch.jobId,
          'ExceededQuota : the daily allocation of Bulk API batches or records is used up; ' +
            'the remaining data was not processed',
        );
        await this.end(batch, 'abandon');
        return this.dropJob(batch.jobId);
      }
      this.started.add(batch);
      jobs.batchStarted(batch);
    }
    const chunks = Math.ceil(batch.records / settings.chunkRows);
    const attemptStart = clock.now();
    const firstChunk = batch.nextChunk;
    const held = new Set<string>();
    let outcome: 'done' | 'timeout' | 'abandon' | 'suspend' = 'done';
    try {
      for (let chunk = batch.nextChunk; chunk < chunks; chunk++) {
        if (!jobs.live(batch.jobId) || this.stopping) {
          outcome = this.stopping ? 'suspend' : 'abandon';
          break;
        }
        // (every attempt writes at least one chunk, so a batch always moves on)
        if (chunk > firstChunk && clock.now() - attemptStart >= settings.batchTimeoutMs) {
          outcome = 'timeout';
          break;
        }
        // eslint-disable-next-line no-await-in-loop -- chunks of one batch run one after another
        await this.processChunk(batch, chunk, held, attempt);
      }
    } catch (error) {
      // The org stopped while the batch waited: the chunk in hand is not written.
      if (!this.stopped.signal.aborted) throw error;
      outcome = 'suspend';
    } finally {
      for (const id of held) if (this.locks.get(id) === batch) this.locks.delete(id);
    }
    await batch.settle();
    if (outcome === 'suspend') return jobs.batchSuspended(batch);
    if (outcome !== 'timeout') return this.end(batch, outcome);
    batch.retries += 1;
    this.stats.retries += 1;
    if (batch.retries > settings.maxBatchRetries) {
      // The text is not captured from a real org (unconfirmed); the rule is the guide's.
      await jobs.failJob(
        batch.jobId,
        `InternalServerError : Failed to process the batch after ${settings.maxBatchRetries} retries`,
      );
      await this.end(batch, 'abandon');
      return this.dropJob(batch.jobId);
    }
    jobs.batchRetried(batch);
    if (this.stopping) return jobs.batchSuspended(batch);
    this.queue.push(batch);
    this.report.requeued();
  }

  private async processChunk(
    batch: ModelBatch,
    chunk: number,
    held: Set<string>,
    attempt: BatchAttempt,
  ): Promise<void> {
    const parents = await batch.parentsOf(chunk);
    const heldByOther = (ids: string[]): boolean =>
      ids.some((id) => {
        const holder = this.locks.get(id);
        return holder !== undefined && holder !== batch;
      });
    // Wait for contested parents until they are free or the lock wait is over, looking again every
    // LOCK_POLL_MS of modelled time (the resolution of the wait, not a figure of a real org).
    const waitFrom = this.clock.now();
    const deadline = waitFrom + this.settings.lockWaitMs;
    while (parents.some(heldByOther) && this.clock.now() < deadline) {
      // eslint-disable-next-line no-await-in-loop -- waiting for a lock is sequential by nature
      await this.clock.sleep(Math.min(LOCK_POLL_MS, deadline - this.clock.now()), this.stopped.signal);
    }
    attempt.lockWaitMs += this.clock.now() - waitFrom;
    const locked = new Set<number>();
    for (const [row, ids] of parents.entries()) {
      if (heldByOther(ids)) {
        locked.add(row);
        continue;
      }
      for (const id of ids) {
        this.locks.set(id, batch);
        held.add(id);
      }
    }
    this.stats.lockFailures += locked.size;
    const perRecord = this.settings.objectMsPerRecord[batch.object] ?? this.settings.msPerRecord;
    const work = parents.length * perRecord;
    const sleptFrom = this.clock.now();
    await this.clock.sleep(work, this.stopped.signal);
    attempt.workMs += work;
    attempt.lateMs += Math.max(0, this.clock.now() - sleptFrom - work);
    await batch.apply(chunk, locked);
    batch.nextChunk = chunk + 1;
  }

  private async end(batch: ModelBatch, how: 'done' | 'abandon'): Promise<void> {
    if (how === 'abandon') await batch.abandon();
    this.jobs.batchEnded(batch);
  }
}
