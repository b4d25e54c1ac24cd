/*
 * One run per manifest, whatever the timing. "Is there an unfinished run of this manifest?" and
 * "create a run folder, lock it and journal run.started" must be one atomic step, or two starts
 * of the same manifest both find nothing and both load every record. The manifest lock makes it
 * one: a lock file in the runs root, named after the manifest's path, taken before the check and
 * held until the new run is on disk (its folder, owner file, lock and run.started). Starts queue
 * behind it, so the second one then finds the first run and refuses with "unfinished run".
 * It is held for milliseconds (the sources are fingerprinted before it is taken), so waiting for
 * it is cheap (up to two minutes, see whileHolding); a crashed holder's lock is taken over like a
 * stale run lock.
 */
import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Messages } from '@salesforce/core';
import { whileHolding, type LockedPath } from './lock.js';

Messages.importMessagesDirectoryFromMetaUrl(import.meta.url);
const messages = Messages.loadMessages('@sf-migrate/plugin-migrate', 'journal');

/** the lock file of a manifest in its runs root: hidden, so listRuns never takes it for a run */
export function manifestLockPath(root: string, manifest: string): string {
  return join(root, `.manifest-${createHash('sha256').update(manifest).digest('hex').slice(0, 16)}.lock`);
}

/**
 * Runs `critical` while holding the lock of `manifest` (an absolute path) in `root`, waiting for
 * other holders first.
 *
 * @throws SfError `ManifestLockedError` when another process held it for longer than two minutes.
 */
export async function withManifestLock<T>(root: string, manifest: string, critical: () => Promise<T>): Promise<T> {
  await mkdir(root, { recursive: true, mode: 0o700 });
  const target: LockedPath = { runId: manifest, lockPath: manifestLockPath(root, manifest) };
  return whileHolding(target, critical, (busy) => {
    const data = busy.data as { pid?: number; host?: string } | undefined;
    const failure = messages.createError(
      'error.ManifestLocked',
      [manifest, data?.pid ?? '?', data?.host ?? '?'],
      [target.lockPath],
    );
    failure.setData({ manifest, lockPath: target.lockPath, ...(data ?? {}) });
    return failure;
  });
}
