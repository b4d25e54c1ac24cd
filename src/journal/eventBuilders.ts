/*
 * One builder per journal event: the only place an event body is put together, so the engine and
 * the test fixtures that stand in for it cannot drift apart. Each builder copies exactly the
 * fields its type defines (never a whole object it was handed: a ChunkState or job info carries
 * far more), and leaves an optional field out rather than writing it empty, as the engine always
 * has: the lines it writes stay byte for byte what older journals hold.
 */
import type { Operation } from '../manifest/types.js';
import type { ChunkRef, JournalEventBody, JournalEventType } from './events.js';

/** the body of one event type, as appended (no seq or time yet) */
export type EventBody<T extends JournalEventType> = Extract<JournalEventBody, { type: T }>;

/** what an event adds to its type (and, for a chunk's events, to its ChunkRef) */
type Fields<T extends JournalEventType> = Omit<EventBody<T>, 'type' | keyof ChunkRef>;

const refOf = (ref: ChunkRef): ChunkRef => ({ step: ref.step, chunk: ref.chunk });

export function runStarted(run: Omit<EventBody<'run.started'>, 'type'>): EventBody<'run.started'> {
  return {
    type: 'run.started',
    runId: run.runId,
    manifest: run.manifest,
    manifestSha256: run.manifestSha256,
    username: run.username,
    orgId: run.orgId,
    instanceUrl: run.instanceUrl,
    apiVersion: run.apiVersion,
    sources: run.sources.map(({ file, size, mtimeMs, sha256 }) => ({ file, size, mtimeMs, sha256 })),
    ...(run.rollbackOf !== undefined ? { rollbackOf: run.rollbackOf } : {}),
  };
}

export function runResumed(pid: number, host: string): EventBody<'run.resumed'> {
  return { type: 'run.resumed', pid, host };
}

export function waveStarted(wave: number, steps: string[]): EventBody<'wave.started'> {
  return { type: 'wave.started', wave, steps: [...steps] };
}

export function stepStarted(
  step: string,
  wave: number,
  target: { object: string; operation: Operation },
): EventBody<'step.started'> {
  return { type: 'step.started', step, wave, object: target.object, operation: target.operation };
}

/** a source (with `others` of its step, when given) rewritten into derived files (lock-aware jobs) */
export function sourcePartitioned(
  step: string,
  source: string,
  column: string,
  files: EventBody<'source.partitioned'>['files'],
  others: string[] = [],
): EventBody<'source.partitioned'> {
  return {
    type: 'source.partitioned',
    step,
    source,
    ...(others.length > 0 ? { with: [...others] } : {}),
    column,
    files: files.map(({ file, size, mtimeMs, sha256, lane, records, chain }) => ({
      file,
      size,
      mtimeMs,
      sha256,
      lane,
      records,
      ...(chain !== undefined ? { chain } : {}),
    })),
  };
}

/** a chunk cut from `cut.file`; `sha256` (of its bytes as planned) and `retryOf` only when known */
export function chunkPlanned(ref: ChunkRef, cut: Fields<'chunk.planned'>): EventBody<'chunk.planned'> {
  return {
    type: 'chunk.planned',
    ...refOf(ref),
    file: cut.file,
    byteStart: cut.byteStart,
    byteEnd: cut.byteEnd,
    records: cut.records,
    attempt: cut.attempt,
    ...(cut.retryOf ? { retryOf: refOf(cut.retryOf) } : {}),
    ...(cut.sha256 ? { sha256: cut.sha256 } : {}),
  };
}

/** a chunk's before image, durable under `image.file` (relative to the run folder) */
export function beforeSaved(ref: ChunkRef, image: Fields<'before.saved'>): EventBody<'before.saved'> {
  return {
    type: 'before.saved',
    ...refOf(ref),
    file: image.file,
    size: image.size,
    sha256: image.sha256,
    records: image.records,
  };
}

export function jobCreating(ref: ChunkRef): EventBody<'job.creating'> {
  return { type: 'job.creating', ...refOf(ref) };
}

export function jobCreated(ref: ChunkRef, jobId: string): EventBody<'job.created'> {
  return { type: 'job.created', ...refOf(ref), jobId };
}

/** `bytes` is informational: nothing reads it back (0 when the upload's size is not known any more) */
export function jobUploaded(ref: ChunkRef, jobId: string, bytes: number): EventBody<'job.uploaded'> {
  return { type: 'job.uploaded', ...refOf(ref), jobId, bytes };
}

