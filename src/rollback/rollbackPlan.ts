/*
 * What undoing a run takes, step by step, written as the files a rollback run loads: for each step
 * of the run, in reverse wave order (children before parents),
 * - `<step>.delete.csv`: the Ids of the records the run created (success rows with sf__Created
 *   true), for a delete (or hardDelete) job;
 * - `<step>.restore.csv`: the before image of every record the run updated (update steps, and
 *   upsert rows that matched), for an update job: the values the fields the run wrote had before
 *   it (empty values become `#N/A`, which sets a field to null);
 * and `conflicts.csv`, the records changed in the org after the run (conflicts.ts), left out of
 * both unless forced. Records the run deleted are not undone: the API cannot bring back a hard
 * delete, and re-inserting gives new Ids; their before images are kept for a person to re-insert.
 *
 * Memory: the Ids a chunk's job updated, one chunk at a time (bounded by the job size), those
 * updated in retry rounds (bounded by the rows retried), and one SOQL piece of candidates; every
 * file is streamed.
 */
import { join } from 'node:path';
import { mkdir, rm } from 'node:fs/promises';
import { Messages } from '@salesforce/core';
import type { LoadedManifest, Operation, ResolvedStep } from '../manifest/types.js';
import type { RunState } from '../journal/state.js';
import type { RunFolder } from '../journal/runFolder.js';
import { fingerprintFile } from '../journal/fingerprint.js';
import { AtomicCsvWriter, readResultRows } from '../engine/resultFiles.js';
import { BEFORE_IMAGE_SYSTEM_FIELDS, keyFieldOf, takesBeforeImages } from '../engine/beforeImages.js';
import type { QueryJobClient } from '../bulk/queryJobClient.js';
import type { OrgDescribe } from '../bulk/orgDescribe.js';
import { ConflictCheck, idKey, orgTimeMs, withTempDir, type ConflictRule, type RecordVerdict } from './conflicts.js';

Messages.importMessagesDirectoryFromMetaUrl(import.meta.url);
const messages = Messages.loadMessages('@sf-migrate/plugin-migrate', 'rollback');

/** an empty value of a before image is a null in the org; in an update job, empty leaves a field untouched */
export const SET_NULL = '#N/A';

export type RollbackStepPlan = {
  /** the run's step */
  step: string;
  object: string;
  operation: Operation;
  /** records the run created that rollback deletes */
  toDelete: number;
  /** records the run updated that rollback restores from their before image */
  toRestore: number;
  /** records changed in the org after the run: left alone (unless forced; then counted here and undone) */
  changedAfterRun: number;
  /** records the run wrote that the org no longer has */
  missing: number;
  /** records the run updated whose job took no before image (beforeImage off): not restorable */
  withoutBeforeImage: number;
  /** records the run deleted: not undone (re-insert them from their before images) */
  deletedByRun: number;
  /** the before images of the rows the run deleted, absolute paths */
  deletedRowImages: string[];
  /** the derived files the rollback run loads (absolute), when there is something to load */
  deleteFile?: string;
  restoreFile?: string;
};

export type RollbackPlan = {
  runId: string;
  /** where the derived files are */
  dir: string;
  /** steps in rollback order (the run's waves reversed) */
  steps: RollbackStepPlan[];
  /** records changed after the run, one line each (step, Id, what rollback would have done) */
  conflictsFile: string;
  conflicts: number;
  forced: boolean;
};

export type PlanOptions = {
  queries: QueryJobClient;
  org: OrgDescribe;
  folder: RunFolder;
  state: RunState;
  manifest: LoadedManifest;
  /** where the derived files go */
  dir: string;
  force?: boolean;
  maxSoqlCharacters?: number;
};

/** the epoch ms of the run's last write: the journal time of its last job.finished */
export function writesEndedMs(state: RunState): number {
  let last = 0;
  for (const step of state.steps.values()) {
    for (const chunk of step.chunks) {
      const at = chunk.finishedAt ? Date.parse(chunk.finishedAt) : 0;
      if (at > last) last = at;
    }
  }
  return last;
}

export async function planRollback(options: PlanOptions): Promise<RollbackPlan> {
  const { state, manifest, dir } = options;
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const username = state.started?.username;
  const runUserId = username ? await options.org.userId(username) : undefined;
  const rule: ConflictRule = { ...(runUserId ? { runUserId } : {}), writesEndedMs: writesEndedMs(state) };
  const conflictsFile = join(dir, 'conflicts.csv');
  const conflicts = await AtomicCsvWriter.create(
    conflictsFile,
    ['step', 'object', 'Id', 'rollback', 'LastModifiedDate', 'LastModifiedById'],
    'COMMA',
    'LF',
  );
  let conflictCount = 0;
  const steps: RollbackStepPlan[] = [];
  try {
    for (const wave of [...manifest.waves].reverse()) {
      for (const id of wave) {
        const step = manifest.steps.find((candidate) => candidate.id === id);
        if (!step || !state.steps.get(id)) continue;
        // eslint-disable-next-line no-await-in-loop -- steps one after the other: one piece in memory
        const planned = await planStep(step, options, rule, async (plan, recordId, action, verdict) => {
          if (verdict.kind !== 'changed') return;
          conflictCount++;
          await conflicts.write([
            plan.step,
            plan.object,
            recordId,
            action,
            verdict.lastModifiedDate,
            verdict.lastModifiedById,
          ]);
        });
        steps.push(planned);
      }
    }
  } finally {
    // written whole even when planning fails: the records found changed so far are worth seeing
    await conflicts.commit();
  }
  return { runId: options.folder.runId, dir, steps, conflictsFile, conflicts: conflictCount, forced: !!options.force };
}

