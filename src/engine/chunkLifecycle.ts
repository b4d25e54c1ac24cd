/*
 * The whole life of one chunk's ingest job, each phase journaled ahead of its side effect as
 * docs/architecture.md §4 says: create, upload (or, after a crash, recover), close, poll to the end, save the
 * three result files, delete — and abandon a job that must never be closed. The engine drives
 * every chunk of a run through `drive`; `sf migrate job resume` drives one closed job through
 * `close`, `waitToEnd` and `saveResults`. Both must write the same events and files, or a later
 * resume would not recognise what the other did.
 */
import { relative } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { Messages, SfError } from '@salesforce/core';
import type { JobState, JournalEventBody } from '../journal/events.js';
import {
  jobAborted,
  jobClosed,
  jobClosing,
  jobCreated,
  jobCreating,
  jobDeleted,
  jobFinished,
  jobUploaded,
  resultsSaved,
} from '../journal/eventBuilders.js';
import type {
  ChunkIn,
  ChunkState,
  ChunkWithLiveJob,
  ChunkWithoutJob,
  FinishedChunk,
  FinishedJob,
  SavedChunk,
} from '../journal/state.js';
import type { RunFolder } from '../journal/runFolder.js';
import { JobIndex, type JobIndexEntry } from '../journal/jobIndex.js';
import type { IngestJobClient } from '../bulk/ingestJobClient.js';
import type { IngestJobInfo, PollWake } from '../bulk/types.js';
import { BulkApiError, UploadInterruptedError, isRetryable } from '../bulk/errors.js';
import type { ResolvedStep } from '../manifest/types.js';
import { crashPoint, crashTestEnabled } from './crashPoints.js';
import { downloadResults, type SavedChunkResults } from './resultDownloads.js';
import type { ChunkPlanner } from './chunkPlanner.js';
import type { SlotSource } from './concurrency.js';
import type { BeforeImageCapture } from './beforeImages.js';
import type { EngineEvents } from './events.js';

Messages.importMessagesDirectoryFromMetaUrl(import.meta.url);
const messages = Messages.loadMessages('@sf-migrate/plugin-migrate', 'engine');

export { downloadResults, type JobEnd, type SavedChunkResults } from './resultDownloads.js';

/** appends an event to the run's journal (durably) and applies it to the run state */
export type RecordEvent = (body: JournalEventBody) => Promise<void>;

export type PollSettings = { initialMs: number; maxMs: number };

export type JobProgress = EngineEvents['job.progress'][0];

export type ChunkLifecycleContext = {
  client: IngestJobClient;
  folder: RunFolder;
  record: RecordEvent;
  planner: ChunkPlanner;
  /** what every job-index entry of the run repeats */
  run: Pick<JobIndexEntry, 'runId' | 'runDir' | 'manifest' | 'username' | 'orgId' | 'instanceUrl'>;
  /** keep jobs in the org after their results are saved */
  keepJobs?: boolean;
  onProgress?: (progress: JobProgress) => void;
  onWarning?: (message: string) => void;
  /** saves what a chunk's job will change, before its job exists (engine/beforeImages.ts) */
  beforeImages?: BeforeImageCapture;
};

/** a job whose upload keeps getting interrupted is given up on after this many fresh jobs */
const MAX_UPLOAD_ATTEMPTS = 8;

export class ChunkLifecycle {
  /** jobs this process created: no need to ask the org about them before uploading */
  private readonly freshJobs = new Set<string>();
  /**
   * Records per second each step's last finished job showed, close to end as this process saw it
   * (queueing and the last poll's lateness included, so it errs slow): it aims the first poll of
   * the step's next job, which otherwise waits out the manifest's whole `poll.initial`.
   */
  private readonly stepRates = new Map<string, number>();
  /** the polls waiting on jobs of this run, told when one of the run's jobs ends (PollOptions.wake) */
  private readonly jobEndListeners = new Set<() => void>();
  private readonly jobEnds: PollWake = {
    subscribe: (listener) => {
      this.jobEndListeners.add(listener);
      return () => this.jobEndListeners.delete(listener);
    },
  };
  /**
   * The same, of the run's last finished job of any step: the first jobs of a step have nothing else
   * to go by, and a step's first short job (a serial-lane job of a few thousand records) otherwise waits
   * out the whole `poll.initial` (bench --compare at 200k: seen 5.3 s late of its 4.9 s). An object
   * slower than the last one costs a poll or two early, never a late one: the wait stays within
   * `poll.initial`, and the job's own progress aims the polls after the first.
   */
  private runRate: number | undefined;

