/*
 * The org preflight of `sf migrate validate --target-org`: once a manifest passes its offline
 * checks, each step is checked against the org's describe (objects, header columns after the
 * mapping, relationship columns, writability, the upsert key, required fields) and the plan's API
 * bill against the org's daily limits (preflightLimits.ts). The org is asked through its Connection
 * only: one describe per object, and GET /limits.
 */
import { readFile } from 'node:fs/promises';
import { Messages, type Connection } from '@salesforce/core';
import { orgGet } from '../bulk/orgHttp.js';
import { readCsvHeader } from '../csv/header.js';
import { mappedColumns } from '../csv/upload.js';
import { headerAfterLookups } from '../lookup/manifestChecks.js';
import { lookupSpecs } from '../lookup/spec.js';
import { JsonText } from './jsonText.js';
import { checkBudget, type Limits } from './preflightLimits.js';
import { pointerOf, type Problem, type ProblemCode } from './problems.js';
import type { LoadedManifest, ResolvedStep } from './types.js';

Messages.importMessagesDirectoryFromMetaUrl(import.meta.url);
const messages = Messages.loadMessages('@sf-migrate/plugin-migrate', 'preflight');

/** The part of a field describe the preflight reads. */
export type FieldInfo = {
  name: string;
  type?: string;
  createable: boolean;
  updateable: boolean;
  nillable: boolean;
  defaultedOnCreate: boolean;
  externalId?: boolean;
  idLookup?: boolean;
  referenceTo?: string[] | null;
  relationshipName?: string | null;
};

/** The part of an object describe the preflight reads. */
export type ObjectInfo = {
  name: string;
  createable?: boolean;
  updateable?: boolean;
  deletable?: boolean;
  /** not in a real describe; the local org's own schema may say it */
  bulkIngestable?: boolean;
  fields: FieldInfo[];
};

/** What the preflight needs of an org: a Connection of @salesforce/core fits. */
export type PreflightConnection = {
  describe(object: string): Promise<ObjectInfo>;
  request<T = unknown>(url: string): Promise<T>;
  getApiVersion(): string;
  getUsername(): string | undefined;
};

/** One daily limit against what the migration is estimated to spend of it. */
export type LimitUse = {
  max: number;
  remaining: number;
  /** estimated for the whole migration */
  estimated: number;
};

export type OrgCheck = {
  username: string;
  apiVersion: string;
  /** false when the manifest has offline errors: then the org is not asked anything */
  checked: boolean;
  /** the objects described, as the org spells them */
  objects: string[];
  /** present when the org answered GET /limits */
  limits?: {
    dailyApiRequests?: LimitUse;
    dailyBulkApiBatches?: LimitUse;
  };
};

const lower = (name: string): string => name.toLowerCase();

/** Describes each object once; undefined for an object the org does not have. */
class DescribeCache {
  private readonly cache = new Map<string, Promise<ObjectInfo | undefined>>();
  public constructor(private readonly connection: PreflightConnection) {}

  public get(object: string): Promise<ObjectInfo | undefined> {
    let found = this.cache.get(lower(object));
    if (!found) {
      found = this.connection.describe(object).then(
        (describe) => describe,
        (error: unknown) => {
          const code = (error as { errorCode?: string; name?: string }).errorCode ?? (error as Error).name;
          if (code === 'NOT_FOUND' || code === 'INVALID_TYPE') return undefined;
          throw error;
        },
      );
      this.cache.set(lower(object), found);
    }
    return found;
  }

  public async described(): Promise<string[]> {
    const all = await Promise.all(this.cache.values());
    return all.flatMap((d) => (d ? [d.name] : []));
  }
}

const fieldOf = (describe: ObjectInfo, name: string): FieldInfo | undefined =>
  describe.fields.find((f) => lower(f.name) === lower(name));

const isKey = (field: FieldInfo): boolean => field.externalId === true || field.idLookup === true;

