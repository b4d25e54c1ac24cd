/*
 * Where a run stands, read from its journal without taking it over (`sf migrate status`): its
 * waves, steps and every chunk's job with the phase its last journal line left it in, whether a
 * live process drives it, and — on request — what the org says about the jobs not yet finished.
 */
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { Messages } from '@salesforce/core';
import type { JobState } from '../journal/events.js';
import { hasLiveJob, type ChunkPhase, type ChunkState, type RunState } from '../journal/state.js';
import { listRuns, type RunFolder } from '../journal/runFolder.js';
import { isProcessAlive } from '../journal/lock.js';
import { readJournalEnds } from '../journal/journal.js';
import { normalizeSalesforceId } from '../journal/salesforceId.js';
import type { IngestJobClient } from '../bulk/ingestJobClient.js';
import { BulkApiError } from '../bulk/errors.js';
import type { LoadedManifest, Operation } from '../manifest/types.js';
import type { StepSummary } from './outcome.js';
import { openRun } from './resumeRun.js';
import { summarizeSteps } from './stepAccounting.js';
import { forEachConcurrent } from './concurrency.js';
import { resumeCommand } from './commandLines.js';
import { journaledThroughput, waveThroughput } from './throughput.js';

Messages.importMessagesDirectoryFromMetaUrl(import.meta.url);
const messages = Messages.loadMessages('@sf-migrate/plugin-migrate', 'status');

/** the owner recorded in a run's lock file, and whether it is still running */
export type RunLockInfo = { pid: number; host: string; startedAt: string; alive: boolean };

/** finished: the journal ends with run.finished; running: a live process holds the lock; else interrupted */
export type RunActivity = 'finished' | 'running' | 'interrupted';

export type WaveStatus = {
  wave: number;
  steps: string[];
  status: 'pending' | 'running' | 'passed' | 'failed';
  /** of a running wave: its steps' rates added up */
  recordsPerSecond?: number;
  /** of a running wave: the time its slowest step still needs */
  etaSeconds?: number;
};

export type StepStatus = {
  step: string;
  object: string;
  operation: Operation;
  wave: number;
  status: 'pending' | 'running' | 'finished';
  gate?: 'passed' | 'failed';
  gateReason?: string;
  records: number;
  succeeded: number;
  failed: number;
  unprocessed: number;
  jobs: number;
  /** records its finished jobs processed per second, from its first close to its last finish */
  recordsPerSecond?: number;
  /** of a running step: the time the rest of its records need at that rate */
  etaSeconds?: number;
};

/** what the org answered for a job when --refresh asked; NotFound when the org no longer has it */
export type LiveJobInfo = {
  state: JobState | 'NotFound';
  processed: number;
  failed: number;
  errorMessage?: string;
};

export type JobStatus = {
  step: string;
  chunk: number;
  /** 0 for source chunks, n for the n-th retry round */
  attempt: number;
  records: number;
  /** the chunk's current job; absent before one is created (or after it was aborted) */
  jobId?: string;
  phase: ChunkPhase;
  /** the state journaled by job.finished */
  state?: JobState;
  processed?: number;
  failed?: number;
  errorMessage?: string;
  /** counts of the saved result files */
  results?: { success: number; failed: number; unprocessed: number };
  /** jobs of this chunk aborted before they were closed */
  abandonedJobs?: string[];
  live?: LiveJobInfo;
};

export type StatusResult = {
  runId: string;
  runDir: string;
  manifest: string;
  username: string;
  orgId: string;
  startedAt: string;
  lastEventAt?: string;
  activity: RunActivity;
  /** run.finished status */
  status?: 'succeeded' | 'completedWithFailures' | 'failed';
  reason?: string;
  lock?: RunLockInfo;
  /** the journal ended with a line torn by a crash (resume drops it) */
  tornLine: boolean;
  refreshed: boolean;
  waves: WaveStatus[];
  steps: StepStatus[];
  jobs: JobStatus[];
  /** the command that continues the run, when it is interrupted */
  resumeCommand?: string;
};

