/*
 * Which run and org a job id belongs to, kept in the sf state folder so the per-job commands work
 * from any directory. Append-only, one JSON entry a line; several runs (processes) may append at
 * once, which O_APPEND keeps whole for lines this small.
 */
import { mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Global } from '@salesforce/core';
import type { Operation } from '../manifest/types.js';
import { normalizeSalesforceId } from './salesforceId.js';

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

function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined;
}

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
    const handle = await open(file, 'a+', 0o600);
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
    options: { orgId?: string; username?: string } = {}
  ): Promise<JobIndexEntry | undefined> {
    const wanted = normalizeSalesforceId(jobId);
    const orgId = options.orgId === undefined ? undefined : normalizeSalesforceId(options.orgId);
    const username = options.username?.toLowerCase();
    let handle;
    try {
      handle = await open(JobIndex.path(), 'r');
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return undefined;
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
}
