/* eslint-disable no-param-reassign -- job records are the mutable state the ingest side hands over */
import { setImmediate as yieldToEventLoop, setTimeout as sleep } from 'node:timers/promises';
import { csvRecordBatches, CsvSyntaxError } from '../csv-records.js';
import { DELIMITERS, LINE_ENDINGS, quote, quotedRow } from '../csv-text.js';
import type { HeaderPlan } from '../header-plan.js';
import type { IngestJob, IngestState } from '../ingest-job.js';
import { normaliseId } from '../ids.js';
import { applyRow, formatDateTime, type RowContext, type RowOutcome } from '../rows.js';
import { BATCH_RECORDS, CHUNK_ROWS, duplicateKeyErrors } from './chunks.js';
import type { ResultWriters } from './realistic-jobs.js';
import { BatchResults, type ResultOrderOptions } from './result-order.js';

// Ingest jobs in the instant model (the default): one pass over the upload's rows in upload order, at
// CPU speed or at recordsPerSecond, in chunks of 200 with each internal batch's results held and then
// written in the configured order. Separate from ingest.ts, which owns the job's state machine, upload
// spool and the prelude every job goes through (header, parse check, locks), and the counterpart of
// realistic-jobs.ts, which processes the same jobs through the org's batch pool instead.

/** What the instant model needs from the ingest side. */
export type InstantHost = {
  resultOrder: ResultOrderOptions;
  /** rows per second of each job; 0: as fast as possible */
  recordsPerSecond: number;
  /** the job turns Failed with this errorMessage */
  fail(job: IngestJob, message: string): Promise<void>;
  /** an internal batch counts against DailyBulkApiBatches */
  onBatch(): void;
  /** fault injection: the job fails after this many records (failJobAfterRecords) */
  failAfterRecords(): number | undefined;
  /** the org is stopping: a job processing now stops where it is and resumes on the next start */
  stopping(): boolean;
};

/** One job handed to the model: its rows (the upload), header plan (none: failed on its header), row context. */
export type InstantJob = {
  job: IngestJob;
  upload: string;
  plan: HeaderPlan | undefined;
  ctx: RowContext;
  writers: ResultWriters;
  /** releases the parent locks the job's current batch holds (parentLockContention fault) */
  releaseLocks: () => void;
};

const SLICE = 1000;

/** One processing pass over a job's rows (a restart starts a new pass at rowsDone). */
type JobRun = {
  job: IngestJob;
  plan: HeaderPlan | undefined;
  ctx: RowContext;
  writers: ResultWriters;
  results: BatchResults;
  releaseLocks: () => void;
  /** the last data row handled (its result held or written) */
  row: number;
  rowsThisRun: number;
  rateStart: number;
  failedPartWay: boolean;
  /** the org is stopping: the pass ended before the upload did */
  stopped: boolean;
};

export class InstantJobs {
  public constructor(private readonly host: InstantHost) {}

  /** Processes the job's rows from its rowsDone on; a job left InProgress by a stop resumes on the next start. */
  /* eslint-disable no-await-in-loop -- rows are applied in order, streamed from disk */
  public async run({ job, upload, plan, ctx, writers, releaseLocks }: InstantJob): Promise<void> {
    const run: JobRun = {
      job,
      plan,
      ctx,
      writers,
      results: new BatchResults(this.host.resultOrder, job.id),
      releaseLocks,
      row: job.rowsDone,
      rowsThisRun: 0,
      rateStart: Date.now(),
      failedPartWay: false,
      stopped: false,
    };

    // Rows are read in upload order and cut into chunks of 200 counted from the first data row; each
    // chunk is checked for duplicate keys as a whole before its rows are applied (processing/chunks.ts).
    let read = 0;
    let chunk: string[][] = [];
    try {
      for await (const records of csvRecordBatches(upload, DELIMITERS[job.columnDelimiter], 1)) {
        for (const values of records) {
          read += 1;
          chunk.push(values);
          if (chunk.length < CHUNK_ROWS) continue;
          await this.processChunk(run, chunk, read - chunk.length + 1);
          chunk = [];
          if (run.stopped) break;
        }
        if (run.stopped) break;
      }
      if (!run.stopped && chunk.length) await this.processChunk(run, chunk, read - chunk.length + 1);
    } catch (error) {
      // An upload that does not parse only gets here when no row is applied (aborted, or failed on its
      // header): its unprocessed file then lists the rows up to the bad one.
      if (job.state === 'InProgress' || !(error instanceof CsvSyntaxError)) throw error;
    } finally {
      releaseLocks();
      await this.flushResults(run);
    }
    if (run.stopped) return; // resumed on the next start
    if (job.state === 'InProgress') job.state = 'JobComplete';
    job.systemModstamp = formatDateTime(new Date());
  }

