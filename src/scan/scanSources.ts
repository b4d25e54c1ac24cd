/*
 * `sf migrate validate --scan`: every record of every source, before a cutover, for what a real org
 * would refuse or load wrongly row by row, which the header checks cannot see:
 * - duplicate keys (upsert: the external id column; update, delete, hardDelete: Id). A real org
 *   checks them per internal chunk of 200 rows: every row of the chunk that shares a key fails
 *   (`DUPLICATE_VALUE:Duplicate external id specified: X`, `Duplicate Id specified`, KB 000384876),
 *   and in two different chunks both succeed and the later wins (salesforce-api.md §3). Which of
 *   the two happens depends on how the job is cut and how the org orders rows, so either way it is
 *   an error here. Keys are compared as written, Ids in their 18-character form (a 15- and an
 *   18-character Id name one record); whether the org's check folds case for an external id field
 *   that is not case-sensitive, no public source says, so case is kept;
 * - rows with more values than the header (a row failure in a real org, §3);
 * - with an org's describe: text longer than a field's `length`, dates and datetimes it refuses
 *   (values.ts). The manifest knows no field types, so without --target-org these are not checked.
 * Steps are scanned one after another, each file streamed once; duplicate keys are held within a
 * memory budget and spill to disk past it (duplicateKeys.ts). Results are bounded: totals always,
 * the first items of each kind in file order.
 */
import { isAbsolute, relative } from 'node:path';
import { readFile } from 'node:fs/promises';
import { Messages, SfError } from '@salesforce/core';
import { DELIMITER_BYTES } from '../csv/delimiters.js';
import { RecordFields } from '../csv/fields.js';
import { readCsvHeader } from '../csv/header.js';
import { forEachRecord } from '../csv/recordBytes.js';
import { normalizeSalesforceId } from '../journal/salesforceId.js';
import { JsonText } from '../manifest/jsonText.js';
import { pointerOf, type Problem, type ProblemCode } from '../manifest/problems.js';
import type { LoadedManifest, ResolvedStep } from '../manifest/types.js';
import { printable } from '../ux/printable.js';
import { DuplicateKeyFinder, MAX_FILES, packLocation, unpackLocation } from './duplicateKeys.js';
import { checkOf, refuses, type ScannedField, type ValueCheck } from './values.js';

Messages.importMessagesDirectoryFromMetaUrl(import.meta.url);
const messages = Messages.loadMessages('@sf-migrate/plugin-migrate', 'scan');

/** What the scan asks of an org: the describe of each step's object (a PreflightConnection fits). */
export type ScanDescriber = {
  describe(object: string): Promise<{ name: string; fields: ScannedField[] }>;
};

export type ScanLocation = { file: string; line: number };

export type ScanDuplicate = {
  key: string;
  occurrences: number;
  /** the first `limits.locationsPerKey` rows, in file order */
  locations: ScanLocation[];
};

export type ScanWideRow = ScanLocation & { values: number; columns: number };

export type ScanBadValue = ScanLocation & {
  /** the header column as written */
  column: string;
  /** the field it loads into */
  field: string;
  /** the value, cut to 100 characters */
  value: string;
  /** tooLong: max is the field's length, length the value's */
  reason: 'tooLong' | 'date' | 'datetime';
  max?: number;
  length?: number;
};

export type ScanStep = {
  step: string;
  object: string;
  operation: ResolvedStep['operation'];
  /** the field duplicates are looked for on; absent for insert */
  key?: string;
  files: number;
  /** data records read (blank lines and headers not counted) */
  records: number;
  duplicates: { keys: number; rows: number; shown: ScanDuplicate[] };
  wideRows: { total: number; shown: ScanWideRow[] };
  /** values checked against the describe; absent without an org */
  values?: { total: number; shown: ScanBadValue[] };
};

export type ScanLimits = {
  /** duplicate keys listed per step */
  keysPerStep: number;
  /** rows listed per duplicate key */
  locationsPerKey: number;
  /** wide rows and refused values listed per step, each */
  rowsPerStep: number;
  /** problems of each kind per step in `errors` (and so printed) */
  problemsPerKind: number;
};

export type ScanResult = {
  /** the budget for duplicate keys held in memory, in MiB (--scan-memory) */
  memoryBudgetMb: number;
  /** whether any step's keys spilled to disk */
  spilled: boolean;
  /** whether values were checked against an org's describe */
  valuesChecked: boolean;
  limits: ScanLimits;
  steps: ScanStep[];
};

