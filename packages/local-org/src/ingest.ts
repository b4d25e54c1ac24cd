/* eslint-disable no-param-reassign -- job records are the mutable state this module owns */
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, open, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ApiError, notFound } from './api-error.js';
import { csvRecordBatches, jobErrorOfCsv } from './csv-records.js';
import { DELIMITERS, LINE_ENDINGS, firstRecordText, quote } from './csv-text.js';
import type { Faults } from './faults.js';
import { planHeader } from './header-plan.js';
import { newIngestJob, type IngestJob, type IngestState } from './ingest-job.js';
import { DEFAULT_RESULT_ORDER, type ResultOrderOptions } from './processing/result-order.js';
import type { Clock } from './processing/clock.js';
import type { ModelSettings } from './processing/model-settings.js';
import { InstantJobs } from './processing/instant-jobs.js';
import { RealisticJobs } from './processing/realistic-jobs.js';
import type { ModelReport } from './processing/model-report.js';
import { formatDateTime, sfError, type RowContext } from './rows.js';
import type { RecordStore } from './store.js';

export type IngestOptions = {
  store: RecordStore;
  faults: Faults;
  userId: string;
  dir: string;
  persistent: boolean;
  recordsPerSecond?: number;
  /** the order of result rows (default: shuffled within each internal batch, seed 1) */
  resultOrder?: ResultOrderOptions;
  /** the realistic processing model (processing/); undefined: every job at CPU speed, one row after another */
  realistic?: { settings: ModelSettings; clock: Clock };
  hardDeleteEnabled: boolean;
  maxUploadBytes: number;
  newJobId: () => string;
  onBatch: () => void;
};

type ResultWriters = { success: WriteStream; failed: WriteStream; unprocessed: WriteStream };

/**
 * Ingest jobs: the state machine, the upload spool, asynchronous processing (its rows through
 * processing/instant-jobs.ts or processing/realistic-jobs.ts) and the three result files.
 */
export class IngestJobs {
  public readonly jobs = new Map<string, IngestJob>();
  /** parent record id → job whose current batch holds its lock (parentLockContention fault) */
  private readonly parentLocks = new Map<string, string>();
  private readonly running = new Map<string, Promise<void>>();
  /** jobs whose upload body is still streaming in: closing one now would process half an upload */
  private readonly uploading = new Set<string>();
  private stopping = false;
  /** the realistic model's batch pool, when it is on */
  private readonly realistic: RealisticJobs | undefined;
  /** the instant model, which processes every job the realistic model does not */
  private readonly instant: InstantJobs;
  /** when each upload in progress began (modelled time), for the upload bandwidth of the realistic model */
  private readonly uploadStarted = new Map<string, number>();

  public constructor(private readonly options: IngestOptions) {
    const model = options.realistic;
    this.realistic = model
      ? new RealisticJobs(
          {
            resultOrder: options.resultOrder ?? DEFAULT_RESULT_ORDER,
            fail: (job, message): Promise<void> => this.fail(job, message),
            onBatch: (): void => options.onBatch(),
            failAfterRecords: (): number | undefined => options.faults.value.failJobAfterRecords,
            save: (job): Promise<void> => this.save(job),
          },
          model.settings,
          model.clock,
        )
      : undefined;
    this.instant = new InstantJobs({
      resultOrder: options.resultOrder ?? DEFAULT_RESULT_ORDER,
      recordsPerSecond: options.recordsPerSecond ?? 0,
      fail: (job, message): Promise<void> => this.fail(job, message),
      onBatch: (): void => options.onBatch(),
      failAfterRecords: (): number | undefined => options.faults.value.failJobAfterRecords,
      stopping: (): boolean => this.stopping,
    });
  }

  /** what the realistic model did (processing/model-report.ts); undefined in the instant model */
  public get report(): ModelReport | undefined {
    return this.realistic?.pool.report;
  }

  public get maxUploadBytes(): number {
    return this.options.maxUploadBytes;
  }

  public jobDir(id: string): string {
    return join(this.options.dir, id);
  }

