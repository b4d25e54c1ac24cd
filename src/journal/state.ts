/*
 * Replay: the journal folded into where a run stands. The reducer is pure bookkeeping (no I/O) so
 * the engine applies each event it appends to the same state resume rebuilds from disk, and both
 * enforce the one rule that prevents duplicates: a chunk never has two live jobs, and a job that
 * was closed is never abandoned.
 */
/* eslint-disable no-param-reassign -- applyEvent mutates the state it is given: replay must not copy per event */
import { Messages } from '@salesforce/core';
import type { Operation } from '../manifest/types.js';
import type { ChunkRef, JobState, JournalEvent, JournalEventType } from './events.js';
import { readJournal } from './journal.js';
import { applyLookupSnapshot } from './lookupState.js';
import { applyPrepared } from './preparedState.js';
import { applyPartition } from './partitionState.js';

export { fingerprintOf, partitionedSources } from './partitionState.js';

Messages.importMessagesDirectoryFromMetaUrl(import.meta.url);
const messages = Messages.loadMessages('@sf-migrate/plugin-migrate', 'journal');

/** an event of one type, as stored (with seq and time) */
export type EventOf<T extends JournalEventType> = Extract<JournalEvent, { type: T }>;

/**
 * Where a chunk stands: the phase named after its last event (docs/architecture.md §4). `planned` covers both a
 * chunk never started and one whose job was aborted and must start again.
 */
export type ChunkPhase =
  'planned' | 'creating' | 'created' | 'uploaded' | 'closing' | 'closed' | 'finished' | 'saved' | 'deleted';

/** phases before the chunk has a job */
export type JoblessPhase = 'planned' | 'creating';
/** phases of a job that was created and has not ended yet */
export type LiveJobPhase = 'created' | 'uploaded' | 'closing' | 'closed';

/** what `job.finished` said of the chunk's job */
export type FinishedJob = { state: JobState; processed: number; failed: number; errorMessage?: string };

/** the result files `results.saved` journaled, relative to the run folder, and their record counts */
export type SavedResults = {
  files: { success: string; failed: string; unprocessed: string };
  counts: { success: number; failed: number; unprocessed: number };
};

type ChunkBase = {
  step: string;
  chunk: number;
  file: string;
  byteStart: number;
  byteEnd: number;
  records: number;
  attempt: number;
  retryOf?: ChunkRef;
  /** of the chunk's bytes as planned (chunk.planned) */
  sha256?: string;
  /** jobs created for this chunk then aborted before they were closed (and orphans found on resume) */
  abandonedJobIds: string[];
  /** the chunk's before image (before.saved), taken before its first job could load anything */
  beforeImage?: { file: string; size: number; sha256: string; records: number };
  /** when the current job's job.closed and job.finished were journaled (rates and estimates in `status`) */
  closedAt?: string;
  finishedAt?: string;
};

/**
 * A chunk, by phase: `jobId` (the chunk's current job, set by job.created, cleared by job.aborted)
 * exists exactly when a job does, `finished` once job.finished was journaled, `results` once the
 * result files were saved. The fields a phase does not have are typed `never`, so reading them on
 * the union still type-checks (as undefined) while a narrowed phase guarantees them. One member
 * per phase (the conditional types distribute), so a `switch` on `phase` narrows to exactly one.
 */
type PerPhase<P extends ChunkPhase, Fields> = P extends ChunkPhase ? ChunkBase & { phase: P } & Fields : never;
export type ChunkWithoutJob = PerPhase<JoblessPhase, { jobId?: never; finished?: never; results?: never }>;
export type ChunkWithLiveJob = PerPhase<LiveJobPhase, { jobId: string; finished?: never; results?: never }>;
export type FinishedChunk = PerPhase<'finished', { jobId: string; finished: FinishedJob; results?: never }>;
export type SavedChunk = PerPhase<'saved', { jobId: string; finished: FinishedJob; results: SavedResults }>;
/** deleted from `saved`, or straight from `finished` (a job deleted before its results were saved) */
export type DeletedChunk = PerPhase<'deleted', { jobId: string; finished: FinishedJob; results?: SavedResults }>;

export type ChunkState = ChunkWithoutJob | ChunkWithLiveJob | FinishedChunk | SavedChunk | DeletedChunk;

/** a chunk in one of the phases `P` */
export type ChunkIn<P extends ChunkPhase> = Extract<ChunkState, { phase: P }>;

/**
 * The reducer's view of a chunk: every field writable. Each member of ChunkState is assignable to
 * it, and the transitions below keep the fields consistent with the phase they set.
 */
