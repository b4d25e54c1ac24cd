import type { CsvRecord } from './csv-records.js';
import { normaliseId } from './ids.js';
import { defaultRecordType } from './record-types.js';
import type { FieldDescribe } from './describe.js';
import { formatDateTime, parseValue, sfError } from './field-values.js';
import type { Column, HeaderPlan } from './header-plan.js';
import type { ObjectStore, RecordStore, StoredRecord } from './store.js';

// Row validation and application for ingest jobs, with the `sf__Error` strings of a real org:
// `<STATUS_CODE>:<message>:<fields> --`, or `:--` when no field is named. The header the rows follow is
// planned once per job by header-plan.ts.

export type Operation = 'insert' | 'update' | 'upsert' | 'delete' | 'hardDelete';

export type RowOutcome = { ok: true; id: string; created: boolean } | { ok: false; id: string; error: string };

export { formatDateTime, sfError } from './field-values.js';

/** What every row of a job needs from the object's describe, worked out once per job. */
type Prepared = {
  requiredOnCreate: FieldDescribe[];
  requiredOnUpdate: FieldDescribe[];
  unique: FieldDescribe[];
  defaults: Record<string, unknown>;
  derivesName: boolean;
  hasRecordType: boolean;
};

function prepare(ctx: RowContext): Prepared {
  const fields = ctx.object.describe.fields;
  const required = (f: FieldDescribe): boolean => !f.nillable && f.type !== 'boolean';
  const defaults: Record<string, unknown> = { IsDeleted: false, CreatedById: ctx.userId };
  for (const field of fields) {
    if (field.name in defaults || !field.defaultedOnCreate) continue;
    if (field.type === 'boolean') defaults[field.name] = field.defaultValue === true;
    else if (field.name === 'OwnerId') defaults[field.name] = ctx.userId;
    else if (field.type === 'picklist') {
      const preset = field.picklistValues.find((p) => p.defaultValue);
      if (preset) defaults[field.name] = preset.value;
    }
  }
  const name = ctx.object.describe.name;
  return {
    requiredOnCreate: fields.filter((f) => required(f) && f.createable && !f.defaultedOnCreate),
    requiredOnUpdate: fields.filter((f) => required(f) && f.updateable),
    unique: fields.filter((f) => f.unique && f.name !== 'Id'),
    defaults,
    derivesName: (name === 'Contact' || name === 'Lead' || name === 'User') && ctx.object.field('Name') !== undefined,
    hasRecordType: ctx.object.field('RecordTypeId') !== undefined,
  };
}

let clockMs = -1;
let clockText = '';
/** The current time in wire form; rows processed within one millisecond share one string. */
function now(): string {
  const ms = Date.now();
  if (ms !== clockMs) {
    clockMs = ms;
    clockText = formatDateTime(new Date(ms));
  }
  return clockText;
}

export type RowContext = {
  store: RecordStore;
  object: ObjectStore;
  operation: Operation;
  externalIdFieldName?: string;
  userId: string;
  /** optional extra checks (fault injection) given the parent ids a row touches */
  beforeWrite?: (parentIds: string[]) => string | undefined;
  prepared?: Prepared;
};

type Target = { existing?: StoredRecord } | { error: string };

/** The record a row of an update or upsert writes to (none: the row creates one). */
function findTarget(ctx: RowContext, plan: HeaderPlan, values: string[]): Target {
  const { object, operation } = ctx;
  if (operation === 'update') {
    const found = findById(
      object,
      plan.idColumn === undefined ? '' : (values[plan.idColumn] ?? ''),
      'Id not specified in an update call',
    );
    return 'error' in found ? found : { existing: found.record };
  }
  if (operation !== 'upsert') return {};
  const keyField = ctx.externalIdFieldName ?? 'Id';
  const key = plan.keyColumn === undefined ? '' : (values[plan.keyColumn] ?? '');
  if (keyField.toLowerCase() === 'id') {
    if (key === '') return {};
    const found = findById(object, key, 'Id not specified');
    return 'error' in found ? found : { existing: found.record };
  }
  if (key === '' || key === '#N/A') return { error: sfError('MISSING_ARGUMENT', `${keyField} not specified`) };
  // A key twice in one 200-row chunk is refused before rows are applied (processing/chunks.ts); a key
  // seen in an earlier chunk is an ordinary match here, so the later row wins.
  const canonical = object.field(keyField)?.name ?? keyField;
  const matches = object.findBy(canonical, key);
  if (matches.length > 1) {
    return {
      error: sfError(
        'DUPLICATE_EXTERNAL_ID',
        `${canonical}: more than one record found for external id field: [${matches.join(', ')}]`,
      ),
    };
  }
  return { existing: matches.length === 1 ? object.records.get(matches[0]) : undefined };
}

