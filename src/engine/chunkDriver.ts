/*
 * The last phases of a chunk's job (close, poll to the end, save the three result files), each
 * journaled exactly as DESIGN §4 says. Shared by the engine, which drives every chunk of a run,
 * and by `sf migrate job resume`, which drives one job into its run: both must write the same
 * events and the same files, or a later resume would not recognise what the other did.
 */
import { relative } from 'node:path';
import type { JournalEventBody } from '../journal/events.js';
import type { ChunkState } from '../journal/state.js';
import type { RunFolder } from '../journal/runFolder.js';
import type { IngestJobClient } from '../bulk/ingestJobClient.js';
import type { IngestJobInfo } from '../bulk/types.js';
import { BulkApiError } from '../bulk/errors.js';
import { crashPoint } from './crashPoints.js';

/** states a job can only reach through UploadComplete */
const CLOSED_STATES = new Set(['UploadComplete', 'InProgress', 'JobComplete', 'Failed']);

/** appends an event to the run's journal (durably) and applies it to the run state */
export type RecordEvent = (body: JournalEventBody) => Promise<void>;

export type PollSettings = { initialMs: number; maxMs: number };

export type SavedChunkResults = {
  /** absolute paths */
  files: { success: string; failed: string; unprocessed: string };
  counts: { success: number; failed: number; unprocessed: number };
};

/**
 * Streams a job's three result files to `files`, one after the other: three parallel downloads
 * per job would multiply the open connections of a wide wave for no gain in a step that has other
 * jobs to overlap with. Shared by the engine and `sf migrate job results`.
 */
export async function downloadResults(
  client: IngestJobClient,
  jobId: string,
  files: SavedChunkResults['files']
): Promise<SavedChunkResults['counts']> {
  const success = await client.saveResults(jobId, 'successful', files.success);
  crashPoint('results.middle');
  const failed = await client.saveResults(jobId, 'failed', files.failed);
  const unprocessed = await client.saveResults(jobId, 'unprocessed', files.unprocessed);
  return { success: success.records, failed: failed.records, unprocessed: unprocessed.records };
}

export class ChunkDriver {
  public constructor(
    private readonly client: IngestJobClient,
    private readonly folder: RunFolder,
    private readonly record: RecordEvent
  ) {}

  /**
   * From `uploaded` or `closing` to `closed`. A refused close (INVALIDJOBSTATE) is looked into: a
   * job past Open was closed (by a close of ours whose answer or journal line was lost) and is
   * simply waited for; a job aborted before any record was processed puts the chunk back to
   * `planned`, to go again in a fresh job (its records never loaded); a job aborted after
   * processing some is waited for like any other, and its unprocessed rows are retried.
   */
  public async close(chunk: ChunkState): Promise<void> {
    const jobId = chunk.jobId as string;
    if (chunk.phase === 'uploaded') {
      await this.record({ type: 'job.closing', step: chunk.step, chunk: chunk.chunk, jobId });
    }
    try {
      await this.client.close(jobId);
    } catch (error) {
      if (!(error instanceof BulkApiError && error.errorCode === 'INVALIDJOBSTATE')) throw error;
      const info = await this.client.info(jobId);
      if (info.state === 'Aborted' && (info.numberRecordsProcessed ?? 0) === 0) {
        await this.record({ type: 'job.aborted', step: chunk.step, chunk: chunk.chunk, jobId, reason: 'aborted before it was closed' });
        return;
      }
      if (!CLOSED_STATES.has(info.state) && info.state !== 'Aborted') throw error;
    }
    await this.record({ type: 'job.closed', step: chunk.step, chunk: chunk.chunk, jobId });
  }

  /**
   * Polls a closed job to a terminal state and journals `job.finished`. Resolves undefined when
   * `signal` stopped the wait first (nothing journaled: the job keeps running in the org).
   */
  public async waitToEnd(
    chunk: ChunkState,
    poll: PollSettings,
    options: { signal?: AbortSignal; onPoll?: (info: IngestJobInfo) => void } = {}
  ): Promise<IngestJobInfo | undefined> {
    const jobId = chunk.jobId as string;
    let info: IngestJobInfo;
    try {
      info = await this.client.poll(jobId, {
        initialMs: poll.initialMs,
        maxMs: poll.maxMs,
        ...(options.signal ? { signal: options.signal } : {}),
        onPoll: (polled) => {
          options.onPoll?.(polled);
          crashPoint('poll');
        },
      });
    } catch (error) {
      if (options.signal?.aborted) return undefined;
      throw error;
    }
    await this.record({
      type: 'job.finished',
      step: chunk.step,
      chunk: chunk.chunk,
      jobId,
      state: info.state,
      processed: info.numberRecordsProcessed ?? 0,
      failed: info.numberRecordsFailed ?? 0,
      ...(info.errorMessage ? { errorMessage: info.errorMessage } : {}),
    });
    return info;
  }

  /** downloads the three result files into the run folder and journals `results.saved` */
  public async saveResults(chunk: ChunkState): Promise<SavedChunkResults> {
    const jobId = chunk.jobId as string;
    const files = {
      success: this.folder.resultFile(chunk.step, jobId, 'success'),
      failed: this.folder.resultFile(chunk.step, jobId, 'failed'),
      unprocessed: this.folder.resultFile(chunk.step, jobId, 'unprocessed'),
    };
    const counts = await downloadResults(this.client, jobId, files);
    await this.record({
      type: 'results.saved',
      step: chunk.step,
      chunk: chunk.chunk,
      jobId,
      files: {
        success: relative(this.folder.dir, files.success),
        failed: relative(this.folder.dir, files.failed),
        unprocessed: relative(this.folder.dir, files.unprocessed),
      },
      counts,
    });
    return { files, counts };
  }
}
