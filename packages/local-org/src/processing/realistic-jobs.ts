/* eslint-disable no-param-reassign -- job records are the mutable state the ingest side hands over */
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { csvRecordBatches } from '../csv-records.js';
import { DELIMITERS, LINE_ENDINGS, quote, quotedRow } from '../csv-text.js';
import type { HeaderPlan } from '../header-plan.js';
import type { IngestJob, SuspendedBatch } from '../ingest-job.js';
import { applyRow, sfError, type RowContext, type RowOutcome } from '../rows.js';
import { normaliseId } from '../ids.js';
import { DailyAllocation } from './allocation.js';
import { BatchPool, type ModelBatch, type PoolJobs } from './batch-pool.js';
import { duplicateKeyErrors } from './chunks.js';
import type { Clock } from './clock.js';
import type { ModelSettings } from './model-settings.js';
import { BatchResults, type ResultOrderOptions } from './result-order.js';

// Ingest jobs in the realistic model: a closed job's rows are cut into batch files (JSON lines, so no
// batch is held in memory before a worker takes it), queued in the org's BatchPool, and written by the
// pool's workers chunk by chunk. The job is done when every one of its batches ended.

export type ResultWriters = { success: WriteStream; failed: WriteStream; unprocessed: WriteStream };

/** What the realistic model needs from the ingest side. */
export type RealisticHost = {
  resultOrder: ResultOrderOptions;
  /** the job turns Failed with this errorMessage */
  fail(job: IngestJob, message: string): Promise<void>;
  /** a batch counts against DailyBulkApiBatches */
  onBatch(): void;
  /** fault injection on top of the model: the job fails after this many records (failJobAfterRecords) */
  failAfterRecords(): number | undefined;
  /** stores the job (its job.json in a data dir) */
  save(job: IngestJob): Promise<void>;
};

/** One job handed to the model: its rows (the upload), header plan and row context, and its result files. */
export type RealisticJob = {
  job: IngestJob;
  upload: string;
  dir: string;
  plan: HeaderPlan;
  ctx: RowContext;
  writers: ResultWriters;
  /** called once the job's batches are queued (the model report's end of its cut) */
  queued?: () => void;
};

const LOCK_ERROR = sfError('UNABLE_TO_LOCK_ROW', 'unable to obtain exclusive access to this record');
const DRY_RUN = '\u0000dry-run';

/** A batch file as cut: its rows, and the byte offset of each chunk's first row (chunks are read alone). */
type BatchFile = { path: string; records: number; offsets: number[]; bytes: number };

export class RealisticJobs implements PoolJobs {
  public readonly pool: BatchPool;
  /** the most rows of the upload any batch held in memory at once (one chunk's) */
  public readonly stats = { peakRowsHeld: 0 };
  private readonly jobs = new Map<
    string,
    { job: IngestJob; left: number; done: () => void; suspended: SuspendedBatch[] }
  >();

  public constructor(
    private readonly host: RealisticHost,
    private readonly settings: ModelSettings,
    public readonly clock: Clock,
  ) {
    const allocation = new DailyAllocation(settings.dailyBatches, settings.dailyRecords);
    this.pool = new BatchPool(settings, clock, allocation, this);
  }

  public get chunkRows(): number {
    return this.settings.chunkRows;
  }

  public get resultOrder(): ResultOrderOptions {
    return this.host.resultOrder;
  }

  /**
   * Cuts the job into batches (or takes the batches a stop suspended), queues them, and resolves when each
   * of them ended or was suspended by a stop; the suspended ones are left in job.suspendedBatches.
   */
  public async run(input: RealisticJob): Promise<void> {
    const { job } = input;
    let batches: JobBatch[];
    if (job.suspendedBatches?.some((b) => b.chunkRows !== this.settings.chunkRows)) {
      // Not a real org's text: the local org restarted with another chunkRows than its batches were cut with.
      job.suspendedBatches = undefined;
      return this.host.fail(job, 'InternalServerError : the local org restarted with another chunk size');
    }
    if (job.suspendedBatches) {
      batches = job.suspendedBatches.map((b) => new JobBatch(this, input, b.index, b, b));
      // Saved before any row is written again: a crash from here on must not resume these positions twice.
      job.suspendedBatches = undefined;
      await this.host.save(job);
    } else {
      const files = await this.cut(input);
      batches = files.map((file, index) => new JobBatch(this, input, index, { ...file, file: file.path }));
    }
    input.queued?.();
    this.pool.report.stamp(job.id, 'queued');
    if (batches.length === 0) return;
    const suspended: SuspendedBatch[] = [];
    const finished = new Promise<void>((resolve) => {
      this.jobs.set(job.id, { job, left: batches.length, done: resolve, suspended });
    });
    this.pool.enqueue(batches);
    await finished;
    this.jobs.delete(job.id);
    if (suspended.length) job.suspendedBatches = suspended.sort((a, b) => a.index - b.index);
  }

