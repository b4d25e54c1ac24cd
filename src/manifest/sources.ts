/*
 * The offline checks of a step's source files: every pattern matches a readable file, and each
 * file's header (its first record only, never the data) suits the step's operation and mapping.
 */
import { constants as fsConstants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Messages, SfError } from '@salesforce/core';
import { glob, isDynamicPattern } from 'tinyglobby';
import { readCsvHeader } from '../csv/header.js';
import type { WaveRelationship } from '../plan/waves.js';
import { pointerOf, type Problem } from './problems.js';
import { relationshipColumns } from './relationships.js';
import type { ColumnDelimiter, ColumnMapping, LineEnding, Operation } from './types.js';

Messages.importMessagesDirectoryFromMetaUrl(import.meta.url);
const messages = Messages.loadMessages('@sf-migrate/plugin-migrate', 'manifest');

export type SourcedStep = {
  id: string;
  object: string;
  operation: Operation;
  externalIdField?: string;
  columnDelimiter: ColumnDelimiter;
  lineEnding: LineEnding;
  mapping: ColumnMapping;
  /** patterns as written */
  sources: string[];
  /** the step's pointer in the manifest, /steps/<index> */
  pointer: string;
  /** whether `source` was written as a list (pointers then name the item) */
  sourceIsList: boolean;
};

export type InspectedSources = {
  files: string[];
  relationships: WaveRelationship[];
  problems: Problem[];
};

const problem = (
  severity: Problem['severity'],
  code: Problem['code'],
  pointer: string,
  tokens: Array<string | number>,
  file?: string
): Problem => ({
  severity,
  code,
  pointer,
  ...(file ? { file } : {}),
  message: messages.getMessage(`problem.${code}`, tokens),
});