type Changes = { changes: Record<string, unknown>; parentIds: string[] } | { error: string };

/** The stored value of one non-empty cell, or its row error. */
function cellValue(
  ctx: RowContext,
  column: Column,
  text: string,
): { value: unknown; parentId?: string } | { error: string } {
  const field = column.field;
  if (text === '#N/A') return { value: null };
  if (column.kind === 'relationship') {
    const matches = column.parent.findBy(column.parentField.name, text);
    if (matches.length === 1) {
      const refused = checkReference(ctx, field, matches[0], column.parent, text);
      return refused ? { error: refused } : { value: matches[0], parentId: matches[0] };
    }
    const what = matches.length === 0 ? 'not found' : 'matched more than one record';
    return {
      error: sfError(
        'INVALID_FIELD',
        `Foreign key external ID: ${text} ${what} for field ${column.parentField.name} in entity ${column.parent.describe.name}`,
      ),
    };
  }
  const parsed = parseValue(field, text, column.index);
  if ('error' in parsed || field.type !== 'reference') return parsed;
  const id = normaliseId(text);
  const target = id ? ctx.store.objectOfId(id) : undefined;
  // An Id of an object the lookup cannot point to, as a real org words it: "FIELD_INTEGRITY_EXCEPTION,
  // Owner ID: id value of incorrect type: 00G1t0000…" for a queue's Id in Account.OwnerId
  // (mshanemc/roundRobinProcessBuilder#24).
  if (!id || !target || !field.referenceTo.includes(target.describe.name)) {
    return {
      error: sfError('FIELD_INTEGRITY_EXCEPTION', `${field.label}: id value of incorrect type: ${text}`, [field.name]),
    };
  }
  if (!target.records.has(id)) return { error: sfError('INVALID_CROSS_REFERENCE_KEY', 'invalid cross reference id') };
  const refused = checkReference(ctx, field, id, target, text);
  return refused ? { error: refused } : { value: id, parentId: id };
}

/**
 * The rules a real org applies to what some lookups point to, beyond the object type (the describe's
 * referenceTo, checked before this), whether the parent is named by its Id or by a relationship column.
 */
function checkReference(
  ctx: RowContext,
  field: FieldDescribe,
  id: string,
  target: ObjectStore,
  text: string,
): string | undefined {
  const parent = target.records.get(id);
  if (!parent) return undefined;
  const objectName = ctx.object.describe.name;
  const parentObject = target.describe.name;
  if (field.name === 'RecordTypeId' && parentObject === 'RecordType') {
    // A record type of another object, or an inactive one, is not available to the user. The wording and
    // the field list are a real org's (a REST client's capture: errorCode INVALID_CROSS_REFERENCE_KEY,
    // message "Record Type ID: this ID value isn't valid for the user: ", fields [RecordTypeId], in
    // CoderDojo/community-platform#888); Gearset's list of causes names "The record type Id is not a valid
    // record type id for the object" (docs.gearset.com, insufficient access rights on cross-reference id).
    // That an inactive record type gets the same answer is not confirmed by a public capture.
    if (parent.SobjectType !== objectName || parent.IsActive !== true) {
      return sfError('INVALID_CROSS_REFERENCE_KEY', `${field.label}: this ID value isn't valid for the user: ${text}`, [
        field.name,
      ]);
    }
  }
  if (field.name === 'OwnerId') return checkOwner(ctx, field, parentObject, parent, text);
  return undefined;
}

