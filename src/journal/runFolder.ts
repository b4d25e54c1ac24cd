/*
 * The run folder (docs/architecture.md §3): where a run keeps its journal, the manifest as it was at start,
 * result files, dead letters and its lock. It holds customer data, so every folder is 0o700 and
 * every file 0o600.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { chmod, copyFile, mkdir, open, readFile, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Messages } from '@salesforce/core';
import { readJournalEnds } from './journal.js';
import { errnoOf, syncDirectory, writeFileAtomically } from './durable.js';

Messages.importMessagesDirectoryFromMetaUrl(import.meta.url);
const messages = Messages.loadMessages('@sf-migrate/plugin-migrate', 'journal');

export type ResultKind = 'success' | 'failed' | 'unprocessed';

/** Paths of one run folder. Step ids and job ids become path segments, so they are checked. */
export type RunFolder = {
  runId: string;
  dir: string;
  journalPath: string;
  manifestCopyPath: string;
  /** owner.json: which manifest the run belongs to, written before the journal exists */
  ownerPath: string;
  lockPath: string;
  /** results/<step> */
  resultsDir(step: string): string;
  /** results/<step>/<jobId>-<kind>.csv */
  resultFile(step: string, jobId: string, kind: ResultKind): string;
  /** dead-letter/<step>.csv */
  deadLetterPath(step: string): string;
  /** retry/<step>: the CSV files that retry chunks read their rows from */
  retryDir(step: string): string;
};

const SEGMENT = /^[A-Za-z0-9_.-]+$/;

/** Refuses a name that would leave its folder or be a hidden special entry. */
function segment(what: string, value: string): string {
  if (!SEGMENT.test(value) || value === '.' || value === '..') {
    const error = messages.createError('error.InvalidPathSegment', [what, value]);
    error.setData({ what, value });
    throw error;
  }
  return value;
}

/**
 * A new run id: UTC date and time, then 4 random hex digits, e.g. `20261129-023000-4f2a`. Ids sort
 * by start time; two runs started in the same second differ by the suffix (and createRunFolder
 * picks another one if a folder with that name exists).
 */
export function newRunId(now: Date = new Date()): string {
  const pad = (n: number, width = 2): string => String(n).padStart(width, '0');
  const date = `${pad(now.getUTCFullYear(), 4)}${pad(now.getUTCMonth() + 1)}${pad(now.getUTCDate())}`;
  const time = `${pad(now.getUTCHours())}${pad(now.getUTCMinutes())}${pad(now.getUTCSeconds())}`;
  return `${date}-${time}-${randomBytes(2).toString('hex')}`;
}

/** The layout of a run folder under `root` (no I/O). */
export function runFolder(root: string, runId: string): RunFolder {
  const dir = join(root, segment('Run id', runId));
  return {
    runId,
    dir,
    journalPath: join(dir, 'journal.jsonl'),
    manifestCopyPath: join(dir, 'manifest.json'),
    ownerPath: join(dir, 'owner.json'),
    lockPath: join(dir, 'lock'),
    resultsDir: (step) => join(dir, 'results', segment('Step id', step)),
    resultFile: (step, jobId, kind) =>
      join(dir, 'results', segment('Step id', step), `${segment('Job id', jobId)}-${kind}.csv`),
    deadLetterPath: (step) => join(dir, 'dead-letter', `${segment('Step id', step)}.csv`),
    retryDir: (step) => join(dir, 'retry', segment('Step id', step)),
  };
}

/** mkdir -p, owner-only for every folder it creates (results/<step>, dead-letter, retry/<step>). */
export async function ensurePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
}

/**
 * Creates a run folder under `root` (created too if needed), owner-only; writes owner.json naming
 * the manifest the run belongs to (`owner`, default `manifestPath`), then copies the manifest into
 * it byte for byte as manifest.json (0o600, synced): resume reads that copy, so editing the
 * manifest mid-run does not change the run. Without `runId` a new id is chosen. The owner file
 * comes first so that a folder whose journal is later lost or damaged is still known to belong to
 * its manifest (`findRun`), and no second run of that manifest starts beside it.
 *
 * @throws SfError `RunExistsError` when `runId` is given and its folder exists.
 */