/** Whether the object takes the operation at all. */
function ingestable(describe: ObjectInfo, operation: ResolvedStep['operation']): boolean {
  if (describe.bulkIngestable === false) return false;
  if (operation === 'insert') return describe.createable !== false;
  if (operation === 'update') return describe.updateable !== false;
  if (operation === 'upsert') return describe.createable !== false || describe.updateable !== false;
  return describe.deletable !== false;
}

/** Whether a column may carry a value of this field for the step's operation. */
function writable(field: FieldInfo, step: ResolvedStep): boolean {
  const name = lower(field.name);
  if (name === 'id' && step.operation !== 'insert') return true;
  if (step.operation === 'insert') return field.createable;
  if (step.operation === 'update') return field.updateable;
  if (step.operation === 'upsert')
    return field.createable || field.updateable || name === lower(step.externalIdField ?? '');
  return true;
}

type Column = { name: string; pointer: string; file?: string };

/** The uploaded columns of one file, each with where the user wrote it: the header, a rename or a constant. */
async function columnsOf(step: ResolvedStep, stepPointer: string, file: string): Promise<Column[]> {
  const read = await readCsvHeader(file, step.columnDelimiter);
  // the org sees the columns the lookups leave: their fields instead of their key columns
  const header = { ...read, columns: headerAfterLookups({ ...step, pointer: stepPointer }, file, read.columns, []) };
  const lookupAt = new Map(
    lookupSpecs(step).map((spec) => [spec.field, `${stepPointer}${pointerOf('lookups', spec.index)}`]),
  );
  const constants = step.mapping.constants ?? {};
  const renamedFrom = new Map(
    Object.entries(step.mapping.rename ?? {})
      .filter(([from]) => header.columns.includes(from))
      .map(([from, to]) => [to, from]),
  );
  return mappedColumns(header, step.mapping).map((name): Column => {
    const lookup = lookupAt.get(name);
    if (lookup !== undefined) return { name, pointer: lookup, file };
    if (name in constants)
      return {
        name,
        pointer: `${stepPointer}/mapping${pointerOf('constants', name)}`,
      };
    const from = renamedFrom.get(name);
    if (from !== undefined)
      return {
        name,
        pointer: `${stepPointer}/mapping${pointerOf('rename', from)}`,
        file,
      };
    return { name, pointer: stepPointer, file };
  });
}

export type PreflightResult = { problems: Problem[]; org: OrgCheck };

export async function preflight(manifest: LoadedManifest, connection: PreflightConnection): Promise<PreflightResult> {
  const json = JsonText.parse((await readFile(manifest.path, 'utf8')).replace(/^\uFEFF/, '')).json;
  const problems: Problem[] = [];
  const seen = new Set<string>();
  const report: Report = (severity, code, at, tokens, options = {}) => {
    const dedupe = [code, at.pointer, options.key ?? tokens.join('\u0000')].join('\u0000');
    if (seen.has(dedupe)) return;
    seen.add(dedupe);
    problems.push({
      severity,
      code,
      pointer: at.pointer,
      ...json.locate(at.pointer),
      ...(at.file ? { file: at.file } : {}),
      message: messages.getMessage(options.message ?? `problem.${code}`, tokens),
    });
  };

  // The limits first, so the preflight's own describes do not count against what remains. An org
  // that refuses the limits resource is still checked; the result then has no `limits`.
  const limits = await connection.request<Limits>('/limits').catch((): Limits => ({}));
  const describes = new DescribeCache(connection);
  const rawSteps = manifest.raw.steps;

  for (const [index, step] of manifest.steps.entries()) {
    // the second pass of a self-reference reads its first step's files, checked with that step
    if (step.selfReferenceOf) continue;
    const stepPointer = pointerOf('steps', index);
    // eslint-disable-next-line no-await-in-loop -- steps in manifest order, each object described once
    const describe = await describes.get(step.object);
    if (!describe) {
      report('error', 'UnknownObject', { pointer: `${stepPointer}/object` }, [step.id, step.object]);
      continue;
    }
    if (!ingestable(describe, step.operation)) {
      report('error', 'UnknownObject', { pointer: `${stepPointer}/object` }, [step.id, describe.name, step.operation], {
        message: 'problem.UnknownObject.notIngestable',
      });
      continue;
    }

    let externalIdReported = false;
    if (step.operation === 'upsert' && step.externalIdField) {
      const key = fieldOf(describe, step.externalIdField);
      if (!key || !isKey(key)) {
        externalIdReported = true;
        const own = rawSteps[index]?.externalIdField !== undefined;
        report('error', 'ExternalIdFieldInvalid', { pointer: own ? `${stepPointer}/externalIdField` : stepPointer }, [
          step.id,
          step.externalIdField,
          describe.name,
        ]);
      }
    }

    for (const file of step.files) {
      // eslint-disable-next-line no-await-in-loop -- a header is one small read; describes are cached
      const columns = await columnsOf(step, stepPointer, file);
      const provided = new Set<string>();
      for (const column of columns) {
        // eslint-disable-next-line no-await-in-loop
        const field = await checkColumn(step, describe, column, describes, report, externalIdReported);
        if (field) provided.add(lower(field.name));
      }
      checkRequired(step, describe, file, provided, stepPointer, report);
    }
  }

  const budget = await checkBudget(manifest, limits, report);
  return {
    problems,
    org: {
      username: connection.getUsername() ?? '',
      apiVersion: connection.getApiVersion(),
      checked: true,
      objects: await describes.described(),
      ...(budget ? { limits: budget } : {}),
    },
  };
}

