/*
 * One migration run: waves in order, a wave's steps in parallel, a step's chunks in parallel, and
 * every chunk driven through the ingest-job protocol of DESIGN §4 with the journal written ahead
 * of each side effect. The same code starts a run and resumes one: a chunk simply continues from
 * the phase its journal lines left it in.
 */
import { EventEmitter } from 'node:events';
import { Transform, type Readable } from 'node:stream';
import { join, relative } from 'node:path';
import { readdir, readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { Messages, type Connection } from '@salesforce/core';
import type { ColumnDelimiter, LineEnding, LoadedManifest, ResolvedStep } from '../manifest/types.js';
import type { JournalEventBody, JobState } from '../journal/events.js';
import { Journal } from '../journal/journal.js';
import { applyEvent, type ChunkState, type RunState, type StepState } from '../journal/state.js';
import { createRunFolder, findRun, type RunFolder } from '../journal/runFolder.js';
import type { RunLock } from '../journal/lock.js';
import { withManifestLock } from '../journal/manifestLock.js';
import { openRunForWriting, type WritableRun } from '../journal/writableRun.js';
import { fingerprintFile } from '../journal/fingerprint.js';
import { JobIndex } from '../journal/jobIndex.js';
import { IngestJobClient } from '../bulk/ingestJobClient.js';
import { UploadInterruptedError, BulkApiError, isRetryable } from '../bulk/errors.js';
import type { IngestJobInfo } from '../bulk/types.js';
import { readCsvHeader, type CsvHeader } from '../csv/header.js';
import { planChunks } from '../csv/chunks.js';
import { openChunkStream, uploadLineEnding } from '../csv/upload.js';
import { forEachConcurrent } from './concurrency.js';
import { ChunkDriver } from './chunkDriver.js';
import { crashPoint, crashTestEnabled } from './crashPoints.js';
import type { EngineEvents } from './events.js';
import { ExitCode, type RunOutcome, type RunStatus, type StepSummary } from './outcome.js';
import { CsvWriterSet, errorCodeOf, errorMessageOf, readResultRows } from './resultFiles.js';
import { unfinishedRunError } from './runRoot.js';

Messages.importMessagesDirectoryFromMetaUrl(import.meta.url);
const messages = Messages.loadMessages('@sf-migrate/plugin-migrate', 'engine');

export type RunTarget = {
  connection: Connection;
  username: string;
  orgId: string;
};

export type RunOptions = RunTarget & {
  /** keep jobs in the org after their results are saved */
  keepJobs?: boolean;
  /** overrides the manifest's steps-per-wave concurrency */
  concurrency?: number;
  /** overrides every step's jobs-in-parallel */
  parallelism?: number;
  /** injected for tests; defaults to a client on `connection` */
  client?: IngestJobClient;
  /**
   * the user's manifest, when the run's manifest was derived from it (a retry of dead letters):
   * the run is listed, resumed and indexed under this path
   */
  belongsTo?: string;
};

/** a job whose upload keeps getting interrupted is given up on after this many fresh jobs */
const MAX_UPLOAD_ATTEMPTS = 8;

/** what a dead letter adds to the uploaded columns (`sf migrate retry` drops them again) */
export const DEAD_LETTER_COLUMNS = ['sf__ErrorCode', 'sf__ErrorMessage'];

export class MigrationRun extends EventEmitter<EngineEvents> {
  private readonly client: IngestJobClient;
  private readonly chunkDriver: ChunkDriver;
  private readonly headers = new Map<string, Promise<CsvHeader>>();
  /** jobs this process created: no need to ask the org about them before uploading */
  private readonly freshJobs = new Set<string>();
  private readonly stepStartedAt = new Map<string, number>();
  /** fires when --wait runs out, or when one step failed and the others should stop with it */
  private stopSignal: AbortSignal;
  /** a step that fails stops its wave's other steps at their next safe point, not hours later */
  private readonly failFast = new AbortController();

  private constructor(
    public readonly manifest: LoadedManifest,
    public readonly folder: RunFolder,
    private readonly journal: Journal,
    public readonly state: RunState,
    private readonly lock: RunLock,
    private readonly options: RunOptions,
    public readonly resumed: boolean
  ) {
    super();
    this.client = options.client ?? new IngestJobClient(options.connection);
    this.stopSignal = this.failFast.signal;
    this.chunkDriver = new ChunkDriver(this.client, folder, (body) => this.record(body));
  }

  public get runId(): string {
    return this.folder.runId;
  }

  /** the manifest the user runs this run with (see RunOptions.belongsTo) */
  public get manifestPath(): string {
    return this.options.belongsTo ?? this.manifest.path;
  }

  private get stopped(): boolean {
    return this.stopSignal.aborted;
  }

  /**
   * Starts a new run: fingerprints the sources, then, holding the manifest's lock (so that of
   * concurrent starts of one manifest exactly one goes ahead), refuses when an unfinished run of
   * the manifest exists (unless `beside`, i.e. --new), creates the run folder, opens it for
   * writing and journals `run.started`. With `opened`, the run folder exists already and its
   * journal holds nothing (a run that never got as far as run.started): it is started in place.
   *
   * @throws SfError `UnfinishedRunError` naming the unfinished run.
   */
  public static async start(
    manifest: LoadedManifest,
    options: RunOptions,
    startOptions: { beside?: boolean; opened?: WritableRun } = {}
  ): Promise<MigrationRun> {
    const files = [...new Set(manifest.steps.flatMap((step) => step.files))];
    const sources = await Promise.all(files.map((file) => fingerprintFile(file)));
    const owner = options.belongsTo ?? manifest.path;
    const begin = async (opened: WritableRun): Promise<MigrationRun> => {
      try {
        // the copy is what resume reads, so its hash is the one to vouch for
        const manifestSha256 = createHash('sha256')
          .update(await readFile(opened.folder.manifestCopyPath))
          .digest('hex');
        const { folder, journal, state, lock } = opened;
        const run = new MigrationRun(manifest, folder, journal, state, lock, options, false);
        await run.record({
          type: 'run.started',
          runId: opened.folder.runId,
          manifest: owner,
          manifestSha256,
          username: options.username,
          orgId: options.orgId,
          instanceUrl: options.connection.instanceUrl,
          apiVersion: options.connection.getApiVersion(),
          sources,
        });
        return run;
      } catch (error) {
        await opened.release();
        throw error;
      }
    };
    if (startOptions.opened) return begin(startOptions.opened);
    return withManifestLock(manifest.runFolder, owner, async () => {
      if (!startOptions.beside) {
        const unfinished = await findRun(manifest.runFolder, undefined, { manifest: owner });
        if (unfinished) throw unfinishedRunError(unfinished.runId, owner, options.username);
      }
      const folder = await createRunFolder(manifest.runFolder, manifest.path, undefined, owner);
      // the window where a folder exists without a journal, with the manifest lock held
      crashPoint('run.folder');
      return begin(await openRunForWriting(folder, { create: true }));
    });
  }

  /**
   * continues a run opened for writing whose journal was replayed into `opened.state`; the caller
   * has checked the org, the manifest and the sources, and reconciled the org's jobs with the journal
   */
  public static async continue(
    manifest: LoadedManifest,
    opened: WritableRun,
    options: RunOptions
  ): Promise<MigrationRun> {
    const run = new MigrationRun(manifest, opened.folder, opened.journal, opened.state, opened.lock, options, true);
    await run.record({ type: 'run.resumed', pid: process.pid, host: hostname() });
    return run;
  }

  /**
   * Runs every wave that is not finished. `stop` (the --wait budget) makes the run return
   * 'waiting' at the next safe point: jobs already closed keep processing in the org.
   */
  public async execute(stop?: AbortSignal): Promise<RunOutcome> {
    this.stopSignal = stop ? AbortSignal.any([stop, this.failFast.signal]) : this.failFast.signal;
    this.emit('run.started', {
      runId: this.runId,
      runDir: this.folder.dir,
      waves: this.manifest.waves,
      resumed: this.resumed,
    });
    try {
      const outcome = await this.runWaves();
      this.emit('run.finished', outcome);
      return outcome;
    } finally {
      await this.journal.close();
      await this.lock.release();
    }
  }

  private async runWaves(): Promise<RunOutcome> {
    if (this.state.finished) return this.outcome(this.state.finished.status, this.state.finished.reason);
    const concurrency = this.options.concurrency ?? this.manifest.concurrency;
    for (const [wave, stepIds] of this.manifest.waves.entries()) {
      const known = this.state.waves.get(wave);
      if (known?.gate === 'passed') continue;
      if (known?.gate === 'failed') return this.finishRun('failed', messages.getMessage('reason.waveGate', [wave + 1]));
      if (!known) {
        // eslint-disable-next-line no-await-in-loop
        await this.record({ type: 'wave.started', wave, steps: stepIds });
      }
      this.emit('wave.started', { wave, steps: stepIds });
      const steps = stepIds.map((id) => this.step(id));
      // eslint-disable-next-line no-await-in-loop
      await forEachConcurrent(steps, concurrency, (step) => this.runStep(step, wave), () => this.failFast.abort());
      if (this.stopped) return this.outcome('waiting');
      const gate = stepIds.every((id) => this.state.steps.get(id)?.finished?.gate === 'passed') ? 'passed' : 'failed';
      // eslint-disable-next-line no-await-in-loop
      await this.record({ type: 'wave.finished', wave, gate });
      this.emit('wave.finished', { wave, gate });
      if (gate === 'failed') return this.finishRun('failed', messages.getMessage('reason.waveGate', [wave + 1]));
    }
    const anyFailures = [...this.state.steps.values()].some(
      (step) => (step.finished?.failed ?? 0) + (step.finished?.unprocessed ?? 0) > 0
    );
    return this.finishRun(anyFailures ? 'completedWithFailures' : 'succeeded');
  }

  private async finishRun(status: 'succeeded' | 'completedWithFailures' | 'failed', reason?: string): Promise<RunOutcome> {
    await this.record({ type: 'run.finished', status, ...(reason ? { reason } : {}) });
    return this.outcome(status, reason);
  }

  private outcome(status: RunStatus, reason?: string): RunOutcome {
    return {
      runId: this.runId,
      runDir: this.folder.dir,
      status,
      ...(reason ? { reason } : {}),
      steps: summarizeSteps(this.manifest, this.state),
      ...(status === 'waiting'
        ? { resumeCommand: `sf migrate resume --manifest ${this.manifestPath} --run-id ${this.runId}` }
        : {}),
    };
  }

  private step(id: string): ResolvedStep {
    const step = this.manifest.steps.find((candidate) => candidate.id === id);
    if (!step) throw messages.createError('error.UnknownStep', [id]);
    return step;
  }

  private stepState(id: string): StepState {
    const state = this.state.steps.get(id);
    if (!state) throw messages.createError('error.UnknownStep', [id]);
    return state;
  }

  private async runStep(step: ResolvedStep, wave: number): Promise<void> {
    if (this.state.steps.get(step.id)?.status === 'finished') return;
    if (this.stopped) return;
    if (this.state.steps.get(step.id)?.status !== 'running') {
      await this.record({ type: 'step.started', step: step.id, wave, object: step.object, operation: step.operation });
    }
    this.stepStartedAt.set(step.id, this.stepStartedAt.get(step.id) ?? Date.now());
    for (const file of step.files) {
      // eslint-disable-next-line no-await-in-loop
      await this.ensurePlanned(step, file, 0);
    }
    const sourceChunks = this.stepState(step.id).chunks.filter((chunk) => chunk.attempt === 0);
    this.emit('step.started', {
      step: step.id,
      wave,
      object: step.object,
      operation: step.operation,
      records: sourceChunks.reduce((sum, chunk) => sum + chunk.records, 0),
      chunks: sourceChunks.length,
    });

    const parallelism = this.options.parallelism ?? step.parallelism;
    for (let attempt = 0; ; attempt++) {
      const round = this.stepState(step.id).chunks.filter((chunk) => chunk.attempt === attempt);
      // eslint-disable-next-line no-await-in-loop
      await forEachConcurrent(round, parallelism, (chunk) => this.driveChunk(step, chunk), () => this.failFast.abort());
      if (this.stopped) return;
      if (attempt >= step.retry.attempts) break;
      // eslint-disable-next-line no-await-in-loop
      const planned = await this.planRetryRound(step, attempt + 1);
      if (planned === 0) break;
    }
    await this.finishStep(step, wave);
  }

  /** the header of a file, read once per run */
  private header(file: string, delimiter: ColumnDelimiter): Promise<CsvHeader> {
    let header = this.headers.get(file);
    if (!header) {
      header = readCsvHeader(file, delimiter);
      this.headers.set(file, header);
    }
    return header;
  }

  /**
   * Journals the chunks of one file. Chunking is deterministic, so after a crash in the middle of
   * planning the same cut is made again: chunks already journaled must match it exactly, and only
   * the missing ones are added.
   */
  private async ensurePlanned(step: ResolvedStep, file: string, attempt: number): Promise<void> {
    const header = await this.header(file, step.columnDelimiter);
    const known = new Map(
      this.stepState(step.id)
        .chunks.filter((chunk) => chunk.file === file && chunk.attempt === attempt)
        .map((chunk) => [chunk.byteStart, chunk])
    );
    const mapping = this.mappingOf(step, { attempt });
    const chunks = planChunks(file, {
      delimiter: step.columnDelimiter,
      header,
      maxRecords: step.maxRecordsPerJob,
      maxBytes: step.maxBytesPerJob,
      mapping,
      lineEnding: uploadLineEnding(header, mapping, step.lineEnding),
    });
    for await (const spec of chunks) {
      const existing = known.get(spec.byteStart);
      if (existing) {
        if (existing.byteEnd !== spec.byteEnd || existing.records !== spec.records) {
          throw messages.createError('error.ChunkingChanged', [file, spec.byteStart]);
        }
        continue;
      }
      await this.record({
        type: 'chunk.planned',
        step: step.id,
        chunk: this.stepState(step.id).chunks.length,
        file,
        byteStart: spec.byteStart,
        byteEnd: spec.byteEnd,
        records: spec.records,
        attempt,
      });
    }
  }

  /** drives one chunk from whatever phase it is in to its end */
  private async driveChunk(step: ResolvedStep, chunk: ChunkState): Promise<void> {
    let uploadAttempts = 0;
    for (;;) {
      switch (chunk.phase) {
        case 'planned':
        case 'creating':
          if (this.stopped) return;
          if (++uploadAttempts > MAX_UPLOAD_ATTEMPTS) {
            throw messages.createError('error.UploadKeepsFailing', [step.id, chunk.chunk, MAX_UPLOAD_ATTEMPTS]);
          }
          // eslint-disable-next-line no-await-in-loop
          await this.createJob(step, chunk);
          break;
        case 'created':
          // eslint-disable-next-line no-await-in-loop
          await this.uploadOrRecover(step, chunk);
          break;
        case 'uploaded':
        case 'closing':
          // eslint-disable-next-line no-await-in-loop
          await this.chunkDriver.close(chunk);
          break;
        case 'closed':
          if (this.stopped) return;
          // eslint-disable-next-line no-await-in-loop
          if (!(await this.waitForJob(step, chunk))) return;
          break;
        case 'finished':
          // eslint-disable-next-line no-await-in-loop
          await this.saveResults(step, chunk);
          break;
        case 'saved':
          if (this.options.keepJobs) return;
          // eslint-disable-next-line no-await-in-loop
          await this.deleteJob(chunk);
          return;
        case 'deleted':
          return;
      }
    }
  }

  private async createJob(step: ResolvedStep, chunk: ChunkState): Promise<void> {
    if (chunk.phase === 'planned') await this.record({ type: 'job.creating', step: step.id, chunk: chunk.chunk });
    const header = await this.header(chunk.file, step.columnDelimiter);
    const info = await this.client.create({
      object: step.object,
      operation: step.operation,
      ...(step.externalIdField ? { externalIdFieldName: step.externalIdField } : {}),
      columnDelimiter: step.columnDelimiter,
      lineEnding: this.lineEndingOf(step, chunk, header),
      ...(step.assignmentRuleId ? { assignmentRuleId: step.assignmentRuleId } : {}),
    });
    this.freshJobs.add(info.id);
    await this.record({ type: 'job.created', step: step.id, chunk: chunk.chunk, jobId: info.id });
    await JobIndex.record({
      jobId: info.id,
      runId: this.runId,
      runDir: this.folder.dir,
      manifest: this.manifestPath,
      username: this.options.username,
      orgId: this.options.orgId,
      instanceUrl: this.options.connection.instanceUrl,
      step: step.id,
      chunk: chunk.chunk,
      object: step.object,
      operation: step.operation,
      createdAt: new Date().toISOString(),
    });
  }

  /** source chunks keep the file's own line endings unless mapping re-serialises them */
  private lineEndingOf(step: ResolvedStep, chunk: ChunkState, header: CsvHeader): LineEnding {
    return uploadLineEnding(header, this.mappingOf(step, chunk), step.lineEnding);
  }

  /** retry files already hold the uploaded (mapped) columns */
  private mappingOf(step: ResolvedStep, chunk: { attempt: number }): ResolvedStep['mapping'] {
    return chunk.attempt === 0 ? step.mapping : {};
  }

  private async uploadOrRecover(step: ResolvedStep, chunk: ChunkState): Promise<void> {
    const jobId = chunk.jobId as string;
    if (!this.freshJobs.has(jobId)) {
      // Resumed between create and a journaled upload: whatever reached the job is unknown, so it
      // must never be closed. Abort it and let the chunk start again with a fresh job.
      const info = await this.infoOrMissing(jobId);
      if (info && info.state !== 'Open' && info.state !== 'Aborted') {
        throw messages.createError('error.JobClosedOutsideRun', [jobId, step.id, chunk.chunk, info.state]);
      }
      await this.abandonJob(chunk, info?.state === 'Open', 'resumed before its upload was journaled');
      return;
    }
    if (this.stopped) {
      // not uploaded yet: abort it now; resume starts the chunk afresh with a new job
      return this.abandonJob(chunk, true, 'the run stopped before its upload');
    }
    const header = await this.header(chunk.file, step.columnDelimiter);
    this.progress(step, chunk, 'Uploading');
    try {
      const { bytes } = await this.client.upload(jobId, () => {
        const body = openChunkStream(chunk, {
          header,
          delimiter: step.columnDelimiter,
          lineEnding: this.lineEndingOf(step, chunk, header),
          mapping: this.mappingOf(step, chunk),
        });
        return crashTestEnabled ? tapForCrash(body) : body;
      });
      await this.record({ type: 'job.uploaded', step: step.id, chunk: chunk.chunk, jobId, bytes });
    } catch (error) {
      // a body that cannot be read (the source file) fails the same way every time: stop
      if (!(error instanceof UploadInterruptedError) || !isRetryable(error)) throw error;
      this.emit('warning', messages.getMessage('warning.uploadInterrupted', [step.id, chunk.chunk, jobId, error.message]));
      await this.abandonJob(chunk, true, error.message);
    }
  }

  private async infoOrMissing(jobId: string): Promise<IngestJobInfo | undefined> {
    try {
      return await this.client.info(jobId);
    } catch (error) {
      if (error instanceof BulkApiError && error.errorCode === 'NOT_FOUND') return undefined;
      throw error;
    }
  }

  private async abandonJob(chunk: ChunkState, abortInOrg: boolean, reason: string): Promise<void> {
    const jobId = chunk.jobId as string;
    if (abortInOrg) {
      try {
        await this.client.abort(jobId);
      } catch (error) {
        if (!(error instanceof BulkApiError && ['INVALIDJOBSTATE', 'NOT_FOUND'].includes(error.errorCode))) throw error;
        // refused: fine if it is aborted or gone, but a job someone else closed holds records
        // that may be processed, and the chunk must not be sent again in a new job
        const info = await this.infoOrMissing(jobId);
        if (info && info.state !== 'Aborted') {
          throw messages.createError('error.JobClosedOutsideRun', [jobId, chunk.step, chunk.chunk, info.state]);
        }
      }
    }
    await this.record({ type: 'job.aborted', step: chunk.step, chunk: chunk.chunk, jobId, reason });
  }

  /** polls to a terminal state; false when the --wait budget ran out first */
  private async waitForJob(step: ResolvedStep, chunk: ChunkState): Promise<boolean> {
    const info = await this.chunkDriver.waitToEnd(chunk, step.poll, {
      signal: this.stopSignal,
      onPoll: (polled) => this.progress(step, chunk, polled.state, polled),
    });
    if (!info) return false;
    this.progress(step, chunk, info.state, info);
    return true;
  }

  private async saveResults(step: ResolvedStep, chunk: ChunkState): Promise<void> {
    this.progress(step, chunk, 'Saving');
    await this.chunkDriver.saveResults(chunk);
  }

  private async deleteJob(chunk: ChunkState): Promise<void> {
    const jobId = chunk.jobId as string;
    try {
      await this.client.delete(jobId);
    } catch (error) {
      // gone already: a crash came between the DELETE and its journal line
      if (error instanceof BulkApiError && error.errorCode === 'NOT_FOUND') {
        await this.record({ type: 'job.deleted', step: chunk.step, chunk: chunk.chunk, jobId });
        return;
      }
      // the results are safe on disk; a job left behind costs nothing but a line in the org's list
      this.emit('warning', messages.getMessage('warning.deleteFailed', [jobId, (error as Error).message]));
      return;
    }
    await this.record({ type: 'job.deleted', step: chunk.step, chunk: chunk.chunk, jobId });
  }

  /**
   * Builds retry round `attempt` from the saved results of round `attempt - 1`: rows that failed
   * with a retryable code, and the unprocessed rows of jobs that failed for a reason other than
   * their content. Their files are written before any of their chunks is journaled, so a round
   * with journaled chunks always has complete files; a round without is simply written again.
   */
  private async planRetryRound(step: ResolvedStep, attempt: number): Promise<number> {
    const state = this.stepState(step.id);
    const alreadyPlanned = state.chunks.some((chunk) => chunk.attempt === attempt);
    // every file of the round was renamed into place before its first chunk was journaled, so the
    // folder lists them all, even those a crash kept from being planned
    const files = alreadyPlanned ? await this.retryFilesOf(step, attempt) : await this.writeRetryFiles(step, attempt);
    for (const file of files) {
      // eslint-disable-next-line no-await-in-loop
      await this.ensurePlanned(step, file, attempt);
    }
    return state.chunks.filter((chunk) => chunk.attempt === attempt).length;
  }

  private retryFile(step: ResolvedStep, attempt: number, n: number): string {
    return join(this.folder.retryDir(step.id), `attempt-${attempt}-${n}.csv`);
  }

  private async retryFilesOf(step: ResolvedStep, attempt: number): Promise<string[]> {
    const pattern = new RegExp(`^attempt-${attempt}-(\\d+)\\.csv$`);
    return (await readdir(this.folder.retryDir(step.id)))
      .map((name) => Number(pattern.exec(name)?.[1]))
      .filter((n) => Number.isInteger(n))
      .sort((a, b) => a - b)
      .map((n) => this.retryFile(step, attempt, n));
  }

  private async writeRetryFiles(step: ResolvedStep, attempt: number): Promise<string[]> {
    const previous = this.stepState(step.id).chunks.filter((chunk) => chunk.attempt === attempt - 1);
    const retryable = new Set(step.retry.codes);
    const writers = new CsvWriterSet((n) => this.retryFile(step, attempt, n), [], step.columnDelimiter);
    try {
      for (const chunk of previous) {
        // eslint-disable-next-line no-await-in-loop
        for await (const { row, header, kind } of this.problemRows(step, chunk)) {
          const code = kind === 'failed' ? errorCodeOf(row[1]) : 'UNPROCESSED';
          if (!isRetried(chunk, kind, code, retryable)) continue;
          await writers.write(header, kind === 'failed' ? row.slice(2) : row);
        }
      }
      return await writers.commit();
    } catch (error) {
      await writers.discard();
      throw error;
    }
  }

  /** the failed and unprocessed rows of a chunk, with the uploaded header of each */
  private async *problemRows(
    step: ResolvedStep,
    chunk: ChunkState
  ): AsyncGenerator<{ row: string[]; header: string[]; kind: 'failed' | 'unprocessed' }> {
    if (!chunk.results) return;
    for (const kind of ['failed', 'unprocessed'] as const) {
      let header: string[] | undefined;
      const file = `${this.folder.dir}/${kind === 'failed' ? chunk.results.files.failed : chunk.results.files.unprocessed}`;
      // eslint-disable-next-line no-await-in-loop -- rows of one file, then the next
      for await (const row of readResultRows(file, step.columnDelimiter)) {
        if (!header) {
          header = kind === 'failed' ? row.slice(2) : row;
          continue;
        }
        yield { row, header, kind };
      }
    }
  }

  /**
   * Accounts for every source record of the step (succeeded, failed for good, or unprocessed),
   * writes the dead letters, and applies the step's failure threshold: the wave gate.
   */
  private async finishStep(step: ResolvedStep, wave: number): Promise<void> {
    const state = this.stepState(step.id);
    const lastRound = lastRoundOf(state.chunks);
    const retryable = new Set(step.retry.codes);
    const failuresByCode: Record<string, number> = {};
    let failed = 0;
    let unprocessed = 0;
    let succeeded = 0;
    const writers = new CsvWriterSet(
      // "X (2).csv": a space and parentheses cannot occur in a step id, so no other step's name
      (n) => (n === 1 ? this.folder.deadLetterPath(step.id) : this.folder.deadLetterPath(step.id).replace(/\.csv$/, ` (${n}).csv`)),
      DEAD_LETTER_COLUMNS,
      step.columnDelimiter
    );
    let deadLetters: string[];
    try {
      for (const chunk of state.chunks) {
        succeeded += chunk.results?.counts.success ?? 0;
        const retriedLater = chunk.attempt < lastRound;
        // eslint-disable-next-line no-await-in-loop
        for await (const { row, header, kind } of this.problemRows(step, chunk)) {
          const code = kind === 'failed' ? errorCodeOf(row[1]) : 'UNPROCESSED';
          if (retriedLater && isRetried(chunk, kind, code, retryable)) continue;
          if (kind === 'failed') {
            failed++;
            failuresByCode[code] = (failuresByCode[code] ?? 0) + 1;
            await writers.write(header, [...row.slice(2), code, errorMessageOf(row[1])]);
          } else {
            unprocessed++;
            await writers.write(header, [...row, code, chunk.finished?.errorMessage ?? messages.getMessage('reason.unprocessed')]);
          }
        }
      }
      deadLetters = (await writers.commit()).map((file) => relative(this.folder.dir, file));
    } catch (error) {
      await writers.discard();
      throw error;
    }

    const records = state.chunks.filter((chunk) => chunk.attempt === 0).reduce((sum, chunk) => sum + chunk.records, 0);
    const gate = evaluateGate(step, { records, succeeded, failed, unprocessed });
    const startedAt = this.stepStartedAt.get(step.id) ?? Date.now();
    await this.record({
      type: 'step.finished',
      step: step.id,
      records,
      succeeded,
      failed,
      unprocessed,
      jobs: state.chunks.length,
      gate: gate.passed ? 'passed' : 'failed',
      ...(gate.reason ? { reason: gate.reason } : {}),
      failuresByCode,
      retryRounds: lastRound,
      durationMs: Date.now() - startedAt,
      deadLetters,
    });
    const summary = summarizeSteps(this.manifest, this.state).find((candidate) => candidate.step === step.id);
    if (summary) this.emit('step.finished', { ...summary, wave });
  }

  private progress(step: ResolvedStep, chunk: ChunkState, state: JobState | 'Uploading' | 'Saving', info?: IngestJobInfo): void {
    this.emit('job.progress', {
      step: step.id,
      chunk: chunk.chunk,
      attempt: chunk.attempt,
      jobId: chunk.jobId ?? '',
      state,
      records: chunk.records,
      processed: info?.numberRecordsProcessed ?? 0,
      failed: info?.numberRecordsFailed ?? 0,
    });
  }

  /** write-ahead: the line is on disk before the caller goes on to the side effect it announces */
  private async record(body: JournalEventBody): Promise<void> {
    const event = await this.journal.append(body);
    applyEvent(this.state, event);
    crashPoint(body.type);
  }
}

/** passes the upload through and crashes (in the crash test only) once its first bytes went out */
function tapForCrash(body: Readable): Readable {
  let first = true;
  const tap = new Transform({
    transform(data: Buffer, _encoding, callback): void {
      callback(null, data);
      if (first) setImmediate(() => crashPoint('upload.middle'));
      first = false;
    },
  });
  body.on('error', (error) => tap.destroy(error));
  return body.pipe(tap);
}

/**
 * Whether a failed or unprocessed row of `chunk` goes into the next retry round. Rows of a job
 * that failed on its content (InvalidBatch: a bad header, a bad delete file) would fail again.
 */
function isRetried(chunk: ChunkState, kind: 'failed' | 'unprocessed', code: string, retryable: Set<string>): boolean {
  if (kind === 'failed') return retryable.has(code);
  return !(chunk.finished?.errorMessage ?? '').startsWith('InvalidBatch');
}

/** the highest retry round among chunks (no spread: a step can have very many chunks) */
function lastRoundOf(chunks: ChunkState[]): number {
  return chunks.reduce((round, chunk) => Math.max(round, chunk.attempt), 0);
}

export function evaluateGate(
  step: ResolvedStep,
  counts: { records: number; succeeded: number; failed: number; unprocessed: number }
): { passed: boolean; reason?: string } {
  const accounted = counts.succeeded + counts.failed + counts.unprocessed;
  if (accounted !== counts.records) {
    return { passed: false, reason: messages.getMessage('reason.unaccounted', [counts.records, accounted]) };
  }
  const bad = counts.failed + counts.unprocessed;
  const { percent, records } = step.failureThreshold;
  if (records !== undefined && bad > records) {
    return { passed: false, reason: messages.getMessage('reason.thresholdRecords', [bad, records]) };
  }
  if (percent !== undefined && counts.records > 0 && (bad / counts.records) * 100 > percent) {
    const share = ((bad / counts.records) * 100).toFixed(2);
    return { passed: false, reason: messages.getMessage('reason.thresholdPercent', [bad, share, percent]) };
  }
  return { passed: true };
}

/** the per-step summary of a run, from its journal state alone */
export function summarizeSteps(manifest: LoadedManifest, state: RunState): StepSummary[] {
  const summaries: StepSummary[] = [];
  for (const [wave, ids] of manifest.waves.entries()) {
    for (const id of ids) {
      const step = manifest.steps.find((candidate) => candidate.id === id);
      const known = state.steps.get(id);
      if (!step || !known) continue;
      const done = known.finished;
      const sourceRecords = known.chunks.filter((chunk) => chunk.attempt === 0).reduce((sum, chunk) => sum + chunk.records, 0);
      summaries.push({
        step: id,
        object: step.object,
        operation: step.operation,
        wave,
        records: done?.records ?? sourceRecords,
        succeeded: done?.succeeded ?? known.chunks.reduce((sum, chunk) => sum + (chunk.results?.counts.success ?? 0), 0),
        failed: done?.failed ?? 0,
        unprocessed: done?.unprocessed ?? 0,
        failuresByCode: done?.failuresByCode ?? {},
        jobs: known.chunks.length,
        retryRounds: done?.retryRounds ?? lastRoundOf(known.chunks),
        durationMs: done?.durationMs ?? 0,
        gate: done?.gate ?? 'failed',
        ...(done?.reason ? { gateReason: done.reason } : !done ? { gateReason: messages.getMessage('reason.notFinished') } : {}),
        ...(done?.deadLetters?.length ? { deadLetter: done.deadLetters.join(', ') } : {}),
      });
    }
  }
  return summaries;
}

export function exitCodeOf(outcome: RunOutcome): number {
  return ExitCode[outcome.status];
}
