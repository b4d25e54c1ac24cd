/*
 * Resume trusts the journal, and checks it. A journal whose tail was lost (cut at a line boundary
 * by a disk that acknowledged an fsync it did not keep) looks like a run that stopped earlier than
 * it did: replaying it alone would create a second job for a chunk whose first job already loaded
 * its rows. Before a resume acts, the jobs this run created are looked for where the journal
 * cannot lose them — the job index (an entry per job, with its step and chunk) and the org's own
 * list of ingest jobs — and every job the journal does not know is settled first:
 *
 * - never closed (Open, or Aborted having processed nothing): it never loaded a row. An Open one
 *   the index ties to this run is aborted; either way it is journaled as abandoned when its chunk
 *   is known, and the chunk goes again in a fresh job as usual.
 * - closed (UploadComplete, InProgress, JobComplete, Failed, or Aborted after processing rows):
 *   its rows may be in the org. When the index names its chunk, the journal has that chunk
 *   waiting for a job, and the job's object and operation are the step's, it is adopted: the
 *   journal is brought up to `job.closed` and the run polls it and saves its results like any
 *   other. Otherwise the resume is refused with an error naming each such job.
 * - gone from the org although the index has it: it was deleted, which the engine only does after
 *   saving results, so it loaded; refused likewise.
 *
 * Open jobs found only in the org's list are left alone: nothing ties them to this run (another
 * run of this user may be about to upload to one), and a job never closed loads nothing.
 *
 * A closed job found only in the org's list may be someone else's work under the same user (a
 * parallel `sf data import bulk`): the user can declare it not this run's (`resume --ignore-job`).
 * The decision is journaled (job.ignored), so a later resume does not ask again. A job the job
 * index or the journal gives to this run cannot be declared so: its rows are this run's.
 *
 * The same lost tail can leave a job the journal does know behind the org: journaled as created
 * (not uploaded) while the org has it closed, or gone. Closed, it is brought forward to
 * `job.closed` (else the engine would refuse it as closed outside the run); gone while the journal
 * has not saved its results, it was deleted after loading (the engine deletes a job only after
 * saving its results), so the resume is refused: starting its chunk again would load it twice.
 */
import { Messages, SfError } from '@salesforce/core';
import type { LoadedManifest } from '../manifest/types.js';
import type { JournalEventBody } from '../journal/events.js';
import {
  jobAborted,
  jobClosed,
  jobClosing,
  jobCreated,
  jobCreating,
  jobIgnored,
  jobUploaded,
} from '../journal/eventBuilders.js';
import { JobIndex, type JobIndexEntry } from '../journal/jobIndex.js';
import { findChunk, type ChunkState, type RunState } from '../journal/state.js';
import type { RunFolder } from '../journal/runFolder.js';
import type { IngestJobClient } from '../bulk/ingestJobClient.js';
import { BulkApiError } from '../bulk/errors.js';
import type { IngestJobInfo } from '../bulk/types.js';
import { jobCommand, resumeCommand, runCommand } from './commandLines.js';
import { crashPoint } from './crashPoints.js';

Messages.importMessagesDirectoryFromMetaUrl(import.meta.url);
const messages = Messages.loadMessages('@sf-migrate/plugin-migrate', 'engine');

/**
 * How far before the journal's last event the org's list is searched. A job is created a moment
 * before its `job.created` line is written, and the org's clock is not this machine's: five
 * minutes covers both without reaching far into the jobs the journal does account for.
 */
const CLOCK_MARGIN_MS = 5 * 60 * 1000;

const fifteen = (id: string): string => id.slice(0, 15);

export type ReconcileOptions = {
  folder: RunFolder;
  state: RunState;
  manifest: LoadedManifest;
  client: IngestJobClient;
  /** the time of the journal's last event (or of the run folder's creation when it has none) */
  journalEndsAt: string;
  /** appends an event durably and applies it to `state` */
  record: (body: JournalEventBody) => Promise<void>;
  onWarning?: (message: string) => void;
  /** for the refusal's advice */
  manifestPath: string;
  username: string;
  /** jobs the user declares not this run's (`resume --ignore-job`), 15 or 18 characters */
  ignoreJobs?: string[];
};