export type ScanOptions = {
  /** MiB of keys kept in memory before spilling to disk (fractions allowed); default 256 */
  memoryBudgetMb?: number;
  describer?: ScanDescriber;
  limits?: Partial<ScanLimits>;
  /** where the spill folder is made; default the OS temp folder */
  tempRoot?: string;
};

export const DEFAULT_MEMORY_BUDGET_MB = 256;
const DEFAULT_LIMITS: ScanLimits = { keysPerStep: 1000, locationsPerKey: 100, rowsPerStep: 1000, problemsPerKind: 20 };
/** locations written into one duplicate-key problem's message */
const LOCATIONS_IN_MESSAGE = 10;
const VALUE_CHARS = 100;

const lower = (text: string): string => text.toLowerCase();
/** A key or value as a result carries it: long enough for any external id (255), bounded. */
const KEY_CHARS = 255;
const cut = (text: string, max = VALUE_CHARS): string => (text.length > max ? `${text.slice(0, max)}…` : text);

/** Scans every step of a manifest that passed its offline checks. */
export async function scanManifest(
  manifest: LoadedManifest,
  options: ScanOptions = {},
): Promise<{ scan: ScanResult; problems: Problem[] }> {
  const json = JsonText.parse((await readFile(manifest.path, 'utf8')).replace(/^\uFEFF/, '')).json;
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const memoryBudgetMb = options.memoryBudgetMb ?? DEFAULT_MEMORY_BUDGET_MB;
  const problems: Problem[] = [];
  const steps: ScanStep[] = [];
  let spilled = false;
  const shown = (file: string): string => {
    const inside = relative(manifest.dir, file);
    return inside.startsWith('..') || isAbsolute(inside) ? file : inside;
  };
  for (const [index, step] of manifest.steps.entries()) {
    // the second pass of a self-reference reads its first step's files, checked with that step
    if (step.selfReferenceOf) continue;
    const pointer = pointerOf('steps', index);
    const report = (code: ProblemCode, file: string | undefined, key: string, tokens: Array<string | number>): void => {
      problems.push({
        severity: 'error',
        code,
        pointer,
        ...json.locate(pointer),
        ...(file ? { file } : {}),
        message: messages.getMessage(key, tokens),
      });
    };
    // eslint-disable-next-line no-await-in-loop -- one step at a time keeps one key set in memory
    const fields = options.describer ? await describedFields(options.describer, step.object) : undefined;
    // eslint-disable-next-line no-await-in-loop
    const scanned = await scanStep(step, { fields, limits, memoryBudgetMb, tempRoot: options.tempRoot }, report);
    spilled ||= scanned.spilled;
    steps.push(scanned.result);
    reportStep(scanned.result, limits, shown, report);
  }
  return {
    scan: { memoryBudgetMb, spilled, valuesChecked: options.describer !== undefined, limits, steps },
    problems,
  };
}

/** The object's fields by lower-case name; empty when the org does not have it (the preflight says so). */
async function describedFields(describer: ScanDescriber, object: string): Promise<Map<string, ScannedField>> {
  try {
    const describe = await describer.describe(object);
    return new Map(describe.fields.map((field) => [lower(field.name), field]));
  } catch (error) {
    const code = (error as { errorCode?: string; name?: string }).errorCode ?? (error as Error).name;
    if (code === 'NOT_FOUND' || code === 'INVALID_TYPE') return new Map();
    throw error;
  }
}

type Report = (code: ProblemCode, file: string | undefined, key: string, tokens: Array<string | number>) => void;

type StepSettings = {
  fields?: Map<string, ScannedField>;
  limits: ScanLimits;
  memoryBudgetMb: number;
  tempRoot?: string;
};

/** The key field of a step's operation: what a real org refuses twice in one chunk. */
function keyFieldOf(step: ResolvedStep): string | undefined {
  if (step.operation === 'upsert') return step.externalIdField;
  if (step.operation === 'insert') return undefined;
  return 'Id';
}

