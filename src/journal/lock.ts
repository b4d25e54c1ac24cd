/*
 * One process drives a run at a time: two would both create jobs for the same chunks. The lock is
 * a file that appears atomically with its content (hard link of a fully written temp file), so
 * nobody ever sees a half-written lock of a live owner. A crash leaves the lock behind on purpose;
 * the next process sees its owner is gone and takes it over.
 */
import { createHash, randomBytes } from 'node:crypto';
import { link, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { dirname } from 'node:path';
import { Messages, SfError } from '@salesforce/core';
import type { RunFolder } from './runFolder.js';
import { errnoOf, syncDirectory, temporaryPathFor } from './durable.js';

Messages.importMessagesDirectoryFromMetaUrl(import.meta.url);
const messages = Messages.loadMessages('@sf-migrate/plugin-migrate', 'journal');

/** what a lock guards: a run folder, or anything else named like one in messages */
export type LockedPath = Pick<RunFolder, 'runId' | 'lockPath'>;

export type LockOwner = { pid: number; host: string; startedAt: string };

export type RunLock = {
  /**
   * Set when a stale lock was taken over: its owner (pid 0, host and startedAt empty, `corrupt`
   * true when the lock file could not be read). Callers warn with `warning.StaleLockTakenOver` or
   * `warning.CorruptLockTakenOver` of the journal bundle.
   */
  tookOver?: LockOwner & { corrupt?: boolean };
  /** Deletes the lock if it is still this process's. Safe to call twice. */
  release(): Promise<void>;
};

/** The warning to show when `acquireRunLock` took a stale lock over. */
export function takeoverWarning(folder: RunFolder, tookOver: NonNullable<RunLock['tookOver']>): string {
  return tookOver.corrupt
    ? messages.getMessage('warning.CorruptLockTakenOver', [folder.runId])
    : messages.getMessage('warning.StaleLockTakenOver', [
        folder.runId,
        String(tookOver.pid),
        tookOver.host,
        tookOver.startedAt,
      ]);
}

/** a takeover in progress normally lasts milliseconds; a marker older than this was left by a crash */
const ABANDONED_TAKEOVER_MS = 10_000;
const MAX_ATTEMPTS = 8;

/**
 * Nonces of the locks this process holds or is acquiring. A lock naming our own pid is live when
 * its nonce is in here, and a stale one left by an earlier process with a reused pid otherwise. A
 * nonce is added before its lock can appear, not after: an acquirer that read a lock in the moment
 * between another acquirer's link (or rename) and its bookkeeping took the fresh lock for stale and
 * "took it over", so two acquirers in one process both won.
 */
const liveNonces = new Set<string>();

type LockFileContent = LockOwner & { nonce: string };

function parseOwner(raw: string): LockFileContent | undefined {
  try {
    const value = JSON.parse(raw) as Partial<LockFileContent>;
    if (
      typeof value.pid === 'number' &&
      Number.isSafeInteger(value.pid) &&
      value.pid > 0 &&
      typeof value.host === 'string' &&
      typeof value.startedAt === 'string'
    ) {
      return { pid: value.pid, host: value.host, startedAt: value.startedAt, nonce: String(value.nonce ?? '') };
    }
  } catch {
    // unreadable: treated as corrupt by the caller
  }
  return undefined;
}

/** `process.kill(pid, 0)` only asks whether the process exists; EPERM means it exists under another user. */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errnoOf(error) === 'EPERM';
  }
}