  public constructor(private readonly context: ChunkLifecycleContext) {}

  /**
   * Drives one chunk from whatever phase it is in to its end. `signal` (the --wait budget, or
   * another step's failure) stops it at the next safe point: before a job is created, before an
   * upload (the job is aborted), or during the wait for a closed job (it keeps running in the org).
   *
   * With `processing`, a job is closed (handed to the org to process) only while it holds one of
   * those slots, from its close to its end: the step's next job can then be created and uploaded
   * while the org still processes the earlier ones, and be closed the moment one of them ends,
   * so the org's workers do not sit idle through an upload. A stop while it waits for a slot
   * leaves it uploaded and Open, for the resume to close.
   */
  public async drive(
    step: ResolvedStep,
    chunk: ChunkState,
    signal: AbortSignal,
    processing?: SlotSource,
  ): Promise<void> {
    let uploadAttempts = 0;
    let release: (() => void) | undefined;
    /* eslint-disable no-await-in-loop -- one phase after the other */
    try {
      for (;;) {
        switch (chunk.phase) {
          case 'planned':
          case 'creating':
            if (signal.aborted) return;
            await this.context.beforeImages?.ensure(step, chunk);
            if (++uploadAttempts > MAX_UPLOAD_ATTEMPTS) {
              throw messages.createError('error.UploadKeepsFailing', [step.id, chunk.chunk, MAX_UPLOAD_ATTEMPTS]);
            }
            await this.createJob(step, chunk);
            break;
          case 'created':
            await this.uploadOrRecover(step, chunk, signal);
            break;
          case 'uploaded':
          case 'closing':
            if (processing && !release) {
              release = await processing.acquire(signal);
              // stopped while it waited for a slot: an uploaded job stays Open, so it is not handed to
              // the org while what it waited for (another step sharing its parents, or the step's own
              // jobs) may still be processed there; the resume closes it. A close begun (`closing`)
              // is finished, whatever the PATCH did.
              if (!release && chunk.phase === 'uploaded') return;
            }
            await this.close(chunk);
            break;
          case 'closed':
            if (signal.aborted) return;
            if (!(await this.waitToEnd(chunk, step.poll, { signal }))) return;
            break;
          case 'finished':
            // the org is done with it: its slot goes to the next job before the results download
            release?.();
            await this.saveResults(chunk);
            break;
          case 'saved':
            if (this.context.keepJobs) return;
            await this.deleteJob(chunk);
            return;
          case 'deleted':
            return;
        }
      }
    } finally {
      release?.();
    }
    /* eslint-enable no-await-in-loop */
  }

  /**
   * From `uploaded` or `closing` to `closed`. A close that did not land is decided by the job's
   * real state, as the client found it after the PATCH failed (never by the error's code): a job
   * past Open was closed (by a close of ours whose answer or journal line was lost) and is simply
   * waited for; a job aborted before any record was processed puts the chunk back to `planned`, to
   * go again in a fresh job (its records never loaded); a job aborted after processing some is
   * waited for like any other, and its unprocessed rows are retried. Still Open, or gone: the
   * PATCH's error stands.
   */
  public async close(chunk: ChunkIn<'uploaded' | 'closing'>): Promise<void> {
    const { jobId } = chunk;
    if (chunk.phase === 'uploaded') {
      await this.context.record(jobClosing(chunk, jobId));
    }
    const change = await this.context.client.requestState(jobId, 'UploadComplete');
    if (!change.landed) {
      const { info } = change;
      if (info?.state !== 'Aborted') throw change.error;
      if ((info.numberRecordsProcessed ?? 0) === 0) {
        await this.context.record(jobAborted(chunk, jobId, 'aborted before it was closed'));
        return;
      }
    }
    await this.context.record(jobClosed(chunk, jobId));
  }

