/*
 * `sf migrate validate --target-org` for lookups: the object each lookup queries and the fields it
 * matches on and filters by exist in the org's describe; a warning when a single match field is
 * neither unique, an id lookup nor an external id (two records may share a key: those rows would
 * fail as ambiguous); and, from a sample of each step's distinct source keys, how many resolve to
 * exactly one record. The sample is the first SAMPLE_KEYS distinct keys of the step's sources, asked
 * for through REST SOQL in batches of SAMPLE_BATCH values, so a large source costs a few requests;
 * a key of several fields is not sampled (SOQL has no tuple IN).
 */
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { parse } from 'csv-parse';
import { Messages } from '@salesforce/core';
import { delimiterCharacter } from '../csv/delimiters.js';
import { JsonText } from '../manifest/jsonText.js';
import type { FieldInfo, ObjectInfo, PreflightConnection } from '../manifest/preflight.js';
import { pointerOf, type Problem } from '../manifest/problems.js';
import type { LoadedManifest, ResolvedStep } from '../manifest/types.js';
import { lookupSpecs, recordKey, soqlLiteral, sourceKey, withSuffix, type LookupSpec } from './spec.js';

Messages.importMessagesDirectoryFromMetaUrl(import.meta.url);
const messages = Messages.loadMessages('@sf-migrate/plugin-migrate', 'lookup');

/** distinct source keys sampled per lookup */
export const SAMPLE_KEYS = 1000;
/** values per SOQL IN list: keeps each request's URL short */
const SAMPLE_BATCH = 100;
/** rows read per source file at most while looking for distinct keys */
const SAMPLE_ROWS = 100_000;

/** What validate found for one lookup of one step. */
export type LookupCheck = {
  step: string;
  /** position in the step's `lookups` */
  lookup: number;
  /** the object queried, e.g. User */
  object: string;
  matchOn: string[];
  /** the object and every field it names exist in the org */
  exists: boolean;
  /** absent when not sampled (the lookup's object or fields do not exist, or its key has several fields) */
  sample?: {
    /** distinct source keys sampled (at most SAMPLE_KEYS) */
    keys: number;
    /** keys matching exactly one record (inactive users included) */
    resolved: number;
    /** keys matching two records or more */
    ambiguous: number;
    /** keys matching nothing */
    missing: number;
    /** keys matching one inactive user */
    inactive: number;
  };
};

type Found = { problems: Problem[]; checks: LookupCheck[] };

const lower = (name: string): string => name.toLowerCase();

function fieldOf(describe: ObjectInfo, name: string): FieldInfo | undefined {
  return describe.fields.find((field) => lower(field.name) === lower(name));
}

async function describeOf(connection: PreflightConnection, object: string): Promise<ObjectInfo | undefined> {
  try {
    return await connection.describe(object);
  } catch {
    return undefined;
  }
}

/** The lookups of every step checked against the org (only steps that have lookups cost anything). */
export async function checkLookupsInOrg(manifest: LoadedManifest, connection: PreflightConnection): Promise<Found> {
  const found: Found = { problems: [], checks: [] };
  const json = JsonText.parse((await readFile(manifest.path, 'utf8')).replace(/^\uFEFF/, '')).json;
  for (const [index, step] of manifest.steps.entries()) {
    for (const spec of lookupSpecs(step)) {
      const at = pointerOf('steps', index, 'lookups', spec.index);
      // eslint-disable-next-line no-await-in-loop -- one lookup at a time keeps the org's load low
      found.checks.push(await checkLookup(step, spec, at, connection, found.problems));
    }
  }
  for (const problem of found.problems) Object.assign(problem, json.locate(problem.pointer));
  return found;
}

async function checkLookup(
  step: ResolvedStep,
  spec: LookupSpec,
  at: string,
  connection: PreflightConnection,
  problems: Problem[],
): Promise<LookupCheck> {
  const check: LookupCheck = {
    step: step.id,
    lookup: spec.index,
    object: spec.object,
    matchOn: spec.matchOn,
    exists: false,
  };
  const describe = await describeOf(connection, spec.object);
  const report = (severity: Problem['severity'], code: Problem['code'], key: string, tokens: unknown[]): void => {
    problems.push({ severity, code, pointer: at, message: messages.getMessage(key, tokens.map(String)) });
  };
  if (!describe) {
    report('error', 'LookupUnknownObject', 'problem.LookupUnknownObject', [step.id, spec.index, spec.object]);
    return check;
  }
  // relationship paths (Account.Legacy_Id__c) are checked by the query itself, not here
  const named = [...spec.matchOn, ...spec.where.map(([name]) => name), ...(spec.kind === 'user' ? ['IsActive'] : [])];
  const unknown = named.filter((name) => !name.includes('.') && !fieldOf(describe, name));
  for (const name of unknown) {
    report('error', 'LookupUnknownField', 'problem.LookupUnknownField', [step.id, spec.index, name, describe.name]);
  }
  if (unknown.length) return check;
  check.exists = true;
  if (spec.matchOn.length === 1 && !spec.matchOn[0].includes('.')) {
    const field = fieldOf(describe, spec.matchOn[0])!;
    if (!field.idLookup && !field.externalId && !(field as { unique?: boolean }).unique) {
      report('warning', 'LookupFieldNotUnique', 'problem.LookupFieldNotUnique', [
        step.id,
        spec.index,
        field.name,
        describe.name,
      ]);
    }
    const keys = await sampleKeys(step, spec);
    check.sample = await resolveSample(spec, keys, connection);
  }
  return check;
}

