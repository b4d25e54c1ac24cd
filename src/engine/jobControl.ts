/*
 * One ingest job of a run, during cutover (`sf migrate job status|resume|abort|results`). The job
 * index in the sf state folder says which run, step, chunk and org a job id belongs to, so these
 * work from any directory. Whatever they change in the org they also journal in the job's run —
 * with the run's lock held, exactly as the engine would — so the next `sf migrate resume` sees it.
 */
import { join, resolve } from 'node:path';
import { Messages, SfError } from '@salesforce/core';
import type { JobState } from '../journal/events.js';
import type { JobIndexEntry } from '../journal/jobIndex.js';
import { exists } from '../journal/durable.js';
import { openRunForWriting, type WritableRun } from '../journal/writableRun.js';
import { findChunk, hasLiveJob, type ChunkState } from '../journal/state.js';
import { jobAborted, jobFinished } from '../journal/eventBuilders.js';
import { isTerminalJobState, type IngestJobInfo } from '../bulk/types.js';
import type { LoadedManifest, Operation } from '../manifest/types.js';
import { loadRunManifest } from './resumeRun.js';
import { ChunkLifecycle, downloadResults } from './chunkLifecycle.js';
import { ChunkPlanner } from './chunkPlanner.js';
import { jobCommand, resumeCommand, statusCommand } from './commandLines.js';
import {
  folderOf,
  infoOrNotFound,
  readRunInfo,
  resolveJob,
  runInfo,
  type JobOrgs,
  type JobRunInfo,
  type ResolvedJob,
} from './jobLookup.js';

Messages.importMessagesDirectoryFromMetaUrl(import.meta.url);
const messages = Messages.loadMessages('@sf-migrate/plugin-migrate', 'job.control');

export type JobStatusResult = {
  jobId: string;
  object: string;
  operation: Operation;
  state: JobState;
  processed: number;
  failed: number;
  errorMessage?: string;
  createdDate?: string;
  run?: JobRunInfo;
};

/** `sf migrate job status`: the org's view of the job, and the run's */
export async function jobStatus(jobId: string, orgs: JobOrgs): Promise<JobStatusResult> {
  const job = await resolveJob(jobId, orgs);
  const info = await infoOrNotFound(job.client, job.jobId, job.entry);
  return {
    jobId: job.jobId,
    object: info.object,
    operation: info.operation,
    state: info.state,
    processed: info.numberRecordsProcessed ?? 0,
    failed: info.numberRecordsFailed ?? 0,
    ...(info.errorMessage ? { errorMessage: info.errorMessage } : {}),
    ...(info.createdDate ? { createdDate: info.createdDate } : {}),
    ...(job.entry ? { run: await readRunInfo(job.entry, job.jobId) } : {}),
  };
}

/** a run opened for writing (see openRunForWriting), with its manifest copy when asked for */
type HeldRun = WritableRun & { manifest?: LoadedManifest };

async function holdRun(entry: JobIndexEntry, warn: (message: string) => void, withManifest = false): Promise<HeldRun> {
  const held = await openRunForWriting(folderOf(entry), { onWarning: warn });
  if (!withManifest) return held;
  try {
    // the poll settings of the step as the run has it: its own manifest copy
    return { ...held, manifest: await loadRunManifest(held.folder, held.state) };
  } catch (error) {
    await held.release();
    throw error;
  }
}

/** the chunk lifecycle of the engine, on a run held for writing, for one job of it */
function lifecycleOf(job: ResolvedJob, entry: JobIndexEntry, held: HeldRun): ChunkLifecycle {
  return new ChunkLifecycle({
    client: job.client,
    folder: held.folder,
    record: held.record,
    planner: new ChunkPlanner(held.state, held.record),
    run: entry,
  });
}

function resumeCommandOf(entry: JobIndexEntry): string {
  return resumeCommand(entry.manifest, entry.runId);
}

