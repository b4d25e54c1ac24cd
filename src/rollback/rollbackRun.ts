/*
 * `sf migrate rollback`: undoes a finished (or failed) run. The plan (rollbackPlan.ts) is made
 * first, with queries only; then, as `sf migrate retry` does, a new run of the engine loads a
 * manifest derived from it: per step of the run, in reverse wave order, an update step restoring
 * before images and a delete step removing created records. The rollback is therefore a run like
 * any other: journaled (its run.started names the run it undoes), crash-safe, resumable with
 * `sf migrate resume`, listed by `sf migrate status`. The derived files live in the undone run's
 * folder (rollback/<time>/) and are fingerprinted as the new run's sources when it starts; a crash
 * before that start leaves only files no run names, and the next `rollback` plans again.
 */
import { join } from 'node:path';
import { open, rm } from 'node:fs/promises';
import { Messages } from '@salesforce/core';
import type { Manifest, Step } from '../manifest/types.js';
import { loadManifestOrThrow } from '../manifest/load.js';
import { listRuns, type RunSummary } from '../journal/runFolder.js';
import { writeFileAtomically } from '../journal/durable.js';
import { MigrationRun, type RunOptions } from '../engine/migrationRun.js';
import { openRun } from '../engine/resumeRun.js';
import { shellQuote } from '../engine/commandLines.js';
import { QueryJobClient } from '../bulk/queryJobClient.js';
import { OrgDescribe } from '../bulk/orgDescribe.js';
import { checkBeforeImages, derivedStepsOf, planRollback, type RollbackPlan } from './rollbackPlan.js';

Messages.importMessagesDirectoryFromMetaUrl(import.meta.url);
const messages = Messages.loadMessages('@sf-migrate/plugin-migrate', 'rollback');

export type RollbackOptions = RunOptions & {
  root: string;
  /** default: the newest finished run of `manifest` that is no rollback */
  runId?: string;
  manifest?: string;
  dryRun?: boolean;
  hardDelete?: boolean;
  force?: boolean;
  /** injected for tests */
  queries?: QueryJobClient;
  maxSoqlCharacters?: number;
};

export type RollbackStart = { plan: RollbackPlan; run?: MigrationRun };

export async function rollbackRun(options: RollbackOptions): Promise<RollbackStart> {
  const runs = await listRuns(options.root);
  const runId = options.runId ?? (await newestRollbackable(runs, options.manifest));
  const { folder, state, manifest } = await openRun(options.root, runId);
  const started = state.started!;
  if (!state.finished) {
    throw messages.createError('error.RunNotFinished', [folder.runId], [shellQuote(manifest.path), folder.runId]);
  }
  if (started.rollbackOf) throw messages.createError('error.RollbackOfRollback', [folder.runId, started.rollbackOf]);
  if (started.orgId !== options.orgId) {
    throw messages.createError(
      'error.RunOfAnotherOrg',
      [folder.runId, started.username, options.username],
      [started.username],
    );
  }
  const earlier = await rollbacksOf(runs, folder.runId);
  if (earlier.length > 0) {
    throw messages.createError('error.AlreadyRolledBack', [folder.runId, earlier.join(', ')], [earlier[0]]);
  }
  await checkBeforeImages(folder, state);

  const queries = options.queries ?? new QueryJobClient(options.connection);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const dir = join(folder.dir, 'rollback', options.dryRun ? `dry-run-${stamp}` : stamp);
  const plan = await planRollback({
    queries,
    org: new OrgDescribe(options.connection),
    folder,
    state,
    manifest,
    dir,
    ...(options.force ? { force: true } : {}),
    ...(options.maxSoqlCharacters ? { maxSoqlCharacters: options.maxSoqlCharacters } : {}),
  });
  if (options.dryRun) {
    // nothing of a dry run is kept but what it printed: the conflicts file goes with the folder
    await rm(dir, { recursive: true, force: true });
    return { plan: { ...plan, conflictsFile: '' } };
  }
  const { steps, waves } = derivedStepsOf(plan, manifest, options.hardDelete ?? false);
  if (steps.length === 0) return { plan };
  const derived: Manifest = {
    name: `${manifest.name} (rollback of ${folder.runId})`,
    description: `Rollback of run ${folder.runId} (${folder.dir})`,
    concurrency: manifest.concurrency,
    runFolder: options.root,
    steps: steps.map(({ id, of, operation, file }): Step => ({
      id,
      object: of.object,
      operation,
      source: file,
      columnDelimiter: 'COMMA',
      lineEnding: 'LF',
      maxRecordsPerJob: of.maxRecordsPerJob,
      maxBytesPerJob: of.maxBytesPerJob,
      poll: { initial: `${of.poll.initialMs}ms`, max: `${of.poll.maxMs}ms` },
      // undo as much as can be undone: a row that fails is reported, the other rows go on
      failureThreshold: { percent: 100 },
      parallelism: of.parallelism,
      retry: of.retry,
      beforeImage: false,
      partitionBy: false,
    })),
    waves,
  };
  const derivedPath = join(dir, 'manifest.json');
  await writeFileAtomically(derivedPath, `${JSON.stringify(derived, null, 2)}\n`);
  const loaded = await loadManifestOrThrow(derivedPath);
  const run = await MigrationRun.start(loaded, { ...options, belongsTo: manifest.path, rollbackOf: folder.runId });
  return { plan, run };
}