type OnChanged = (
  plan: RollbackStepPlan,
  id: string,
  action: 'delete' | 'restore',
  verdict: RecordVerdict,
) => Promise<void>;

async function planStep(
  step: ResolvedStep,
  options: PlanOptions,
  rule: ConflictRule,
  onChanged: OnChanged,
): Promise<RollbackStepPlan> {
  const { folder, state, dir } = options;
  const stepState = state.steps.get(step.id)!;
  const plan: RollbackStepPlan = {
    step: step.id,
    object: step.object,
    operation: step.operation,
    toDelete: 0,
    toRestore: 0,
    changedAfterRun: 0,
    missing: 0,
    withoutBeforeImage: 0,
    deletedByRun: 0,
    deletedRowImages: [],
  };
  const rootChunks = stepState.chunks.filter((chunk) => chunk.attempt === 0);
  const deleting = step.operation === 'delete' || step.operation === 'hardDelete';
  if (deleting) {
    for (const chunk of stepState.chunks) plan.deletedByRun += chunk.results?.counts.success ?? 0;
    plan.deletedRowImages = rootChunks.flatMap((chunk) =>
      chunk.beforeImage ? [join(folder.dir, chunk.beforeImage.file)] : [],
    );
    return plan;
  }

  const deleteFile = join(dir, `${step.id}.delete.csv`);
  const restoreFile = join(dir, `${step.id}.restore.csv`);
  const deletes = await AtomicCsvWriter.create(deleteFile, ['Id'], 'COMMA', 'LF');
  let restores: AtomicCsvWriter | undefined;
  let restoreColumns: number[] = [];
  await withTempDir(dir, async (tempDir) => {
    const check = <Row>(action: 'delete' | 'restore', write: (row: Row) => Promise<void>): ConflictCheck<Row> =>
      new ConflictCheck<Row>({
        queries: options.queries,
        object: step.object,
        rule,
        poll: step.poll,
        tempDir,
        ...(options.maxSoqlCharacters ? { maxSoqlCharacters: options.maxSoqlCharacters } : {}),
        decide: async (id, row, verdict): Promise<void> => {
          if (verdict.kind === 'missing') {
            plan.missing++;
            return;
          }
          if (verdict.kind === 'changed') {
            plan.changedAfterRun++;
            await onChanged(plan, id, action, verdict);
            if (!options.force) return;
          }
          if (action === 'delete') plan.toDelete++;
          else plan.toRestore++;
          await write(row);
        },
      });
    const deleteCheck = check<string>('delete', (id) => deletes.write([id]));
    const restoreCheck = check<string[]>('restore', (row) => restores!.write(row));
    // Rows that loaded in a retry round: a retry file gathers the failed rows of several chunks,
    // so which chunk's image holds a row is not journaled; they are looked for in every image.
    // Bounded by the rows retried, not by the step.
    const retriedUpdated = new Set<string>();
    for (const chunk of stepState.chunks) {
      if (chunk.attempt === 0 || !chunk.results) continue;
      // eslint-disable-next-line no-await-in-loop
      await readSuccesses(join(folder.dir, chunk.results.files.success), async (id, created) => {
        if (created) await deleteCheck.add(id, id);
        else retriedUpdated.add(idKey(id));
      });
    }
    for (const root of rootChunks) {
      const updated = new Set<string>();
      if (root.results) {
        // eslint-disable-next-line no-await-in-loop
        await readSuccesses(join(folder.dir, root.results.files.success), async (id, created) => {
          if (created) await deleteCheck.add(id, id);
          else updated.add(idKey(id));
        });
      }
      if (updated.size === 0 && retriedUpdated.size === 0) continue;
      if (!root.beforeImage || !takesBeforeImages(step)) {
        plan.withoutBeforeImage += updated.size;
        continue;
      }
      let header: string[] | undefined;
      let idAt = -1;
      // eslint-disable-next-line no-await-in-loop -- one chunk's image after the other
      for await (const row of readResultRows(join(folder.dir, root.beforeImage.file), 'COMMA')) {
        if (!header) {
          header = row;
          idAt = header.findIndex((column) => column.toLowerCase() === 'id');
          if (!restores) {
            // the fields the run wrote: Id first; the system fields and an upsert's external id (the
            // same value the row was matched by) are not written back
            const skip = new Set([...BEFORE_IMAGE_SYSTEM_FIELDS, keyFieldOf(step)].map((f) => f.toLowerCase()));
            restoreColumns = [idAt, ...header.flatMap((c, i) => (skip.has(c.toLowerCase()) ? [] : [i]))];
            // eslint-disable-next-line no-await-in-loop
            restores = await AtomicCsvWriter.create(
              restoreFile,
              restoreColumns.map((i) => header![i]),
              'COMMA',
              'LF',
            );
          }
          continue;
        }
        const id = row[idAt] ?? '';
        const key = idKey(id);
        if (!updated.has(key) && !retriedUpdated.has(key)) continue;
        // an image row is restored once, even when its record was targeted twice in the chunk
        updated.delete(key);
        retriedUpdated.delete(key);
        const values = restoreColumns.map((i, n) => (n > 0 && (row[i] ?? '') === '' ? SET_NULL : (row[i] ?? '')));
        // eslint-disable-next-line no-await-in-loop
        await restoreCheck.add(id, values);
      }
      // updated records the image does not hold (it was taken before they existed: an upsert that
      // matched a record an earlier chunk of the run created) are undone by that chunk's delete
    }
    // retried rows of a step without images (beforeImage off) are not restorable either
    if (!takesBeforeImages(step)) plan.withoutBeforeImage += retriedUpdated.size;
    await deleteCheck.end();
    await restoreCheck.end();
  });
  if (await commitOrDrop(deletes, deleteFile, plan.toDelete)) plan.deleteFile = deleteFile;
  if (restores && (await commitOrDrop(restores, restoreFile, plan.toRestore))) plan.restoreFile = restoreFile;
  return plan;
}