export type JobResumeResult = {
  jobId: string;
  runId: string;
  runDir: string;
  step: string;
  chunk: number;
  attempt: number;
  /** finished: the job ended and its results are saved in the run; waiting: --wait ran out first */
  status: 'finished' | 'waiting';
  /** the job's final state */
  state?: JobState;
  processed?: number;
  failed?: number;
  errorMessage?: string;
  results?: {
    /** absolute paths */
    files: { success: string; failed: string; unprocessed: string };
    counts: { success: number; failed: number; unprocessed: number };
  };
  /** what to run next: this command again when waiting, else the run-level resume */
  nextCommand: string;
};

export type JobResumeOptions = {
  orgs: JobOrgs;
  /** stops the wait (the --wait budget); the job keeps running in the org */
  signal?: AbortSignal;
  onPoll?: (info: IngestJobInfo) => void;
  onWarning?: (message: string) => void;
};

/**
 * `sf migrate job resume`: re-attaches to one closed job and finishes it into its run — close it
 * if the close was announced but not confirmed, poll it to the end, save its results — journaling
 * each step under the run's lock, so the run-level resume finds the chunk saved.
 *
 * @throws SfError `JobNotIndexedError` (the job belongs to no known run), `RunLockedError` (the
 * run's process is alive), `JobReplacedError` (the chunk moved on to another job),
 * `JobAlreadySavedError` (nothing left to do), `JobNotClosedError` (only the run-level resume may
 * decide what happens to a job that was never closed).
 */
export async function resumeJob(jobId: string, options: JobResumeOptions): Promise<JobResumeResult> {
  const job = await resolveJob(jobId, options.orgs);
  const entry = job.entry;
  if (!entry) {
    throw messages.createError('error.JobNotInRun', [job.jobId], [job.jobId]);
  }
  const warn = options.onWarning ?? ((): void => {});
  const held = await holdRun(entry, warn, true);
  try {
    const chunk = findChunk(held.state, { step: entry.step, chunk: entry.chunk });
    const base = {
      jobId: job.jobId,
      runId: entry.runId,
      runDir: held.folder.dir,
      step: entry.step,
      chunk: entry.chunk,
      attempt: chunk?.attempt ?? 0,
    };
    if (!chunk || chunk.jobId !== job.jobId) {
      throw messages.createError('error.JobReplaced', [job.jobId, entry.step, entry.chunk], [resumeCommandOf(entry)]);
    }
    if (chunk.phase === 'saved' || chunk.phase === 'deleted') {
      const next = held.state.finished ? statusCommand(entry.manifest, entry.runId) : resumeCommandOf(entry);
      throw messages.createError('error.JobAlreadySaved', [job.jobId, entry.runId], [next]);
    }
    if (chunk.phase !== 'closing' && chunk.phase !== 'closed' && chunk.phase !== 'finished') {
      throw messages.createError('error.JobNotClosed', [job.jobId, chunk.phase], [resumeCommandOf(entry)]);
    }
    // the poll settings of the step as the run has it (its own manifest copy)
    const step = held.manifest?.steps.find((candidate) => candidate.id === entry.step);
    if (!step) throw messages.createError('error.UnknownStep', [entry.runId, entry.step], [resumeCommandOf(entry)]);
    const ended = await lifecycleOf(job, entry, held).finishClosedJob(chunk, step.poll, {
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onPoll ? { onPoll: options.onPoll } : {}),
    });
    if (ended === 'waiting') {
      return { ...base, status: 'waiting', nextCommand: jobCommand('resume', job.jobId) };
    }
    if (ended === 'abandoned') {
      // the close found the job aborted before it processed anything: the chunk goes again in a new job
      throw messages.createError('error.JobReplaced', [job.jobId, entry.step, entry.chunk], [resumeCommandOf(entry)]);
    }
    const { finished, results } = ended;
    return {
      ...base,
      status: 'finished',
      state: finished.state,
      processed: finished.processed,
      failed: finished.failed,
      ...(finished.errorMessage ? { errorMessage: finished.errorMessage } : {}),
      results,
      nextCommand: resumeCommandOf(entry),
    };
  } finally {
    await held.release();
  }
}