export type ReconcileReport = {
  /** jobs the journal now records as abandoned (never closed) */
  abandoned: string[];
  /** closed jobs adopted into their chunks */
  adopted: string[];
  /** jobs the user declared not this run's, journaled as job.ignored by this reconciliation */
  ignored: string[];
};

type Stray = { jobId: string; entry?: JobIndexEntry; info?: IngestJobInfo };

/** every job id the journal gives to a chunk, by its first 15 characters (the org may answer either form) */
function knownJobs(state: RunState): Set<string> {
  const known = new Set<string>();
  for (const step of state.steps.values()) {
    for (const chunk of step.chunks) {
      if (chunk.jobId) known.add(fifteen(chunk.jobId));
      for (const id of chunk.abandonedJobIds) known.add(fifteen(id));
    }
  }
  return known;
}

async function infoOrGone(client: IngestJobClient, jobId: string): Promise<IngestJobInfo | undefined> {
  try {
    return await client.info(jobId);
  } catch (error) {
    if (error instanceof BulkApiError && error.errorCode === 'NOT_FOUND') return undefined;
    throw error;
  }
}

/** jobs of this run the journal does not know: from the job index, then from the org's list */
async function findStrays(options: ReconcileOptions, known: Set<string>): Promise<Stray[]> {
  const strays = new Map<string, Stray>();
  /** jobs the index gives to other runs: never this run's, whatever the org's list says */
  const otherRuns = new Set<string>();
  const since = Date.parse(options.journalEndsAt) - CLOCK_MARGIN_MS;
  for await (const entry of JobIndex.entries()) {
    const id = fifteen(entry.jobId);
    if (entry.runId === options.folder.runId) {
      if (!known.has(id)) strays.set(id, { jobId: entry.jobId, entry });
    } else if (Date.parse(entry.createdAt) >= since - CLOCK_MARGIN_MS) {
      otherRuns.add(id);
    }
  }
  let userId: string | undefined;
  try {
    userId = await options.client.currentUserId();
  } catch (error) {
    options.onWarning?.(messages.getMessage('warning.orgJobsUnchecked', [(error as Error).message]));
  }
  if (userId !== undefined) {
    const objects = new Set(options.manifest.steps.map((step) => `${step.object.toLowerCase()}/${step.operation}`));
    for await (const info of options.client.list({ jobType: 'V2Ingest' })) {
      const id = fifteen(info.id);
      if (known.has(id) || otherRuns.has(id)) continue;
      if (!info.createdById || fifteen(info.createdById) !== fifteen(userId)) continue;
      if (!objects.has(`${info.object.toLowerCase()}/${info.operation}`)) continue;
      if (!info.createdDate || !(Date.parse(info.createdDate) >= since)) continue;
      const stray = strays.get(id);
      strays.set(id, { ...stray, jobId: stray?.jobId ?? info.id, info });
    }
  }
  return [...strays.values()];
}

const neverLoaded = (info: IngestJobInfo): boolean =>
  info.state === 'Open' || (info.state === 'Aborted' && (info.numberRecordsProcessed ?? 0) === 0);

/**
 * Settles every job of the run that the journal does not know (see the top of this file), before
 * the run acts on what the journal says.
 *
 * @throws SfError `UnknownJobsError` naming each job whose rows may be in the org and that cannot
 * be tied to its chunk; nothing of the run has been sent again.
 */