export type Report = (
  severity: Problem['severity'],
  code: ProblemCode,
  at: { pointer: string; file?: string },
  tokens: Array<string | number>,
  /** key: what makes two problems of one code and pointer the same (default: the tokens); message: another key */
  options?: { key?: string; message?: string },
) => void;

/** Checks one uploaded column; returns the field it sets (for the required-field check). */
async function checkColumn(
  step: ResolvedStep,
  describe: ObjectInfo,
  column: Column,
  describes: DescribeCache,
  report: Report,
  externalIdReported: boolean,
): Promise<FieldInfo | undefined> {
  const dot = column.name.indexOf('.');
  if (dot < 0) {
    const field = fieldOf(describe, column.name);
    if (!field) {
      if (!(externalIdReported && lower(column.name) === lower(step.externalIdField ?? '')))
        report('error', 'UnknownField', column, [step.id, column.name, describe.name, column.file ?? column.pointer], {
          key: column.name,
        });
      return undefined;
    }
    if (!writable(field, step))
      report('error', 'FieldNotWritable', column, [step.id, column.name, describe.name, step.operation], {
        key: column.name,
      });
    return field;
  }

  return checkRelationshipColumn(step, describe, column, dot, describes, report);
}

/**
 * Rel.Field, Rel__r.Field, or a polymorphic ObjectType:Rel.Field (see relationships.ts). Whether a
 * lookup is polymorphic comes from the describe: its referenceTo lists more than one object.
 */
