/*
 * A manifest lookup (src/manifest/types.ts `Lookup`) resolved into what the run needs: the object
 * and fields queried, the SOQL of its snapshot, the columns it reads and writes, its policies, and
 * how a key is compared. The built-in kinds (record types, users, queues, public groups) are only
 * shorthands for an object lookup with a fixed filter, so everything past this module treats them
 * alike.
 */
import { createHash } from 'node:crypto';
import type { Lookup } from '../manifest/types.js';

export type LookupKind = 'object' | 'recordType' | 'user' | 'queue' | 'group';

export type FilterValue = string | number | boolean | null;

export type LookupSpec = {
  /** position in the step's `lookups`, for messages and pointers */
  index: number;
  kind: LookupKind;
  /** source columns, in `matchOn` order */
  columns: string[];
  /** the field of the step's object written with the Id */
  field: string;
  /** the object queried */
  object: string;
  /** the fields of `object` compared with the key */
  matchOn: string[];
  /** field = value pairs the records must have: the kind's own filter first, then the manifest's */
  where: Array<[string, FilterValue]>;
  onMissing: 'fail' | 'default' | 'empty';
  default?: string;
  /** users only */
  inactive?: 'fail' | 'default' | 'keep';
  /** appended to usernames (user lookups by Username only) */
  suffix?: string;
  caseSensitive: boolean;
  /** SELECT Id, <matchOn…>[, IsActive] FROM <object> [WHERE …] */
  query: string;
  /** names the snapshot in the run folder and the journal: one query, one snapshot per run */
  snapshotKey: string;
  /** how messages name a matched record, e.g. "User with Email" */
  label: string;
};

/** The field a built-in kind writes when the lookup does not name one. */
const DEFAULT_FIELD: Record<Exclude<LookupKind, 'object'>, string> = {
  recordType: 'RecordTypeId',
  user: 'OwnerId',
  queue: 'OwnerId',
  group: 'OwnerId',
};

/** The field a lookup writes: its own `field`, else its kind's default; undefined for an object lookup without one. */
export function fieldOf(lookup: Lookup): string | undefined {
  const kind = kindOf(lookup);
  if (lookup.field !== undefined) return lookup.field;
  return kind === undefined || kind === 'object' ? undefined : DEFAULT_FIELD[kind];
}

/** The kind of a lookup: the one of `object`, `recordType`, `user`, `queue`, `group` it sets (checked elsewhere). */
export function kindOf(lookup: Lookup): LookupKind | undefined {
  const kinds: LookupKind[] = ['object', 'recordType', 'user', 'queue', 'group'];
  const set = kinds.filter((kind) => lookup[kind] !== undefined);
  return set.length === 1 ? set[0] : undefined;
}

export const asList = (value: string | string[] | undefined): string[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

/** A SOQL literal: strings quoted with backslash and quote escaped (SOQL "Quoted String Escape Sequences"). */
export function soqlLiteral(value: FilterValue): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  return String(value);
}

/** What a lookup of `kind` matches: the object, its fields, the kind's own filter, and its name in messages. */
function matchedRecords(
  kind: LookupKind,
  lookup: Lookup,
  stepObject: string,
): { object: string; matchOn: string[]; where: Array<[string, FilterValue]>; label: string } {
  switch (kind) {
    case 'object': {
      const matchOn = asList(lookup.matchOn);
      return { object: lookup.object!, matchOn, where: [], label: `${lookup.object!} with ${matchOn.join(' + ')}` };
    }
    case 'recordType':
      return {
        object: 'RecordType',
        matchOn: [lookup.recordType!],
        where: [['SobjectType', stepObject]],
        label: `${stepObject} record type with ${lookup.recordType!}`,
      };
    case 'user':
      return { object: 'User', matchOn: [lookup.user!], where: [], label: `User with ${lookup.user!}` };
    case 'queue':
    case 'group':
      return {
        object: 'Group',
        matchOn: [lookup[kind]!],
        where: [['Type', kind === 'queue' ? 'Queue' : 'Regular']],
        label: `${kind === 'queue' ? 'queue' : 'public group'} with ${lookup[kind]!}`,
      };
  }
}