export async function reconcileJobs(given: ReconcileOptions): Promise<ReconcileReport> {
  // every line the reconciliation writes is a kill point of the crash test ('reconcile')
  const options: ReconcileOptions = {
    ...given,
    record: async (body): Promise<void> => {
      await given.record(body);
      crashPoint('reconcile');
    },
  };
  const report: ReconcileReport = { abandoned: [], adopted: [], ignored: [] };
  const refused: Array<{ stray: Stray; state: string }> = [];
  const ignore = new Set((options.ignoreJobs ?? []).map(fifteen));
  const known = knownJobs(options.state);
  const ignoredBefore = new Set(options.state.ignoredJobs.map(fifteen));
  refuseIgnoringOwnJobs(
    options,
    (options.ignoreJobs ?? []).filter((id) => known.has(fifteen(id))),
  );
  for (const chunk of liveChunks(options.state)) {
    // eslint-disable-next-line no-await-in-loop -- one job at a time: each may journal events
    const outcome = await catchUp(options, chunk);
    if (outcome.kind === 'adopted') report.adopted.push(chunk.jobId!);
    else if (outcome.kind === 'refused') refused.push({ stray: strayOf(chunk), state: outcome.state });
  }
  for (const stray of await findStrays(options, new Set([...known, ...ignoredBefore]))) {
    if (ignore.has(fifteen(stray.jobId))) {
      if (stray.entry) refuseIgnoringOwnJobs(options, [stray.jobId]);
      // eslint-disable-next-line no-await-in-loop -- one line at a time, in order
      await options.record(jobIgnored(stray.jobId, messages.getMessage('reason.jobIgnored')));
      report.ignored.push(stray.jobId);
      continue;
    }
    // eslint-disable-next-line no-await-in-loop -- one job at a time: each may journal events
    const outcome = await settle(options, stray);
    if (outcome.kind === 'abandoned') report.abandoned.push(stray.jobId);
    else if (outcome.kind === 'adopted') report.adopted.push(stray.jobId);
    else if (outcome.kind === 'refused') refused.push({ stray, state: outcome.state });
  }
  const settled = new Set([...report.ignored, ...options.state.ignoredJobs].map(fifteen));
  const unused = (options.ignoreJobs ?? []).filter((id) => !settled.has(fifteen(id)));
  if (unused.length > 0) options.onWarning?.(messages.getMessage('warning.ignoreJobUnused', [unused.join(', ')]));
  if (refused.length > 0) throw unknownJobsError(options, refused);
  return report;
}

/** --ignore-job naming jobs the journal or the job index gives to this run: their rows are this run's */
function refuseIgnoringOwnJobs(options: ReconcileOptions, jobIds: string[]): void {
  if (jobIds.length === 0) return;
  const error = messages.createError(
    'error.IgnoredJobOfThisRun',
    [jobIds.join(', '), options.folder.runId],
    [jobCommand('status', jobIds[0]), resumeCommand(options.manifestPath, options.folder.runId)],
  );
  error.setData({ runId: options.folder.runId, jobs: jobIds });
  throw error;
}

/** a closed job fits a chunk waiting for its first job, of a step with the job's object and operation */
function isAdoptable(manifest: LoadedManifest, chunk: ChunkState, info: IngestJobInfo): boolean {
  const step = manifest.steps.find((candidate) => candidate.id === chunk.step);
  return (
    step !== undefined &&
    chunk.jobId === undefined &&
    (chunk.phase === 'planned' || chunk.phase === 'creating') &&
    step.object.toLowerCase() === info.object.toLowerCase() &&
    step.operation === info.operation
  );
}

/** chunks whose current job the journal has not seen finish and save (phases created to finished) */
function* liveChunks(state: RunState): Generator<ChunkState> {
  const live = new Set(['created', 'uploaded', 'closing', 'closed', 'finished']);
  for (const step of state.steps.values()) {
    for (const chunk of step.chunks) if (chunk.jobId !== undefined && live.has(chunk.phase)) yield chunk;
  }
}

const strayOf = (chunk: ChunkState): Stray => ({
  jobId: chunk.jobId!,
  entry: { step: chunk.step, chunk: chunk.chunk } as JobIndexEntry,
});

/** a job the journal knows, checked against the org: see the top of this file */
async function catchUp(options: ReconcileOptions, chunk: ChunkState): Promise<Settled> {
  const jobId = chunk.jobId!;
  const info = await infoOrGone(options.client, jobId);
  if (!info) return { kind: 'refused', state: messages.getMessage('reason.strayDeleted') };
  if (chunk.phase !== 'created' || neverLoaded(info) || info.state === 'Open') return { kind: 'left' };
  // see settle: the size of the upload is not known any more
  await options.record(jobUploaded(chunk, jobId, 0));
  await options.record(jobClosing(chunk, jobId));
  await options.record(jobClosed(chunk, jobId));
  return { kind: 'adopted' };
}