  /** One chunk of up to 200 rows; `first` is the 1-based number of its first data row. */
  // eslint-disable-next-line complexity -- the row loop: abort, stop, fault and rate checks per row
  private async processChunk(run: JobRun, rows: string[][], first: number): Promise<void> {
    const { job, plan, results } = run;
    const d = DELIMITERS[job.columnDelimiter];
    const eol = LINE_ENDINGS[job.lineEnding];
    const rate = this.host.recordsPerSecond;
    // A chunk cut by a restart is checked whole again: its first rows are skipped, not forgotten.
    const duplicates =
      plan && job.state === 'InProgress'
        ? duplicateKeyErrors(
            {
              operation: job.operation,
              externalIdFieldName: job.externalIdFieldName,
              plan,
              width: plan.columns.length,
            },
            rows,
          )
        : new Map<number, string>();
    for (const [index, values] of rows.entries()) {
      const current = first + index;
      if (current <= job.rowsDone) continue; // processed before a restart
      if ((current - 1) % BATCH_RECORDS === 0) {
        // A new internal batch: the previous one's results are stored, its locks released.
        await this.flushResults(run);
        run.releaseLocks();
        if (job.state === 'InProgress') this.host.onBatch();
      }
      const limit = this.host.failAfterRecords();
      const pastLimit = limit !== undefined && job.numberRecordsProcessed >= limit;
      if (!run.failedPartWay && job.state === 'InProgress' && pastLimit) {
        run.failedPartWay = true;
        await this.host.fail(job, 'InternalServerError : Failed to process the batch after 10 retries');
      }
      const state = job.state as IngestState;
      if (state !== 'InProgress' || this.host.stopping()) {
        if (this.host.stopping() && state === 'InProgress') {
          run.stopped = true;
          return;
        }
        // Aborted or failed: the rest of the upload is answered as unprocessed.
        results.unprocessed.push(quotedRow(values, d) + eol);
        run.row = current;
        continue;
      }
      const duplicate = duplicates.get(index);
      // A delete's failed row names the id it was given; other rows that failed before a lookup name none.
      const failedId = job.operation.endsWith('elete') ? (normaliseId(values[0] ?? '') ?? '') : '';
      const outcome: RowOutcome = duplicate
        ? { ok: false, id: failedId, error: duplicate }
        : applyRow(run.ctx, plan!, values);
      job.numberRecordsProcessed += 1;
      const row = quotedRow(values, d) + eol;
      if (outcome.ok) results.success.push(`${quote(outcome.id)}${d}${quote(String(outcome.created))}${d}${row}`);
      else {
        results.failed.push(`${quote(outcome.id)}${d}${quote(outcome.error)}${d}${row}`);
        job.numberRecordsFailed += 1;
      }
      run.row = current;
      run.rowsThisRun += 1;
      if (rate > 0) {
        const due = run.rateStart + (run.rowsThisRun / rate) * 1000;
        const wait = due - Date.now();
        if (wait > 0) await sleep(wait);
      } else if (run.rowsThisRun % SLICE === 0) {
        // Let the server answer polls (and other jobs interleave) while a big job runs.
        await yieldToEventLoop();
      }
    }
  }

  /** Writes the held results of the current batch (in the configured order); the job's rowsDone follows. */
  private async flushResults(run: JobRun): Promise<void> {
    if (run.results.size === 0) return;
    const lists = run.results.take();
    // Writes stay synchronous unless a result file's buffer is full: one await per row would cost more
    // than the row itself at a million rows.
    for (const kind of ['success', 'failed', 'unprocessed'] as const) {
      const stream = run.writers[kind];
      for (const line of lists[kind])
        if (!stream.write(line)) await new Promise<void>((resolve) => stream.once('drain', () => resolve()));
    }
    run.job.rowsDone = run.row;
  }
  /* eslint-enable no-await-in-loop */
}