/**
 * Resolves one lookup of a step (already schema- and sense-checked: manifestChecks.ts). Throws a
 * TypeError on a lookup those checks would have refused, which is a bug, not a user error.
 */
export function lookupSpec(stepObject: string, lookup: Lookup, index: number): LookupSpec {
  const kind = kindOf(lookup);
  if (!kind) throw new TypeError(`lookup ${index} sets no kind or several`);
  const columns = asList(lookup.column);
  const { object, matchOn, where, label } = matchedRecords(kind, lookup, stepObject);
  for (const [name, value] of Object.entries(lookup.where ?? {})) where.push([name, value]);
  const selected = ['Id', ...matchOn, ...(kind === 'user' ? ['IsActive'] : [])];
  const condition = where.map(([name, value]) => `${name} = ${soqlLiteral(value)}`).join(' AND ');
  const query = `SELECT ${selected.join(', ')} FROM ${object}${condition ? ` WHERE ${condition}` : ''}`;
  const onMissing = lookup.onMissing ?? (lookup.default !== undefined ? 'default' : 'fail');
  return {
    index,
    kind,
    columns,
    field: lookup.field ?? (kind === 'object' ? '' : DEFAULT_FIELD[kind]),
    object,
    matchOn,
    where,
    onMissing,
    ...(lookup.default !== undefined ? { default: lookup.default } : {}),
    ...(kind === 'user' ? { inactive: lookup.inactive ?? 'fail' } : {}),
    ...(lookup.sandboxSuffix !== undefined ? { suffix: lookup.sandboxSuffix } : {}),
    caseSensitive: lookup.caseSensitive ?? false,
    query,
    snapshotKey: snapshotKeyOf(query),
    label,
  };
}

/** The step's lookups, resolved. */
export function lookupSpecs(step: { object: string; lookups?: Lookup[] }): LookupSpec[] {
  return (step.lookups ?? []).map((lookup, index) => lookupSpec(step.object, lookup, index));
}

export function snapshotKeyOf(query: string): string {
  return createHash('sha256').update(query).digest('hex').slice(0, 16);
}

/** Separates the parts of a key of several fields; a control character no CSV key holds in practice. */
const PART_SEPARATOR = '\u001f';

/**
 * One key part as compared: surrounding spaces dropped (a legacy export pads values; Salesforce
 * stores no padding in these fields), and lower-cased unless the lookup is case sensitive, as SOQL's
 * `=` compares text without case ("Comparison Operators", SOQL and SOSL Reference). The lower-casing
 * is JavaScript's locale-independent one.
 */
export function normalisePart(value: string, caseSensitive: boolean): string {
  const trimmed = value.trim();
  return caseSensitive ? trimmed : trimmed.toLowerCase();
}

/**
 * A source username as the sandbox knows it: the suffix appended (a sandbox appends its name to
 * every username copied from production, "Sandbox Setup Considerations"), unless it is there already,
 * so a source that was exported from the sandbox itself resolves too.
 */
export function withSuffix(username: string, suffix: string | undefined): string {
  const trimmed = username.trim();
  if (!suffix || trimmed === '') return trimmed;
  return trimmed.toLowerCase().endsWith(suffix.toLowerCase()) ? trimmed : trimmed + suffix;
}

/** The compared key of a source row's values (in `columns` order); undefined when every part is empty. */
export function sourceKey(spec: LookupSpec, values: readonly string[]): string | undefined {
  if (values.every((value) => value.trim() === '')) return undefined;
  const parts = spec.suffix ? values.map((value) => withSuffix(value, spec.suffix)) : values;
  return parts.map((part) => normalisePart(part, spec.caseSensitive)).join(PART_SEPARATOR);
}

/** The compared key of a snapshot record's match field values. */
export function recordKey(spec: LookupSpec, values: readonly string[]): string {
  return values.map((part) => normalisePart(part, spec.caseSensitive)).join(PART_SEPARATOR);
}

/** The key as messages show it: the source values as written. */
export function shownKey(values: readonly string[]): string {
  return values.join(', ');
}
