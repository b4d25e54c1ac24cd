/*
 * Which run and org a job id belongs to, kept in the sf state folder so the per-job commands work
 * from any directory, and so resume can find jobs of its run that a damaged journal lost. One JSON
 * entry a line, appended under a small lock file so that pruning (which rewrites the file) never
 * loses an entry another process appends meanwhile.
 */
import { createReadStream } from 'node:fs';
import { mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Global } from '@salesforce/core';
import type { Operation } from '../manifest/types.js';
import { normalizeSalesforceId } from './salesforceId.js';
import { errnoOf, writeAtomically } from './durable.js';
import { whileHolding } from './lock.js';

export { toEighteen, normalizeSalesforceId } from './salesforceId.js';

export type JobIndexEntry = {
  /** 18 characters */
  jobId: string;
  runId: string;
  runDir: string;
  manifest: string;
  username: string;
  orgId: string;
  instanceUrl: string;
  step: string;
  chunk: number;
  object: string;
  operation: Operation;
  createdAt: string;
};

const FIELDS: ReadonlyArray<keyof JobIndexEntry> = [
  'jobId',
  'runId',
  'runDir',
  'manifest',
  'username',
  'orgId',
  'instanceUrl',
  'step',
  'chunk',
  'object',
  'operation',
  'createdAt',
];

function parseEntry(line: string): JobIndexEntry | undefined {
  try {
    const value = JSON.parse(line) as Partial<JobIndexEntry>;
    if (typeof value !== 'object' || value === null) return undefined;
    for (const field of FIELDS) {
      const expected = field === 'chunk' ? 'number' : 'string';
      if (typeof value[field] !== expected) return undefined;
    }
    return value as JobIndexEntry;
  } catch {
    return undefined;
  }
}

const NEWLINE = 0x0a;

/**
 * Entries older than this are dropped. Salesforce deletes a finished ingest job 7 days after it
 * ends (reference: "Terminal jobs vanish after 7 days"), so an older entry can no longer lead a
 * `job` command to its job; its run, if unfinished, is resumed from its own folder and journal.
 * Thirty days keeps entries well past that (a cutover postponed by weeks still finds them)
 * while the file cannot grow without bound on a machine that runs migrations for years.
 */
export const JOB_INDEX_RETENTION_DAYS = 30;
const RETENTION_MS = JOB_INDEX_RETENTION_DAYS * 24 * 60 * 60 * 1000;

/** checked once per process: pruning reads the whole file */
let pruneChecked = false;

/** writers of this process take turns before the file lock, which only tells processes apart */
let turns: Promise<unknown> = Promise.resolve();

function inTurn<T>(work: () => Promise<T>): Promise<T> {
  const mine = turns.then(work);
  turns = mine.catch(() => undefined);
  return mine;
}

const sameFifteen = (a: string, b: string): boolean => a.slice(0, 15) === b.slice(0, 15);

export class JobIndex {
  /** ~/.sf/sf-migrate/job-index.jsonl (follows the sf state folder, i.e. the home directory) */
  public static path(): string {
    return join(Global.SF_DIR, 'sf-migrate', 'job-index.jsonl');
  }

  /**
   * Appends an entry and syncs it. Call it as soon as a job is created (before waiting on it,
   * whatever the wait mode), so `sf migrate job …` can find the job even if this process dies.
   * Only the fields of JobIndexEntry are written; ids are stored in their 18-character form.
   */
  public static async record(entry: JobIndexEntry): Promise<void> {
    const file = JobIndex.path();
    await mkdir(join(file, '..'), { recursive: true, mode: 0o700 });
    const stored: Record<string, unknown> = {};
    for (const field of FIELDS) stored[field] = entry[field];
    stored.jobId = normalizeSalesforceId(entry.jobId);
    stored.orgId = normalizeSalesforceId(entry.orgId);
    await inTurn(() => whileHolding(JobIndex.lock(), () => JobIndex.appendHeld(stored)));
  }

  /**
   * Drops entries created before `before` (ms since the epoch; default: the retention period ago)
   * and damaged lines. The kept entries are written to a new file that replaces the index in one
   * rename, under the index's lock, so readers see the old file or the new one and no append is
   * lost. Resolves to the number of entries dropped.
   */
  public static async prune(before: number = Date.now() - RETENTION_MS): Promise<number> {
    await mkdir(join(JobIndex.path(), '..'), { recursive: true, mode: 0o700 });
    return inTurn(() => whileHolding(JobIndex.lock(), () => JobIndex.pruneHeld(before)));
  }