  /**
   * Polls a closed job to a terminal state and journals `job.finished`. Resolves undefined when
   * `signal` stopped the wait first (nothing journaled: the job keeps running in the org).
   */
  public async waitToEnd(
    chunk: ChunkIn<'closed'>,
    poll: PollSettings,
    options: { signal?: AbortSignal; onPoll?: (info: IngestJobInfo) => void } = {},
  ): Promise<IngestJobInfo | undefined> {
    const { jobId } = chunk;
    const rateHint = this.stepRates.get(chunk.step) ?? this.runRate;
    const startedAt = Date.now();
    let info: IngestJobInfo;
    try {
      info = await this.context.client.poll(jobId, {
        initialMs: poll.initialMs,
        maxMs: poll.maxMs,
        expectedRecords: chunk.records,
        ...(rateHint === undefined ? {} : { rateHint }),
        ...(options.signal ? { signal: options.signal } : {}),
        wake: this.jobEnds,
        onPoll: (polled) => {
          this.progress(chunk, polled.state, polled);
          options.onPoll?.(polled);
          crashPoint('poll');
        },
      });
    } catch (error) {
      if (options.signal?.aborted) return undefined;
      throw error;
    }
    // its workers go to the run's other jobs, which may speed up: their long waits are cut short
    for (const listener of [...this.jobEndListeners]) listener();
    const processed = info.numberRecordsProcessed ?? 0;
    const elapsedMs = Date.now() - startedAt;
    if (info.state === 'JobComplete' && processed > 0 && elapsedMs > 0) {
      this.runRate = (processed / elapsedMs) * 1000;
      this.stepRates.set(chunk.step, this.runRate);
    }
    await this.context.record(
      jobFinished(chunk, jobId, {
        state: info.state,
        processed: info.numberRecordsProcessed ?? 0,
        failed: info.numberRecordsFailed ?? 0,
        errorMessage: info.errorMessage,
      }),
    );
    this.progress(chunk, info.state, info);
    return info;
  }

  /**
   * Finishes a job whose close the run announced or saw: close it (when only announced), wait for
   * its end, save its results. 'waiting' when `signal` stopped the wait (the job keeps running);
   * 'abandoned' when the close found it aborted before it processed anything (the chunk is back to
   * `planned`, to go again in a fresh job).
   */
  public async finishClosedJob(
    chunk: ChunkIn<'closing' | 'closed' | 'finished'>,
    poll: PollSettings,
    options: { signal?: AbortSignal; onPoll?: (info: IngestJobInfo) => void } = {},
  ): Promise<{ finished: FinishedJob; results: SavedChunkResults } | 'waiting' | 'abandoned'> {
    /* eslint-disable no-await-in-loop -- one phase after the other */
    for (;;) {
      switch (chunk.phase) {
        case 'closing':
          await this.close(chunk);
          break;
        case 'closed':
          if (!(await this.waitToEnd(chunk, poll, options))) return 'waiting';
          break;
        case 'finished':
          return { finished: chunk.finished, results: await this.saveResults(chunk) };
        default:
          return 'abandoned';
      }
    }
    /* eslint-enable no-await-in-loop */
  }

  /**
   * Saves the three result files into the run folder (downloading those the job's journaled end
   * does not prove empty: see downloadResults) and journals `results.saved`.
   */
  public async saveResults(chunk: FinishedChunk | SavedChunk): Promise<SavedChunkResults> {
    const { jobId } = chunk;
    const { folder } = this.context;
    this.progress(chunk, 'Saving');
    const files = {
      success: folder.resultFile(chunk.step, jobId, 'success'),
      failed: folder.resultFile(chunk.step, jobId, 'failed'),
      unprocessed: folder.resultFile(chunk.step, jobId, 'unprocessed'),
    };
    const { finished } = chunk;
    const counts = await downloadResults(this.context.client, jobId, files, {
      state: finished.state,
      processed: finished.processed,
      failed: finished.failed,
      uploaded: chunk.records,
    });
    const saved = {
      success: relative(folder.dir, files.success),
      failed: relative(folder.dir, files.failed),
      unprocessed: relative(folder.dir, files.unprocessed),
    };
    await this.context.record(resultsSaved(chunk, jobId, saved, counts));
    return { files, counts };
  }

