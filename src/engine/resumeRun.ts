/*
 * Reopening an interrupted run: find it, open it for writing (lock, then replay), refuse what
 * would make the resume unsafe (another org, changed sources, an edited manifest copy), settle the
 * jobs of the run its journal does not know, and hand the replayed state to MigrationRun, which
 * continues each chunk from its last journaled phase. A run folder whose journal never got as far
 * as run.started is started in place once nothing of it is found in the org.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Messages } from '@salesforce/core';
import { loadManifestOrThrow } from '../manifest/load.js';
import type { LoadedManifest } from '../manifest/types.js';
import { readJournalEnds } from '../journal/journal.js';
import { replayJournal, type RunState } from '../journal/state.js';
import { findRun, readRunOwner, runFolder, type RunFolder, type RunSummary } from '../journal/runFolder.js';
import { findChangedSources } from '../journal/fingerprint.js';
import { exists } from '../journal/durable.js';
import { openRunForWriting, type WritableRun } from '../journal/writableRun.js';
import { IngestJobClient } from '../bulk/ingestJobClient.js';
import { MigrationRun, type RunOptions } from './migrationRun.js';
import { reconcileJobs } from './reconcileJobs.js';
import { manifestChanges } from './manifestChanges.js';
import { runCommand, shellQuote } from './commandLines.js';

Messages.importMessagesDirectoryFromMetaUrl(import.meta.url);
const messages = Messages.loadMessages('@sf-migrate/plugin-migrate', 'engine');

export type OpenedRun = { folder: RunFolder; state: RunState; manifest: LoadedManifest; torn?: string };

async function locate(
  root: string,
  runId?: string,
  manifestPath?: string,
): Promise<{ folder: RunFolder; summary: RunSummary }> {
  const summary = await findRun(root, runId, manifestPath ? { manifest: manifestPath } : {});
  if (!summary) {
    throw runId
      ? messages.createError('error.RunNotFound', [runId, root])
      : messages.createError('error.NoUnfinishedRun', [root]);
  }
  return { folder: runFolder(root, summary.runId), summary };
}

/** what the run folder says of the run `resumeRun` would resume (the same choice), read without its lock */
export async function locateRunSummary(root: string, runId?: string, manifestPath?: string): Promise<RunSummary> {
  return (await locate(root, runId, manifestPath)).summary;
}

/** the folder of a run: `runId`, or the newest unfinished run (of `manifestPath`, when given) */
export async function locateRun(root: string, runId?: string, manifestPath?: string): Promise<RunFolder> {
  return (await locate(root, runId, manifestPath)).folder;
}

/**
 * The manifest copy a run began with, checked against the hash run.started recorded, its paths
 * resolved against the original manifest's folder.
 */
export async function loadRunManifest(folder: RunFolder, state: RunState): Promise<LoadedManifest> {
  const started = state.started;
  if (!started) throw messages.createError('error.RunNeverStarted', [folder.dir]);
  const copy = await readFile(folder.manifestCopyPath);
  if (createHash('sha256').update(copy).digest('hex') !== started.manifestSha256) {
    throw messages.createError('error.ManifestCopyChanged', [folder.manifestCopyPath]);
  }
  return loadManifestOrThrow(folder.manifestCopyPath, { baseDir: dirname(started.manifest), path: started.manifest });
}

/**
 * Reads a run back from disk: replays its journal and loads the manifest copy taken at run start.
 * Reading does not take the run over; a caller that goes on to write uses openRunForWriting.
 */
export async function readRun(folder: RunFolder): Promise<OpenedRun> {
  let torn: string | undefined;
  const state = await replayJournal(folder.journalPath, {
    onTorn: (line) => {
      torn = line;
    },
  });
  const manifest = await loadRunManifest(folder, state);
  return { folder, state, manifest, ...(torn !== undefined ? { torn } : {}) };
}

/** locateRun + readRun, for readers such as `status` */
export async function openRun(root: string, runId?: string, manifestPath?: string): Promise<OpenedRun> {
  return readRun(await locateRun(root, runId, manifestPath));
}

export type ResumeOptions = RunOptions & {
  root: string;
  runId?: string;
  /** only runs of this manifest (two manifests in one folder share a runs root) */
  manifest?: string;
  /** jobs in the org the user declares not this run's (see reconcileJobs) */
  ignoreJobs?: string[];
  onWarning?: (message: string) => void;
};