export async function createRunFolder(
  root: string,
  manifestPath: string,
  runId?: string,
  owner: string = manifestPath,
  extra: { rollbackOf?: string } = {},
): Promise<RunFolder> {
  await ensurePrivateDir(root);
  let folder: RunFolder | undefined;
  for (let attempt = 0; folder === undefined; attempt++) {
    const candidate = runFolder(root, runId ?? newRunId());
    try {
      // eslint-disable-next-line no-await-in-loop -- retried only when a generated id collides
      await mkdir(candidate.dir, { mode: 0o700 });
      folder = candidate;
    } catch (error) {
      if (errnoOf(error) !== 'EEXIST' || runId !== undefined || attempt >= 20) {
        if (errnoOf(error) === 'EEXIST') {
          throw messages.createError('error.RunExists', [candidate.runId, root], [candidate.runId], error as Error);
        }
        throw error;
      }
    }
  }
  try {
    await syncDirectory(root);
    const record: RunOwner = {
      manifest: owner,
      runId: folder.runId,
      createdAt: new Date().toISOString(),
      copyOf: manifestPath,
      ...(extra.rollbackOf ? { rollbackOf: extra.rollbackOf } : {}),
    };
    await writeFileAtomically(folder.ownerPath, `${JSON.stringify(record)}\n`);
    await copyFile(manifestPath, folder.manifestCopyPath, constants.COPYFILE_EXCL);
    await chmod(folder.manifestCopyPath, 0o600);
    const handle = await open(folder.manifestCopyPath, 'r+');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    await syncDirectory(folder.dir);
  } catch (error) {
    await rm(folder.dir, { recursive: true, force: true });
    throw error;
  }
  return folder;
}

/** owner.json of a run folder */
export type RunOwner = {
  /** the manifest the run belongs to (listed, resumed and refused beside under this path) */
  manifest: string;
  runId: string;
  createdAt: string;
  /** the file manifest.json was copied from: `manifest` itself, or a manifest derived from it (a retry) */
  copyOf?: string;
  /**
   * the run a rollback run undoes: also in its `run.started`, and here so that a rollback killed
   * before that line is started in place by `resume` still naming it
   */
  rollbackOf?: string;
};

/** the owner file of a run folder; undefined when it is missing or unreadable (older runs have none) */
export async function readRunOwner(folder: RunFolder): Promise<RunOwner | undefined> {
  try {
    const value = JSON.parse(await readFile(folder.ownerPath, 'utf8')) as Partial<RunOwner>;
    if (typeof value.manifest === 'string' && typeof value.createdAt === 'string') {
      return {
        manifest: value.manifest,
        runId: folder.runId,
        createdAt: value.createdAt,
        ...(typeof value.copyOf === 'string' ? { copyOf: value.copyOf } : {}),
        ...(typeof value.rollbackOf === 'string' ? { rollbackOf: value.rollbackOf } : {}),
      };
    }
  } catch {
    // a crash while it was written leaves none (it is renamed into place whole); anything else
    // unreadable is treated the same: the journal or the caller says what the folder is
  }
  return undefined;
}

/** One run as listed from its folder, read from the first and last events of its journal only. */
export type RunSummary = {
  runId: string;
  dir: string;
  /** time of run.started */
  startedAt?: string;
  /** the last event is run.finished */
  finished: boolean;
  /** run.finished status */
  status?: string;
  /** the manifest path recorded in run.started */
  manifest?: string;
  username?: string;
  orgId?: string;
  /** seq and time of the last complete event */
  lastSeq?: number;
  lastEventAt?: string;
  /** the journal ends with a line torn by a crash */
  torn?: boolean;
  /** the journal could not be read: the reason */
  unreadable?: string;
  /**
   * the journal does not say the run started although the folder belongs to a manifest (its
   * owner file): `missing` (no journal file) or `empty` (no complete event: lost or cut to nothing)
   */
  journal?: 'missing' | 'empty';
  /** when the folder was made (owner.json), for runs whose journal cannot say */
  createdAt?: string;
};