  private async createJob(step: ResolvedStep, chunk: ChunkWithoutJob): Promise<void> {
    const { client, record, planner, run } = this.context;
    if (chunk.phase === 'planned') await record(jobCreating(chunk));
    const info = await client.create({
      object: step.object,
      operation: step.operation,
      ...(step.externalIdField ? { externalIdFieldName: step.externalIdField } : {}),
      columnDelimiter: step.columnDelimiter,
      lineEnding: await planner.lineEndingOf(step, chunk),
      ...(step.assignmentRuleId ? { assignmentRuleId: step.assignmentRuleId } : {}),
    });
    this.freshJobs.add(info.id);
    await record(jobCreated(chunk, info.id));
    await JobIndex.record({
      ...run,
      jobId: info.id,
      step: step.id,
      chunk: chunk.chunk,
      object: step.object,
      operation: step.operation,
      createdAt: new Date().toISOString(),
    });
  }

  private async uploadOrRecover(step: ResolvedStep, chunk: ChunkIn<'created'>, signal: AbortSignal): Promise<void> {
    const { jobId } = chunk;
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
    if (signal.aborted) {
      // not uploaded yet: abort it now; resume starts the chunk afresh with a new job
      return this.abandonJob(chunk, true, 'the run stopped before its upload');
    }
    const body = await this.context.planner.uploadBody(step, chunk);
    this.progress(chunk, 'Uploading');
    try {
      const { bytes } = await this.context.client.upload(jobId, () =>
        crashTestEnabled ? tapForCrash(body()) : body(),
      );
      await this.context.record(jobUploaded(chunk, jobId, bytes));
    } catch (error) {
      if (error instanceof UploadInterruptedError && error.origin === 'body') {
        // The source no longer reads as planned (or cannot be read): it would fail the same way in
        // any job, so the run stops. The body never ended, so the job holds no complete upload;
        // abort it now (if that fails, resume aborts it, as it never closes a job it did not see
        // uploaded). Its cause (SourceChanged) is what the user must act on.
        crashPoint('upload.refused');
        await this.abandonJob(chunk, true, error.message).catch(() => undefined);
        throw error.cause instanceof SfError ? error.cause : error;
      }
      if (!(error instanceof UploadInterruptedError) || !isRetryable(error)) throw error;
      const warning = messages.getMessage('warning.uploadInterrupted', [step.id, chunk.chunk, jobId, error.message]);
      this.context.onWarning?.(warning);
      await this.abandonJob(chunk, true, error.message);
    }
  }

  private async infoOrMissing(jobId: string): Promise<IngestJobInfo | undefined> {
    try {
      return await this.context.client.info(jobId);
    } catch (error) {
      if (error instanceof BulkApiError && error.errorCode === 'NOT_FOUND') return undefined;
      throw error;
    }
  }

  /** gives up a job that was never closed: aborted in the org (when asked), the chunk back to `planned` */
  private async abandonJob(chunk: ChunkWithLiveJob, abortInOrg: boolean, reason: string): Promise<void> {
    const { jobId } = chunk;
    if (abortInOrg) {
      const change = await this.context.client.requestState(jobId, 'Aborted');
      // not aborted: fine if it is gone; still Open, the PATCH's error stands; but a job someone
      // else closed holds records that may be processed, and the chunk must not go again in a new job
      if (!change.landed && change.info) {
        if (change.info.state === 'Open') throw change.error;
        throw messages.createError('error.JobClosedOutsideRun', [jobId, chunk.step, chunk.chunk, change.info.state]);
      }
    }
    await this.context.record(jobAborted(chunk, jobId, reason));
  }

  private async deleteJob(chunk: SavedChunk): Promise<void> {
    const { jobId } = chunk;
    try {
      await this.context.client.delete(jobId);
    } catch (error) {
      // the results are safe on disk; a job left behind costs nothing but a line in the org's list
      if (!(error instanceof BulkApiError && error.errorCode === 'NOT_FOUND')) {
        this.context.onWarning?.(messages.getMessage('warning.deleteFailed', [jobId, (error as Error).message]));
        return;
      }
      // gone already: a crash came between the DELETE and its journal line
    }
    await this.context.record(jobDeleted(chunk, jobId));
  }

  private progress(chunk: ChunkState, state: JobState | 'Uploading' | 'Saving', info?: IngestJobInfo): void {
    this.context.onProgress?.({
      step: chunk.step,
      chunk: chunk.chunk,
      attempt: chunk.attempt,
      jobId: chunk.jobId ?? '',
      state,
      records: chunk.records,
      processed: info?.numberRecordsProcessed ?? 0,
      failed: info?.numberRecordsFailed ?? 0,
    });
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