type MutableChunk = ChunkBase & { phase: ChunkPhase; jobId?: string; finished?: FinishedJob; results?: SavedResults };

export type StepState = {
  id: string;
  wave: number;
  object?: string;
  operation?: Operation;
  status: 'pending' | 'running' | 'finished';
  /** in chunk order */
  chunks: ChunkState[];
  /** sources rewritten into derived files, one event per source (lock-aware jobs) */
  partitions?: Array<EventOf<'source.partitioned'>>;
  /** sources run through the step's row stages (src/prepare/), one event per source */
  prepared?: Array<EventOf<'source.prepared'>>;
  finished?: EventOf<'step.finished'>;
};

export type WaveState = { steps: string[]; gate?: 'passed' | 'failed' };

export type RunState = {
  runId?: string;
  started?: EventOf<'run.started'>;
  steps: Map<string, StepState>;
  waves: Map<number, WaveState>;
  /** the last run.finished; a later run.resumed (a retry of a finished run) clears it */
  finished?: EventOf<'run.finished'>;
  /** every run.resumed, oldest first */
  resumes: Array<EventOf<'run.resumed'>>;
  /** jobs the user declared not this run's (job.ignored), as journaled */
  ignoredJobs: string[];
  lastSeq: number;
  /** number of events applied */
  events: number;
};

export function emptyRunState(): RunState {
  return { steps: new Map(), waves: new Map(), resumes: [], ignoredJobs: [], lastSeq: 0, events: 0 };
}

function impossible(event: JournalEvent, detailKey: string, tokens: Array<string | number>): never {
  const detail = messages.getMessage(`transition.${detailKey}`, tokens.map(String));
  const error = messages.createError('error.ImpossibleTransition', [event.type, event.seq, detail]);
  error.setData({
    seq: event.seq,
    type: event.type,
    reason: detailKey,
    ...('step' in event ? { step: event.step } : {}),
    ...('chunk' in event ? { chunk: event.chunk } : {}),
  });
  throw error;
}

function stepOf(state: RunState, event: JournalEvent, id: string): StepState {
  const step = state.steps.get(id);
  if (!step) impossible(event, 'unknownStep', [id]);
  return step;
}

/** index of the chunk numbered `chunk` in a step's sorted chunks, or where it would be inserted (as -(i + 1)) */
function chunkIndex(chunks: ChunkState[], chunk: number): number {
  let low = 0;
  let high = chunks.length - 1;
  while (low <= high) {
    const mid = (low + high) >>> 1;
    const at = chunks[mid].chunk;
    if (at === chunk) return mid;
    if (at < chunk) low = mid + 1;
    else high = mid - 1;
  }
  return -(low + 1);
}

/** Finds a planned chunk (binary search: chunks stay sorted by number). */
export function findChunk(state: RunState, ref: ChunkRef): ChunkState | undefined {
  const step = state.steps.get(ref.step);
  if (!step) return undefined;
  const index = chunkIndex(step.chunks, ref.chunk);
  return index >= 0 ? step.chunks[index] : undefined;
}

type ChunkEvent = Extract<JournalEvent, ChunkRef>;

function chunkOf(state: RunState, event: ChunkEvent): MutableChunk {
  const step = stepOf(state, event, event.step);
  const index = chunkIndex(step.chunks, event.chunk);
  if (index < 0) impossible(event, 'unknownChunk', [event.step, event.chunk]);
  return step.chunks[index];
}

function expectPhase(event: ChunkEvent, chunk: MutableChunk, allowed: readonly ChunkPhase[]): void {
  if (!allowed.includes(chunk.phase)) {
    impossible(event, 'wrongPhase', [chunk.chunk, chunk.step, chunk.phase, allowed.join(', ')]);
  }
}

function expectCurrentJob(event: ChunkEvent & { jobId: string }, chunk: MutableChunk): void {
  if (chunk.jobId !== event.jobId) {
    impossible(event, 'jobMismatch', [chunk.chunk, chunk.step, chunk.jobId ?? '(none)', event.jobId]);
  }
}

/** phases of a job that was created and has not ended */
const LIVE_JOB_PHASES: readonly ChunkPhase[] = ['created', 'uploaded', 'closing', 'closed'] satisfies LiveJobPhase[];

/** whether the chunk's current job exists and has not ended */
export function hasLiveJob(chunk: ChunkState): chunk is ChunkWithLiveJob {
  return LIVE_JOB_PHASES.includes(chunk.phase);
}

