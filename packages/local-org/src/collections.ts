import { ApiError } from './api-error.js';
import { planHeader, type HeaderPlan } from './header-plan.js';
import { normaliseId } from './ids.js';
import { applyRow, type Operation, type RowContext, type RowOutcome } from './rows.js';
import type { ObjectStore, RecordStore, StoredRecord } from './store.js';

// The REST sObject Collections resource (`/composite/sobjects`): create, update, upsert and delete of up
// to 200 records in one call, answered with one result per record in request order. Each record goes
// through the same row validation and application as a row of a Bulk API 2.0 ingest job (rows.ts), so a
// record the local org accepts or refuses over REST it accepts or refuses the same way in a CSV.
//
// Evidence (Salesforce REST API Developer Guide, "Create Records Using sObject Collections", "Update
// Records Using sObject Collections", "Upsert Records Using sObject Collections", "Delete Records Using
// sObject Collections", and "allOrNone Parameters in Composite and Collections Requests"):
// - at most 200 records a call; each record names its type in `attributes.type`; create takes no id,
//   update needs one; a well-formed request is answered 200 with a list of SaveResults in request order;
// - allOrNone (default false): false commits the records that succeed; true rolls back every change of
//   the call when any record fails, and the records that did not fail themselves report
//   ALL_OR_NONE_OPERATION_ROLLED_BACK (wording as in the guide's delete example, reproduced in
//   simple-salesforce-style client docs);
// - more than 200 records: 400 EXCEEDED_ID_LIMIT "record limit reached. cannot submit more than 200
//   records into this call" (as reported from real orgs in django-salesforce#328 and
//   Chrome-Salesforce-inspector#134).
// Not confirmed by any public capture, and chosen here: a record whose type is missing or unknown fails
// that record only; so does a parent reference the local org does not take (see parentReference).

export const MAX_COLLECTION_RECORDS = 200;

export type SaveError = { statusCode: string; message: string; fields: string[] };
export type SaveResult = { id?: string; success: boolean; errors: SaveError[]; created?: boolean };

type Body = Record<string, unknown>;
type Prepared = { object: ObjectStore; plan: HeaderPlan; values: string[]; targetId?: string };
/** A change made by the call, with what the record was before it (for an allOrNone rollback). */
type Applied = { object: ObjectStore; id: string; before?: StoredRecord; wasDeleted: boolean; created: boolean };

const ROLLED_BACK: SaveError = {
  statusCode: 'ALL_OR_NONE_OPERATION_ROLLED_BACK',
  message: 'Record rolled back because not all records were valid and the request was using AllOrNone header',
  fields: [],
};

/** The `sf__Error` text of rows.ts (`CODE:message:fields --`) as the REST error object. */
export function saveError(text: string): SaveError {
  const colon = text.indexOf(':');
  if (colon < 0) return { statusCode: text, message: '', fields: [] };
  const statusCode = text.slice(0, colon);
  const rest = text.slice(colon + 1);
  if (rest.endsWith(':--')) return { statusCode, message: rest.slice(0, -3), fields: [] };
  const withFields = /^(.*):([^:]*) --$/s.exec(rest);
  if (withFields) return { statusCode, message: withFields[1], fields: withFields[2].split(' ').filter(Boolean) };
  return { statusCode, message: rest, fields: [] };
}

const failure = (statusCode: string, message: string, id?: string): SaveResult => ({
  ...(id ? { id } : {}),
  success: false,
  errors: [{ statusCode, message, fields: [] }],
});