export type JobAbortResult = {
  jobId: string;
  /** the state the org reported before the abort */
  previousState: JobState;
  state: JobState;
  run?: JobRunInfo;
  /** the event written to the run's journal; none when the run's own process is alive (it sees the abort on its next poll) or the job is not in a run */
  journaled: 'job.aborted' | 'job.finished' | 'none';
  /** the live process that drives the job's run */
  runLockedBy?: { pid: number; host: string };
};

function lockOwnerOf(error: unknown): { pid: number; host: string } | undefined {
  if (!(error instanceof SfError) || error.name !== 'RunLockedError') return undefined;
  const data = error.data as { pid?: unknown; host?: unknown } | undefined;
  return { pid: Number(data?.pid ?? 0), host: String(data?.host ?? '') };
}

/**
 * `sf migrate job abort`: aborts the job in the org. When its run is not driven by a live
 * process, the journal learns it too: a job aborted while still Open was never processed, so its
 * chunk starts again with a fresh job (`job.aborted`); a job aborted after its close may have
 * processed part of its records, so it is finished as Aborted (`job.finished`) and the run
 * accounts for its unprocessed records (retrying them when they are retriable).
 *
 * @throws SfError `JobAlreadyFinishedError` for a job in JobComplete, Failed or Aborted.
 */
export async function abortJob(
  jobId: string,
  options: { orgs: JobOrgs; onWarning?: (message: string) => void },
): Promise<JobAbortResult> {
  const job = await resolveJob(jobId, options.orgs);
  const before = await infoOrNotFound(job.client, job.jobId, job.entry);
  if (isTerminalJobState(before.state)) {
    const error = messages.createError('error.JobAlreadyFinished', [job.jobId, before.state], [job.jobId]);
    error.setData({ jobId: job.jobId, state: before.state });
    throw error;
  }
  const entry = job.entry;
  let held: HeldRun | undefined;
  let runLockedBy: { pid: number; host: string } | undefined;
  if (entry && (await exists(folderOf(entry).journalPath))) {
    try {
      held = await holdRun(entry, options.onWarning ?? ((): void => {}));
    } catch (error) {
      runLockedBy = lockOwnerOf(error);
      if (!runLockedBy) throw error;
    }
  }
  try {
    const after = await abortedOrRefused(job, before);
    let journaled: JobAbortResult['journaled'] = 'none';
    let chunk: ChunkState | undefined;
    if (held && entry) {
      chunk = findChunk(held.state, { step: entry.step, chunk: entry.chunk });
      if (chunk && chunk.jobId === job.jobId && hasLiveJob(chunk)) {
        if (before.state === 'Open' && chunk.phase !== 'closed') {
          await held.record(jobAborted(chunk, job.jobId, messages.getMessage('reason.aborted')));
          journaled = 'job.aborted';
        } else {
          // counts as they stood when processing stopped
          const final = await job.client.info(job.jobId);
          await held.record(
            jobFinished(chunk, job.jobId, {
              state: final.state,
              processed: final.numberRecordsProcessed ?? 0,
              failed: final.numberRecordsFailed ?? 0,
              errorMessage: final.errorMessage ?? messages.getMessage('reason.aborted'),
            }),
          );
          journaled = 'job.finished';
        }
      }
    }
    return {
      jobId: job.jobId,
      previousState: before.state,
      state: after.state,
      ...(entry ? { run: held ? runInfo(entry, chunk, job.jobId) : await readRunInfo(entry, job.jobId) } : {}),
      journaled,
      ...(runLockedBy ? { runLockedBy } : {}),
    };
  } finally {
    await held?.release();
  }
}

/**
 * The job after its abort. An abort that did not land is decided by the job's real state, as the
 * client found it after the PATCH failed: gone, or finished meanwhile, is said as such; otherwise
 * the PATCH's own error stands.
 */
async function abortedOrRefused(job: ResolvedJob, before: IngestJobInfo): Promise<IngestJobInfo> {
  const change = await job.client.requestState(job.jobId, 'Aborted');
  if (change.landed) return change.info;
  if (!change.info) {
    // gone between the first look and the abort: say so as a first look would have
    return infoOrNotFound(job.client, job.jobId, job.entry);
  }
  if (isTerminalJobState(change.info.state)) {
    const error = messages.createError('error.JobAlreadyFinished', [job.jobId, change.info.state], [job.jobId]);
    error.setData({ jobId: job.jobId, state: change.info.state, previousState: before.state });
    throw error;
  }
  throw change.error;
}

