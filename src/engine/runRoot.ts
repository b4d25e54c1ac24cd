/*
 * Where a manifest's runs live: its `runFolder` (default .sf-migrate/runs beside it). Without a
 * manifest, the commands look in .sf-migrate/runs of the current directory, which is where runs
 * land when the manifest sits there. Only `runFolder` is read: resuming or inspecting a run must
 * not depend on whether today's edits to the manifest still validate (the run has its own copy).
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { Messages, type SfError } from '@salesforce/core';
import { manifestDefaults } from '../manifest/defaults.js';
import { resumeCommand, runCommand } from './commandLines.js';

Messages.importMessagesDirectoryFromMetaUrl(import.meta.url);
const messages = Messages.loadMessages('@sf-migrate/plugin-migrate', 'engine');

export async function runRootOf(manifestPath?: string): Promise<string> {
  if (!manifestPath) return resolve(manifestDefaults.runFolder);
  const file = resolve(manifestPath);
  let declared: unknown;
  try {
    declared = (JSON.parse((await readFile(file, 'utf8')).replace(/^\uFEFF/, '')) as { runFolder?: unknown }).runFolder;
  } catch {
    declared = undefined;
  }
  return resolve(dirname(file), typeof declared === 'string' && declared ? declared : manifestDefaults.runFolder);
}

/**
 * The refusal to start a run beside an unfinished one of the same manifest (`run` without `--new`,
 * and `retry`), with the two commands that go on from there.
 */
export function unfinishedRunError(runId: string, manifest: string, username: string): SfError {
  const error = messages.createError(
    'error.UnfinishedRun',
    [runId],
    [resumeCommand(manifest, runId), runCommand(manifest, username, { new: true })],
  );
  error.setData({ runId, manifest });
  return error;
}