/** what the run folder says of the run `rollbackRun` would undo (the same choice) */
export async function locateRolledBackRun(root: string, runId?: string, manifest?: string): Promise<RunSummary> {
  const runs = await listRuns(root);
  const id = runId ?? (await newestRollbackable(runs, manifest));
  const found = runs.find((run) => run.runId === id);
  if (!found) throw messages.createError('error.RunNotFound', [id, root]);
  return found;
}

/** `sf migrate rollback --manifest <m> [--run-id <id>] [--target-org <org>]` */
export function rollbackCommand(manifest: string | undefined, runId?: string, targetOrg?: string): string {
  const option = (name: string, value?: string): string =>
    value === undefined ? '' : ` --${name} ${shellQuote(value)}`;
  return `sf migrate rollback${option('manifest', manifest)}${option('run-id', runId)}${option('target-org', targetOrg)}`;
}

async function newestRollbackable(runs: RunSummary[], manifest?: string): Promise<string> {
  for (const run of runs) {
    if (!run.finished || (manifest !== undefined && run.manifest !== manifest)) continue;
    // eslint-disable-next-line no-await-in-loop -- newest first; usually the first one
    if ((await rollbackOfRun(run)) === undefined) return run.runId;
  }
  throw messages.createError('error.NoRunToRollBack', [manifest ?? '']);
}

/** the run a run undoes, from the first line of its journal (run.started), read alone */
async function rollbackOfRun(run: RunSummary): Promise<string | undefined> {
  let handle;
  try {
    handle = await open(join(run.dir, 'journal.jsonl'), 'r');
    const parts: Buffer[] = [];
    for (let position = 0; position < FIRST_LINE_LIMIT;) {
      const buffer = Buffer.alloc(64 * 1024);
      // eslint-disable-next-line no-await-in-loop -- until the first line ends
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
      if (bytesRead === 0) break;
      const lf = buffer.subarray(0, bytesRead).indexOf(0x0a);
      parts.push(buffer.subarray(0, lf < 0 ? bytesRead : lf));
      if (lf >= 0) break;
      position += bytesRead;
    }
    const first = JSON.parse(Buffer.concat(parts).toString('utf8')) as { type?: string; rollbackOf?: string };
    return first.type === 'run.started' ? first.rollbackOf : undefined;
  } catch {
    return undefined;
  } finally {
    await handle?.close();
  }
}

/** run.started lists every source; past this the line is not read further */
const FIRST_LINE_LIMIT = 16 * 1024 * 1024;

async function rollbacksOf(runs: RunSummary[], runId: string): Promise<string[]> {
  const found: string[] = [];
  for (const run of runs) {
    // eslint-disable-next-line no-await-in-loop
    if ((await rollbackOfRun(run)) === runId) found.push(run.runId);
  }
  return found;
}