/** The first distinct keys of the step's sources: compared key → the value the query asks for. */
async function sampleKeys(step: ResolvedStep, spec: LookupSpec): Promise<Map<string, string>> {
  const keys = new Map<string, string>();
  for (const file of step.files) {
    if (keys.size >= SAMPLE_KEYS) break;
    const parser = createReadStream(file).pipe(
      parse({
        delimiter: delimiterCharacter(step.columnDelimiter),
        bom: true,
        relaxColumnCount: true,
        toLine: SAMPLE_ROWS,
      }),
    );
    let at = -1;
    // eslint-disable-next-line no-await-in-loop -- one file at a time, each read only as far as needed
    for await (const row of parser as AsyncIterable<string[]>) {
      if (at < 0) {
        at = row.indexOf(spec.columns[0]);
        if (at < 0) break;
        continue;
      }
      const value = row[at] ?? '';
      const key = sourceKey(spec, [value]);
      if (key !== undefined && !keys.has(key)) keys.set(key, withSuffix(value, spec.suffix));
      if (keys.size >= SAMPLE_KEYS) break;
    }
    parser.destroy();
  }
  return keys;
}

type QueryPage = { records?: Array<Record<string, unknown>>; done?: boolean; nextRecordsUrl?: string };

async function resolveSample(
  spec: LookupSpec,
  keys: Map<string, string>,
  connection: PreflightConnection,
): Promise<NonNullable<LookupCheck['sample']>> {
  const matches = new Map<string, { count: number; active: boolean }>();
  const values = [...new Set([...keys.values()])];
  const field = spec.matchOn[0];
  for (let start = 0; start < values.length; start += SAMPLE_BATCH) {
    const batch = values.slice(start, start + SAMPLE_BATCH);
    const filters = [
      ...spec.where.map(([name, value]) => `${name} = ${soqlLiteral(value)}`),
      `${field} IN (${batch.map((value) => soqlLiteral(value)).join(', ')})`,
    ];
    const selected = ['Id', field, ...(spec.kind === 'user' ? ['IsActive'] : [])];
    let url: string | undefined =
      `/query?q=${encodeURIComponent(`SELECT ${selected.join(', ')} FROM ${spec.object} WHERE ${filters.join(' AND ')}`)}`;
    while (url) {
      // eslint-disable-next-line no-await-in-loop -- each page names the next
      const page: QueryPage = await connection.request<QueryPage>(url);
      for (const record of page.records ?? []) {
        const key = recordKey(spec, [String(record[field] ?? '')]);
        const known = matches.get(key);
        matches.set(key, { count: (known?.count ?? 0) + 1, active: record.IsActive !== false });
      }
      url = page.done === false && page.nextRecordsUrl ? page.nextRecordsUrl : undefined;
    }
  }
  const sample = { keys: keys.size, resolved: 0, ambiguous: 0, missing: 0, inactive: 0 };
  for (const key of keys.keys()) {
    const match = matches.get(key);
    if (!match) sample.missing++;
    else if (match.count > 1) sample.ambiguous++;
    else {
      sample.resolved++;
      if (!match.active) sample.inactive++;
    }
  }
  return sample;
}

/** One line per sampled lookup for the human output of validate. */
export function lookupCheckLines(checks: readonly LookupCheck[] | undefined): string[] {
  return (checks ?? []).map((check) =>
    check.sample
      ? messages.getMessage('check.sampled', [
          check.step,
          check.lookup,
          `${check.object}.${check.matchOn.join('+')}`,
          check.sample.resolved,
          check.sample.keys,
          check.sample.ambiguous,
          check.sample.missing,
          check.sample.inactive,
          SAMPLE_KEYS,
        ])
      : messages.getMessage(check.exists ? 'check.notSampled' : 'check.notChecked', [
          check.step,
          check.lookup,
          `${check.object}.${check.matchOn.join('+')}`,
        ]),
  );
}