async function checkRelationshipColumn(
  step: ResolvedStep,
  describe: ObjectInfo,
  column: Column,
  dot: number,
  describes: DescribeCache,
  report: Report,
): Promise<FieldInfo | undefined> {
  const reference = column.name.slice(0, dot);
  const parentFieldName = column.name.slice(dot + 1);
  const { lookup, type, reversed } = relationshipOf(describe, reference);
  const tokens = [step.id, column.name, describe.name];
  if (reversed) {
    report('error', 'PolymorphicOrderReversed', column, [...tokens, `${reversed}.${parentFieldName}`], {
      key: column.name,
    });
    return undefined;
  }
  const relationship = reference.slice(reference.indexOf(':') + 1);
  if (!lookup) {
    report('error', 'UnknownRelationship', column, [step.id, column.name, relationship, describe.name], {
      key: column.name,
    });
    return undefined;
  }
  const targets = lookup.referenceTo ?? [];
  const polymorphic = targets.length > 1;
  if (type !== undefined && !polymorphic) {
    report('error', 'TypeOnNonPolymorphic', column, [...tokens, relationship, `${relationship}.${parentFieldName}`], {
      key: column.name,
    });
    return lookup;
  }
  if (type === undefined && polymorphic) {
    const example = `${targets.includes('User') ? 'User' : targets[0]}:${relationship}.${parentFieldName}`;
    report('error', 'PolymorphicWithoutType', column, [...tokens, relationship, targets.join(', '), example], {
      key: column.name,
    });
    return lookup;
  }
  const parentObject = type === undefined ? targets[0] : targets.find((t) => lower(t) === lower(type));
  if (!parentObject && type !== undefined) {
    const notAllowed = [step.id, column.name, type, describe.name, relationship, targets.join(', ')];
    report('error', 'PolymorphicTypeNotAllowed', column, notAllowed, { key: column.name });
    return lookup;
  }
  if (!writable(lookup, step))
    report('error', 'FieldNotWritable', column, [step.id, column.name, describe.name, step.operation], {
      key: column.name,
    });
  if (!parentObject) return lookup;
  const parent = await describes.get(parentObject);
  if (!parent) {
    report('error', 'UnknownRelationship', column, [step.id, column.name, reference, describe.name], {
      key: column.name,
    });
    return lookup;
  }
  const parentField = fieldOf(parent, parentFieldName);
  if (!parentField || !isKey(parentField))
    report('error', 'NotAnExternalId', column, [step.id, column.name, parentFieldName, parent.name], {
      key: column.name,
    });
  return lookup;
}

/** Insert and upsert: a field a created record must have that no column or constant of the file provides. */
function checkRequired(
  step: ResolvedStep,
  describe: ObjectInfo,
  file: string,
  provided: Set<string>,
  stepPointer: string,
  report: Report,
): void {
  if (step.operation !== 'insert' && step.operation !== 'upsert') return;
  for (const field of describe.fields) {
    if (!field.createable || field.nillable || field.defaultedOnCreate || provided.has(lower(field.name))) continue;
    report(
      'warning',
      'MissingRequiredField',
      { pointer: stepPointer, file },
      [step.id, describe.name, field.name, file],
      {
        key: field.name,
      },
    );
  }
}

/**
 * The lookup field a relationship column goes through and the `Type:` prefix it names; `reversed`
 * is the corrected `Type:Relationship` when the column has them the other way round (the part after
 * the colon is no relationship of the object, the part before it is).
 */
function relationshipOf(
  describe: ObjectInfo,
  reference: string,
): { lookup?: FieldInfo; type?: string; reversed?: string } {
  const byRelationship = (name: string): FieldInfo | undefined =>
    describe.fields.find((f) => f.relationshipName && lower(f.relationshipName) === lower(name));
  const colon = reference.indexOf(':');
  if (colon < 0) return { lookup: byRelationship(reference) };
  const [type, relationship] = [reference.slice(0, colon), reference.slice(colon + 1)];
  const lookup = byRelationship(relationship);
  if (lookup) return { lookup, type };
  const swapped = byRelationship(type);
  // On a lookup that points to one object, the fix drops the type rather than moving it.
  if (swapped && relationship)
    return {
      reversed:
        (swapped.referenceTo ?? []).length > 1
          ? `${relationship}:${swapped.relationshipName!}`
          : swapped.relationshipName!,
    };
  return { type };
}

/** A Connection of @salesforce/core as the preflight's view of an org; its calls go through the org door. */
export function connectionPreflight(connection: Connection): PreflightConnection {
  return {
    describe: async (object) => orgGet<ObjectInfo>(connection, `/sobjects/${encodeURIComponent(object)}/describe`),
    request: async <T = unknown>(url: string) => orgGet<T>(connection, url),
    getApiVersion: () => connection.getApiVersion(),
    getUsername: () => connection.getUsername(),
  };
}
