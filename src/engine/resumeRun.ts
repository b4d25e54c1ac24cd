/*
 * Reopening an interrupted run: find it, replay its journal, refuse what would make the resume
 * unsafe (another org, changed sources, an edited manifest copy), take its lock, and hand the
 * replayed state to MigrationRun, which continues each chunk from its last journaled phase.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Messages } from '@salesforce/core';
import { loadManifestOrThrow } from '../manifest/load.js';
import type { LoadedManifest } from '../manifest/types.js';
import { Journal } from '../journal/journal.js';
import { replayJournal, type RunState } from '../journal/state.js';
import { findRun, runFolder, type RunFolder } from '../journal/runFolder.js';
import { acquireRunLock, takeoverWarning } from '../journal/lock.js';
import { findChangedSources } from '../journal/fingerprint.js';
import { MigrationRun, type RunOptions } from './migrationRun.js';

Messages.importMessagesDirectoryFromMetaUrl(import.meta.url);
const messages = Messages.loadMessages('@sf-migrate/plugin-migrate', 'engine');

export type OpenedRun = { folder: RunFolder; state: RunState; manifest: LoadedManifest; torn?: string };

/** the folder of a run: `runId`, or the newest unfinished run (of `manifestPath`, when given) */
export async function locateRun(root: string, runId?: string, manifestPath?: string): Promise<RunFolder> {
  const summary = await findRun(root, runId, manifestPath ? { manifest: manifestPath } : {});
  if (!summary) {
    throw runId
      ? messages.createError('error.RunNotFound', [runId, root])
      : messages.createError('error.NoUnfinishedRun', [root]);
  }
  return runFolder(root, summary.runId);
}

/**
 * Reads a run back from disk: replays its journal and loads the manifest copy taken at run start,
 * its paths resolved against the original manifest's folder. Reading does not take the run over;
 * a caller that goes on to write must hold the run's lock BEFORE calling this, or it could act on
 * a state another process has since moved past.
 */
export async function readRun(folder: RunFolder): Promise<OpenedRun> {
  let torn: string | undefined;
  const state = await replayJournal(folder.journalPath, {
    onTorn: (line) => {
      torn = line;
    },
  });
  const started = state.started;
  if (!started) throw messages.createError('error.RunNeverStarted', [folder.dir]);
  const copy = await readFile(folder.manifestCopyPath);
  if (createHash('sha256').update(copy).digest('hex') !== started.manifestSha256) {
    throw messages.createError('error.ManifestCopyChanged', [folder.manifestCopyPath]);
  }
  const manifest = await loadManifestOrThrow(folder.manifestCopyPath, {
    baseDir: dirname(started.manifest),
    path: started.manifest,
  });
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
  onWarning?: (message: string) => void;
};

export async function resumeRun(options: ResumeOptions): Promise<MigrationRun> {
  const folder = await locateRun(options.root, options.runId, options.manifest);
  const warn = options.onWarning ?? ((): void => {});
  // the lock first, then the journal: a state read before taking the lock may be stale
  const lock = await acquireRunLock(folder);
  try {
    if (lock.tookOver) warn(takeoverWarning(folder, lock.tookOver));
    const { state, manifest, torn } = await readRun(folder);
    if (torn !== undefined) warn(messages.getMessage('warning.tornLine', [folder.journalPath]));
    await checkResumable(folder, state, manifest, options);
    const { journal } = await Journal.openForAppend(folder.journalPath);
    if (journal.lastSeq !== state.lastSeq) {
      await journal.close();
      throw messages.createError('error.JournalMovedOn', [folder.journalPath]);
    }
    return await MigrationRun.continue(manifest, folder, state, journal, lock, options);
  } catch (error) {
    await lock.release();
    throw error;
  }
}

async function checkResumable(folder: RunFolder, state: RunState, manifest: LoadedManifest, options: ResumeOptions): Promise<void> {
  const started = state.started!;
  if (state.finished) {
    throw messages.createError('error.RunAlreadyFinished', [folder.runId, state.finished.status], [folder.runId]);
  }
  if (started.orgId !== options.orgId) {
    throw messages.createError('error.RunOfAnotherOrg', [folder.runId, started.username, options.username], [
      started.username,
    ]);
  }
  const changed = await findChangedSources(started.sources, { recordedAt: started.time });
  const recorded = new Set(started.sources.map((source) => source.file));
  const added = [...new Set(manifest.steps.flatMap((step) => step.files))].filter((file) => !recorded.has(file));
  const problems = [
    ...changed.map((change) => `${change.file} (${change.reason})`),
    ...added.map((file) => `${file} (added)`),
  ];
  if (problems.length > 0) {
    throw messages.createError('error.SourcesChanged', [folder.runId, problems.join(', ')], [manifest.path]);
  }
}