async function scanStep(
  step: ResolvedStep,
  settings: StepSettings,
  report: Report,
): Promise<{ result: ScanStep; spilled: boolean }> {
  const { limits } = settings;
  const key = keyFieldOf(step);
  const isId = key !== undefined && lower(key) === 'id';
  const result: ScanStep = {
    step: step.id,
    object: step.object,
    operation: step.operation,
    ...(key ? { key } : {}),
    files: step.files.length,
    records: 0,
    duplicates: { keys: 0, rows: 0, shown: [] },
    wideRows: { total: 0, shown: [] },
    ...(settings.fields ? { values: { total: 0, shown: [] } } : {}),
  };
  if (step.files.length > MAX_FILES) throw new Error(`a step of more than ${MAX_FILES} files cannot be scanned`);
  const finder = new DuplicateKeyFinder({
    memoryBudgetBytes: settings.memoryBudgetMb * 1024 * 1024,
    maxKeys: limits.keysPerStep,
    maxLocations: limits.locationsPerKey,
    ...(settings.tempRoot ? { tempRoot: settings.tempRoot } : {}),
  });
  try {
    for (const [fileIndex, file] of step.files.entries()) {
      // eslint-disable-next-line no-await-in-loop -- files in order: locations are reported in file order
      await scanFile(step, file, fileIndex, key, isId, settings, result, finder, report);
    }
    const duplicates = await finder.finish();
    result.duplicates = {
      keys: duplicates.keys,
      rows: duplicates.rows,
      shown: duplicates.shown.map((d) => ({
        key: cut(d.key, KEY_CHARS),
        occurrences: d.occurrences,
        locations: d.locations.map((packed) => {
          const { file, line } = unpackLocation(packed);
          return { file: step.files[file], line };
        }),
      })),
    };
    return { result, spilled: duplicates.spilled };
  } finally {
    finder.dispose();
  }
}

/** The columns of a file as uploaded: the key's source, and the values the describe checks. */
function columnPlan(
  step: ResolvedStep,
  columns: string[],
  key: string | undefined,
  fields: Map<string, ScannedField> | undefined,
): {
  keyIndex: number;
  keyConstant?: string;
  checks: Array<{ index: number; column: string; field: string; check: ValueCheck }>;
} {
  const dropped = new Set(step.mapping.drop ?? []);
  const rename = step.mapping.rename ?? {};
  const constants = step.mapping.constants ?? {};
  let keyIndex = -1;
  const checks: Array<{ index: number; column: string; field: string; check: ValueCheck }> = [];
  columns.forEach((column, index) => {
    if (dropped.has(column)) return;
    const name = Object.prototype.hasOwnProperty.call(rename, column) ? rename[column] : column;
    // a constant of the same name replaces the column's values (csv/upload.ts)
    if (Object.prototype.hasOwnProperty.call(constants, name)) return;
    if (key && keyIndex < 0 && lower(name) === lower(key)) keyIndex = index;
    const field = fields?.get(lower(name));
    const check = field ? checkOf(field) : undefined;
    if (field && check) checks.push({ index, column, field: field.name, check });
  });
  const constantKey = key ? Object.entries(constants).find(([name]) => lower(name) === lower(key)) : undefined;
  return { keyIndex, ...(constantKey ? { keyConstant: constantKey[1] } : {}), checks };
}

async function scanFile(
  step: ResolvedStep,
  file: string,
  fileIndex: number,
  key: string | undefined,
  isId: boolean,
  settings: StepSettings,
  result: ScanStep,
  finder: DuplicateKeyFinder,
  report: Report,
): Promise<void> {
  const { limits } = settings;
  const header = await readCsvHeader(file, step.columnDelimiter);
  const width = header.columns.length;
  const plan = columnPlan(step, header.columns, key, settings.fields);
  const keyOf = (text: string): string => {
    if (!isId) return text;
    try {
      // a 15- and an 18-character Id of one record are one key
      return normalizeSalesforceId(text);
    } catch {
      return text;
    }
  };
  const values = new RecordFields(DELIMITER_BYTES[step.columnDelimiter]);
  // this file adds to the step's running counts: the cap on rows shown spans all of the step's files
  const tally = result;
  let headerSeen = false;
  try {
    await forEachRecord(
      file,
      step.columnDelimiter,
      (bytes, line, blank) => {
        if (!headerSeen) {
          headerSeen = true;
          return;
        }
        if (blank) return;
        tally.records++;
        values.split(bytes);
        if (values.count > width) {
          tally.wideRows.total++;
          if (tally.wideRows.shown.length < limits.rowsPerStep)
            tally.wideRows.shown.push({ file, line, values: values.count, columns: width });
        }
        if (plan.keyConstant !== undefined) finder.add(keyOf(plan.keyConstant), packLocation(fileIndex, line));
        else if (plan.keyIndex >= 0 && plan.keyIndex < values.count && !values.isEmpty(plan.keyIndex))
          finder.add(keyOf(values.value(plan.keyIndex)), packLocation(fileIndex, line));
        for (const { index, column, field, check } of plan.checks) {
          if (index >= values.count || values.isEmpty(index)) continue;
          const text = values.value(index);
          if (!refuses(check, text)) continue;
          tally.values!.total++;
          if (tally.values!.shown.length >= limits.rowsPerStep) continue;
          tally.values!.shown.push({
            file,
            line,
            column,
            field,
            value: cut(text),
            reason: check.kind === 'length' ? 'tooLong' : check.kind,
            ...(check.kind === 'length' ? { max: check.max, length: text.length } : {}),
          });
        }
      },
      step.maxBytesPerJob,
    );
  } catch (error) {
    if (!(error instanceof SfError)) throw error;
    report('UnreadableRecord', file, 'problem.UnreadableRecord', [step.id, error.message]);
  }
}

