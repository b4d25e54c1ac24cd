/*
 * Orphan hold-back (issue 12.6): a child row whose parent key names a record its parent step of
 * this run did not load is not sent, because the org would fail it anyway
 * (`Foreign key external ID: A500 not found`) and the failure would hide the cause. It goes to the
 * child's dead letters as `PARENT_FAILED: parent A500 of step accounts failed (REQUIRED_FIELD_MISSING)`.
 *
 * The rule: a key is held back when it is in the parent step's dead letters, i.e. the parent step
 * failed it or never processed it (every row of a finished step that did not load is there). A
 * key the parent step's sources never held is sent: the record may exist in the org already.
 * Keys are compared without case, as the org matches an external id. The parent steps of a
 * relationship column (`Account.Legacy_Id__c`) are the steps the child depends on that load its
 * object (Account), matched on the relationship's field in their dead letters (Legacy_Id__c).
 *
 * In a retry run (`sf migrate retry`) the same rule reads the retry's own parent step: a held child
 * whose parent now loaded is sent with it, one whose parent failed again is held again.
 */
import { join } from 'node:path';
import { Messages } from '@salesforce/core';
import type { LoadedManifest, ResolvedStep } from '../manifest/types.js';
import type { RunState } from '../journal/state.js';
import type { RunFolder } from '../journal/runFolder.js';
import { KeyStore } from '../scan/keyStore.js';
import { readCsvHeader } from '../csv/header.js';
import { parseRelationshipColumn } from '../manifest/relationships.js';
import { readResultRows } from '../engine/resultFiles.js';
import { DEAD_LETTER_COLUMNS } from '../engine/stepAccounting.js';
import { SortedKeys } from './sortedKeys.js';
import type { RowReject, RowStage } from './stage.js';
import { uploadedName } from './rowMapping.js';

Messages.importMessagesDirectoryFromMetaUrl(import.meta.url);
const messages = Messages.loadMessages('@sf-migrate/plugin-migrate', 'prepare');

export const PARENT_FAILED = 'PARENT_FAILED';
export const RECORD_FAILED = 'RECORD_FAILED';

/**
 * What the failed keys of one parent step may take in memory; past it they are sorted to disk
 * (sortedKeys.ts) under prepared/<child step>/failed-keys-<parent step>/, and each lookup reads one
 * small block of that file.
 */
export const DEFAULT_PARENT_KEYS_BYTES = 256 * 1024 * 1024;

export type OrphanContext = {
  manifest: LoadedManifest;
  state: RunState;
  folder: RunFolder;
  /** memory for one parent step's failed keys (default DEFAULT_PARENT_KEYS_BYTES) */
  memoryBytes?: number;
};

/** [key, code] of every row in the dead letters of `parent` with a value in `field` */
async function* failedRows(
  parent: ResolvedStep,
  field: string,
  context: OrphanContext,
): AsyncGenerator<[string, string]> {
  for (const file of context.state.steps.get(parent.id)?.finished?.deadLetters ?? []) {
    let keyAt = -1;
    let codeAt = -1;
    // eslint-disable-next-line no-await-in-loop -- one dead-letter file after another
    for await (const row of readResultRows(join(context.folder.dir, file), parent.columnDelimiter)) {
      if (codeAt < 0) {
        keyAt = row.indexOf(field);
        codeAt = row.length - DEAD_LETTER_COLUMNS.length;
        if (keyAt < 0 || keyAt >= codeAt) break;
        continue;
      }
      const key = row[keyAt] ?? '';
      if (key !== '') yield [key.toLowerCase(), row[codeAt] ?? ''];
    }
  }
}

/** the failed keys of one parent step on one field, each with the code its row failed with */
export class FailedKeys {
  private readonly codes: string[] = [];
  private readonly codeIndex = new Map<string, number>();
  /** a key being looked up, as UTF-8 (at most 3 bytes a UTF-16 unit) */
  private scratch = Buffer.allocUnsafe(256);

  private constructor(
    private readonly keys: KeyStore,
    private readonly disk?: SortedKeys,
  ) {}

  /** whether the parent step failed any key */
  public get empty(): boolean {
    return this.disk === undefined && this.keys.size === 0;
  }

  /** keys held in memory (0 once they are on disk) */
  public get size(): number {
    return this.keys.size;
  }

  /** Reads the keys of `field` from the dead letters of `parent`: in memory, or sorted to disk past `memoryBytes`. */
  public static async read(
    child: ResolvedStep,
    parent: ResolvedStep,
    field: string,
    context: OrphanContext,
  ): Promise<FailedKeys> {
    const budget = context.memoryBytes ?? DEFAULT_PARENT_KEYS_BYTES;
    const failed = new FailedKeys(new KeyStore(1, budget));
    for await (const [key, code] of failedRows(parent, field, context)) {
      if (failed.add(key, code)) continue;
      // too many for memory: read them all again, into a sorted file
      const dir = join(context.folder.dir, 'prepared', child.id, `failed-keys-${parent.id}`);
      return new FailedKeys(
        new KeyStore(1, 0),
        await SortedKeys.build(failedRows(parent, field, context), dir, budget),
      );
    }
    return failed;
  }