async function summarizeRun(root: string, runId: string): Promise<RunSummary> {
  const folder = runFolder(root, runId);
  const summary: RunSummary = { runId, dir: folder.dir, finished: false };
  let missing = false;
  try {
    const ends = await readJournalEnds(folder.journalPath);
    const { first, last } = ends;
    if (first?.type === 'run.started') {
      summary.startedAt = first.time;
      summary.manifest = first.manifest;
      summary.username = first.username;
      summary.orgId = first.orgId;
    }
    if (last) {
      summary.lastSeq = last.seq;
      summary.lastEventAt = last.time;
      if (last.type === 'run.finished') {
        summary.finished = true;
        summary.status = last.status;
      }
    }
    if (ends.tornLine !== undefined) summary.torn = true;
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') missing = true;
    else summary.unreadable = error instanceof Error ? error.message : String(error);
  }
  if (summary.startedAt === undefined) {
    // a journal that lost its start still belongs to the manifest its owner file names; a folder
    // with neither a journal nor an owner file never got as far as creating a job
    const owner = await readRunOwner(folder);
    if (owner) {
      summary.manifest ??= owner.manifest;
      summary.createdAt = owner.createdAt;
      if (summary.unreadable === undefined) summary.journal = missing ? 'missing' : 'empty';
    }
  }
  return summary;
}

const compareText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Every run folder under `root`, newest first (by start time, then run id). Reads only the first
 * and last lines of each journal, so listing is cheap however long the runs were.
 */
export async function listRuns(root: string): Promise<RunSummary[]> {
  let entries;
  try {
    entries = await readdir(root, { withFileTypes: true });
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return [];
    throw error;
  }
  const ids = entries
    .filter((entry) => entry.isDirectory() && SEGMENT.test(entry.name) && !entry.name.startsWith('.'))
    .map((entry) => entry.name);
  const keyed = await Promise.all(
    ids.map(async (id) => {
      const summary = await summarizeRun(root, id);
      // a run without a readable start sorts by when its folder last changed
      const key = summary.startedAt ?? summary.createdAt ?? (await stat(summary.dir)).mtime.toISOString();
      return { summary, key };
    }),
  );
  return keyed
    .sort((a, b) => compareText(b.key, a.key) || compareText(b.summary.runId, a.summary.runId))
    .map(({ summary }) => summary);
}

/**
 * With `runId`: that run, or undefined when it has no folder. Without: the newest unfinished run
 * that started (its journal has run.started), whose journal cannot be read, or whose journal is
 * missing or empty while its owner file names its manifest (so resume reports or repairs the
 * damage instead of silently picking an older run, and `run` never starts beside it), optionally
 * only runs of `manifest` (the path recorded in run.started or owner.json; several manifests in
 * one folder share a runs root).
 */
export async function findRun(
  root: string,
  runId?: string,
  options: { manifest?: string } = {},
): Promise<RunSummary | undefined> {
  if (runId !== undefined) {
    const folder = runFolder(root, runId);
    try {
      if (!(await stat(folder.dir)).isDirectory()) return undefined;
    } catch (error) {
      if (errnoOf(error) === 'ENOENT') return undefined;
      throw error;
    }
    return summarizeRun(root, runId);
  }
  const runs = await listRuns(root);
  return runs.find(
    (run) =>
      !run.finished &&
      (run.startedAt !== undefined || run.unreadable !== undefined || run.journal !== undefined) &&
      (options.manifest === undefined || run.manifest === undefined || run.manifest === options.manifest),
  );
}