/** A JSON value as the text of a CSV cell: null and "" set the field to null, as `#N/A` does in a CSV. */
function cellText(value: unknown): string | undefined {
  if (value === null || value === '') return '#N/A';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

export type CollectionRequest = {
  operation: Extract<Operation, 'insert' | 'update' | 'upsert'>;
  records: unknown;
  allOrNone: unknown;
  /** upsert: the object and external id field of the path */
  object?: ObjectStore;
  externalIdFieldName?: string;
  /** the session's user, who the writes are made as (default: the org's admin user) */
  userId?: string;
};

/** Checks the shape every collection call shares: a list of at most 200 records. */
export function checkRecordCount(count: number): void {
  if (count > MAX_COLLECTION_RECORDS) {
    throw new ApiError(
      400,
      'EXCEEDED_ID_LIMIT',
      `record limit reached. cannot submit more than ${MAX_COLLECTION_RECORDS} records into this call`,
    );
  }
}

/** sObject Collections writers over the record store; one instance serves every request of an org. */
export class Collections {
  /**
   * @param refuse a row-level fault check run before each write, as ingest jobs run theirs (the
   * lockRowRate fault): a string is that record's error
   */
  public constructor(
    private readonly store: RecordStore,
    private readonly userId: string,
    private readonly refuse: () => string | undefined = (): undefined => undefined,
  ) {}

  /** POST (insert), PATCH (update) and PATCH …/{Object}/{ExternalIdField} (upsert). */
  public save(request: CollectionRequest): SaveResult[] {
    const { records } = request;
    if (!Array.isArray(records)) throw new ApiError(400, 'INVALID_FIELD', "The 'records' list is required");
    checkRecordCount(records.length);
    // Unknown fields fail the call before any record is written, as a record that does not deserialise
    // fails a single-record create (400 INVALID_FIELD "No such column ...").
    const prepared = records.map((record) => this.prepare(request, record));
    const contexts = new Map<ObjectStore, RowContext>();
    const applied: Applied[] = [];
    const results = prepared.map((row): SaveResult => {
      if ('error' in row) return row.error;
      let ctx = contexts.get(row.object);
      if (!ctx) {
        ctx = this.context(row.object, request.operation, request.externalIdFieldName, request.userId);
        contexts.set(row.object, ctx);
      }
      const target = row.targetId ? row.object.records.get(row.targetId) : undefined;
      const outcome = applyRow(ctx, row.plan, row.values);
      if (outcome.ok) {
        const { object } = row;
        applied.push({ object, id: outcome.id, before: target, wasDeleted: false, created: outcome.created });
      }
      return toSaveResult(outcome, request.operation === 'upsert');
    });
    return request.allOrNone === true ? this.settle(results, applied) : results;
  }

  /** DELETE ?ids=…[&allOrNone=true]: ids of any objects. */
  public delete(ids: string[], allOrNone: boolean, userId?: string): SaveResult[] {
    checkRecordCount(ids.length);
    const applied: Applied[] = [];
    const results = ids.map((text): SaveResult => {
      const id = normaliseId(text);
      const object = id ? this.store.objectOfId(id) : undefined;
      if (!id || !object) return failure('MALFORMED_ID', `malformed id ${text}`);
      const before = object.records.get(id);
      const plan = planHeader(this.store, object, 'delete', ['Id']) as HeaderPlan;
      const outcome = applyRow(this.context(object, 'delete', undefined, userId), plan, [id]);
      if (outcome.ok) applied.push({ object, id, before, wasDeleted: true, created: false });
      return toSaveResult(outcome, false);
    });
    return allOrNone ? this.settle(results, applied) : results;
  }

  private context(
    object: ObjectStore,
    operation: Operation,
    externalIdFieldName?: string,
    userId = this.userId,
  ): RowContext {
    return {
      store: this.store,
      object,
      operation,
      externalIdFieldName,
      userId,
      beforeWrite: this.refuse,
    };
  }

  /** One record as a row: its object, the plan of its keys as a header, and its values as CSV cells. */
  private prepare(request: CollectionRequest, record: unknown): Prepared | { error: SaveResult } {
    if (!record || typeof record !== 'object' || Array.isArray(record)) {
      return { error: failure('INVALID_FIELD', 'A record must be a JSON object') };
    }
    const body = record as Body;
    const attributes = (body.attributes ?? {}) as Body;
    const typeName = typeof attributes.type === 'string' ? attributes.type : undefined;
    const object = request.object ?? (typeName ? this.store.object(typeName) : undefined);
    if (!object) {
      const message = typeName ? `sObject type '${typeName}' is not supported.` : 'sObject type is required';
      return { error: failure('INVALID_TYPE', message) };
    }
    if (request.object && typeName && typeName.toLowerCase() !== object.describe.name.toLowerCase()) {
      return { error: failure('INVALID_TYPE', `All records must be of type ${object.describe.name}`) };
    }
    const idText = [body.id, body.Id, attributes.id].find((v): v is string => typeof v === 'string');
    if (request.operation === 'insert' && idText) {
      return { error: failure('INVALID_FIELD', 'cannot specify Id in an insert call') };
    }
    const row = rowOf(object, body, request.operation === 'insert' ? undefined : idText);
    if ('error' in row) return row;
    const plan = planHeader(this.store, object, request.operation, row.header, request.externalIdFieldName);
    if (typeof plan === 'string') return { error: failure('INVALID_FIELD', plan) };
    const targetId = idText ? normaliseId(idText) : undefined;
    return { object, plan, values: row.values, targetId: targetId ?? this.upsertTarget(request, object, body) };
  }

  /** The record an upsert by external id would write to, for the before-image of a rollback. */
  private upsertTarget(request: CollectionRequest, object: ObjectStore, body: Body): string | undefined {
    const keyField = request.externalIdFieldName;
    if (request.operation !== 'upsert' || !keyField) return undefined;
    const entry = Object.entries(body).find(([key]) => key.toLowerCase() === keyField.toLowerCase());
    const key = entry ? cellText(entry[1]) : undefined;
    if (!key) return undefined;
    const matches = object.findBy(object.field(keyField)?.name ?? keyField, key);
    return matches.length === 1 ? matches[0] : undefined;
  }

  /** allOrNone: when any record failed, every change of the call is undone and the others say so. */
  private settle(results: SaveResult[], applied: Applied[]): SaveResult[] {
    if (results.every((r) => r.success)) return results;
    for (const change of applied.reverse()) {
      const { object, id, before } = change;
      if (change.created) {
        // Rolled back as if never written: no tombstone for queryAll or ENTITY_IS_DELETED.
        object.remove(id, true);
        object.deleted.delete(id);
      } else if (before) {
        if (change.wasDeleted) object.deleted.delete(id);
        object.put(before);
      }
    }
    return results.map((r) =>
      r.success ? { ...(r.id ? { id: r.id } : {}), success: false, errors: [ROLLED_BACK] } : r,
    );
  }
}

/**
 * The keys of a record as a CSV header and its values as the cells of a row; `Id` leads when the record
 * names one (update, upsert). An unknown field fails the whole call (see save).
 */
function rowOf(
  object: ObjectStore,
  body: Body,
  idText: string | undefined,
): { header: string[]; values: string[] } | { error: SaveResult } {
  const header: string[] = idText === undefined ? [] : ['Id'];
  const values: string[] = idText === undefined ? [] : [idText];
  for (const [key, value] of Object.entries(body)) {
    if (key === 'attributes' || key.toLowerCase() === 'id') continue;
    const nested = parentReference(key, value);
    if (nested) {
      if ('error' in nested) return nested;
      header.push(nested.header);
      values.push(nested.value);
      continue;
    }
    const text = cellText(value);
    if (text === undefined) {
      return { error: failure('INVALID_FIELD', `The local org does not take this value for ${key}`) };
    }
    if (!object.field(key)) {
      throw new ApiError(400, 'INVALID_FIELD', `No such column '${key}' on sobject of type ${object.describe.name}`);
    }
    header.push(key);
    values.push(text);
  }
  return { header, values };
}

/**
 * A parent named by one external id, `"Account": {"Legacy_Id__c": "X"}`, as the CSV column
 * `Account.Legacy_Id__c` (REST API guide, "Insert or Update (Upsert) a Record Using an External ID":
 * relationships by external id in the request body). A typed reference (`attributes.type`, needed on a
 * polymorphic field) is not taken here: its CSV header form belongs to header-plan.ts.
 */
function parentReference(
  relationship: string,
  value: unknown,
): { header: string; value: string } | { error: SaveResult } | undefined {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const entries = Object.entries(value as Body);
  const keys = entries.filter(([key]) => key !== 'attributes');
  const text = keys.length === 1 ? cellText(keys[0][1]) : undefined;
  if (entries.length !== keys.length || !text || text === '#N/A') {
    const message = `The local org takes ${relationship} as one external id field and its value, without attributes`;
    return { error: failure('INVALID_FIELD', message) };
  }
  return { header: `${relationship}.${keys[0][0]}`, value: text };
}

function toSaveResult(outcome: RowOutcome, upsert: boolean): SaveResult {
  if (outcome.ok) return { id: outcome.id, success: true, errors: [], ...(upsert ? { created: outcome.created } : {}) };
  return { ...(outcome.id ? { id: outcome.id } : {}), success: false, errors: [saveError(outcome.error)] };
}