export function jobClosing(ref: ChunkRef, jobId: string): EventBody<'job.closing'> {
  return { type: 'job.closing', ...refOf(ref), jobId };
}

export function jobClosed(ref: ChunkRef, jobId: string): EventBody<'job.closed'> {
  return { type: 'job.closed', ...refOf(ref), jobId };
}

export function jobAborted(ref: ChunkRef, jobId: string, reason: string): EventBody<'job.aborted'> {
  return { type: 'job.aborted', ...refOf(ref), jobId, reason };
}

/** the job's end as the org reported it; an empty `errorMessage` is left out */
export function jobFinished(
  ref: ChunkRef,
  jobId: string,
  end: Omit<Fields<'job.finished'>, 'jobId'>,
): EventBody<'job.finished'> {
  return {
    type: 'job.finished',
    ...refOf(ref),
    jobId,
    state: end.state,
    processed: end.processed,
    failed: end.failed,
    ...(end.errorMessage ? { errorMessage: end.errorMessage } : {}),
  };
}

/** `files` relative to the run folder */
export function resultsSaved(
  ref: ChunkRef,
  jobId: string,
  files: EventBody<'results.saved'>['files'],
  counts: EventBody<'results.saved'>['counts'],
): EventBody<'results.saved'> {
  return {
    type: 'results.saved',
    ...refOf(ref),
    jobId,
    files: { success: files.success, failed: files.failed, unprocessed: files.unprocessed },
    counts: { success: counts.success, failed: counts.failed, unprocessed: counts.unprocessed },
  };
}

/** a job the user declared not this run's (`resume --ignore-job`) */
export function jobIgnored(jobId: string, reason: string): EventBody<'job.ignored'> {
  return { type: 'job.ignored', jobId, reason };
}

export function jobDeleted(ref: ChunkRef, jobId: string): EventBody<'job.deleted'> {
  return { type: 'job.deleted', ...refOf(ref), jobId };
}

/** a step's books; an empty `reason` is left out, and so is any other optional field not given */
export function stepFinished(
  step: string,
  books: Omit<EventBody<'step.finished'>, 'type' | 'step'>,
): EventBody<'step.finished'> {
  return {
    type: 'step.finished',
    step,
    records: books.records,
    succeeded: books.succeeded,
    failed: books.failed,
    unprocessed: books.unprocessed,
    jobs: books.jobs,
    gate: books.gate,
    ...(books.reason ? { reason: books.reason } : {}),
    ...(books.failuresByCode !== undefined ? { failuresByCode: { ...books.failuresByCode } } : {}),
    ...(books.retryRounds !== undefined ? { retryRounds: books.retryRounds } : {}),
    ...(books.durationMs !== undefined ? { durationMs: books.durationMs } : {}),
    ...(books.deadLetters !== undefined ? { deadLetters: [...books.deadLetters] } : {}),
  };
}

export function waveFinished(wave: number, gate: 'passed' | 'failed'): EventBody<'wave.finished'> {
  return { type: 'wave.finished', wave, gate };
}

/** an empty `reason` is left out */
export function runFinished(status: EventBody<'run.finished'>['status'], reason?: string): EventBody<'run.finished'> {
  return { type: 'run.finished', status, ...(reason ? { reason } : {}) };
}

/** a lookup's snapshot, durable in the run folder (src/lookup/snapshots.ts) */
export function lookupSnapshot(snapshot: Omit<EventBody<'lookup.snapshot'>, 'type'>): EventBody<'lookup.snapshot'> {
  return {
    type: 'lookup.snapshot',
    lookup: snapshot.lookup,
    object: snapshot.object,
    query: snapshot.query,
    records: snapshot.records,
    file: snapshot.file,
    size: snapshot.size,
    mtimeMs: snapshot.mtimeMs,
    sha256: snapshot.sha256,
  };
}

/** a source run through its step's row stages into a derived file and rejected rows (src/prepare/) */
export function sourcePrepared(
  step: string,
  source: string,
  file: EventBody<'source.prepared'>['file'],
  rejected: EventBody<'source.prepared'>['rejected'],
): EventBody<'source.prepared'> {
  return {
    type: 'source.prepared',
    step,
    source,
    file: { file: file.file, size: file.size, mtimeMs: file.mtimeMs, sha256: file.sha256, records: file.records },
    rejected: rejected.map(({ file: path, records }) => ({ file: path, records })),
  };
}