async function writePrivateFile(path: string, content: string): Promise<void> {
  const handle = await open(path, 'wx', 0o600);
  try {
    await handle.writeFile(content, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return undefined;
    throw error;
  }
}

const sha = (text: string): string => createHash('sha256').update(text).digest('hex').slice(0, 16);

function lockedError(folder: LockedPath, owner: LockOwner): Error {
  const error = messages.createError(
    'error.RunLocked',
    [folder.runId, owner.pid, owner.host, owner.startedAt],
    [owner.pid, owner.host, folder.lockPath, folder.runId],
  );
  error.setData({ runId: folder.runId, lockPath: folder.lockPath, ...owner });
  return error;
}

/**
 * Takes the lock of a run folder for this process.
 *
 * - No lock: created atomically with `{pid, host, startedAt}`.
 * - A lock whose owner is alive (same host, `process.kill(pid, 0)` succeeds), or whose host is
 * another machine (its process cannot be checked from here): SfError `RunLockedError` with the
 * owner in `data` and actions.
 * - A lock whose owner is gone, or that is empty/unreadable (a crash while it was written): taken
 * over, reported in `tookOver`. Concurrent takers are serialised by an exclusive marker file
 * named after the stale lock's content, so exactly one of them wins.
 */
export async function acquireRunLock(folder: LockedPath): Promise<RunLock> {
  const host = hostname();
  const nonce = randomBytes(8).toString('hex');
  const mine: LockFileContent = { pid: process.pid, host, startedAt: new Date().toISOString(), nonce };
  const content = `${JSON.stringify(mine)}\n`;
  const tempPath = temporaryPathFor(folder.lockPath);
  liveNonces.add(nonce);
  try {
    await writePrivateFile(tempPath, content);
  } catch (error) {
    liveNonces.delete(nonce);
    throw error;
  }

  // the nonce is forgotten only once the lock is gone: until then it is live to other acquirers
  const release = async (): Promise<void> => {
    try {
      const current = await readIfExists(folder.lockPath);
      if (current !== undefined && parseOwner(current)?.nonce === nonce) {
        await unlink(folder.lockPath).catch((error: unknown) => {
          if (errnoOf(error) !== 'ENOENT') throw error;
        });
      }
    } finally {
      liveNonces.delete(nonce);
    }
  };

  try {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      let linked = false;
      try {
        // eslint-disable-next-line no-await-in-loop -- each attempt depends on what the last one found
        await link(tempPath, folder.lockPath);
        linked = true;
      } catch (error) {
        if (errnoOf(error) !== 'EEXIST') throw error;
      }
      if (linked) {
        try {
          // the lock survives a power cut only once its directory entry does
          // eslint-disable-next-line no-await-in-loop -- the loop ends here
          await syncDirectory(dirname(folder.lockPath));
        } catch (error) {
          await release(); // eslint-disable-line no-await-in-loop -- the loop ends here
          throw error;
        }
        return { release };
      }
      // eslint-disable-next-line no-await-in-loop
      const existing = await readIfExists(folder.lockPath);
      if (existing === undefined) continue; // released meanwhile: try again
      const owner = parseOwner(existing);
      if (owner) {
        const ours = owner.host === host && owner.pid === process.pid;
        if (ours && liveNonces.has(owner.nonce)) throw lockedError(folder, owner);
        if (!ours && (owner.host !== host || isProcessAlive(owner.pid))) throw lockedError(folder, owner);
      }
      // eslint-disable-next-line no-await-in-loop
      const taken = await takeOver(folder, existing, tempPath);
      if (taken) {
        const tookOver = owner
          ? { pid: owner.pid, host: owner.host, startedAt: owner.startedAt }
          : { pid: 0, host: '', startedAt: '', corrupt: true };
        return { release, tookOver };
      }
    }
    throw messages.createError('error.RunLockContended', [folder.runId], [folder.runId]);
  } catch (error) {
    liveNonces.delete(nonce);
    throw error;
  } finally {
    await unlink(tempPath).catch(() => undefined);
  }
}

/**
 * Replaces the stale lock `stale` by ours, unless someone else replaced it first. Holding the
 * marker for this very content makes "check it is still stale, then replace" atomic among takers;
 * the rename replaces the lock in one step, so a plain acquirer never finds the path free.
 * Resolves false when the lock changed under us (the caller looks again).
 */
async function takeOver(folder: LockedPath, stale: string, tempPath: string): Promise<boolean> {
  const marker = `${folder.lockPath}.takeover-${sha(stale)}`;
  try {
    await writePrivateFile(marker, `${JSON.stringify({ pid: process.pid, host: hostname() })}\n`);
  } catch (error) {
    if (errnoOf(error) !== 'EEXIST') throw error;
    const age = await stat(marker).then(
      (s) => Date.now() - s.mtimeMs,
      () => 0,
    );
    if (age > ABANDONED_TAKEOVER_MS) await unlink(marker).catch(() => undefined);
    else if ((await readIfExists(folder.lockPath)) === stale) {
      throw messages.createError('error.RunLockContended', [folder.runId], [folder.runId]);
    }
    return false;
  }
  try {
    if ((await readIfExists(folder.lockPath)) !== stale) return false;
    await rename(tempPath, folder.lockPath);
    await syncDirectory(dirname(folder.lockPath));
    return true;
  } finally {
    await unlink(marker).catch(() => undefined);
  }
}

/**
 * How long `whileHolding` waits for another holder. The locks it is used for (a manifest's, while
 * a run starts; the job index's, while an entry is appended) are held for milliseconds; two
 * minutes covers a slow network disk, and a holder that keeps one longer is stuck.
 */
const MAX_WAIT_MS = 120_000;

const isBusy = (error: unknown): boolean =>
  error instanceof SfError && (error.name === 'RunLockedError' || error.name === 'RunLockContendedError');

/**
 * Runs `critical` while holding the lock `target`, waiting (up to two minutes) while another holder
 * has it. The lock is released when `critical` settles.
 *
 * @throws `timedOut(error)` of the lock's last `RunLockedError` / `RunLockContendedError` when
 * the wait ran out (by default that error itself).
 */
export async function whileHolding<T>(
  target: LockedPath,
  critical: () => Promise<T>,
  timedOut: (error: SfError) => Error = (error): Error => error,
): Promise<T> {
  const deadline = Date.now() + MAX_WAIT_MS;
  let pause = 10;
  for (;;) {
    let lock;
    try {
      // eslint-disable-next-line no-await-in-loop -- each attempt waits for the holder before it
      lock = await acquireRunLock(target);
    } catch (error) {
      if (!isBusy(error)) throw error;
      if (Date.now() >= deadline) throw timedOut(error as SfError);
      // jittered, so queued holders do not retry in lockstep
      // eslint-disable-next-line no-await-in-loop
      await sleep(pause + Math.floor(Math.random() * pause));
      pause = Math.min(pause * 2, 250);
      continue;
    }
    try {
      // eslint-disable-next-line no-await-in-loop -- the loop ends here
      return await critical();
    } finally {
      // eslint-disable-next-line no-await-in-loop
      await lock.release();
    }
  }
}