/** The problems of one step: the first `problemsPerKind` of each kind. */
function reportStep(result: ScanStep, limits: ScanLimits, shown: (file: string) => string, report: Report): void {
  const cap = limits.problemsPerKind;
  const at = (location: ScanLocation): string => `${shown(location.file)}:${location.line}`;
  const keyName = result.operation === 'upsert' ? `external id ${result.key ?? ''}` : 'Id';
  for (const duplicate of result.duplicates.shown.slice(0, cap)) {
    const listed = duplicate.locations.slice(0, LOCATIONS_IN_MESSAGE).map(at).join(', ');
    const more = duplicate.occurrences - Math.min(duplicate.locations.length, LOCATIONS_IN_MESSAGE);
    const key = printable(cut(duplicate.key));
    const orgError =
      result.operation === 'upsert'
        ? `DUPLICATE_VALUE:Duplicate external id specified: ${key}`
        : 'DUPLICATE_VALUE:Duplicate Id specified';
    report('DuplicateRecordKey', duplicate.locations[0].file, 'problem.DuplicateRecordKey', [
      result.step,
      keyName,
      key,
      duplicate.occurrences,
      more > 0 ? messages.getMessage('locations.more', [listed, more]) : listed,
      orgError,
    ]);
  }
  for (const row of result.wideRows.shown.slice(0, cap)) {
    report('RowWiderThanHeader', row.file, 'problem.RowWiderThanHeader', [
      result.step,
      at(row),
      row.values,
      row.columns,
    ]);
  }
  for (const value of result.values?.shown.slice(0, cap) ?? []) {
    const text = printable(cut(value.value));
    if (value.reason === 'tooLong')
      report('ValueTooLong', value.file, 'problem.ValueTooLong', [
        result.step,
        at(value),
        value.column,
        value.length!,
        value.field,
        value.max!,
      ]);
    else
      report('InvalidDateValue', value.file, `problem.InvalidDateValue.${value.reason}`, [
        result.step,
        at(value),
        value.column,
        text,
        value.field,
      ]);
  }
}

/** One line a step for the human output: the totals, and what the listed problems leave out. */
export function scanSummaryLines(scan: ScanResult): string[] {
  const lines: string[] = [];
  const cap = scan.limits.problemsPerKind;
  for (const step of scan.steps) {
    const values = step.values
      ? messages.getMessage('summary.values', [step.values.total])
      : messages.getMessage('summary.valuesSkipped');
    const parts = [
      ...(step.key
        ? [messages.getMessage('summary.duplicates', [step.duplicates.keys, step.duplicates.rows, step.key])]
        : []),
      messages.getMessage('summary.wideRows', [step.wideRows.total]),
      values,
    ];
    lines.push(messages.getMessage('summary.step', [step.step, step.records, step.files, parts.join('; ')]));
    const left = [
      step.duplicates.keys > cap ? messages.getMessage('more.duplicates', [step.duplicates.keys - cap]) : undefined,
      step.wideRows.total > cap ? messages.getMessage('more.wideRows', [step.wideRows.total - cap]) : undefined,
      step.values && step.values.total > cap
        ? messages.getMessage('more.values', [step.values.total - cap])
        : undefined,
    ].filter((text): text is string => text !== undefined);
    if (left.length > 0)
      lines.push(
        messages.getMessage('more', [
          left.join(', '),
          scan.limits.keysPerStep,
          scan.limits.locationsPerKey,
          scan.limits.rowsPerStep,
        ]),
      );
  }
  if (scan.spilled) lines.push(messages.getMessage('summary.spilled', [scan.memoryBudgetMb]));
  return lines;
}