/** An owner must be an active user, or a queue that may own records of the object. */
function checkOwner(
  ctx: RowContext,
  field: FieldDescribe,
  parentObject: string,
  parent: StoredRecord,
  text: string,
): string | undefined {
  if (parentObject === 'User' && parent.IsActive === false) {
    // A real org's answer (an Apex DmlException's rendering of it: "first error: INACTIVE_OWNER_OR_USER,
    // operation performed with inactive user: []", SalesforceLabs/Milestones-PM#26): no field named. A
    // user with the "Update Records with Inactive Owners" permission may do it; the local org's users
    // do not have it.
    return sfError('INACTIVE_OWNER_OR_USER', 'operation performed with inactive user');
  }
  if (parentObject === 'Group') {
    // Only a queue (a Group of Type Queue) that lists the object in QueueSobject owns its records (object
    // reference, QueueSobject). The answer to any other group is taken from a real org refusing a queue
    // as a Task's owner: "FIELD_INTEGRITY_EXCEPTION, Assigned To ID: id value of incorrect type: 00G…:
    // [OwnerId]" (apex-enterprise-patterns/fflib-apex-common#293), the same text as a wrong object type.
    const objectName = ctx.object.describe.name.toLowerCase();
    const links = ctx.store.object('QueueSobject');
    const supports =
      parent.Type === 'Queue' &&
      (links?.findBy('QueueId', parent.Id) ?? []).some(
        (linkId) => String(links?.records.get(linkId)?.SobjectType ?? '').toLowerCase() === objectName,
      );
    if (!supports) {
      return sfError('FIELD_INTEGRITY_EXCEPTION', `${field.label}: id value of incorrect type: ${text}`, [field.name]);
    }
  }
  return undefined;
}

/** The field values a row sets (empty cells leave fields untouched), or its first row error. */
function collectChanges(ctx: RowContext, plan: HeaderPlan, values: string[], creating: boolean): Changes {
  const changes: Record<string, unknown> = {};
  const parentIds: string[] = [];
  const blocked: string[] = [];
  for (const column of plan.columns) {
    const text = values[column.index] ?? '';
    const field = column.field;
    if (text === '' || field.name === 'Id') continue; // Id is the record key, not a value to write
    if (creating ? !field.createable : !field.updateable) {
      const isUpsertKey = ctx.operation === 'upsert' && !creating && column.index === plan.keyColumn;
      if (!isUpsertKey) blocked.push(field.name);
      continue;
    }
    const cell = cellValue(ctx, column, text);
    if ('error' in cell) return cell;
    changes[field.name] = cell.value;
    if (cell.parentId) parentIds.push(cell.parentId);
  }
  if (blocked.length) {
    const message = `Unable to create/update fields: ${blocked.join(', ')}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.`;
    return { error: sfError('INVALID_FIELD_FOR_INSERT_UPDATE', message, blocked) };
  }
  return { changes, parentIds };
}

/**
 * Validates one data row and, when it is valid, writes it to the store. A failed row is cut or padded
 * to the header's width in place, since the failed results echo it: a real org's failed rows keep the
 * header's width (plugin-data's NUT of 5,000 rows wider than their header).
 */
export function applyRow(ctx: RowContext, plan: HeaderPlan, values: CsvRecord): RowOutcome {
  const outcome = csvRowFailure(values, plan.columns.length) ?? applyWellFormedRow(ctx, plan, values);
  if (!outcome.ok) fitToWidth(values, plan.columns.length);
  return outcome;
}

