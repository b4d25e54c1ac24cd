/*
 * The boundary where an error leaves `run`, `resume` or `retry`. The library throws what it meets:
 * a raw errno error from any file it touches (run folder, journal, lock, results, dead letters,
 * retry files, sources) and a BulkApiError when the org cannot be reached. Wrapping each fs call
 * would scatter the same text over every module; instead this one function turns them into errors
 * a person can act on: the file, the manifest key that chose it, what is wrong, and the next
 * command. Network failures get an exit code of their own, so a script can tell "try again later"
 * from "fix something". Every text leaves through printable(): messages echo data.
 */
import { isAbsolute, relative, resolve } from 'node:path';
import { Messages, SfError } from '@salesforce/core';
import type { LoadedManifest } from '../manifest/types.js';
import { BulkApiError, UploadInterruptedError, networkErrorCode } from '../bulk/errors.js';
import { NETWORK_FAILURE_EXIT_CODE } from '../engine/outcome.js';
import { resumeCommand } from '../engine/commandLines.js';
import { printable } from './printable.js';

Messages.importMessagesDirectoryFromMetaUrl(import.meta.url);
const messages = Messages.loadMessages('@sf-migrate/plugin-migrate', 'session');

export type ErrorContext = {
  /** the manifest whose keys name the files (a retry's is derived from the user's) */
  manifest?: LoadedManifest;
  /** the folder that holds the runs, when known before a manifest is loaded */
  runRoot?: string;
  run?: {
    /** the manifest the user runs (a retry's belongs to the user's manifest) */
    manifestPath: string;
    runId: string;
    runDir: string;
    instanceUrl?: string;
  };
};

type ErrnoLike = Error & { code: string; path?: string; syscall?: string };

const FS_EXPLAINED = new Set([
  'ENOTDIR',
  'EISDIR',
  'ENOSPC',
  'EDQUOT',
  'EACCES',
  'EPERM',
  'EROFS',
  'ENOENT',
  'EEXIST',
  'EMFILE',
  'ENFILE',
  'ENAMETOOLONG',
  'ELOOP',
  'EIO',
  'EFBIG',
  'EBUSY',
]);
const SYSCALLS = new Set([
  'open',
  'read',
  'write',
  'mkdir',
  'rename',
  'unlink',
  'fsync',
  'stat',
  'scandir',
  'copyfile',
]);
/** DNS failures are not retried by the client (a wrong host stays wrong) but are network failures all the same */
const NAME_RESOLUTION_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL']);

export function resumeCommandOf(run: { manifestPath: string; runId: string }): string {
  return resumeCommand(run.manifestPath, run.runId);
}

/** the error to show: file-system and network failures explained, every text printable */
export function actionableError(thrown: unknown, context: ErrorContext): SfError {
  // an upload stopped by its own body (the source) says more through the body's own SfError
  const error =
    thrown instanceof UploadInterruptedError && thrown.origin === 'body' && thrown.cause instanceof SfError
      ? thrown.cause
      : thrown;
  const sfError = fileSystemError(error, context) ?? networkError(error, context) ?? SfError.wrap(error as Error);
  if (context.run) {
    const resume = resumeCommandOf(context.run);
    const actions = sfError.actions ?? [];
    if (!actions.some((action) => action.includes(resume))) {
      sfError.actions = [...actions, messages.getMessage('action.resume', [resume])];
    }
    const data = typeof sfError.data === 'object' && sfError.data ? sfError.data : {};
    sfError.setData({ ...data, runId: context.run.runId, runDir: context.run.runDir });
  }
  sfError.message = printable(sfError.message);
  if (sfError.actions) sfError.actions = sfError.actions.map((action) => printable(action));
  return sfError;
}

function nextStep(context: ErrorContext): string {
  return context.run
    ? messages.getMessage('next.resume', [resumeCommandOf(context.run)])
    : messages.getMessage('next.again');
}

/** the errno error behind `error`: raw, or the cause of an upload that could not read its source */
function errnoOf(error: unknown): ErrnoLike | undefined {
  if (error instanceof SfError && !(error instanceof UploadInterruptedError && error.origin === 'body'))
    return undefined;
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    const { code, path } = current as Partial<ErrnoLike>;
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code) && (typeof path === 'string' || FS_EXPLAINED.has(code))) {
      return current as ErrnoLike;
    }
    current = current.cause;
  }
  return undefined;
}