  /** the code the key's parent row failed with, or undefined when the parent step did not fail it */
  public codeOf(key: string): string | undefined | Promise<string | undefined> {
    if (this.disk) return this.disk.codeOf(key.toLowerCase());
    // encoded into one buffer kept for the purpose: a Buffer a row, from the shared pool, left
    // 8 kB slabs for V8 to free whenever it collected (bench/prepare-memory.ts)
    const lower = key.toLowerCase();
    if (this.scratch.length < lower.length * 3) this.scratch = Buffer.allocUnsafe(lower.length * 3);
    const length = this.scratch.write(lower);
    const found = this.keys.find(this.scratch, 0, length);
    const at = found < 0 ? undefined : this.keys.entry(found).first;
    return at === undefined ? undefined : this.codes[at];
  }

  public async close(): Promise<void> {
    await this.disk?.close();
  }

  private add(key: string, code: string): boolean {
    let index = this.codeIndex.get(code);
    if (index === undefined) {
      index = this.codes.length;
      this.codes.push(code);
      this.codeIndex.set(code, index);
    }
    const bytes = Buffer.from(key);
    return this.keys.add(bytes, 0, bytes.length, index);
  }
}

/** the key sets of hold-back stages, closed when the pass is over (releaseStages) */
const heldKeys = new WeakMap<RowStage, FailedKeys>();

/** closes what the stages hold open (a key set on disk) */
export async function releaseStages(stages: RowStage[]): Promise<void> {
  await Promise.all(stages.map((stage) => heldKeys.get(stage)?.close()));
}

/**
 * holds back the rows whose value in the column uploaded as `uploaded` is a failed key: the key of
 * the row's parent, or the row's own record key
 */
export function holdBackStage(
  uploaded: string,
  child: ResolvedStep,
  parent: string,
  keys: FailedKeys,
  whose: 'parent' | 'own',
): RowStage {
  let index = -1;
  const stage: RowStage = {
    columns(input): string[] {
      index = input.findIndex((column) => uploadedName(column, child.mapping) === uploaded);
      return [...input];
    },
    apply(row): string[] | RowReject | Promise<string[] | RowReject> {
      const key = index >= 0 ? (row[index] ?? '') : '';
      const decide = (code: string | undefined): string[] | RowReject => {
        if (code === undefined) return [...row];
        return whose === 'parent'
          ? { code: PARENT_FAILED, message: messages.getMessage('reject.parentFailed', [key, parent, code]) }
          : { code: RECORD_FAILED, message: messages.getMessage('reject.recordFailed', [key, parent, code]) };
      };
      if (key === '') return [...row];
      const found = keys.codeOf(key);
      return found instanceof Promise ? found.then(decide) : decide(found);
    },
  };
  heldKeys.set(stage, keys);
  return stage;
}

/** the relationship columns (as uploaded) of the step's sources, with the object each points to */
async function relationshipsOf(step: ResolvedStep, manifest: LoadedManifest): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  if (step.selfReferenceOf) {
    for (const column of step.selfReferenceOf.columns) found.set(column, step.object);
    return found;
  }
  const stepObjects = manifest.steps.map((candidate) => candidate.object);
  for (const file of step.files) {
    // eslint-disable-next-line no-await-in-loop -- headers only, one file after another
    const { columns } = await readCsvHeader(file, step.columnDelimiter);
    for (const column of columns) {
      const uploaded = uploadedName(column, step.mapping);
      const relationship = uploaded ? parseRelationshipColumn(uploaded, step.object, { stepObjects }) : undefined;
      if (uploaded && relationship?.object) found.set(uploaded, relationship.object);
    }
  }
  return found;
}

/**
 * The hold-back stages of a step, against the steps it depends on (its own `dependsOn` or one a
 * relationship column implied) that finished with rows in their dead letters. Per relationship
 * column, a parent step loading the column's object: rows whose parent key it did not load
 * (`PARENT_FAILED`). For an upsert, a step loading the same object (the first pass of a
 * self-reference, or any earlier step on those records): rows whose own key it did not load
 * (`RECORD_FAILED`), which the upsert would otherwise create, half-made. None when every such
 * step loaded all its rows, so such a step gets no pass.
 */
export async function holdBackStages(step: ResolvedStep, context: OrphanContext): Promise<RowStage[]> {
  const stages: RowStage[] = [];
  const parents = context.manifest.steps.filter(
    (candidate) =>
      step.dependsOn.includes(candidate.id) && context.state.steps.get(candidate.id)?.finished?.deadLetters?.length,
  );
  if (parents.length === 0) return stages;
  const sameObject = (candidate: ResolvedStep, object: string): boolean =>
    candidate.object.toLowerCase() === object.toLowerCase();
  const key = step.operation === 'upsert' ? step.externalIdField : undefined;
  for (const parent of key ? parents.filter((candidate) => sameObject(candidate, step.object)) : []) {
    // eslint-disable-next-line no-await-in-loop -- one parent's keys at a time bounds the memory
    const keys = await FailedKeys.read(step, parent, key!, context);
    if (!keys.empty) stages.push(holdBackStage(key!, step, parent.id, keys, 'own'));
  }
  for (const [column, object] of await relationshipsOf(step, context.manifest)) {
    const field = column.slice(column.lastIndexOf('.') + 1);
    for (const parent of parents.filter((candidate) => sameObject(candidate, object))) {
      // eslint-disable-next-line no-await-in-loop -- one parent's keys at a time bounds the memory
      const keys = await FailedKeys.read(step, parent, field, context);
      if (!keys.empty) stages.push(holdBackStage(column, step, parent.id, keys, 'parent'));
    }
  }
  return stages;
}