  /** Reloads jobs of an earlier run (data dir) and resumes the ones that were processing. */
  public async restore(): Promise<void> {
    let entries: string[] = [];
    try {
      entries = await readdir(this.options.dir);
    } catch {
      return;
    }
    for (const entry of entries) {
      try {
        // eslint-disable-next-line no-await-in-loop
        const job = JSON.parse(await readFile(join(this.options.dir, entry, 'job.json'), 'utf8')) as IngestJob;
        this.jobs.set(job.id, job);
      } catch {
        // not a job folder
      }
    }
    for (const job of this.jobs.values()) {
      if (this.realistic && job.state === 'InProgress' && !job.suspendedBatches) {
        // A stop suspends the realistic model's batches where they stand (job.suspendedBatches); a job
        // without them was cut off by a crash, or processed by the instant model: which of its rows were
        // written is unknown, so it cannot resume without loading rows twice. (Not a real org's text.)
        // eslint-disable-next-line no-await-in-loop
        await this.fail(job, 'InternalServerError : the local org restarted while the job was being processed');
      } else if (!this.realistic && job.suspendedBatches) {
        // eslint-disable-next-line no-await-in-loop
        await this.fail(job, 'InternalServerError : the local org restarted with another processing model');
      } else if (job.state === 'UploadComplete' || job.state === 'InProgress') this.startProcessing(job);
    }
  }

  /** A job of the session's user: its rows are written as that user (CreatedById, LastModifiedById). */
  public create(body: Record<string, unknown>, apiVersion: number, userId = this.options.userId): IngestJob {
    const { store, hardDeleteEnabled, newJobId } = this.options;
    const job = newIngestJob(body, apiVersion, { store, hardDeleteEnabled, userId, newJobId });
    this.jobs.set(job.id, job);
    this.report?.job(job.id, job.object);
    this.report?.stamp(job.id, 'created');
    return job;
  }

  public get(id: string): IngestJob {
    const job = this.jobs.get(id);
    if (!job) throw notFound();
    return job;
  }

  public async save(job: IngestJob): Promise<void> {
    if (!this.options.persistent) return;
    await mkdir(this.jobDir(job.id), { recursive: true });
    await writeFile(join(this.jobDir(job.id), 'job.json'), JSON.stringify(job));
  }

  /** Checks an upload may start; the body is then streamed by the HTTP layer into uploadFile(). */
  public beginUpload(job: IngestJob): void {
    if (job.state !== 'Open')
      throw new ApiError(
        400,
        'INVALIDJOBSTATE',
        `Unable to upload data: job ${job.id} is in state ${job.state}, not Open`,
      );
    if (job.uploaded) {
      // A real org's answer (v47, reference §1), its typo and the 15-character id included.
      throw new ApiError(
        400,
        'BULK_API_ERROR',
        `Found multipe contents for job: <${job.id.slice(0, 15)}>, please 'Close' / 'Abort' / 'Delete' the current ` +
          "Job then create a new Job and make sure you only do 'PUT' once on a given Job.",
      );
    }
  }

  public markUploading(job: IngestJob, active: boolean): void {
    if (active) {
      this.uploading.add(job.id);
      if (this.realistic) this.uploadStarted.set(job.id, this.realistic.clock.now());
      this.report?.stamp(job.id, 'uploadStarted');
    } else this.uploading.delete(job.id);
  }

  public uploadFile(job: IngestJob): string {
    return join(this.jobDir(job.id), 'upload.csv');
  }

  public async finishUpload(job: IngestJob): Promise<void> {
    const started = this.uploadStarted.get(job.id);
    this.uploadStarted.delete(job.id);
    if (this.realistic && started !== undefined) {
      // The realistic model's upload bandwidth: the 201 comes when the body would have arrived.
      const { clock, settings } = this.options.realistic!;
      const size = (await stat(this.uploadFile(job)).catch(() => ({ size: 0 }))).size;
      await clock.sleep(started + (size / settings.uploadBytesPerSecond) * 1000 - clock.now());
      this.report?.stamp(job.id, 'uploaded');
    }
    job.uploaded = true;
    job.systemModstamp = formatDateTime(new Date());
    await this.save(job);
  }

  /** PATCH: UploadComplete or Aborted. */
  public async changeState(job: IngestJob, requested: unknown): Promise<IngestJob> {
    const from = job.state;
    if (requested === 'UploadComplete' && from === 'Open' && this.uploading.has(job.id)) {
      throw new ApiError(400, 'INVALIDJOBSTATE', `Unable to close job ${job.id}: its upload is still in progress`);
    }
    if (requested === 'UploadComplete' && from === 'Open') {
      this.report?.stamp(job.id, 'closed');
      this.enter(job, 'UploadComplete');
      await this.save(job);
      this.startProcessing(job);
      return job;
    }
    if (requested === 'Aborted' && (from === 'Open' || from === 'UploadComplete' || from === 'InProgress')) {
      this.enter(job, 'Aborted');
      await this.save(job);
      // Its queued batches leave the realistic model's queue now, not when a worker reaches them.
      await this.realistic?.pool.dropJob(job.id);
      // A job aborted before processing still answers its result files (every uploaded row unprocessed).
      if (from !== 'InProgress' && !this.running.has(job.id)) this.startProcessing(job);
      return job;
    }
    if (requested !== 'UploadComplete' && requested !== 'Aborted') {
      throw new ApiError(
        400,
        'INVALIDJOBSTATE',
        `Invalid state: ${String(requested)}. A job can be set to UploadComplete or Aborted.`,
      );
    }
    throw new ApiError(
      400,
      'INVALIDJOBSTATE',
      `Cannot change the state of job ${job.id} from ${from} to ${String(requested)}`,
    );
  }

