/*
 * Source files are fingerprinted when a run starts; resume refuses files that changed, because a
 * chunk is a byte range and the same range of a different file is different records.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { Messages, SfError } from '@salesforce/core';
import type { SourceFingerprint } from './events.js';
import { errnoOf } from './durable.js';

Messages.importMessagesDirectoryFromMetaUrl(import.meta.url);
const messages = Messages.loadMessages('@sf-migrate/plugin-migrate', 'journal');

const STABLE_READ_ATTEMPTS = 3;

/**
 * Two modification times this close together may hide a second write: file systems and kernels
 * stamp mtimes with a coarse clock, so a file fingerprinted within this window of its last write
 * could have been written again with the same mtime.
 */
const RACY_WINDOW_MS = 2000;

async function sha256Of(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), hash);
  return hash.digest('hex');
}

/**
 * Size, mtime and SHA-256 (streamed, constant memory) of a file. The file is stat'ed before and
 * after hashing; if it changed meanwhile it is read again, and after a few attempts this is an
 * SfError `SourceUnstableError`, since a file being written cannot be loaded reliably.
 */
export async function fingerprintFile(file: string): Promise<SourceFingerprint> {
  for (let attempt = 0; attempt < STABLE_READ_ATTEMPTS; attempt++) {
    /* eslint-disable no-await-in-loop -- a retry only happens when the file moved under us */
    const before = await stat(file);
    const sha256 = await sha256Of(file);
    const after = await stat(file);
    /* eslint-enable no-await-in-loop */
    if (before.size === after.size && before.mtimeMs === after.mtimeMs) {
      return { file, size: after.size, mtimeMs: after.mtimeMs, sha256 };
    }
  }
  const error = messages.createError('error.SourceUnstable', [file]);
  error.setData({ file });
  throw error;
}

export type SourceChange = { file: string; reason: 'missing' | 'size' | 'content' };

export type FindChangedSourcesOptions = {
  /**
   * When the fingerprints were taken (the time of run.started). A recorded mtime within 2 s of it
   * is "racy" (see below), so such files are always hashed.
   */
  recordedAt?: Date | string | number;
  /** hash every file whatever its mtime says: slowest, trusts nothing */
  alwaysHash?: boolean;
};

/**
 * Which recorded source files changed. The policy, cheapest check first:
 *
 * 1. gone → `missing`;
 * 2. size differs → `size` (no read needed);
 * 3. same size and same mtime → unchanged, without reading the file — the rule git and make rely
 * on: a content change bumps mtime unless someone forged it. Two exceptions read the file anyway:
 * `alwaysHash`, and a "racy" fingerprint whose mtime was within 2 s of `recordedAt` (a write in
 * the same clock tick could keep the mtime);
 * 4. otherwise the SHA-256 decides: equal → unchanged (only touched or copied), else `content`.
 *
 * A resume therefore costs one stat per file, and a full read only for files touched since.
 * Files are checked one at a time, so a resume never reads many large files at once. Results are
 * in the order of `recorded`.
 */
export async function findChangedSources(
  recorded: SourceFingerprint[],
  options: FindChangedSourcesOptions = {},
): Promise<SourceChange[]> {
  const recordedAtMs = options.recordedAt === undefined ? undefined : new Date(options.recordedAt).getTime();
  const changes: SourceChange[] = [];
  for (const fingerprint of recorded) {
    let current;
    try {
      // eslint-disable-next-line no-await-in-loop -- one file at a time bounds the I/O a resume causes
      current = await stat(fingerprint.file);
    } catch (error) {
      if (errnoOf(error) === 'ENOENT' || errnoOf(error) === 'ENOTDIR') {
        changes.push({ file: fingerprint.file, reason: 'missing' });
        continue;
      }
      throw error;
    }
    if (!current.isFile()) {
      changes.push({ file: fingerprint.file, reason: 'missing' });
      continue;
    }
    if (current.size !== fingerprint.size) {
      changes.push({ file: fingerprint.file, reason: 'size' });
      continue;
    }
    const racy = recordedAtMs !== undefined && Math.abs(recordedAtMs - fingerprint.mtimeMs) < RACY_WINDOW_MS;
    if (current.mtimeMs === fingerprint.mtimeMs && !racy && !options.alwaysHash) continue;
    // eslint-disable-next-line no-await-in-loop
    if ((await sha256Of(fingerprint.file)) !== fingerprint.sha256) {
      changes.push({ file: fingerprint.file, reason: 'content' });
    }
  }
  return changes;
}

/**
 * The error resume raises for changed sources (`SourcesChangedError`), listing each file and why,
 * with `data.changes` for scripts.
 */
export function sourcesChangedError(runId: string, manifest: string, changes: SourceChange[]): SfError {
  const list = changes.map((change) => messages.getMessage(`sourceChange.${change.reason}`, [change.file])).join('; ');
  const error = messages.createError('error.SourcesChanged', [runId, list], [runId, manifest]);
  error.setData({ runId, changes });
  return error;
}