function applyWellFormedRow(ctx: RowContext, plan: HeaderPlan, values: string[]): RowOutcome {
  const { object, operation } = ctx;
  if (operation === 'delete' || operation === 'hardDelete') return deleteRow(ctx, values[0] ?? '');

  const target = findTarget(ctx, plan, values);
  if ('error' in target) return { ok: false, id: '', error: target.error };
  const existing = target.existing;
  const creating = existing === undefined;
  const fail = (error: string): RowOutcome => ({ ok: false, id: existing?.Id ?? '', error });
  const collected = collectChanges(ctx, plan, values, creating);
  if ('error' in collected) return fail(collected.error);
  const { changes, parentIds } = collected;

  // eslint-disable-next-line no-param-reassign -- the per-job cache lives on the job's context
  const prepared = (ctx.prepared ??= prepare(ctx));
  const record: StoredRecord = existing
    ? { ...existing, ...changes }
    : { ...prepared.defaults, CreatedDate: now(), ...changes, Id: '' };
  const missing = (creating ? prepared.requiredOnCreate : prepared.requiredOnUpdate)
    .filter((f) => record[f.name] === undefined || record[f.name] === null)
    .map((f) => f.name);
  if (missing.length)
    return fail(sfError('REQUIRED_FIELD_MISSING', `Required fields are missing: [${missing.join(', ')}]`, missing));
  for (const field of prepared.unique) {
    if (!(field.name in changes) || changes[field.name] === null) continue;
    const clash = object.findBy(field.name, String(changes[field.name])).find((id) => id !== record.Id);
    if (clash)
      return fail(
        sfError('DUPLICATE_VALUE', `duplicate value found: ${field.name} duplicates value on record with id: ${clash}`),
      );
  }
  const refused = ctx.beforeWrite?.(parentIds);
  if (refused) return fail(refused);

  if (creating) assignNew(ctx, prepared, record);
  const stamp = now();
  record.LastModifiedDate = stamp;
  record.SystemModstamp = stamp;
  record.LastModifiedById = ctx.userId;
  if (prepared.derivesName) {
    record.Name = [record.FirstName, record.LastName]
      .filter((v) => v !== undefined && v !== null && v !== '')
      .join(' ');
  }
  if (object.describe.name === 'Case' && record.CaseNumber === undefined)
    record.CaseNumber = String(object.records.size + object.deleted.size + 1).padStart(8, '0');
  object.put(record);
  return { ok: true, id: record.Id, created: creating };
}

/** A new record's Id, and the record type a create that names none gets (record-types.ts). */
function assignNew(ctx: RowContext, prepared: Prepared, record: StoredRecord): void {
  // eslint-disable-next-line no-param-reassign -- the record being built for this row
  record.Id = ctx.object.nextId();
  if (prepared.hasRecordType && record.RecordTypeId === undefined) {
    // eslint-disable-next-line no-param-reassign
    record.RecordTypeId = defaultRecordType(ctx.store, ctx.object.describe.name) ?? null;
  }
}

function findById(
  object: ObjectStore,
  text: string,
  missingMessage: string,
): { record: StoredRecord } | { error: string } {
  if (text === '') return { error: sfError('MISSING_ARGUMENT', missingMessage) };
  const id = normaliseId(text);
  if (!id || id.slice(0, 3) !== object.describe.keyPrefix) {
    return {
      error: sfError('MALFORMED_ID', `${object.describe.label} ID: id value of incorrect type: ${text}`, ['Id']),
    };
  }
  const record = object.records.get(id);
  if (record) return { record };
  if (object.deleted.has(id)) return { error: sfError('ENTITY_IS_DELETED', 'entity is deleted') };
  return { error: sfError('INVALID_CROSS_REFERENCE_KEY', 'invalid cross reference id') };
}

function deleteRow(ctx: RowContext, text: string): RowOutcome {
  const found = findById(ctx.object, text, 'Id not specified in a delete call');
  if ('error' in found) return { ok: false, id: normaliseId(text) ?? '', error: found.error };
  const refused = ctx.beforeWrite?.([]);
  if (refused) return { ok: false, id: found.record.Id, error: refused };
  ctx.object.remove(found.record.Id, ctx.operation === 'hardDelete');
  return { ok: true, id: found.record.Id, created: false };
}

/** The failure of a row that is wrong as CSV: too many values, or a space next to a quote. */
function csvRowFailure(values: CsvRecord, headerLength: number): RowOutcome | undefined {
  let error = values.rowError;
  if (error === undefined && values.length > headerLength) {
    error = sfError(
      'INVALID_FIELD',
      `Too many values in this row: found ${values.length}, the header has ${headerLength} columns`,
    );
  }
  return error === undefined ? undefined : { ok: false, id: '', error };
}

/** cuts or pads (with empty values) a failed row to `width` values */
function fitToWidth(values: string[], width: number): void {
  // eslint-disable-next-line no-param-reassign -- the row is echoed into the failed results after this
  values.length = Math.min(values.length, width);
  while (values.length < width) values.push('');
}
