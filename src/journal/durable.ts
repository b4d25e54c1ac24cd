/*
 * The one way this plugin makes a file durable. A file that must be either absent or complete
 * (a result CSV, a dead letter, the job index after pruning, a run folder's owner file) is written
 * under a temporary name in its own folder, fsynced, renamed into place, and the folder is fsynced
 * so the rename itself survives a power cut. Every writer uses the same temporary-name scheme, so
 * a crash leaves only `.<name>.<pid>.<random>.tmp` files behind, which nothing ever reads.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** The `code` of a Node.js system error (`'ENOENT'`, `'EEXIST'`, …), or undefined for anything else. */
export function errnoOf(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined;
}

/** Whether something exists at `path`. Only "not there" answers false; any other failure is thrown. */
export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    const code = errnoOf(error);
    if (code === 'ENOENT' || code === 'ENOTDIR') return false;
    throw error;
  }
}

/**
 * Makes the entries of a folder (a file created or renamed into it) durable. Windows cannot open
 * a folder for fsync and journals its metadata itself, so it is skipped there.
 */
export async function syncDirectory(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** A fresh temporary name beside `file`: hidden, and unique per process and call. */
export function temporaryPathFor(file: string): string {
  return join(dirname(file), `.${basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/** fsyncs a written temporary file, renames it to `file`, and fsyncs the folder. */
export async function commitTemporary(temporary: string, file: string): Promise<void> {
  const handle = await open(temporary, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temporary, file);
  await syncDirectory(dirname(file));
}

/** Removes a temporary file that will not be committed (it may not exist). */
export async function discardTemporary(temporary: string): Promise<void> {
  await rm(temporary, { force: true });
}

/**
 * Writes `file` atomically: `write` fills a temporary file beside it (created owner-only), which
 * is committed only when `write` resolves; on failure it is removed and `file` is untouched.
 * `write` streams into the path it is given, so content of any size never has to sit in memory.
 */
export async function writeAtomically<T>(file: string, write: (temporary: string) => Promise<T>): Promise<T> {
  const temporary = temporaryPathFor(file);
  try {
    const result = await write(temporary);
    await commitTemporary(temporary, file);
    return result;
  } catch (error) {
    await discardTemporary(temporary);
    throw error;
  }
}

/** `writeAtomically` for small content held in memory; the file is 0o600. */
export async function writeFileAtomically(file: string, content: string | Uint8Array): Promise<void> {
  await writeAtomically(file, async (temporary) => {
    const handle = await open(temporary, 'wx', 0o600);
    try {
      await handle.writeFile(content);
    } finally {
      await handle.close();
    }
  });
}