type Settled = { kind: 'abandoned' | 'adopted' | 'left' } | { kind: 'refused'; state: string };

async function settle(options: ReconcileOptions, stray: Stray): Promise<Settled> {
  const { state, client, record } = options;
  const { entry } = stray;
  // the list's answer may be minutes old by the time the index's entries are looked at
  let info = entry ? await infoOrGone(client, stray.jobId) : stray.info;
  const chunk = entry ? findChunk(state, { step: entry.step, chunk: entry.chunk }) : undefined;
  if (info?.state === 'Open') {
    // only a job the index gives to this run is aborted: an Open job seen only in the list may
    // be another run's, about to be uploaded to
    if (!entry) return { kind: 'left' };
    info = await abortOrLook(client, stray.jobId);
  }
  if (info && neverLoaded(info)) {
    if (!chunk) return { kind: 'left' };
    const reason = messages.getMessage('reason.strayAbandoned');
    await record(jobAborted(chunk, stray.jobId, reason));
    return { kind: 'abandoned' };
  }
  if (!info || !chunk || !isAdoptable(options.manifest, chunk, info)) {
    return { kind: 'refused', state: info?.state ?? messages.getMessage('reason.strayDeleted') };
  }
  const jobId = stray.jobId;
  if (chunk.phase === 'planned') await record(jobCreating(chunk));
  await record(jobCreated(chunk, jobId));
  // how many bytes went up is not known any more (its line was lost); the job was closed, so the
  // upload completed (the count is informational: nothing reads it back)
  await record(jobUploaded(chunk, jobId, 0));
  await record(jobClosing(chunk, jobId));
  await record(jobClosed(chunk, jobId));
  return { kind: 'adopted' };
}

/**
 * Aborts an Open job; when the abort did not land, what the job is now as the client found it
 * (closed meanwhile, or undefined: gone). Still Open after a failed abort: the abort's error stands.
 */
async function abortOrLook(client: IngestJobClient, jobId: string): Promise<IngestJobInfo | undefined> {
  const change = await client.requestState(jobId, 'Aborted');
  if (change.landed) return change.info;
  if (change.info?.state === 'Open') throw change.error;
  return change.info;
}

function unknownJobsError(options: ReconcileOptions, refused: Array<{ stray: Stray; state: string }>): SfError {
  const listed = refused
    .map(({ stray, state }) =>
      stray.entry
        ? messages.getMessage('strayJob.indexed', [stray.jobId, state, stray.entry.step, stray.entry.chunk])
        : messages.getMessage('strayJob.listed', [
            stray.jobId,
            state,
            stray.info?.object ?? '?',
            stray.info?.createdDate ?? '?',
          ]),
    )
    .join('; ');
  const first = refused[0].stray.jobId;
  const error = messages.createError(
    'error.UnknownJobs',
    [options.folder.runId, listed],
    [
      jobCommand('results', first),
      jobCommand('abort', first),
      runCommand(options.manifestPath, options.username, { new: true }),
    ],
  );
  // only a job nothing ties to this run (the org's list alone) can be someone else's
  const foreign = refused.filter(({ stray }) => !stray.entry).map(({ stray }) => stray.jobId);
  if (foreign.length > 0) {
    const ignoring = resumeCommand(options.manifestPath, options.folder.runId, { ignoreJobs: foreign });
    error.actions = [messages.getMessage('action.ignoreJobs', [ignoring]), ...(error.actions ?? [])];
  }
  error.setData({
    runId: options.folder.runId,
    jobs: refused.map(({ stray, state }) => ({
      jobId: stray.jobId,
      state,
      ...(stray.entry ? { step: stray.entry.step, chunk: stray.entry.chunk } : {}),
    })),
  });
  return error;
}