  public live(jobId: string): boolean {
    return this.jobs.get(jobId)?.job.state === 'InProgress';
  }

  public batchStarted(): void {
    this.host.onBatch();
  }

  public batchRetried(batch: ModelBatch): void {
    const entry = this.jobs.get(batch.jobId);
    if (entry) entry.job.retries += 1;
  }

  public async failJob(jobId: string, message: string): Promise<void> {
    const entry = this.jobs.get(jobId);
    if (entry && entry.job.state === 'InProgress') await this.host.fail(entry.job, message);
  }

  public batchEnded(batch: ModelBatch): void {
    const entry = this.jobs.get(batch.jobId);
    if (!entry) return;
    entry.left -= 1;
    if (entry.left === 0) entry.done();
  }

  public batchSuspended(batch: ModelBatch): void {
    const entry = this.jobs.get(batch.jobId);
    if (!entry) return;
    entry.suspended.push((batch as JobBatch).suspension());
    this.batchEnded(batch);
  }

  public failAfterRecords(): number | undefined {
    return this.host.failAfterRecords();
  }

  /** Streams the upload's data rows into batch files of batchRecords rows each, in upload order. */
  /* eslint-disable no-await-in-loop -- rows are streamed from the upload to the batch files in order */
  private async cut(input: RealisticJob): Promise<BatchFile[]> {
    const files: BatchFile[] = [];
    let out: WriteStream | undefined;
    const close = async (): Promise<void> => {
      if (out) await new Promise<void>((resolve) => out!.end(resolve));
      out = undefined;
    };
    for await (const records of csvRecordBatches(input.upload, DELIMITERS[input.job.columnDelimiter], 1)) {
      for (const values of records) {
        if (!out || files.at(-1)!.records === this.settings.batchRecords) {
          await close();
          const path = join(input.dir, `batch-${files.length}.jsonl`);
          files.push({ path, records: 0, offsets: [], bytes: 0 });
          out = createWriteStream(path);
        }
        const file = files.at(-1)!;
        if (file.records % this.settings.chunkRows === 0) file.offsets.push(file.bytes);
        file.records += 1;
        const line = JSON.stringify(values) + '\n';
        file.bytes += Buffer.byteLength(line);
        if (!out.write(line)) await new Promise<void>((resolve) => out!.once('drain', () => resolve()));
      }
    }
    await close();
    return files;
  }
  /* eslint-enable no-await-in-loop */
}

/** One internal batch of a job: its rows are read when a worker takes it and dropped when it ends. */
class JobBatch implements ModelBatch {
  public nextChunk = 0;
  public retries = 0;
  public readonly jobId: string;
  public readonly object: string;
  public readonly records: number;
  /** the one chunk held in memory: read when a worker takes it, dropped when the attempt ends */
  private held: { chunk: number; rows: string[][] } | undefined;
  private readonly results: BatchResults;
  private readonly file: string;
  private readonly offsets: number[];

  public constructor(
    private readonly owner: RealisticJobs,
    private readonly input: RealisticJob,
    public readonly index: number,
    cut: { file: string; records: number; offsets: number[] },
    resumed?: SuspendedBatch,
  ) {
    this.file = cut.file;
    this.records = cut.records;
    this.offsets = cut.offsets;
    this.nextChunk = resumed?.nextChunk ?? 0;
    this.retries = resumed?.retries ?? 0;
    this.jobId = input.job.id;
    this.object = input.job.object;
    this.results = new BatchResults(owner.resultOrder, `${input.job.id}/${index}`);
  }

  private get chunkRows(): number {
    return this.owner.chunkRows;
  }

  public async parentsOf(chunk: number): Promise<string[][]> {
    const rows = await this.chunk(chunk);
    const { ctx, plan } = this.input;
    // A dry run of each row: applyRow validates it and names the parents it writes a child of just
    // before it would write, where beforeWrite stops it. Nothing is written.
    return rows.map((values) => {
      let parents: string[] = [];
      const dry: RowContext = {
        ...ctx,
        beforeWrite: (ids): string => {
          parents = ids;
          return DRY_RUN;
        },
      };
      applyRow(dry, plan, values);
      ctx.prepared ??= dry.prepared;
      return parents;
    });
  }

