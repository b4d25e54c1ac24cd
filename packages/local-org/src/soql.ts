import type { FieldDescribe } from './describe.js';
import { ENTITY_DEFINITION, entityDefinitions } from './entity-definition.js';
import { caret, parseSoql, SoqlError, type Expr, type Literal, type ParsedQuery, type Path } from './soql-parser.js';
import { normaliseId } from './ids.js';
import type { ObjectStore, RecordStore, StoredRecord } from './store.js';

// Running a parsed SOQL query against the record store: field paths resolved through relationships,
// the WHERE filter, ORDER BY, LIMIT and OFFSET; and the records rendered as REST JSON or flat CSV cells.

/** A selected column: its SOQL path, and how each record is read through relationships. */
type Column = { name: string; parts: string[]; resolve: Array<{ store: ObjectStore; field: FieldDescribe }> };

/**
 * The object a relationship leads to. A polymorphic one (`Owner` of a Lead: Group or User) leads to
 * the first of its objects that has the next name of the path; a real org reads such paths through
 * the `Name` object (a set of fields common to the owner types: Name, Email, ...), so this may accept
 * a path a real org refuses; a rehearsal's checks of loaded owners (`Owner.Username`) work.
 */
function parentOf(store: RecordStore, field: FieldDescribe, next: string): ObjectStore | undefined {
  const targets = field.referenceTo.flatMap((name) => store.object(name) ?? []);
  const has = (o: ObjectStore): boolean =>
    o.field(next) !== undefined ||
    o.describe.fields.some((f) => f.relationshipName?.toLowerCase() === next.toLowerCase());
  return targets.find(has) ?? targets[0];
}

function resolvePath(store: RecordStore, object: ObjectStore, path: Path, query: ParsedQuery): Column['resolve'] {
  const steps: Column['resolve'] = [];
  let current = object;
  const parts =
    path.parts[0].toLowerCase() === object.describe.name.toLowerCase() && path.parts.length > 1
      ? path.parts.slice(1)
      : path.parts;
  for (const [index, part] of parts.entries()) {
    const last = index === parts.length - 1;
    const field = last
      ? current.field(part)
      : current.describe.fields.find((f) => f.relationshipName?.toLowerCase() === part.toLowerCase());
    const parent = field && !last ? parentOf(store, field, parts[index + 1]) : undefined;
    if (!field || (!last && !parent)) {
      const what = last
        ? `No such column '${part}' on entity '${current.describe.name}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name.`
        : `Didn't understand relationship '${part}' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name.`;
      throw new SoqlError(
        'INVALID_FIELD',
        caret(
          query.text,
          path.at,
          `${what} Please reference your WSDL or the describe call for the appropriate names.`,
        ),
      );
    }
    steps.push({ store: current, field });
    if (parent) current = parent;
  }
  return steps;
}

export type QueryResult = {
  object: ObjectStore;
  columns: Column[];
  records: StoredRecord[];
  /** COUNT() or aggregates: not a list of records */
  count: boolean;
  /** the aggregates of the select list, each with the column it counts */
  aggregates: Array<{ alias: string; column: Column }>;
  totalSize: number;
};

/** Runs a query against the store; records are returned in order, not yet rendered. */
export function runSoql(store: RecordStore, text: string, includeDeleted: boolean): QueryResult {
  const query = parseSoql(text);
  const object =
    query.object.toLowerCase() === ENTITY_DEFINITION.toLowerCase()
      ? entityDefinitions(store)
      : store.object(query.object);
  if (!object?.describe.queryable) {
    throw new SoqlError(
      'INVALID_TYPE',
      caret(
        text,
        query.objectAt,
        `sObject type '${query.object}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.`,
      ),
    );
  }
  const toColumn = (path: Path): Column => {
    const resolve = resolvePath(store, object, path, query);
    return {
      name: path.parts.join('.'),
      parts: resolve.map((s, i) =>
        i === resolve.length - 1 ? s.field.name : (s.field.relationshipName ?? s.field.name),
      ),
      resolve,
    };
  };
  const columns: Column[] = query.fields.map(toColumn);
  const aggregates = query.aggregates.map((a) => ({ alias: a.alias, column: toColumn(a.path) }));
  const read = (record: StoredRecord, resolve: Column['resolve']): unknown => valueAt(store, record, resolve);
  const filter = query.where ? compile(store, object, query, query.where) : (): boolean => true;
  let records: StoredRecord[] = [];
  const candidates = query.where ? indexedCandidates(object, query.where) : undefined;
  for (const record of candidates ?? object.records.values()) if (filter(record)) records.push(record);
  if (includeDeleted) for (const record of object.deleted.values()) if (record && filter(record)) records.push(record);
  if (query.orderBy.length) {
    const keys = query.orderBy.map((o) => ({ ...o, resolve: resolvePath(store, object, o.path, query) }));
    records.sort((a, b) => {
      for (const key of keys) {
        const c = compareForSort(read(a, key.resolve), read(b, key.resolve), key.nullsLast);
        if (c !== 0) return key.desc ? -c : c;
      }
      return 0;
    });
  }
  const totalSize = records.length;
  // An aggregate query answers one row: LIMIT and OFFSET apply to that row, not to the records counted.
  if (query.offset && !aggregates.length) records = records.slice(query.offset);
  if (query.limit !== undefined && !aggregates.length) records = records.slice(0, query.limit);
  return {
    object,
    columns,
    records,
    count: query.count || aggregates.length > 0,
    aggregates,
    totalSize: query.count ? Math.min(records.length, totalSize) : records.length,
  };
}