  public async delete(job: IngestJob): Promise<void> {
    if (job.state === 'Open' || job.state === 'InProgress') {
      throw new ApiError(400, 'INVALIDJOBSTATE', `Cannot delete job ${job.id} in state ${job.state}`);
    }
    await this.running.get(job.id);
    this.jobs.delete(job.id);
    await rm(this.jobDir(job.id), { recursive: true, force: true });
  }

  /** Resolves when the job's processing (if any is running) has ended and its result files are closed. */
  public async settled(job: IngestJob): Promise<void> {
    await this.running.get(job.id);
  }

  public resultFile(job: IngestJob, kind: 'success' | 'failed' | 'unprocessed'): string {
    return join(this.jobDir(job.id), `${kind}.csv`);
  }

  /** Header line of a result file (for jobs without results written yet). */
  public resultHeader(job: IngestJob, kind: 'success' | 'failed' | 'unprocessed'): string {
    const d = DELIMITERS[job.columnDelimiter];
    const header = job.headerText ?? '';
    const prefix = kind === 'success' ? ['sf__Id', 'sf__Created'] : kind === 'failed' ? ['sf__Id', 'sf__Error'] : [];
    const cells = [...prefix.map(quote), ...(header ? [header] : [])];
    return cells.join(d) + LINE_ENDINGS[job.lineEnding];
  }

  public async stop(): Promise<void> {
    this.stopping = true;
    await this.realistic?.pool.stop();
    await Promise.all(this.running.values());
  }

  /** a job's state change, stamped as the org stamps it and told to the model's report */
  private enter(job: IngestJob, state: IngestState): void {
    job.state = state;
    job.systemModstamp = formatDateTime(new Date());
    this.report?.state(job.id, state);
  }

  private startProcessing(job: IngestJob): void {
    const run = this.process(job)
      .catch(async (error: unknown) => {
        this.enter(job, 'Failed');
        job.errorMessage = `InternalServerError : ${(error as Error).message}`;
        await this.save(job).catch(() => undefined);
      })
      .finally(() => this.running.delete(job.id));
    this.running.set(job.id, run);
  }

  private async readHeader(job: IngestJob): Promise<string | undefined> {
    const file = this.uploadFile(job);
    let size = 0;
    try {
      size = (await stat(file)).size;
    } catch {
      return undefined;
    }
    if (size === 0) return undefined;
    // The header is at most 32,000 characters: a bounded read finds it without reading the body.
    const handle = await open(file, 'r');
    try {
      const buffer = Buffer.alloc(Math.min(size, 200_000));
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
      return firstRecordText(buffer.subarray(0, bytesRead).toString('utf8'), bytesRead === size) ?? '';
    } finally {
      await handle.close();
    }
  }

  /** The records of the upload; `from` = records to skip (1 skips the header); `lineEnding` holds them to it. */
  private async *rows(job: IngestJob, from = 0, lineEnding?: IngestJob['lineEnding']): AsyncGenerator<string[]> {
    const file = this.uploadFile(job);
    for await (const batch of csvRecordBatches(file, DELIMITERS[job.columnDelimiter], from, lineEnding)) yield* batch;
  }

  private async fail(job: IngestJob, message: string): Promise<void> {
    this.enter(job, 'Failed');
    job.errorMessage = message;
    await this.save(job);
  }

  private async process(job: IngestJob): Promise<void> {
    const started = Date.now();
    // the realistic model's pool may sit idle from the close until the upload is checked and cut
    const cutEnded = this.report?.cutStarted();
    const resuming = job.rowsDone > 0 || job.suspendedBatches !== undefined;
    const headerText = job.uploaded ? await this.readHeader(job) : undefined;
    job.headerText = headerText;
    await mkdir(this.jobDir(job.id), { recursive: true });
    const writers = this.openWriters(job, resuming);
    try {
      await this.processRows(job, writers, headerText, cutEnded);
    } finally {
      cutEnded?.();
      await Promise.all(Object.values(writers).map((w: WriteStream) => new Promise((resolve) => w.end(resolve))));
      job.totalProcessingTime += Date.now() - started;
      job.apiActiveProcessingTime = Math.round(job.totalProcessingTime * 0.4);
      await this.save(job);
    }
  }

