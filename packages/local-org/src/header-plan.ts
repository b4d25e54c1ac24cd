import type { FieldDescribe } from './describe.js';
import type { Operation } from './rows.js';
import type { ObjectStore, RecordStore } from './store.js';

// The header of an upload, planned once per job before any row: each column resolved to the field it
// sets, or to the lookup and parent key field of a relationship column. Separate from rows.ts because a
// header's faults fail the whole job (the job's errorMessage), while rows.ts applies rows one by one and
// fails each on its own (the sf__Error strings); rows only read the plan made here.

export type Column =
  | { kind: 'field'; index: number; header: string; field: FieldDescribe }
  | {
      kind: 'relationship';
      index: number;
      header: string;
      field: FieldDescribe;
      parent: ObjectStore;
      parentField: FieldDescribe;
    };

export type HeaderPlan = { columns: Column[]; idColumn?: number; keyColumn?: number };

/** Checks the header of an upload; a string is the job's errorMessage (the whole job fails). */
export function planHeader(
  store: RecordStore,
  object: ObjectStore,
  operation: Operation,
  header: string[],
  externalIdFieldName?: string,
): HeaderPlan | string {
  const columns: Column[] = [];
  if (operation === 'delete' || operation === 'hardDelete') {
    if (header.length !== 1 || header[0].toLowerCase() !== 'id')
      return "InvalidBatch : The 'delete' batch must contain only ids";
  }
  for (const [index, name] of header.entries()) {
    const dot = name.indexOf('.');
    if (dot < 0) {
      const field = object.field(name);
      if (!field) return `InvalidBatch : Field name not found : ${name}`;
      columns.push({ kind: 'field', index, header: name, field });
      continue;
    }
    const relationship = planRelationship(store, object, name, dot);
    if (typeof relationship === 'string') return relationship;
    columns.push({ ...relationship, index });
  }
  const idColumn = header.findIndex((h) => h.toLowerCase() === 'id');
  const keyColumn = externalIdFieldName
    ? header.findIndex((h) => h.toLowerCase() === externalIdFieldName.toLowerCase())
    : -1;
  return { columns, idColumn: idColumn >= 0 ? idColumn : undefined, keyColumn: keyColumn >= 0 ? keyColumn : undefined };
}

/**
 * One relationship column of a header: `Account.Legacy_Id__c`, `Parent__r.Ext__c`, or the polymorphic
 * `User:Owner.Username` (ObjectType:RelationshipName.Field, Bulk API 2.0 developer guide,
 * "Relationship Fields in a Header Row"). A lookup is polymorphic when its describe's referenceTo
 * lists more than one object; a string is the job's errorMessage.
 */
function planRelationship(
  store: RecordStore,
  object: ObjectStore,
  name: string,
  dot: number,
): Omit<Extract<Column, { kind: 'relationship' }>, 'index'> | string {
  const [reference, parentFieldName] = [name.slice(0, dot), name.slice(dot + 1)];
  const colon = reference.indexOf(':');
  const typeName = colon >= 0 ? reference.slice(0, colon) : undefined;
  const relationshipName = colon >= 0 ? reference.slice(colon + 1) : reference;
  const field = object.describe.fields.find(
    (f) => f.relationshipName?.toLowerCase() === relationshipName.toLowerCase(),
  );
  // The reversed order `Parent:Account.X` meets this too: the part after the colon is no relationship
  // (real org: `Unable to find relationship: Account`).
  if (!field) return `InvalidBatch : Unable to find relationship: ${relationshipName}`;
  const polymorphic = field.referenceTo.length > 1;
  // Real capture, with the relationship name as the column wrote it.
  if (typeName !== undefined && !polymorphic)
    return `InvalidBatch : type is not needed for non polymorphic foreign key references: ${relationshipName}`;
  // No public capture shows a real org's answer to a polymorphic column without its type, nor to a
  // type the lookup cannot point to. Both fail the whole job here, worded after the captured answer
  // above and after "Unable to find relationship"; the client's validate and preflight refuse such
  // columns before any job is created, so no decision depends on these texts.
  if (typeName === undefined && polymorphic)
    return `InvalidBatch : type is needed for polymorphic foreign key references: ${relationshipName}`;
  const parentName =
    typeName === undefined
      ? field.referenceTo[0]
      : field.referenceTo.find((r) => r.toLowerCase() === typeName.toLowerCase());
  const parent = parentName ? store.object(parentName) : undefined;
  if (!parent) return `InvalidBatch : Unable to find relationship: ${reference}`;
  const parentField = parent.field(parentFieldName);
  if (!parentField || !(parentField.idLookup || parentField.externalId))
    return `InvalidBatch : Field name not found : ${name}`;
  return { kind: 'relationship', header: name, field, parent, parentField };
}