  /**
   * Every readable entry, oldest first, streamed. With `runId`, only that run's. Damaged lines (a
   * crash while appending) are skipped.
   */
  public static async *entries(options: { runId?: string } = {}): AsyncGenerator<JobIndexEntry> {
    let handle;
    try {
      handle = await open(JobIndex.path(), 'r');
    } catch (error) {
      if (errnoOf(error) === 'ENOENT') return;
      throw error;
    }
    const lines = createInterface({ input: handle.createReadStream(), crlfDelay: Infinity });
    try {
      for await (const line of lines) {
        if (options.runId !== undefined && !line.includes(options.runId)) continue;
        const entry = parseEntry(line);
        if (entry && (options.runId === undefined || entry.runId === options.runId)) yield entry;
      }
    } finally {
      lines.close();
      await handle.close();
    }
  }

  /**
   * The entry of a job id, given with 15 or 18 characters (an 18-character id's lost case is
   * restored from its suffix; then the first 15 characters are compared case-sensitively). With
   * `orgId` (15 or 18 characters) or `username` (case-insensitive), only entries of that org
   * match. The file is streamed; when a job appears more than once, the newest entry wins.
   * Damaged lines (a crash while appending) are skipped.
   *
   * @throws SfError `InvalidSalesforceIdError` when `jobId` or `orgId` is not shaped like an id.
   */
  public static async find(
    jobId: string,
    options: { orgId?: string; username?: string } = {},
  ): Promise<JobIndexEntry | undefined> {
    const wanted = normalizeSalesforceId(jobId);
    const orgId = options.orgId === undefined ? undefined : normalizeSalesforceId(options.orgId);
    const username = options.username?.toLowerCase();
    let handle;
    try {
      handle = await open(JobIndex.path(), 'r');
    } catch (error) {
      if (errnoOf(error) === 'ENOENT') return undefined;
      throw error;
    }
    const lines = createInterface({ input: handle.createReadStream(), crlfDelay: Infinity });
    let found: JobIndexEntry | undefined;
    try {
      for await (const line of lines) {
        // cheap test first: most lines are other jobs
        if (!line.includes(wanted.slice(0, 15))) continue;
        const entry = parseEntry(line);
        if (!entry || !sameFifteen(entry.jobId, wanted)) continue;
        if (orgId !== undefined && !sameFifteen(entry.orgId, orgId)) continue;
        if (username !== undefined && entry.username.toLowerCase() !== username) continue;
        found = entry;
      }
    } finally {
      lines.close();
      await handle.close();
    }
    return found;
  }

  private static lock(): { runId: string; lockPath: string } {
    return { runId: 'job index', lockPath: `${JobIndex.path()}.lock` };
  }

  /** record, the lock held */
  private static async appendHeld(stored: Record<string, unknown>): Promise<void> {
    if (!pruneChecked) {
      pruneChecked = true;
      await JobIndex.pruneHeld(Date.now() - RETENTION_MS);
    }
    const handle = await open(JobIndex.path(), 'a+', 0o600);
    try {
      // a file made by hand or by an older version: it names customer runs, keep it private
      if (((await handle.stat()).mode & 0o077) !== 0) await handle.chmod(0o600);
      // a line torn by a crash would swallow this entry: end it first
      const { size } = await handle.stat();
      const last = size > 0 ? (await handle.read(Buffer.alloc(1), 0, 1, size - 1)).buffer[0] : NEWLINE;
      await handle.write(`${last === NEWLINE ? '' : '\n'}${JSON.stringify(stored)}\n`);
      await handle.datasync();
    } finally {
      await handle.close();
    }
  }

  /** prune, the lock held */
  private static async pruneHeld(before: number): Promise<number> {
    const file = JobIndex.path();
    const oldest = await JobIndex.entries()[Symbol.asyncIterator]().next();
    // entries are appended in time order: an index whose first entry is recent has nothing to drop
    if (oldest.done === true || Date.parse(oldest.value.createdAt) >= before) return 0;
    let dropped = 0;
    await writeAtomically(file, async (temporary) => {
      const out = await open(temporary, 'wx', 0o600);
      try {
        const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
        for await (const line of lines) {
          const entry = parseEntry(line);
          const createdAt = entry ? Date.parse(entry.createdAt) : NaN;
          if (!entry || !(createdAt >= before)) {
            dropped++;
            continue;
          }
          await out.write(`${line}\n`);
        }
      } finally {
        await out.close();
      }
    });
    return dropped;
  }
}