/** The AggregateResult row of an aggregate query: COUNT(field) counts the records where field is not null. */
export function aggregateRow(store: RecordStore, result: QueryResult): Record<string, unknown> {
  const row: Record<string, unknown> = { attributes: { type: 'AggregateResult' } };
  for (const { alias, column } of result.aggregates) {
    row[alias] = result.records.filter((r) => valueAt(store, r, column.resolve) !== null).length;
  }
  return row;
}

/**
 * The records a WHERE can only match, found through the store's index, when it requires a key field
 * (Id, an external id or another idLookup field) to be one of a list: `Id IN (...)`, `Legacy_Id__c = 'x'`,
 * alone or in an AND. Undefined: every record has to be read. The filter still runs over the candidates;
 * this only spares the scan of a large object for the long key lists of verify and rollback queries.
 */
function indexedCandidates(object: ObjectStore, where: Expr): StoredRecord[] | undefined {
  const conditions = 'and' in where ? where.and : [where];
  for (const condition of conditions) {
    if (!('path' in condition) || condition.path.parts.length !== 1) continue;
    if (condition.op !== '=' && condition.op !== 'IN') continue;
    const field = object.field(condition.path.parts[0]);
    if (!field || !(field.type === 'id' || field.externalId || field.idLookup || field.unique)) continue;
    const literals = Array.isArray(condition.value) ? condition.value : [condition.value];
    const ids = new Set<string>();
    for (const literal of literals) {
      if (literal === null) return undefined; // `= null` matches records without a value: not indexed
      const key = field.type === 'id' ? normaliseId(String(literal)) : String(literal);
      if (key !== undefined) for (const id of object.findBy(field.name, key)) ids.add(id);
    }
    return [...ids].flatMap((id) => object.records.get(id) ?? []);
  }
  return undefined;
}

function valueAt(store: RecordStore, record: StoredRecord, resolve: Column['resolve']): unknown {
  let current: StoredRecord | undefined = record;
  for (const [index, step] of resolve.entries()) {
    if (!current) return null;
    const value: unknown = current[step.field.name];
    if (index === resolve.length - 1) return value ?? null;
    current = typeof value === 'string' ? store.objectOfId(value)?.records.get(value) : undefined;
  }
  return null;
}

function compareForSort(a: unknown, b: unknown, nullsLast: boolean): number {
  const aNull = a === null || a === undefined;
  const bNull = b === null || b === undefined;
  if (aNull || bNull) return aNull && bNull ? 0 : aNull === nullsLast ? 1 : -1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a).toLowerCase().localeCompare(String(b).toLowerCase());
}

/** The lower-cased literals of an IN list when all are strings (the fast path of compile). */
function stringSet(literals: Literal[]): Set<string> | undefined {
  if (!literals.every((l): l is string => typeof l === 'string')) return undefined;
  return new Set(literals.map((l) => l.toLowerCase()));
}

/** a datetime as stored and as the parser reads a literal: UTC, fixed width, so it orders as text */
const WIRE_DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+0000$/;

function matches(value: unknown, op: string, literal: Literal | Literal[]): boolean {
  if (op === 'IN' || op === 'NOT IN') {
    const found = (literal as Literal[]).some((l) => matches(value, '=', l));
    return op === 'IN' ? found : !found;
  }
  const isNull = value === null || value === undefined;
  if (literal === null) return op === '=' ? isNull : op === '!=' ? !isNull : false;
  if (isNull) return op === '!=';
  if (op === 'LIKE') {
    const pattern = String(literal)
      .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
      .replace(/%/g, '.*')
      .replace(/_/g, '.');
    return new RegExp(`^${pattern}$`, 'is').test(String(value));
  }
  return compared(compare(value, literal as Literal), op);
}