export type JobResultsResult = {
  jobId: string;
  state: JobState;
  outputDir: string;
  /** absolute paths */
  files: { success: string; failed: string; unprocessed: string };
  counts: { success: number; failed: number; unprocessed: number };
  run?: JobRunInfo;
  /** the download completed the chunk in its run's journal (`results.saved`) */
  journaled: boolean;
};

/**
 * Saves the results of a chunk the run has seen finish but not saved yet, exactly as the engine
 * would; undefined when that is not the case or the run's own process is alive (it saves them).
 */
async function saveIntoRun(
  job: ResolvedJob,
  entry: JobIndexEntry,
  state: JobState,
  onWarning?: (message: string) => void,
): Promise<JobResultsResult | undefined> {
  let held: HeldRun | undefined;
  try {
    held = await holdRun(entry, onWarning ?? ((): void => {}));
  } catch (error) {
    if (lockOwnerOf(error)) return undefined;
    throw error;
  }
  try {
    const chunk = findChunk(held.state, { step: entry.step, chunk: entry.chunk });
    if (!chunk || chunk.jobId !== job.jobId || chunk.phase !== 'finished') return undefined;
    const saved = await lifecycleOf(job, entry, held).saveResults(chunk);
    return {
      jobId: job.jobId,
      state,
      outputDir: held.folder.resultsDir(entry.step),
      ...saved,
      run: runInfo(entry, chunk, job.jobId),
      journaled: true,
    };
  } finally {
    await held.release();
  }
}

/**
 * `sf migrate job results`: streams the three result files of a finished job to `outputDir`
 * (default: the run folder's results/<step>/ for an indexed job, else the current directory),
 * named like the engine names them. When they land in the run folder of a chunk whose results
 * the run has not saved yet, and the run is not driven by a live process, `results.saved` is
 * journaled so the run does not download them again.
 *
 * @throws SfError `JobNotFinishedError` while the job can still change (no final results yet).
 */
export async function jobResults(
  jobId: string,
  options: { orgs: JobOrgs; outputDir?: string; onWarning?: (message: string) => void },
): Promise<JobResultsResult> {
  const job = await resolveJob(jobId, options.orgs);
  const info = await infoOrNotFound(job.client, job.jobId, job.entry);
  if (!isTerminalJobState(info.state)) {
    const error = messages.createError('error.JobNotFinished', [job.jobId, info.state], [job.jobId, job.jobId]);
    error.setData({ jobId: job.jobId, state: info.state });
    throw error;
  }
  const entry = job.entry;
  const folder = entry ? folderOf(entry) : undefined;
  const intoRun = options.outputDir === undefined && folder !== undefined && (await exists(folder.journalPath));
  if (intoRun && entry) {
    const saved = await saveIntoRun(job, entry, info.state, options.onWarning);
    if (saved) return saved;
  }
  const outputDir = options.outputDir
    ? resolve(options.outputDir)
    : intoRun && entry && folder
      ? folder.resultsDir(entry.step)
      : process.cwd();
  const files = {
    success: join(outputDir, `${job.jobId}-success.csv`),
    failed: join(outputDir, `${job.jobId}-failed.csv`),
    unprocessed: join(outputDir, `${job.jobId}-unprocessed.csv`),
  };
  // the org's counts alone can prove the failed file of a clean job empty (see downloadResults)
  const end =
    info.numberRecordsProcessed !== undefined && info.numberRecordsFailed !== undefined
      ? { state: info.state, processed: info.numberRecordsProcessed, failed: info.numberRecordsFailed }
      : undefined;
  const counts = await downloadResults(job.client, job.jobId, files, end);
  return {
    jobId: job.jobId,
    state: info.state,
    outputDir,
    files,
    counts,
    ...(entry ? { run: await readRunInfo(entry, job.jobId) } : {}),
    journaled: false,
  };
}