/**
 * Keeps a file with rows; one without is removed. (Committed first either way: AtomicCsvWriter's
 * discard waits for its file stream to finish, which a destroyed stringifier never ends.)
 */
async function commitOrDrop(writer: AtomicCsvWriter, file: string, rows: number): Promise<boolean> {
  await writer.commit();
  if (rows > 0) return true;
  await rm(file, { force: true });
  return false;
}

/** each success row's sf__Id and sf__Created */
async function readSuccesses(file: string, each: (id: string, created: boolean) => Promise<void>): Promise<void> {
  let idAt = -1;
  let createdAt = -1;
  let first = true;
  for await (const row of readResultRows(file, 'COMMA')) {
    if (first) {
      first = false;
      idAt = row.indexOf('sf__Id');
      createdAt = row.indexOf('sf__Created');
      continue;
    }
    const id = row[idAt] ?? '';
    // eslint-disable-next-line no-await-in-loop
    if (id !== '') await each(id, row[createdAt] === 'true');
  }
}

/** the rollback's own steps: `<step>.restore` (update) and `<step>.delete`, in the plan's order */
export function derivedStepsOf(
  plan: RollbackPlan,
  manifest: LoadedManifest,
  hardDelete: boolean,
): { steps: Array<{ id: string; of: ResolvedStep; operation: Operation; file: string }>; waves: string[][] } {
  const steps: Array<{ id: string; of: ResolvedStep; operation: Operation; file: string }> = [];
  const waves: string[][] = [];
  for (const wave of [...manifest.waves].reverse()) {
    const ids: string[] = [];
    for (const stepPlan of plan.steps.filter((candidate) => wave.includes(candidate.step))) {
      const of = manifest.steps.find((candidate) => candidate.id === stepPlan.step)!;
      if (stepPlan.restoreFile) {
        steps.push({ id: `${of.id}.restore`, of, operation: 'update', file: stepPlan.restoreFile });
        ids.push(`${of.id}.restore`);
      }
      if (stepPlan.deleteFile) {
        steps.push({
          id: `${of.id}.delete`,
          of,
          operation: hardDelete ? 'hardDelete' : 'delete',
          file: stepPlan.deleteFile,
        });
        ids.push(`${of.id}.delete`);
      }
    }
    if (ids.length > 0) waves.push(ids);
  }
  return { steps, waves };
}

/** refuses a before image whose bytes are no longer what the run journaled */
export async function checkBeforeImages(folder: RunFolder, state: RunState): Promise<void> {
  for (const step of state.steps.values()) {
    for (const chunk of step.chunks) {
      if (!chunk.beforeImage) continue;
      const file = join(folder.dir, chunk.beforeImage.file);
      // eslint-disable-next-line no-await-in-loop -- few files, and the first bad one is named
      const now = await fingerprintFile(file).catch(() => undefined);
      if (now?.sha256 !== chunk.beforeImage.sha256) {
        throw messages.createError('error.BeforeImageChanged', [file, folder.runId]);
      }
    }
  }
}

export { orgTimeMs };