  private openWriters(job: IngestJob, append: boolean): ResultWriters {
    const openResult = (kind: 'success' | 'failed' | 'unprocessed'): WriteStream => {
      const stream = createWriteStream(this.resultFile(job, kind), {
        flags: append ? 'a' : 'w',
        highWaterMark: 1 << 20,
      });
      if (!append) stream.write(this.resultHeader(job, kind));
      return stream;
    };
    // The folder exists once something was uploaded; a job closed with no upload still gets one.
    return { success: openResult('success'), failed: openResult('failed'), unprocessed: openResult('unprocessed') };
  }

  /* eslint-disable no-await-in-loop -- rows are applied in order, streamed from disk */
  // eslint-disable-next-line complexity -- the job's prelude: header, parse check, state, locks
  private async processRows(
    job: IngestJob,
    writers: ResultWriters,
    headerText: string | undefined,
    queued?: () => void,
  ): Promise<void> {
    const { store, faults } = this.options;
    const abortedBeforeStart = job.state === 'Aborted';
    if (headerText === undefined) {
      // Nothing uploaded (or an empty body): the job completes with nothing processed.
      if (!abortedBeforeStart) job.state = 'JobComplete';
      return;
    }
    let header: string[] = [];
    try {
      for await (const record of this.rows(job)) {
        header = record;
        break;
      }
    } catch (error) {
      return this.fail(job, jobErrorOfCsv(error));
    }
    const object = store.object(job.object);
    if (!object) return this.fail(job, `InvalidBatch : Unable to find object: ${job.object}`);
    const plan = planHeader(store, object, job.operation, header, job.externalIdFieldName);
    // The whole upload must parse before any row is applied, as a real org rejects the job whole.
    const parseError = abortedBeforeStart || typeof plan === 'string' ? undefined : await this.firstParseError(job);
    if (parseError) return this.fail(job, parseError);
    if (typeof plan === 'string') {
      // Failed on its header: every row is then answered as unprocessed by the loop below.
      if (!abortedBeforeStart) await this.fail(job, plan);
    } else if ((job.state as IngestState) === 'UploadComplete') {
      // (an abort may have arrived while the upload was being checked)
      this.enter(job, 'InProgress');
      await this.save(job);
    }

    const ctx: RowContext = {
      store,
      object,
      operation: job.operation,
      externalIdFieldName: job.externalIdFieldName,
      // a job runs as the user who created it
      userId: job.createdById,
    };
    const held = new Set<string>();
    ctx.beforeWrite = (parentIds): string | undefined => {
      if (faults.chance(faults.value.lockRowRate))
        return sfError('UNABLE_TO_LOCK_ROW', 'unable to obtain exclusive access to this record');
      if (!faults.value.parentLockContention) return undefined;
      for (const id of parentIds) {
        const owner = this.parentLocks.get(id);
        if (owner && owner !== job.id)
          return sfError('UNABLE_TO_LOCK_ROW', 'unable to obtain exclusive access to this record or 1 records: ' + id);
      }
      for (const id of parentIds) {
        this.parentLocks.set(id, job.id);
        held.add(id);
      }
      return undefined;
    };
    const releaseLocks = (): void => {
      for (const id of held) if (this.parentLocks.get(id) === job.id) this.parentLocks.delete(id);
      held.clear();
    };
    if (this.realistic && typeof plan !== 'string' && job.state === 'InProgress') {
      try {
        const upload = this.uploadFile(job);
        await this.realistic.run({ job, upload, dir: this.jobDir(job.id), plan, ctx, writers, queued });
      } finally {
        releaseLocks();
      }
      if (this.stopping) return; // left InProgress, its batches suspended: it resumes on the next start
      this.enter(job, (job.state as IngestState) === 'InProgress' ? 'JobComplete' : job.state);
      return;
    }
    await this.instant.run({
      job,
      upload: this.uploadFile(job),
      plan: typeof plan === 'string' ? undefined : plan,
      ctx,
      writers,
      releaseLocks,
    });
  }

  /* eslint-enable no-await-in-loop */

  private async firstParseError(job: IngestJob): Promise<string | undefined> {
    try {
      // the job's line ending is checked here, with the syntax, before any row is applied
      // eslint-disable-next-line @typescript-eslint/no-unused-vars
      for await (const _ of this.rows(job, 0, job.lineEnding)) {
        /* parse only */
      }
      return undefined;
    } catch (error) {
      return jobErrorOfCsv(error);
    }
  }
}