export async function resumeRun(options: ResumeOptions): Promise<MigrationRun> {
  const { folder, summary } = await locate(options.root, options.runId, options.manifest);
  const warn = options.onWarning ?? ((): void => {});
  // the lock first, then the journal: a state read before taking the lock may be stale
  const held = await openRunForWriting(folder, { onWarning: warn, create: summary.journal === 'missing' });
  try {
    if (!held.state.started) {
      // events without a run.started first are not a lost tail: nothing to start in place
      if (held.state.events > 0) throw messages.createError('error.RunNeverStarted', [folder.dir]);
      return await startInPlace(held, options);
    }
    const { state } = held;
    const manifest = await loadRunManifest(folder, state);
    await checkResumable(folder, state, manifest, options);
    await warnIfManifestChanged(folder, state, warn);
    await reconcileJobs({
      folder,
      state,
      manifest,
      client: clientOf(options),
      journalEndsAt: (await readJournalEnds(folder.journalPath)).last?.time ?? state.started!.time,
      record: held.record,
      onWarning: warn,
      manifestPath: state.started!.manifest,
      username: options.username,
      ...(options.ignoreJobs ? { ignoreJobs: options.ignoreJobs } : {}),
    });
    return await MigrationRun.continue(manifest, held, options);
  } catch (error) {
    await held.release();
    throw error;
  }
}

const clientOf = (options: RunOptions): IngestJobClient => options.client ?? new IngestJobClient(options.connection);

/**
 * A run folder whose journal holds no event (missing, empty, or cut to nothing) belongs to the
 * manifest its owner file names. Its jobs, if the journal lost them, are in the job index or the
 * org: once none is found that may have loaded rows, the run starts in its own folder from its
 * manifest copy, exactly as `run` would have started it.
 */
async function startInPlace(held: WritableRun, options: ResumeOptions): Promise<MigrationRun> {
  const { folder } = held;
  const owner = await readRunOwner(folder);
  if (!owner || !(await exists(folder.manifestCopyPath))) {
    const manifest = owner?.manifest ?? options.manifest ?? '<manifest>';
    throw messages.createError(
      'error.RunFolderIncomplete',
      [folder.runId, folder.journalPath],
      [folder.dir, runCommand(manifest, options.username)],
    );
  }
  const manifest = await loadManifestOrThrow(folder.manifestCopyPath, {
    baseDir: dirname(owner.manifest),
    path: owner.manifest,
  });
  await reconcileJobs({
    folder,
    state: held.state,
    manifest,
    client: clientOf(options),
    journalEndsAt: owner.createdAt,
    record: held.record,
    ...(options.onWarning ? { onWarning: options.onWarning } : {}),
    manifestPath: owner.manifest,
    username: options.username,
    ...(options.ignoreJobs ? { ignoreJobs: options.ignoreJobs } : {}),
  });
  options.onWarning?.(messages.getMessage('warning.startedInPlace', [folder.runId, folder.journalPath]));
  // a rollback killed before its run.started still undoes the run its owner file names
  return MigrationRun.start(
    manifest,
    { ...options, ...(owner.rollbackOf ? { rollbackOf: owner.rollbackOf } : {}) },
    {
      opened: held,
    },
  );
}

/** the run goes on from its copy; the user is told which parts of the manifest now differ */
async function warnIfManifestChanged(
  folder: RunFolder,
  state: RunState,
  warn: (message: string) => void,
): Promise<void> {
  const started = state.started!;
  const owner = await readRunOwner(folder);
  // a retry's copy is derived from the user's manifest, not a copy of it: nothing to compare
  if (owner?.copyOf !== undefined && owner.copyOf !== started.manifest) return;
  let current: Buffer;
  try {
    current = await readFile(started.manifest);
  } catch {
    return; // moved or deleted: the run never needed it
  }
  const changed = manifestChanges(await readFile(folder.manifestCopyPath), current);
  if (changed.length > 0) warn(messages.getMessage('warning.manifestChanged', [folder.runId, changed.join(', ')]));
}

async function checkResumable(
  folder: RunFolder,
  state: RunState,
  manifest: LoadedManifest,
  options: ResumeOptions,
): Promise<void> {
  const started = state.started!;
  if (state.finished) {
    throw messages.createError('error.RunAlreadyFinished', [folder.runId, state.finished.status], [folder.runId]);
  }
  if (started.orgId !== options.orgId) {
    throw messages.createError(
      'error.RunOfAnotherOrg',
      [folder.runId, started.username, options.username],
      ['resume', folder.runId, started.username],
    );
  }
  const changed = await findChangedSources(started.sources, { recordedAt: started.time });
  const recorded = new Set(started.sources.map((source) => source.file));
  const added = [...new Set(manifest.steps.flatMap((step) => step.files))].filter((file) => !recorded.has(file));
  const problems = [
    ...changed.map((change) => `${change.file} (${change.reason})`),
    ...added.map((file) => `${file} (added)`),
  ];
  if (problems.length > 0) {
    throw messages.createError(
      'error.SourcesChanged',
      [folder.runId, problems.join(', ')],
      [shellQuote(manifest.path)],
    );
  }
}