function planChunk(state: RunState, event: EventOf<'chunk.planned'>): void {
  const step = stepOf(state, event, event.step);
  const index = chunkIndex(step.chunks, event.chunk);
  if (index >= 0) impossible(event, 'chunkExists', [event.chunk, event.step]);
  const chunk: ChunkWithoutJob = {
    step: event.step,
    chunk: event.chunk,
    file: event.file,
    byteStart: event.byteStart,
    byteEnd: event.byteEnd,
    records: event.records,
    attempt: event.attempt,
    ...(event.retryOf ? { retryOf: { step: event.retryOf.step, chunk: event.retryOf.chunk } } : {}),
    ...(event.sha256 ? { sha256: event.sha256 } : {}),
    phase: 'planned',
    abandonedJobIds: [],
  };
  const at = -(index + 1);
  if (at === step.chunks.length) step.chunks.push(chunk);
  else step.chunks.splice(at, 0, chunk);
}

function abortJob(state: RunState, event: EventOf<'job.aborted'>): void {
  const chunk = chunkOf(state, event);
  if (chunk.jobId !== undefined && chunk.jobId !== event.jobId) {
    // an orphan (created before a crash, never recorded as this chunk's job) found while the
    // chunk already has its job: recorded, and the current job goes on
    if (!chunk.abandonedJobIds.includes(event.jobId)) chunk.abandonedJobIds.push(event.jobId);
    return;
  }
  if (chunk.jobId === undefined) {
    // an orphan found on resume before the chunk got its job
    expectPhase(event, chunk, ['planned', 'creating']);
  } else if (chunk.phase === 'closed' || !LIVE_JOB_PHASES.includes(chunk.phase)) {
    impossible(event, 'abortAfterClose', [event.jobId, chunk.chunk, chunk.step]);
  }
  if (!chunk.abandonedJobIds.includes(event.jobId)) chunk.abandonedJobIds.push(event.jobId);
  delete chunk.jobId;
  delete chunk.finished;
  delete chunk.results;
  delete chunk.closedAt;
  delete chunk.finishedAt;
  chunk.phase = 'planned';
}

function applyChunkEvent(state: RunState, event: ChunkEvent): void {
  if (event.type === 'chunk.planned') {
    planChunk(state, event);
    return;
  }
  if (event.type === 'job.aborted') {
    abortJob(state, event);
    return;
  }
  const chunk = chunkOf(state, event);
  switch (event.type) {
    case 'before.saved':
      // before any job of the chunk could have been closed; again after a crash before a create
      expectPhase(event, chunk, ['planned', 'creating']);
      chunk.beforeImage = { file: event.file, size: event.size, sha256: event.sha256, records: event.records };
      return;
    case 'job.creating':
      if (chunk.jobId !== undefined) impossible(event, 'secondJob', [chunk.chunk, chunk.step, chunk.jobId]);
      // 'creating' again: resume after a crash between the intent and the POST's outcome
      expectPhase(event, chunk, ['planned', 'creating']);
      chunk.phase = 'creating';
      return;
    case 'job.created':
      if (chunk.jobId !== undefined) impossible(event, 'secondJob', [chunk.chunk, chunk.step, chunk.jobId]);
      expectPhase(event, chunk, ['creating']);
      chunk.jobId = event.jobId;
      chunk.phase = 'created';
      return;
    case 'job.uploaded':
      expectCurrentJob(event, chunk);
      expectPhase(event, chunk, ['created']);
      chunk.phase = 'uploaded';
      return;
    case 'job.closing':
      expectCurrentJob(event, chunk);
      // 'closing' again: resume found the job still Open after a crash before the PATCH completed
      expectPhase(event, chunk, ['uploaded', 'closing']);
      chunk.phase = 'closing';
      return;
    case 'job.closed':
      expectCurrentJob(event, chunk);
      expectPhase(event, chunk, ['closing']);
      chunk.phase = 'closed';
      chunk.closedAt = event.time;
      return;
    case 'job.finished':
      expectCurrentJob(event, chunk);
      // a job can end (Failed, Aborted in Setup) before it was closed
      expectPhase(event, chunk, LIVE_JOB_PHASES);
      chunk.phase = 'finished';
      chunk.finished = {
        state: event.state,
        processed: event.processed,
        failed: event.failed,
        ...(event.errorMessage !== undefined ? { errorMessage: event.errorMessage } : {}),
      };
      chunk.finishedAt = event.time;
      return;
    case 'results.saved':
      expectCurrentJob(event, chunk);
      // 'saved' again: results fetched anew (sf migrate job results)
      expectPhase(event, chunk, ['finished', 'saved']);
      chunk.phase = 'saved';
      chunk.results = { files: { ...event.files }, counts: { ...event.counts } };
      return;
    case 'job.deleted':
      expectCurrentJob(event, chunk);
      expectPhase(event, chunk, ['finished', 'saved']);
      chunk.phase = 'deleted';
      return;
  }
}

