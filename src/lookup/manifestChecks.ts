/*
 * The offline checks of a step's `lookups` that the JSON Schema cannot express, each located at the
 * key it is about: exactly one kind per lookup, the options that only some kinds take, as many
 * columns as match fields, one lookup per written field and per source column, and (with a source
 * header) that the key columns exist and the written field is not already a column. Also what a
 * header becomes once the lookups ran, for the checks that follow (mapping, external id, describe).
 */
import { Messages } from '@salesforce/core';
import { pointerOf, type Problem, type ProblemCode } from '../manifest/problems.js';
import type { Lookup } from '../manifest/types.js';
import { asList, fieldOf, kindOf } from './spec.js';

Messages.importMessagesDirectoryFromMetaUrl(import.meta.url);
const messages = Messages.loadMessages('@sf-migrate/plugin-migrate', 'lookup');

const KINDS = ['object', 'recordType', 'user', 'queue', 'group'] as const;

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const isColumns = (value: unknown): value is string | string[] =>
  typeof value === 'string' || (Array.isArray(value) && value.every((item) => typeof item === 'string'));

function problem(
  code: ProblemCode,
  pointer: string,
  key: string,
  tokens: Array<string | number>,
  file?: string,
  severity: Problem['severity'] = 'error',
): Problem {
  return { severity, code, pointer, ...(file ? { file } : {}), message: messages.getMessage(key, tokens) };
}

type At = (...key: string[]) => string;

/** exactly one kind, and the keys that go with it */
function kindProblems(raw: Record<string, unknown>, lookup: Lookup, stepId: string, index: number, at: At): Problem[] {
  const problems: Problem[] = [];
  const set = KINDS.filter((kind) => raw[kind] !== undefined);
  if (set.length > 1)
    problems.push(problem('InvalidLookup', at(), 'problem.LookupKinds', [stepId, index, set.join(', ')]));
  if (set.length === 0) problems.push(problem('InvalidLookup', at(), 'problem.LookupNoKind', [stepId, index]));
  const kind = kindOf(lookup);
  if (kind === 'object') {
    if (lookup.matchOn === undefined) {
      problems.push(problem('InvalidLookup', at(), 'problem.LookupNeedsMatchOn', [stepId, index]));
    }
    if (lookup.field === undefined)
      problems.push(problem('InvalidLookup', at(), 'problem.LookupNeedsField', [stepId, index]));
  } else if (lookup.matchOn !== undefined) {
    problems.push(problem('InvalidLookup', at('matchOn'), 'problem.LookupMatchOnNotHere', [stepId, index]));
  }
  if (isColumns(lookup.column) && kind !== undefined) {
    const wanted = kind === 'object' ? asList(lookup.matchOn).length : 1;
    const given = asList(lookup.column).length;
    if (wanted > 0 && given !== wanted) {
      problems.push(
        problem('InvalidLookup', at('column'), 'problem.LookupColumnCount', [stepId, index, given, wanted]),
      );
    }
  }
  return problems;
}

/** the options only some kinds or policies take */
function optionProblems(lookup: Lookup, stepId: string, index: number, at: At): Problem[] {
  const problems: Problem[] = [];
  if (lookup.sandboxSuffix !== undefined && lookup.user !== 'Username') {
    problems.push(problem('InvalidLookup', at('sandboxSuffix'), 'problem.LookupSuffixNotHere', [stepId, index]));
  }
  if (lookup.inactive !== undefined && kindOf(lookup) !== 'user') {
    problems.push(problem('InvalidLookup', at('inactive'), 'problem.LookupInactiveNotHere', [stepId, index]));
  }
  const needsDefault = lookup.onMissing === 'default' ? 'onMissing' : lookup.inactive === 'default' ? 'inactive' : '';
  if (needsDefault && lookup.default === undefined) {
    problems.push(
      problem('InvalidLookup', at(needsDefault), 'problem.LookupNeedsDefault', [stepId, index, needsDefault]),
    );
  }
  return problems;
}

/** The lookups of a step as written (any shape: the schema reports shapes; this checks sense). */
export function checkLookups(step: Record<string, unknown>, stepIndex: number, stepId: string): Problem[] {
  if (!Array.isArray(step.lookups)) return [];
  const problems: Problem[] = [];
  const fields = new Map<string, number>();
  const columns = new Map<string, number>();
  step.lookups.forEach((raw: unknown, index) => {
    if (!isObject(raw)) return;
    const lookup = raw as Lookup;
    const at: At = (...key) => pointerOf('steps', stepIndex, 'lookups', index, ...key);
    problems.push(...kindProblems(raw, lookup, stepId, index, at), ...optionProblems(lookup, stepId, index, at));
    const field = typeof lookup.field === 'string' || kindOf(lookup) ? fieldOf(lookup)?.toLowerCase() : undefined;
    const firstField = field === undefined ? undefined : fields.get(field);
    if (firstField !== undefined) {
      problems.push(problem('InvalidLookup', at(), 'problem.LookupFieldTwice', [stepId, index, field!, firstField]));
    } else if (field !== undefined) fields.set(field, index);
    for (const column of isColumns(lookup.column) ? asList(lookup.column) : []) {
      const first = columns.get(column);
      if (first !== undefined && first !== index) {
        problems.push(
          problem('InvalidLookup', at('column'), 'problem.LookupColumnTwice', [stepId, index, column, first]),
        );
      } else columns.set(column, index);
    }
  });
  return problems;
}

/**
 * A source header as it leaves the lookups (key columns out, fields in, in the stages' order), with
 * a problem for each key column the header lacks and each field it already has. A header with the
 * field and none of its key columns passes as it is, as the stage passes such rows (stages.ts).
 */
export function headerAfterLookups(
  step: { id: string; object: string; pointer: string; lookups?: Lookup[] },
  file: string,
  header: readonly string[],
  problems: Problem[],
): string[] {
  let columns = [...header];
  (step.lookups ?? []).forEach((lookup, index) => {
    const kind = kindOf(lookup);
    if (!kind || !isColumns(lookup.column)) return;
    const at = `${step.pointer}${pointerOf('lookups', index)}`;
    const keys = asList(lookup.column);
    const field = fieldOf(lookup);
    // the Id instead of the key: a dead letter of a row the lookup resolved already (held back, or
    // failed in the org) that `sf migrate retry` resubmits; the stage passes it through (stages.ts)
    const hasField = field !== undefined && columns.some((column) => column.toLowerCase() === field.toLowerCase());
    if (field !== undefined && columns.includes(field) && keys.every((key) => !columns.includes(key))) return;
    for (const key of keys) {
      if (!columns.includes(key)) {
        problems.push(
          problem(
            'LookupColumnMissing',
            `${at}/column`,
            'problem.LookupColumnMissing',
            [step.id, index, key, file],
            file,
          ),
        );
      }
    }
    if (field === undefined) return;
    if (hasField) {
      problems.push(
        problem('LookupFieldInSource', at, 'problem.LookupFieldInSource', [step.id, index, field, file], file),
      );
    }
    columns = [...columns.filter((column) => !keys.includes(column)), field];
  });
  return columns;
}
