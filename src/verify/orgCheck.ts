/*
 * One step's records against the org. The run's side is its saved success results (sf__Id, then
 * the row as uploaded, i.e. after the manifest's mapping); the org's side is a Bulk API 2.0 query
 * of the object streamed to disk. Both become key-sorted streams on disk and are walked side by
 * side, so memory does not grow with the number of records:
 * - by Id: every record the run wrote exists (a delete step's records do not), and every row that
 *   named a parent through a relationship column has its lookup field filled;
 * - by external id: no value the run wrote is held by two records;
 * - a seeded sample of rows is then queried by Id and compared field by field, by type.
 */
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { rm } from 'node:fs/promises';
import { parse } from 'csv-parse';
import type { ResolvedStep } from '../manifest/types.js';
import type { ChunkState } from '../journal/state.js';
import { toEighteen } from '../journal/salesforceId.js';
import { readResultRows } from '../engine/resultFiles.js';
import { parseRelationshipColumn } from '../manifest/relationships.js';
import { mergeJoin, SortedKeySpill } from './sortedKeys.js';
import { Reservoir, seededRandom, stepSeed } from './sampling.js';
import { NULL_VALUE, sameValue } from './values.js';
import type { Discrepancy } from './types.js';

/** the part of a field describe verify reads */
export type DescribedField = { name: string; type: string; relationshipName?: string | null };

/** Ids a sample query names at once: SOQL stays far below the org's 100,000-character limit */
const IDS_PER_SAMPLE_QUERY = 500;

export type OrgCheckInput = {
  step: ResolvedStep;
  chunks: readonly ChunkState[];
  runDir: string;
  /** the object's fields, as the org describes them */
  fields: readonly DescribedField[];
  /** fields (lower case) that a later step of the run writes on the same object: not sampled */
  writtenLater: ReadonlySet<string>;
  /** runs one query into a file: the header once, then every record (bulk/queryJobClient.ts) */
  query: QueryToFile;
  sampleSize: number;
  seed: number;
  /** scratch space for the sorted streams and query pages; removed afterwards */
  scratch: string;
  sortBudgetBytes?: number;
  report: (discrepancy: Discrepancy) => void;
  onPhase?: (phase: 'results' | 'query' | 'compare' | 'sample') => void;
};

export type QueryToFile = (soql: string, file: string) => Promise<unknown>;

/** the rows of a query's results file as objects keyed by column */
async function* queryRows(file: string): AsyncGenerator<Record<string, string>> {
  const parser = createReadStream(file).pipe(parse({ columns: true, bom: true }));
  for await (const row of parser as AsyncIterable<Record<string, string>>) yield row;
}

export type OrgCheckCounts = { checkedInOrg: number; sampled: number; duplicatesChecked: boolean };

type SampledRow = { id: string; values: Array<[field: string, value: string]> };

const lower = (s: string): string => s.toLowerCase();

function eighteen(id: string): string {
  return id.length === 15 ? toEighteen(id) : id;
}

/** how a column of an uploaded row is read: a field's value, a parent named for a lookup, or nothing */
type ColumnUse = { kind: 'field'; field: DescribedField } | { kind: 'lookup'; field: string } | { kind: 'skip' };

function columnUses(header: readonly string[], step: ResolvedStep, fields: readonly DescribedField[]): ColumnUse[] {
  const byName = new Map(fields.map((field) => [lower(field.name), field]));
  const byRelationship = new Map(
    fields.filter((field) => field.relationshipName).map((field) => [lower(field.relationshipName!), field]),
  );
  return header.map((column): ColumnUse => {
    if (column === 'sf__Id' || column === 'sf__Created') return { kind: 'skip' };
    const relationship = parseRelationshipColumn(column, step.object);
    if (relationship) {
      const lookup = byRelationship.get(lower(relationship.relationship));
      return lookup ? { kind: 'lookup', field: lookup.name } : { kind: 'skip' };
    }
    const field = byName.get(lower(column));
    // the Id column of an update is the record itself, which sf__Id already names
    if (!field || field.type === 'id') return { kind: 'skip' };
    return { kind: 'field', field };
  });
}

/** the success result files of the step's chunks, relative to the run folder */
function successFiles(chunks: readonly ChunkState[]): string[] {
  return chunks.flatMap((chunk) => (chunk.results ? [chunk.results.files.success] : []));
}

