/*
 * Self-references in one file (issue 12.5): an Account whose `Parent.Legacy_Id__c` names another
 * Account of the same source, a Contact whose `ReportsTo.Legacy_Id__c` names another Contact. Sent
 * with the records, a reference to a record later in the file, or in a job the org processes at the
 * same time, fails (`Foreign key external ID: A500 not found`). So such a step runs in two passes:
 * the step itself loads its records without the column (it is dropped like a mapped-out column),
 * and a second step `<id>.self`, in the wave after it, upserts by the referenced field only the key
 * and the column, for the rows that have a value. The second step reads the same sources through
 * the row pass: a projection, then the hold-back of rows whose own record the first pass failed
 * (an upsert would create it) and of rows whose parent it failed (src/prepare/orphans.ts). Both
 * steps are ordinary steps of the run: journaled, crash-safe, accounted, retried.
 *
 * Detected when the manifest is loaded, from the source headers: an insert or upsert step, not
 * `selfReference: false`, that depends on no other step loading its object, with a relationship
 * column to its own object by an external id (the step's `externalIdField` or a custom field) the
 * uploaded header has as a column too. Levels (parents before children in one pass) are not built.
 */
import { readCsvHeader } from '../csv/header.js';
import { parseRelationshipColumn } from '../manifest/relationships.js';
import type { ResolvedStep } from '../manifest/types.js';
import { uploadedName } from './rowMapping.js';
import type { RowStage } from './stage.js';

/** the id of the second pass of step `id` */
export const selfReferenceStepId = (id: string): string => `${id}.self`;

type Found = { key: string; columns: string[]; sourceColumns: string[] };

async function selfReferencesOf(step: ResolvedStep, steps: ResolvedStep[]): Promise<Found | undefined> {
  if (step.selfReference === false || (step.operation !== 'insert' && step.operation !== 'upsert')) return undefined;
  // a later pass over records an earlier step loaded (the `account-parents` pattern) is not split:
  // its references name records that exist before it starts
  const same = (other: ResolvedStep): boolean => other.object.toLowerCase() === step.object.toLowerCase();
  if (steps.some((other) => step.dependsOn.includes(other.id) && same(other))) return undefined;
  const columns = new Set<string>();
  const sourceColumns = new Set<string>();
  let key: string | undefined;
  for (const file of step.files) {
    // eslint-disable-next-line no-await-in-loop -- headers only, one file after another
    const header = (await readCsvHeader(file, step.columnDelimiter)).columns;
    const uploaded = header.map((column) => uploadedName(column, step.mapping));
    header.forEach((column, index) => {
      const name = uploaded[index];
      const relationship = name ? parseRelationshipColumn(name, step.object) : undefined;
      if (!name || relationship?.object?.toLowerCase() !== step.object.toLowerCase() || relationship.type) return;
      const field = name.slice(name.indexOf('.') + 1);
      // the second pass upserts by the referenced field: the rows must carry it, one field for all,
      // and an upsert needs an external id: the step's own, or a custom field (a relationship
      // column names a custom field only when it is an external id). A standard idLookup field
      // (`Parent.Name`) cannot be upserted by: such a step keeps one pass.
      const upsertable = field === step.externalIdField || field.endsWith('__c');
      if (!upsertable || !uploaded.includes(field) || (key !== undefined && key !== field)) return;
      key = field;
      columns.add(name);
      sourceColumns.add(column);
    });
  }
  return key === undefined ? undefined : { key, columns: [...columns], sourceColumns: [...sourceColumns] };
}

/**
 * The steps and waves with every self-referencing step split in two: the step without its
 * self-reference columns, and its second pass (listed after the manifest's steps) in the wave after
 * it (a new wave when it is the last).
 */
export async function splitSelfReferences(
  steps: ResolvedStep[],
  waves: string[][],
): Promise<{ steps: ResolvedStep[]; waves: string[][] }> {
  const out: ResolvedStep[] = [];
  // after every step of the manifest, so a step's index stays its place in the manifest (/steps/n)
  const second: ResolvedStep[] = [];
  const placed = waves.map((wave) => [...wave]);
  for (const step of steps) {
    // eslint-disable-next-line no-await-in-loop -- a few steps, headers only
    const found = await selfReferencesOf(step, steps);
    if (!found) {
      out.push(step);
      continue;
    }
    out.push({ ...step, mapping: { ...step.mapping, drop: [...(step.mapping.drop ?? []), ...found.sourceColumns] } });
    const id = selfReferenceStepId(step.id);
    second.push({
      ...step,
      id,
      operation: 'upsert',
      externalIdField: found.key,
      // the projection stage writes the uploaded names; nothing else is mapped
      mapping: {},
      valueMaps: undefined,
      partitionBy: undefined,
      dependsOn: [step.id],
      selfReferenceOf: { step: step.id, key: found.key, columns: found.columns, mapping: step.mapping },
    });
    const wave = placed.findIndex((candidate) => candidate.includes(step.id));
    if (wave === placed.length - 1) placed.push([id]);
    else placed[wave + 1].push(id);
  }
  return { steps: [...out, ...second].map(withoutUndefined), waves: placed };
}

function withoutUndefined(step: ResolvedStep): ResolvedStep {
  return Object.fromEntries(Object.entries(step).filter(([, value]) => value !== undefined)) as ResolvedStep;
}

type SelfReference = NonNullable<ResolvedStep['selfReferenceOf']>;

/**
 * The first stage of a second pass: the key and the self-reference columns of the first step's
 * row (found by their uploaded names under the first step's mapping), in that order.
 */
export function projectionStage(of: SelfReference): RowStage {
  const wanted = [of.key, ...of.columns];
  let picks: number[] = [];
  return {
    columns(input): string[] {
      const uploaded = input.map((column) => uploadedName(column, of.mapping));
      picks = wanted.map((name) => uploaded.indexOf(name));
      return wanted;
    },
    apply: (row): string[] => picks.map((index) => (index < 0 ? '' : (row[index] ?? ''))),
  };
}

/** whether a row of the second pass sets anything: rows without a self-reference are not sent */
export function setsAReference(of: SelfReference, header: readonly string[]): (row: readonly string[]) => boolean {
  const indexes = header.flatMap((column, index) =>
    of.columns.includes(uploadedName(column, of.mapping) ?? '') ? [index] : [],
  );
  return (row: readonly string[]): boolean => indexes.some((index) => (row[index] ?? '') !== '');
}