function fileSystemError(error: unknown, context: ErrorContext): SfError | undefined {
  const errno = errnoOf(error);
  if (!errno) return undefined;
  const syscall = messages.getMessage(`syscall.${SYSCALLS.has(errno.syscall ?? '') ? errno.syscall! : 'other'}`);
  const explained = messages.getMessage(`fs.${FS_EXPLAINED.has(errno.code) ? errno.code : 'other'}`);
  if (!errno.path) {
    // node leaves the path out of some errors (a read of a folder opened as a file): say what it can
    const runFolder = context.run?.runDir ?? context.manifest?.runFolder ?? context.runRoot ?? '-';
    const sfError = new SfError(
      messages.getMessage('error.FileSystemNoPath', [syscall, explained, errno.code, runFolder]),
      'FileSystemError',
      [messages.getMessage('error.FileSystem.actions.noPath', [nextStep(context)])],
      errno,
    );
    sfError.code = errno.code;
    sfError.setData({ code: errno.code, ...(errno.syscall ? { syscall: errno.syscall } : {}) });
    return sfError;
  }
  const file = resolve(errno.path);
  const key = manifestKeyOf(file, context);
  const message = key
    ? messages.getMessage('error.FileSystem', [syscall, file, key, explained, errno.code])
    : messages.getMessage('error.FileSystemNoKey', [syscall, file, explained, errno.code]);
  const next = nextStep(context);
  const runFolderKey = messages.getMessage(context.manifest?.raw.runFolder ? 'key.runFolder' : 'key.runFolderDefault');
  const action = fileSystemAction(errno.code, file, key ?? runFolderKey, explained, next);
  const sfError = new SfError(message, 'FileSystemError', [action], errno);
  sfError.code = errno.code;
  sfError.setData({
    code: errno.code,
    path: file,
    ...(errno.syscall ? { syscall: errno.syscall } : {}),
    ...(key ? { key } : {}),
  });
  return sfError;
}

/** what to do about it, by the kind of trouble */
function fileSystemAction(code: string, file: string, key: string, explained: string, next: string): string {
  switch (code) {
    case 'ENOSPC':
    case 'EDQUOT':
    case 'EFBIG':
      return messages.getMessage('error.FileSystem.actions.space', [file, next]);
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return messages.getMessage('error.FileSystem.actions.access', [file, key, next]);
    case 'ENOTDIR':
    case 'EISDIR':
    case 'ENOENT':
    case 'EEXIST':
    case 'ENAMETOOLONG':
    case 'ELOOP':
      return messages.getMessage('error.FileSystem.actions.path', [file, explained, next]);
    case 'EMFILE':
    case 'ENFILE':
      return messages.getMessage('error.FileSystem.actions.files', [next]);
    default:
      return messages.getMessage('error.FileSystem.actions.other', [file, next]);
  }
}

function isInside(file: string, dir: string): boolean {
  const path = relative(dir, file);
  return path === '' || (!path.startsWith('..') && !isAbsolute(path));
}

/** the manifest key that made the run touch `file`, if any */
export function manifestKeyOf(file: string, context: ErrorContext): string | undefined {
  const { manifest, run } = context;
  const runRoot = manifest?.runFolder ?? context.runRoot;
  const runFolderKey = messages.getMessage(manifest?.raw.runFolder ? 'key.runFolder' : 'key.runFolderDefault');
  if (run && isInside(file, run.runDir)) return runFolderKey;
  if (runRoot && isInside(file, runRoot)) return runFolderKey;
  if (!manifest) return undefined;
  if (file === manifest.path) return messages.getMessage('key.manifest');
  const index = manifest.steps.findIndex((step) => step.files.includes(file));
  if (index < 0) return undefined;
  const step = manifest.steps[index];
  // a retry runs a manifest derived from the user's: its indexes are not the user's
  const derived = run !== undefined && run.manifestPath !== manifest.path;
  return derived
    ? messages.getMessage('key.retrySource', [step.id])
    : messages.getMessage('key.source', [index, step.id]);
}

/** the socket-level code of a failure to reach the org, or undefined for anything else */
export function networkFailureCode(error: unknown): string | undefined {
  if (error instanceof BulkApiError)
    return error.status === 0 && error.errorCode !== 'UNEXPECTED_RESPONSE' ? error.errorCode : undefined;
  if (error instanceof SfError && !(error instanceof UploadInterruptedError)) return undefined;
  if (error instanceof UploadInterruptedError && error.origin !== 'network') return undefined;
  const code = networkErrorCode(error);
  if (code) return code;
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    const candidate = (current as Partial<ErrnoLike>).code;
    if (typeof candidate === 'string' && NAME_RESOLUTION_CODES.has(candidate)) return candidate;
    current = current.cause;
  }
  return undefined;
}

function networkError(error: unknown, context: ErrorContext): SfError | undefined {
  const code = networkFailureCode(error);
  if (!code) return undefined;
  const instance = context.run?.instanceUrl ?? messages.getMessage('instance.unknown');
  const sfError = new SfError(
    messages.getMessage('error.NetworkFailure', [instance, (error as Error).message]),
    'NetworkFailureError',
    messages.getMessages('error.NetworkFailure.actions', [instance, nextStep(context)]),
    // no cause: undici's "fetch failed" is a TypeError, and sf maps any TypeError in the cause
    // chain to exit code 10; `data` keeps the code, the request and the attempts
  );
  sfError.code = code;
  sfError.exitCode = NETWORK_FAILURE_EXIT_CODE;
  sfError.setData({
    code,
    ...(context.run?.instanceUrl ? { instanceUrl: context.run.instanceUrl } : {}),
    ...(error instanceof BulkApiError ? error.data : {}),
  });
  return sfError;
}