/** what --refresh needs: a client on the run's org, and that org's id to check it is the run's */
export type OrgAccess = { client: IngestJobClient; orgId: string };

export type RunStatusOptions = {
  root: string;
  /** default: the newest run, finished or not */
  runId?: string;
  /** given: ask the org for the live state of every job not finished in the journal */
  refresh?: (run: { username: string; orgId: string }) => Promise<OrgAccess>;
};

const REFRESH_CONCURRENCY = 8;

/**
 * The lock file's owner, undefined when there is no lock (or an unreadable one: a crash while it
 * was written). A lock of another host counts as alive: its process cannot be checked from here,
 * and `acquireRunLock` refuses it too.
 */
export async function readRunLock(folder: RunFolder): Promise<RunLockInfo | undefined> {
  let raw: string;
  try {
    raw = await readFile(folder.lockPath, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const owner = JSON.parse(raw) as Partial<RunLockInfo>;
    if (typeof owner.pid !== 'number' || typeof owner.host !== 'string') return undefined;
    const alive = owner.host !== hostname() || isProcessAlive(owner.pid);
    return { pid: owner.pid, host: owner.host, startedAt: String(owner.startedAt ?? ''), alive };
  } catch {
    return undefined;
  }
}

function jobStatus(chunk: ChunkState): JobStatus {
  return {
    step: chunk.step,
    chunk: chunk.chunk,
    attempt: chunk.attempt,
    records: chunk.records,
    ...(chunk.jobId ? { jobId: chunk.jobId } : {}),
    phase: chunk.phase,
    ...(chunk.finished
      ? {
          state: chunk.finished.state,
          processed: chunk.finished.processed,
          failed: chunk.finished.failed,
          ...(chunk.finished.errorMessage ? { errorMessage: chunk.finished.errorMessage } : {}),
        }
      : {}),
    ...(chunk.results ? { results: { ...chunk.results.counts } } : {}),
    ...(chunk.abandonedJobIds.length > 0 ? { abandonedJobs: [...chunk.abandonedJobIds] } : {}),
  };
}

async function liveInfo(client: IngestJobClient, jobId: string): Promise<LiveJobInfo> {
  try {
    const info = await client.info(jobId);
    return {
      state: info.state,
      processed: info.numberRecordsProcessed ?? 0,
      failed: info.numberRecordsFailed ?? 0,
      ...(info.errorMessage ? { errorMessage: info.errorMessage } : {}),
    };
  } catch (error) {
    if (error instanceof BulkApiError && error.errorCode === 'NOT_FOUND')
      return { state: 'NotFound', processed: 0, failed: 0 };
    throw error;
  }
}

function stepStatus(
  manifest: LoadedManifest,
  state: RunState,
  summary: StepSummary | undefined,
  id: string,
  wave: number,
): StepStatus {
  const step = manifest.steps.find((candidate) => candidate.id === id);
  const known = state.steps.get(id);
  // retries re-process records the source chunks already counted
  const sourceJobs = (known?.chunks ?? []).filter((chunk) => chunk.attempt === 0);
  const { recordsPerSecond, etaSeconds } = journaledThroughput(
    sourceJobs.map((chunk) => ({
      records: chunk.records,
      ...(chunk.closedAt === undefined ? {} : { closedAt: chunk.closedAt }),
      ...(chunk.finishedAt === undefined || !chunk.finished
        ? {}
        : { finishedAt: chunk.finishedAt, processed: chunk.finished.processed }),
    })),
  );
  const running = (known?.status ?? 'pending') === 'running';
  return {
    step: id,
    object: step?.object ?? known?.object ?? '',
    operation: step?.operation ?? known?.operation ?? 'insert',
    wave,
    status: known?.status ?? 'pending',
    ...(known?.finished ? { gate: known.finished.gate } : {}),
    ...(known?.finished?.reason ? { gateReason: known.finished.reason } : {}),
    records: summary?.records ?? 0,
    succeeded: summary?.succeeded ?? 0,
    failed: summary?.failed ?? 0,
    unprocessed: summary?.unprocessed ?? 0,
    jobs: summary?.jobs ?? 0,
    ...(recordsPerSecond === undefined ? {} : { recordsPerSecond }),
    ...(running && etaSeconds !== undefined ? { etaSeconds } : {}),
  };
}

/** every wave and step of the run's manifest, in wave order, started or not */
function wavesAndSteps(manifest: LoadedManifest, state: RunState): { waves: WaveStatus[]; steps: StepStatus[] } {
  const summaries = new Map(summarizeSteps(manifest, state).map((summary) => [summary.step, summary]));
  const steps: StepStatus[] = [];
  const waves: WaveStatus[] = [];
  for (const [wave, ids] of manifest.waves.entries()) {
    const gate = state.waves.get(wave)?.gate;
    const status = gate ?? (state.waves.has(wave) ? 'running' : 'pending');
    const waveSteps = ids.map((id) => stepStatus(manifest, state, summaries.get(id), id, wave));
    const estimate = status === 'running' ? waveThroughput(waveSteps) : {};
    waves.push({ wave, steps: [...ids], status, ...estimate });
    steps.push(...waveSteps);
  }
  return { waves, steps };
}

/**
 * Reads one run (default: the newest under `root`) into a StatusResult.
 *
 * @throws SfError `NoRunsError` when `root` holds no run, the errors of `openRun` for a run that
 * cannot be read, and `RunOfAnotherOrgError` when --refresh is given an org the run did not load.
 */
export async function runStatus(options: RunStatusOptions): Promise<StatusResult> {
  let runId = options.runId;
  if (runId === undefined) {
    // a folder whose journal never got its first line is a run that never started: skip it
    const newest = (await listRuns(options.root)).find(
      (run) => run.startedAt !== undefined || run.unreadable !== undefined,
    );
    if (!newest) throw messages.createError('error.NoRuns', [options.root]);
    runId = newest.runId;
  }
  const { folder, state, manifest, torn } = await openRun(options.root, runId);
  const started = state.started!;
  const lock = state.finished ? undefined : await readRunLock(folder);
  const activity: RunActivity = state.finished ? 'finished' : lock?.alive ? 'running' : 'interrupted';

  const { waves, steps } = wavesAndSteps(manifest, state);
  const chunks = steps.flatMap((step) => state.steps.get(step.step)?.chunks ?? []);
  const jobs = chunks.map(jobStatus);

  if (options.refresh) {
    const access = await options.refresh({ username: started.username, orgId: started.orgId });
    if (normalizeSalesforceId(access.orgId) !== normalizeSalesforceId(started.orgId)) {
      throw messages.createError('error.RunOfAnotherOrg', [folder.runId, started.username], [started.username]);
    }
    const unfinished = chunks.flatMap((chunk, i) => (hasLiveJob(chunk) ? [{ jobId: chunk.jobId, job: jobs[i] }] : []));
    const live = new Map<JobStatus, LiveJobInfo>();
    await forEachConcurrent(unfinished, REFRESH_CONCURRENCY, async ({ jobId, job }) => {
      live.set(job, await liveInfo(access.client, jobId));
    });
    for (const [job, info] of live) Object.assign(job, { live: info });
  }

  const lastEventAt = (await readJournalEnds(folder.journalPath)).last?.time;
  return {
    runId: folder.runId,
    runDir: folder.dir,
    manifest: started.manifest,
    username: started.username,
    orgId: started.orgId,
    startedAt: started.time,
    ...(lastEventAt ? { lastEventAt } : {}),
    activity,
    ...(state.finished ? { status: state.finished.status } : {}),
    ...(state.finished?.reason ? { reason: state.finished.reason } : {}),
    ...(lock ? { lock } : {}),
    tornLine: torn !== undefined,
    refreshed: options.refresh !== undefined,
    waves,
    steps,
    jobs,
    ...(activity === 'interrupted' ? { resumeCommand: resumeCommand(started.manifest, folder.runId) } : {}),
  };
}