/**
 * Applies one event to a run state, in place (replaying thousands of events allocates little).
 * The engine calls it with each event `Journal.append` returns, and resume with each event read
 * back, so both see the same state.
 *
 * @throws SfError `ImpossibleTransitionError` naming the event's seq (and `data.reason`) when the
 * event cannot follow the state: an unknown step or chunk, a job event out of phase or for another
 * job, a second job for a chunk whose job was never aborted, an abort of a closed job, or a seq
 * that does not increase.
 *
 * job.aborted of the chunk's current job (phase created, uploaded, or closing — the engine must
 * have seen the job still Open) abandons it: the chunk goes back to `planned` and a new job may be
 * created. job.aborted of any other job records an orphan in `abandonedJobIds`; before the chunk
 * has a job it also sends the chunk back to `planned`. A job that ended before it was closed and
 * should be replaced is recorded with job.aborted, not job.finished: a finished job is final.
 */
// eslint-disable-next-line complexity -- one case per event type of the vocabulary
export function applyEvent(state: RunState, event: JournalEvent): void {
  if (event.seq <= state.lastSeq) impossible(event, 'seqNotIncreasing', [state.lastSeq]);
  switch (event.type) {
    case 'run.started':
      if (state.started) impossible(event, 'runStartedTwice', [state.started.seq]);
      state.started = event;
      state.runId = event.runId;
      break;
    case 'run.resumed':
      state.resumes.push(event);
      delete state.finished;
      break;
    case 'wave.started': {
      const wave = state.waves.get(event.wave);
      if (wave) {
        for (const id of event.steps) if (!wave.steps.includes(id)) wave.steps.push(id);
      } else {
        state.waves.set(event.wave, { steps: [...event.steps] });
      }
      for (const id of event.steps) {
        if (!state.steps.has(id)) state.steps.set(id, { id, wave: event.wave, status: 'pending', chunks: [] });
      }
      break;
    }
    case 'step.started': {
      const step = state.steps.get(event.step);
      if (step) {
        step.wave = event.wave;
        step.object = event.object;
        step.operation = event.operation;
        step.status = 'running';
      } else {
        state.steps.set(event.step, {
          id: event.step,
          wave: event.wave,
          object: event.object,
          operation: event.operation,
          status: 'running',
          chunks: [],
        });
      }
      break;
    }
    case 'source.partitioned':
      applyPartition(stepOf(state, event, event.step), event, (source) =>
        impossible(event, 'sourcePartitionedTwice', [source]),
      );
      break;
    case 'source.prepared':
      applyPrepared(stepOf(state, event, event.step), event, () => impossible(event, 'preparedTwice', [event.source]));
      break;
    case 'step.finished': {
      const step = stepOf(state, event, event.step);
      step.status = 'finished';
      step.finished = event;
      break;
    }
    case 'wave.finished': {
      const wave = state.waves.get(event.wave);
      if (!wave) impossible(event, 'unknownWave', [event.wave]);
      wave.gate = event.gate;
      break;
    }
    case 'run.finished':
      state.finished = event;
      break;
    case 'lookup.snapshot':
      applyLookupSnapshot(state, event);
      break;
    case 'job.ignored':
      if (!state.ignoredJobs.includes(event.jobId)) state.ignoredJobs.push(event.jobId);
      break;
    default:
      applyChunkEvent(state, event);
  }
  state.lastSeq = event.seq;
  state.events++;
}

/**
 * Reads a journal from the start and folds it into a run state. A torn last line is skipped and
 * reported through `onTorn`.
 *
 * @throws SfError `JournalCorruptLineError` / `JournalSeqGapError` for a damaged file, and
 * `JournalReplayFailedError` (with the seq) when an event contradicts the protocol.
 */
export async function replayJournal(
  file: string,
  options: { onTorn?: (line: string) => void } = {},
): Promise<RunState> {
  const state = emptyRunState();
  for await (const event of readJournal(file, options)) {
    try {
      applyEvent(state, event);
    } catch (error) {
      const cause = error instanceof Error ? error : new Error(String(error));
      const replayError = messages.createError(
        'error.JournalReplayFailed',
        [file, cause.message],
        [state.runId ?? '<run-id>'],
        cause,
      );
      replayError.setData({ file, seq: event.seq, type: event.type });
      throw replayError;
    }
  }
  return state;
}