function soqlQuote(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** what the run's success results say, on disk and sorted, plus the sample drawn from them */
type RunSide = {
  ids: SortedKeySpill;
  externalIds: SortedKeySpill;
  lookupFields: Set<string>;
  externalIdWritten: boolean;
  sample: Reservoir<SampledRow>;
};

/** the field values of one success row that its sample compares */
function sampledValues(row: string[], uses: ColumnUse[], writtenLater: ReadonlySet<string>): SampledRow['values'] {
  const values: Array<[string, string]> = [];
  for (const [i, use] of uses.entries()) {
    if (use.kind === 'field' && !writtenLater.has(lower(use.field.name))) values.push([use.field.name, row[i] ?? '']);
  }
  return values;
}

function parentsNamed(row: string[], uses: ColumnUse[]): string[] {
  return uses.flatMap((use, i) =>
    use.kind === 'lookup' && (row[i] ?? '') !== '' && row[i] !== NULL_VALUE ? [use.field] : [],
  );
}

/** reads the success results into `side`; resolves whether any row wrote an external id */
async function readRunSide(
  input: OrgCheckInput,
  externalId: DescribedField | undefined,
  side: RunSide,
): Promise<boolean> {
  let externalIdWritten = false;
  for (const file of successFiles(input.chunks)) {
    let uses: ColumnUse[] | undefined;
    let idAt = 0;
    let externalIdAt = -1;
    // eslint-disable-next-line no-await-in-loop -- one file after the other
    for await (const row of readResultRows(join(input.runDir, file), input.step.columnDelimiter)) {
      if (!uses) {
        uses = columnUses(row, input.step, input.fields);
        idAt = row.indexOf('sf__Id');
        externalIdAt = externalId ? row.findIndex((column) => lower(column) === lower(externalId.name)) : -1;
        for (const use of uses) if (use.kind === 'lookup') side.lookupFields.add(use.field);
        continue;
      }
      const id = eighteen(row[idAt] ?? '');
      if (!id) continue;
      await side.ids.add({ key: id, value: parentsNamed(row, uses).join(',') });
      const externalValue = externalIdAt >= 0 ? (row[externalIdAt] ?? '') : '';
      if (externalValue !== '' && externalValue !== NULL_VALUE) {
        externalIdWritten = true;
        await side.externalIds.add({ key: externalValue, value: id });
      }
      side.sample.offer({ id, values: sampledValues(row, uses, input.writtenLater) });
    }
  }
  return externalIdWritten;
}

/** every record of the object: its Id with the lookups it has filled, and its external id */
async function readOrgSide(
  input: OrgCheckInput,
  run: RunSide,
  externalId: DescribedField | undefined,
  org: { ids: SortedKeySpill; externalIds: SortedKeySpill },
): Promise<void> {
  const externalName = run.externalIdWritten ? externalId?.name : undefined;
  const selected = [...new Set(['Id', ...(externalName ? [externalName] : []), ...run.lookupFields])];
  const file = join(input.scratch, 'query.csv');
  await input.query(`SELECT ${selected.join(', ')} FROM ${input.step.object}`, file);
  try {
    for await (const row of queryRows(file)) {
      const id = row.Id ?? '';
      const filled = [...run.lookupFields].filter((field) => (row[field] ?? '') !== '');
      await org.ids.add({ key: id, value: filled.join(',') });
      const externalValue = externalName ? (row[externalName] ?? '') : '';
      if (externalValue !== '') await org.externalIds.add({ key: externalValue, value: id });
    }
  } finally {
    await rm(file, { force: true });
  }
}

/** the run's Ids against the org's: missing (or, deleted, still present) records and empty lookups */
async function compareIds(
  input: OrgCheckInput,
  run: SortedKeySpill,
  org: SortedKeySpill,
  sampledIds: ReadonlySet<string>,
): Promise<{ checkedInOrg: number; missing: Set<string> }> {
  const { step, report } = input;
  const deleting = step.operation === 'delete' || step.operation === 'hardDelete';
  const missing = new Set<string>();
  let checkedInOrg = 0;
  for await (const { key, left, right } of mergeJoin(run.sorted(), org.sorted())) {
    if (left.length === 0) continue;
    checkedInOrg++;
    if (deleting) {
      if (right.length > 0)
        report({ step: step.id, kind: 'stillPresent', key, expected: 'deleted', actual: 'present' });
      continue;
    }
    if (right.length === 0) {
      // a sampled row that is missing is not compared field by field (bounded by the sample size)
      if (sampledIds.has(key)) missing.add(key);
      report({ step: step.id, kind: 'missing', key, expected: 'present', actual: 'absent' });
      continue;
    }
    const filled = new Set(right[0].split(',').filter(Boolean));
    const named = new Set(left.flatMap((value) => value.split(',').filter(Boolean)));
    for (const field of named) {
      if (!filled.has(field)) {
        report({ step: step.id, kind: 'emptyLookup', key, field, expected: 'a parent', actual: '' });
      }
    }
  }
  return { checkedInOrg, missing };
}

/** external ids the run wrote that more than one record of the org holds */
async function compareExternalIds(
  input: OrgCheckInput,
  field: string,
  run: SortedKeySpill,
  org: SortedKeySpill,
): Promise<void> {
  for await (const { key, left, right } of mergeJoin(run.sorted(), org.sorted())) {
    if (left.length === 0 || right.length < 2) continue;
    const ids = `${right.slice(0, 5).join(', ')}${right.length > 5 ? ', …' : ''}`;
    input.report({
      step: input.step.id,
      kind: 'duplicate',
      key,
      field,
      expected: '1 record',
      actual: `${right.length} records: ${ids}`,
    });
  }
}

export async function checkStepInOrg(input: OrgCheckInput): Promise<OrgCheckCounts> {
  const { step, fields } = input;
  const deleting = step.operation === 'delete' || step.operation === 'hardDelete';
  const wanted = step.externalIdField ? lower(step.externalIdField) : undefined;
  const externalId = wanted ? fields.find((field) => lower(field.name) === wanted) : undefined;
  const spill = (name: string): SortedKeySpill => new SortedKeySpill(join(input.scratch, name), input.sortBudgetBytes);
  const run: RunSide = {
    ids: spill('run-ids'),
    externalIds: spill('run-external-ids'),
    lookupFields: new Set(),
    externalIdWritten: false,
    sample: new Reservoir(deleting ? 0 : input.sampleSize, seededRandom(stepSeed(input.seed, step.id))),
  };
  const org = { ids: spill('org-ids'), externalIds: spill('org-external-ids') };
  try {
    input.onPhase?.('results');
    run.externalIdWritten = await readRunSide(input, externalId, run);
    input.onPhase?.('query');
    await readOrgSide(input, run, externalId, org);
    input.onPhase?.('compare');
    const sampledIds = new Set(run.sample.sample.map((row) => row.id));
    const { checkedInOrg, missing } = await compareIds(input, run.ids, org.ids, sampledIds);
    if (run.externalIdWritten && externalId) {
      await compareExternalIds(input, externalId.name, run.externalIds, org.externalIds);
    }
    input.onPhase?.('sample');
    const sample = run.sample.sample.filter((row) => !missing.has(row.id) && row.values.length > 0);
    await compareSample(input, sample);
    return { checkedInOrg, sampled: sample.length, duplicatesChecked: run.externalIdWritten };
  } finally {
    await Promise.all([run.ids, run.externalIds, org.ids, org.externalIds].map((s) => s.dispose()));
    await rm(input.scratch, { recursive: true, force: true });
  }
}

/** the records a query finds, by Id (a sample's: bounded by the sample size) */
async function queriedById(
  query: QueryToFile,
  soql: string,
  file: string,
): Promise<Map<string, Record<string, string>>> {
  await query(soql, file);
  const found = new Map<string, Record<string, string>>();
  try {
    for await (const row of queryRows(file)) found.set(row.Id, row);
  } finally {
    await rm(file, { force: true });
  }
  return found;
}

/** the sampled rows' fields as the org holds them, queried by Id, compared by type */
async function compareSample(input: OrgCheckInput, sample: readonly SampledRow[]): Promise<void> {
  const types = new Map(input.fields.map((field) => [field.name, field.type]));
  for (let start = 0; start < sample.length; start += IDS_PER_SAMPLE_QUERY) {
    const rows = sample.slice(start, start + IDS_PER_SAMPLE_QUERY);
    const names = [...new Set(rows.flatMap((row) => row.values.map(([field]) => field)))];
    const selected = ['Id', ...names.filter((name) => name !== 'Id')].join(', ');
    const ids = rows.map((row) => soqlQuote(row.id)).join(', ');
    const soql = `SELECT ${selected} FROM ${input.step.object} WHERE Id IN (${ids})`;
    // eslint-disable-next-line no-await-in-loop -- one sample query at a time
    const actual = await queriedById(input.query, soql, join(input.scratch, `sample-${start}.csv`));
    for (const row of rows) {
      const record = actual.get(row.id);
      if (!record) {
        input.report({ step: input.step.id, kind: 'missing', key: row.id, expected: 'present', actual: 'absent' });
        continue;
      }
      for (const [field, expected] of row.values) {
        // an empty upload value leaves the field as it was (or to its default on create): nothing to expect
        if (expected === '') continue;
        const value = record[field] ?? '';
        if (!sameValue(types.get(field) ?? 'string', expected, value)) {
          input.report({ step: input.step.id, kind: 'fieldMismatch', key: row.id, field, expected, actual: value });
        }
      }
    }
  }
}