/** Absolute, sorted, de-duplicated files of the patterns; problems for patterns that match nothing. */
export async function expandSources(
  dir: string,
  step: Pick<SourcedStep, 'sources' | 'pointer' | 'sourceIsList'>
): Promise<{
  files: Array<{ file: string; pointer: string }>;
  problems: Problem[];
}> {
  const files = new Map<string, string>();
  const problems: Problem[] = [];
  for (const [j, pattern] of step.sources.entries()) {
    const pointer = step.sourceIsList ? `${step.pointer}${pointerOf('source', j)}` : `${step.pointer}/source`;
    if (isDynamicPattern(pattern)) {
      // eslint-disable-next-line no-await-in-loop
      const matched = await glob(pattern, {
        cwd: dir,
        absolute: true,
        onlyFiles: true,
        expandDirectories: false,
      });
      if (matched.length === 0) problems.push(problem('error', 'SourceNotFound', pointer, [pattern, dir]));
      for (const file of matched) if (!files.has(resolve(file))) files.set(resolve(file), pointer);
      continue;
    }
    const file = resolve(dir, pattern);
    try {
      // eslint-disable-next-line no-await-in-loop
      const stats = await stat(file);
      if (!stats.isFile()) {
        problems.push(problem('error', 'SourceUnreadable', pointer, [file, 'it is not a file'], file));
        continue;
      }
      // eslint-disable-next-line no-await-in-loop
      await access(file, fsConstants.R_OK);
      if (!files.has(file)) files.set(file, pointer);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR')
        problems.push(problem('error', 'SourceNotFound', pointer, [pattern, dir]));
      else problems.push(problem('error', 'SourceUnreadable', pointer, [file, describe(error)], file));
    }
  }
  const sorted = [...files.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return {
    files: sorted.map(([file, pointer]) => ({ file, pointer })),
    problems,
  };
}

export async function inspectSources(dir: string, step: SourcedStep): Promise<InspectedSources> {
  const expanded = await expandSources(dir, step);
  const problems = [...expanded.problems];
  const relationships: WaveRelationship[] = [];
  const headers = await Promise.all(
    expanded.files.map(async ({ file, pointer }) => {
      try {
        return {
          file,
          pointer,
          header: await readCsvHeader(file, step.columnDelimiter),
        };
      } catch (error) {
        const code = error instanceof SfError ? error.code : (error as NodeJS.ErrnoException).code;
        if (code === 'EmptyCsv') problems.push(problem('error', 'EmptyHeader', pointer, [file], file));
        else if (code === 'MalformedCsvHeader') {
          const reason =
            error instanceof SfError ? String((error.data as { reason?: string })?.reason ?? error.message) : '';
          problems.push(problem('error', 'MalformedHeader', pointer, [file, reason], file));
        } else problems.push(problem('error', 'SourceUnreadable', pointer, [file, describe(error)], file));
        return undefined;
      }
    })
  );
  for (const read of headers) {
    if (!read) continue;
    const { file, pointer, header } = read;
    if (header.lineEnding !== step.lineEnding) {
      problems.push(
        problem(
          'error',
          'LineEndingMismatch',
          `${step.pointer}`,
          [file, header.lineEnding, step.id, step.lineEnding],
          file
        )
      );
    }
    const columns = checkColumns(step, file, pointer, header.columns, problems);
    relationships.push(
      ...relationshipColumns(columns, step.object).map((r) => ({
        column: r.column,
        ...(r.object ? { object: r.object } : {}),
        file,
      }))
    );
  }
  return { files: expanded.files.map((f) => f.file), relationships, problems };
}

/** Checks one header against the step; returns the columns Salesforce will receive. */
function checkColumns(
  step: SourcedStep,
  file: string,
  pointer: string,
  columns: string[],
  problems: Problem[]
): string[] {
  columns.forEach((column, k) => {
    if (column.trim() === '') problems.push(problem('error', 'BlankColumn', pointer, [k + 1, file], file));
  });
  const seen = new Set<string>();
  for (const column of columns) {
    const key = column.toLowerCase();
    if (column.trim() !== '' && seen.has(key))
      problems.push(problem('error', 'DuplicateColumn', pointer, [file, column], file));
    seen.add(key);
  }

  const mapped = mapColumns(step, file, columns, problems);
  const has = (name: string): boolean => mapped.some((c) => c.toLowerCase() === name.toLowerCase());
  if (step.operation === 'upsert' && step.externalIdField && !has(step.externalIdField)) {
    problems.push(
      problem(
        'error',
        'MissingExternalIdColumn',
        pointer,
        [step.id, step.externalIdField, file, step.externalIdField],
        file
      )
    );
  }
  if (step.operation === 'update' && !has('Id')) {
    problems.push(problem('error', 'MissingIdColumn', pointer, [step.id, file], file));
  }
  if ((step.operation === 'delete' || step.operation === 'hardDelete') && !(mapped.length === 1 && has('Id'))) {
    problems.push(
      problem('error', 'DeleteNeedsIdOnly', pointer, [step.id, step.operation, file, mapped.join(', ')], file)
    );
  }
  return mapped;
}

function mapColumns(step: SourcedStep, file: string, columns: string[], problems: Problem[]): string[] {
  const rename = step.mapping.rename ?? {};
  const drop = step.mapping.drop ?? [];
  const constants = step.mapping.constants ?? {};
  const mappingPointer = `${step.pointer}/mapping`;
  for (const source of Object.keys(rename)) {
    if (!columns.includes(source)) {
      problems.push(
        problem(
          'error',
          'MappingColumnMissing',
          `${mappingPointer}${pointerOf('rename', source)}`,
          [step.id, source, file],
          file
        )
      );
    }
  }
  drop.forEach((source, j) => {
    if (!columns.includes(source)) {
      problems.push(
        problem(
          'error',
          'MappingColumnMissing',
          `${mappingPointer}${pointerOf('drop', j)}`,
          [step.id, source, file],
          file
        )
      );
    }
  });

  const sent: Array<{ name: string; pointer: string }> = [];
  for (const column of columns) {
    if (drop.includes(column)) continue;
    const target = rename[column];
    sent.push(
      target === undefined
        ? { name: column, pointer: `${step.pointer}/source` }
        : {
            name: target,
            pointer: `${mappingPointer}${pointerOf('rename', column)}`,
          }
    );
  }
  for (const field of Object.keys(constants)) {
    sent.push({
      name: field,
      pointer: `${mappingPointer}${pointerOf('constants', field)}`,
    });
  }
  const first = new Map<string, string>();
  for (const { name, pointer } of sent) {
    const key = name.toLowerCase();
    if (!first.has(key)) {
      first.set(key, pointer);
      continue;
    }
    // A duplicate already in the raw header is reported as DuplicateColumn; only the mapping's own doing here.
    if (pointer.startsWith(mappingPointer) || first.get(key)!.startsWith(mappingPointer)) {
      const at = pointer.startsWith(mappingPointer) ? pointer : first.get(key)!;
      problems.push(problem('error', 'MappingConflict', at, [step.id, name, file], file));
    }
  }
  return sent.map((s) => s.name);
}

function describe(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'it is a directory';
  return error instanceof Error ? error.message : String(error);
}
