/*
 * Which column a step's rows are grouped by for lock-aware jobs (engine/partitionPass.ts): the one
 * `partitionBy` names, or else the step's single relationship column. Shared by `plan`, which shows
 * it, and the run, which acts on it.
 */
import { Messages } from '@salesforce/core';
import type { ResolvedStep } from '../manifest/types.js';

Messages.importMessagesDirectoryFromMetaUrl(import.meta.url);
const messages = Messages.loadMessages('@sf-migrate/plugin-migrate', 'engine');

export type PartitionColumn = {
  /** as in the source header */
  column: string;
  /** its index in the source header */
  index: number;
  /** true when the manifest did not name it */
  inferred: boolean;
};

/** operations whose rows write a child of a parent; a delete's header is `Id` alone */
const WRITES_CHILDREN = new Set(['insert', 'update', 'upsert']);

/**
 * The partition column of a step whose source header is `columns`, or undefined when its rows are
 * not partitioned.
 *
 * @throws SfError `PartitionColumnMissing` when `partitionBy` names a column the header lacks
 * (`validate` reports the same before a run).
 */
export function partitionColumnOf(step: ResolvedStep, file: string, columns: string[]): PartitionColumn | undefined {
  if (step.partitionBy === false) return undefined;
  if (typeof step.partitionBy === 'string') {
    const index = columns.indexOf(step.partitionBy);
    if (index === -1) throw messages.createError('error.PartitionColumnMissing', [step.id, step.partitionBy, file]);
    return { column: step.partitionBy, index, inferred: false };
  }
  if (!WRITES_CHILDREN.has(step.operation)) return undefined;
  const rename = step.mapping.rename ?? {};
  const drop = new Set(step.mapping.drop ?? []);
  // a relationship column as Salesforce receives it: `Account.Legacy_Id__c`, `User:Owner.Username`
  const relationships = columns.flatMap((column, index) =>
    !drop.has(column) && (rename[column] ?? column).includes('.') ? [{ column, index }] : [],
  );
  // with two parents, grouping by one still splits the other's children: only the user can choose
  if (relationships.length !== 1) return undefined;
  return { ...relationships[0], inferred: true };
}