/** value against a literal: negative, 0 or positive */
function compare(value: unknown, literal: Literal): number {
  if (typeof value === 'number' && typeof literal === 'number') return value - literal;
  if (typeof value === 'boolean') return value === literal ? 0 : 1;
  const [a, b] = [String(value), String(literal)];
  if (WIRE_DATETIME.test(a) && WIRE_DATETIME.test(b)) return a < b ? -1 : a > b ? 1 : 0;
  return a.toLowerCase().localeCompare(b.toLowerCase());
}

function compared(c: number, op: string): boolean {
  switch (op) {
    case '=':
      return c === 0;
    case '!=':
      return c !== 0;
    case '<':
      return c < 0;
    case '>':
      return c > 0;
    case '<=':
      return c <= 0;
    default:
      return c >= 0;
  }
}

function compile(
  store: RecordStore,
  object: ObjectStore,
  query: ParsedQuery,
  expr: Expr,
): (r: StoredRecord) => boolean {
  if ('and' in expr) {
    const parts = expr.and.map((e) => compile(store, object, query, e));
    return (r) => parts.every((p) => p(r));
  }
  if ('or' in expr) {
    const parts = expr.or.map((e) => compile(store, object, query, e));
    return (r) => parts.some((p) => p(r));
  }
  if ('not' in expr) {
    const inner = compile(store, object, query, expr.not);
    return (r) => !inner(r);
  }
  const resolve = resolvePath(store, object, expr.path, query);
  const field = resolve[resolve.length - 1].field;
  const value = expr.value;
  const keys = Array.isArray(value) ? stringSet(value) : undefined;
  if (keys) {
    // IN over a long list of strings (thousands of ids or external ids): one lookup a record, not a scan
    // of the list. Same comparison as matches(): case-insensitive; a 15-character id matches its record.
    const isId = field.type === 'id' || field.type === 'reference';
    const wanted = expr.op === 'IN';
    return (r) => {
      const v = valueAt(store, r, resolve);
      if (v === null || v === undefined) return !wanted;
      const text = String(v).toLowerCase();
      const found = keys.has(text) || (isId && keys.has(text.slice(0, 15)));
      return found === wanted;
    };
  }
  return (r) => {
    const v = valueAt(store, r, resolve);
    // 15-char ids compare to the first 15 characters of stored 18-char ids
    if ((field.type === 'id' || field.type === 'reference') && typeof v === 'string') {
      const short = (l: Literal): boolean => typeof l === 'string' && l.length === 15;
      if (Array.isArray(value) ? value.some(short) : short(value))
        return matches(v.slice(0, 15), expr.op, value) || matches(v, expr.op, value);
    }
    return matches(v, expr.op, value);
  };
}

/** The REST JSON of one record: attributes, then the selected fields, parents nested under their relationship. */
export function renderRecord(
  store: RecordStore,
  result: QueryResult,
  record: StoredRecord,
  apiVersion: string,
): Record<string, unknown> {
  const attributes = (type: string, id: string): Record<string, string> => ({
    type,
    url: `/services/data/v${apiVersion}/sobjects/${type}/${id}`,
  });
  const out: Record<string, unknown> = { attributes: attributes(result.object.describe.name, record.Id) };
  for (const column of result.columns) {
    let target = out;
    let current: StoredRecord | undefined = record;
    for (const [index, step] of column.resolve.entries()) {
      if (index === column.resolve.length - 1) {
        target[step.field.name] = current ? (current[step.field.name] ?? null) : null;
        break;
      }
      const relationship = step.field.relationshipName ?? step.field.name;
      const parentId: unknown = current?.[step.field.name];
      const parent: StoredRecord | undefined =
        typeof parentId === 'string' ? store.objectOfId(parentId)?.records.get(parentId) : undefined;
      if (!parent) {
        target[relationship] = null;
        break;
      }
      const existing = target[relationship];
      if (!existing || typeof existing !== 'object') {
        const type = store.objectOfId(parent.Id)?.describe.name ?? step.field.referenceTo[0];
        target[relationship] = { attributes: attributes(type, parent.Id) };
      }
      target = target[relationship] as Record<string, unknown>;
      current = parent;
    }
  }
  return out;
}

/** The flat CSV cells of one record (bulk query results): parent fields as Relationship.Field columns. */
export function flatValues(store: RecordStore, result: QueryResult, record: StoredRecord): string[] {
  return result.columns.map((column) => {
    const value = valueAt(store, record, column.resolve);
    return value === null || value === undefined ? '' : String(value);
  });
}