  // eslint-disable-next-line complexity -- one row's path: state, fault, duplicate, lock, apply
  public async apply(chunk: number, locked: ReadonlySet<number>): Promise<void> {
    const rows = await this.chunk(chunk);
    const { job, plan, ctx } = this.input;
    const d = DELIMITERS[job.columnDelimiter];
    const eol = LINE_ENDINGS[job.lineEnding];
    const duplicates = duplicateKeyErrors(
      { operation: job.operation, externalIdFieldName: job.externalIdFieldName, plan, width: plan.columns.length },
      rows,
    );
    for (const [index, values] of rows.entries()) {
      const limit = this.owner.failAfterRecords();
      if (job.state === 'InProgress' && limit !== undefined && job.numberRecordsProcessed >= limit)
        // eslint-disable-next-line no-await-in-loop -- once per job
        await this.owner.failJob(job.id, 'InternalServerError : Failed to process the batch after 10 retries');
      const line = quotedRow(values, d) + eol;
      if (job.state !== 'InProgress') {
        this.results.unprocessed.push(line);
        continue;
      }
      const failedId = job.operation.endsWith('elete') ? (normaliseId(values[0] ?? '') ?? '') : '';
      const duplicate = duplicates.get(index);
      let outcome: RowOutcome;
      if (duplicate) outcome = { ok: false, id: failedId, error: duplicate };
      else if (locked.has(index)) outcome = { ok: false, id: failedId, error: LOCK_ERROR };
      else outcome = applyRow(ctx, plan, values);
      job.numberRecordsProcessed += 1;
      if (outcome.ok) this.results.success.push(`${quote(outcome.id)}${d}${quote(String(outcome.created))}${d}${line}`);
      else {
        job.numberRecordsFailed += 1;
        this.results.failed.push(`${quote(outcome.id)}${d}${quote(outcome.error)}${d}${line}`);
      }
    }
  }

  public async settle(): Promise<void> {
    const lists = this.results.take();
    for (const kind of ['success', 'failed', 'unprocessed'] as const) {
      const stream = this.input.writers[kind];
      for (const line of lists[kind])
        // eslint-disable-next-line no-await-in-loop -- only when a result file's buffer is full
        if (!stream.write(line)) await new Promise<void>((resolve) => stream.once('drain', () => resolve()));
    }
    // An attempt's rows are read again by the next one: a batch waiting in the queue holds no memory.
    this.held = undefined;
    if (this.nextChunk * this.chunkRows >= this.records) await rm(this.file, { force: true });
  }

  /** Where a stop left the batch: its file and the first chunk not written. */
  public suspension(): SuspendedBatch {
    const { index, file, records, offsets, nextChunk, retries, chunkRows } = this;
    return { index, file, records, offsets, nextChunk, retries, chunkRows };
  }

  public async abandon(): Promise<void> {
    const d = DELIMITERS[this.input.job.columnDelimiter];
    const eol = LINE_ENDINGS[this.input.job.lineEnding];
    if (this.nextChunk < this.offsets.length) {
      for await (const values of this.lines(this.offsets[this.nextChunk]))
        this.results.unprocessed.push(quotedRow(values, d) + eol);
    }
    this.nextChunk = Math.ceil(this.records / this.chunkRows);
    await this.settle();
  }

  /** The rows of one chunk, read from the batch file by their byte range. */
  private async chunk(chunk: number): Promise<string[][]> {
    if (this.held?.chunk === chunk) return this.held.rows;
    this.held = undefined;
    const rows: string[][] = [];
    const end = chunk + 1 < this.offsets.length ? this.offsets[chunk + 1] - 1 : undefined;
    for await (const values of this.lines(this.offsets[chunk], end)) rows.push(values);
    this.held = { chunk, rows };
    this.owner.stats.peakRowsHeld = Math.max(this.owner.stats.peakRowsHeld, rows.length);
    return rows;
  }

  private async *lines(start: number, end?: number): AsyncGenerator<string[]> {
    const input = createReadStream(this.file, { start, end });
    for await (const line of createInterface({ input, crlfDelay: Infinity }))
      if (line) yield JSON.parse(line) as string[];
  }
}
