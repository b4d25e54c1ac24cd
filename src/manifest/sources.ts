/*
 * The offline checks of a step's source files: every pattern matches a readable file, and each
 * file's header (its first record only, never the data) suits the step's operation and mapping.
 */
import { constants as fsConstants, readdir, type Dirent, type Stats } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { Messages, SfError } from '@salesforce/core';
import { glob, isDynamicPattern, type FileSystemAdapter } from 'tinyglobby';
import { readCsvHeader } from '../csv/header.js';
import { headerAfterLookups } from '../lookup/manifestChecks.js';
import type { WaveRelationship } from '../plan/waves.js';
import { findEncodingFault } from './encoding.js';
import { pointerOf, type Problem } from './problems.js';
import { relationshipColumns, type RelationshipColumn } from './relationships.js';
import type { ColumnDelimiter, ColumnMapping, LineEnding, Lookup, Operation } from './types.js';

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
  /** a parent key column named by the step (lock-aware jobs) */
  partitionBy?: string;
  /** as written; the header checks see the columns the lookups leave (src/lookup/manifestChecks.ts) */
  lookups?: Lookup[];
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
  file?: string,
): Problem => ({
  severity,
  code,
  pointer,
  ...(file ? { file } : {}),
  message: messages.getMessage(`problem.${code}`, tokens),
});

/**
 * Bounds of one glob: a pattern such as `/**` or `**` in a big tree would otherwise walk the whole
 * disk and hold every match in memory. Far above any real migration (thousands of files).
 */
export type GlobLimits = {
  /** files and folders the walk may read */
  maxEntries: number;
  /** files the pattern may match */
  maxMatches: number;
};

const defaultGlobLimits: GlobLimits = { maxEntries: 200_000, maxMatches: 10_000 };

export type ExpandOptions = {
  /** absolute run folders no glob may match inside (besides any `.sf-migrate` folder) */
  runFolders?: string[];
  limits?: GlobLimits;
  /** the objects of every step of the manifest, to tell an object from a relationship name */
  stepObjects?: readonly string[];
};

/** The tool's own folder: runs (journals, results, dead letters) live under it by default. */
const TOOL_FOLDER = '.sf-migrate';

const isInside = (folder: string, file: string): boolean => {
  const path = relative(folder, file);
  return path !== '' && !path.startsWith('..') && !isAbsolute(path);
};

/**
 * Absolute, sorted, de-duplicated files of the patterns; problems for patterns that match nothing,
 * walk too much, or match what is not a regular file; a warning for a file outside `dir`.
 */
export async function expandSources(
  dir: string,
  step: Pick<SourcedStep, 'sources' | 'pointer' | 'sourceIsList'>,
  options: ExpandOptions = {},
): Promise<{
  files: Array<{ file: string; pointer: string }>;
  problems: Problem[];
}> {
  const limits = options.limits ?? defaultGlobLimits;
  const runFolders = (options.runFolders ?? []).map((folder) => resolve(dir, folder));
  const inRunFolder = (file: string): boolean =>
    file.split(sep).includes(TOOL_FOLDER) || runFolders.some((folder) => isInside(folder, file));
  const files = new Map<string, string>();
  const problems: Problem[] = [];
  for (const [j, pattern] of step.sources.entries()) {
    const pointer = step.sourceIsList ? `${step.pointer}${pointerOf('source', j)}` : `${step.pointer}/source`;
    let candidates: string[];
    if (isDynamicPattern(pattern)) {
      // eslint-disable-next-line no-await-in-loop
      const matched = await boundedGlob(pattern, dir, limits, runFolders);
      if (matched === 'walkedTooMuch' || matched === 'matchedTooMuch') {
        const limit = matched === 'walkedTooMuch' ? limits.maxEntries : limits.maxMatches;
        const reason = messages.getMessage(`glob.${matched}`, [limit]);
        problems.push(problem('error', 'GlobTooBroad', pointer, [pattern, reason]));
        continue;
      }
      candidates = matched.map((file) => resolve(file)).filter((file) => !inRunFolder(file));
      if (candidates.length === 0) {
        problems.push(problem('error', 'SourceNotFound', pointer, [pattern, dir]));
        continue;
      }
    } else {
      candidates = [resolve(dir, pattern)];
    }
    let outside = false;
    for (const file of candidates) {
      // eslint-disable-next-line no-await-in-loop
      const readable = await checkRegularFile(file, pattern, dir, pointer, problems);
      if (!readable) continue;
      if (!isInside(dir, file)) outside = true;
      if (!files.has(file)) files.set(file, pointer);
    }
    if (outside) problems.push(problem('warning', 'SourceOutsideManifest', pointer, [pattern, dir]));
  }
  const sorted = [...files.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return {
    files: sorted.map(([file, pointer]) => ({ file, pointer })),
    problems,
  };
}

/**
 * A glob walk that stops, instead of exhausting memory, once it has read `maxEntries` directory
 * entries; run folders inside `dir` are not walked at all.
 */
async function boundedGlob(
  pattern: string,
  dir: string,
  limits: GlobLimits,
  runFolders: string[],
): Promise<string[] | 'walkedTooMuch' | 'matchedTooMuch'> {
  const controller = new AbortController();
  let walked = 0;
  const countingReaddir = (path: string, options: unknown, callback: ReaddirCallback): void => {
    readdir(path, options as { withFileTypes: true }, (error, entries) => {
      walked += entries?.length ?? 0;
      if (walked > limits.maxEntries) controller.abort();
      callback(error, entries);
    });
  };
  const ignore = [
    `**/${TOOL_FOLDER}/**`,
    ...runFolders
      .filter((folder) => isInside(dir, folder))
      .map((folder) => `${relative(dir, folder).split(sep).join('/')}/**`),
  ];
  const matched = await glob(pattern, {
    cwd: dir,
    absolute: true,
    onlyFiles: true,
    expandDirectories: false,
    ignore,
    signal: controller.signal,
    fs: { readdir: countingReaddir as unknown as NonNullable<FileSystemAdapter['readdir']> },
  });
  if (controller.signal.aborted) return 'walkedTooMuch';
  if (matched.length > limits.maxMatches) return 'matchedTooMuch';
  return matched;
}

type ReaddirCallback = (error: NodeJS.ErrnoException | null, entries: Dirent[]) => void;

/**
 * A source must be a regular file (through any symlink): a FIFO or a device would block the header
 * read or stream forever. Reports the problem and returns false otherwise.
 */
async function checkRegularFile(
  file: string,
  pattern: string,
  dir: string,
  pointer: string,
  problems: Problem[],
): Promise<boolean> {
  try {
    const stats = await stat(file);
    if (!stats.isFile()) {
      const reason = messages.getMessage(`kind.${kindOf(stats)}`);
      problems.push(problem('error', 'SourceUnreadable', pointer, [file, reason], file));
      return false;
    }
    await access(file, fsConstants.R_OK);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      problems.push(problem('error', 'SourceNotFound', pointer, [pattern, dir]));
    } else problems.push(problem('error', 'SourceUnreadable', pointer, [file, describe(error)], file));
    return false;
  }
}

function kindOf(stats: Stats): 'directory' | 'fifo' | 'socket' | 'device' | 'other' {
  if (stats.isDirectory()) return 'directory';
  if (stats.isFIFO()) return 'fifo';
  if (stats.isSocket()) return 'socket';
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return 'device';
  return 'other';
}

export async function inspectSources(
  dir: string,
  step: SourcedStep,
  options: ExpandOptions = {},
): Promise<InspectedSources> {
  const expanded = await expandSources(dir, step, options);
  const problems = [...expanded.problems];
  const relationships: WaveRelationship[] = [];
  const headers = await Promise.all(
    expanded.files.map(async ({ file, pointer }) => {
      try {
        const fault = await findEncodingFault(file);
        if (fault) {
          const reason = messages.getMessage(`encoding.${fault.kind}`);
          problems.push(problem('error', 'SourceEncoding', pointer, [file, fault.line, fault.byte, reason], file));
          return undefined;
        }
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
    }),
  );
  for (const read of headers) {
    if (!read) continue;
    const { file, pointer, header } = read;
    // No line-ending check: every upload is sent with the step's lineEnding whatever the file uses
    // (src/csv/lineEndings.ts), so a file's own (even mixed) line endings never fail a job.
    const columns = checkColumns(step, file, pointer, header.columns, problems);
    for (const r of relationshipColumns(columns, step.object, { stepObjects: options.stepObjects })) {
      checkRelationship(step, file, pointer, r, problems);
      relationships.push({ column: r.column, ...(r.object ? { object: r.object } : {}), file });
    }
  }
  return { files: expanded.files.map((f) => f.file), relationships, problems };
}

/**
 * The shape of a relationship column, as far as it can be known without the org: a real org fails
 * the whole job for each of these (see relationships.ts), so they are errors.
 */
function checkRelationship(
  step: SourcedStep,
  file: string,
  pointer: string,
  r: RelationshipColumn,
  problems: Problem[],
): void {
  if (r.reversedFix) {
    problems.push(
      problem('error', 'PolymorphicOrderReversed', pointer, [r.column, step.id, file, r.reversedFix], file),
    );
  } else if (r.needsType) {
    const field = r.column.slice(r.column.indexOf('.') + 1);
    const example = `${exampleTypes[r.relationship.toLowerCase()] ?? 'Object'}:${r.relationship}.${field}`;
    problems.push(
      problem('error', 'PolymorphicWithoutType', pointer, [r.column, step.id, file, r.relationship, example], file),
    );
  } else if (r.typeNotNeeded) {
    const fix = `${r.relationship}.${r.column.slice(r.column.indexOf('.') + 1)}`;
    problems.push(
      problem('error', 'TypeOnNonPolymorphic', pointer, [r.column, step.id, file, r.relationship, fix], file),
    );
  }
}

/** The object a fix suggests for a polymorphic column without its type. */
const exampleTypes: Record<string, string> = { owner: 'User', who: 'Contact', what: 'Account' };

/** Checks one header against the step; returns the columns Salesforce will receive. */
function checkColumns(
  step: SourcedStep,
  file: string,
  pointer: string,
  columns: string[],
  problems: Problem[],
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

  const mapped = mapColumns(step, file, headerAfterLookups(step, file, columns, problems), problems);
  if (step.partitionBy !== undefined && !columns.includes(step.partitionBy)) {
    problems.push(
      problem(
        'error',
        'PartitionColumnMissing',
        `${step.pointer}/partitionBy`,
        [step.id, step.partitionBy, file],
        file,
      ),
    );
  }
  const has = (name: string): boolean => mapped.some((c) => c.toLowerCase() === name.toLowerCase());
  if (step.operation === 'upsert' && step.externalIdField && !has(step.externalIdField)) {
    problems.push(
      problem(
        'error',
        'MissingExternalIdColumn',
        pointer,
        [step.id, step.externalIdField, file, step.externalIdField],
        file,
      ),
    );
  }
  if (step.operation === 'update' && !has('Id')) {
    problems.push(problem('error', 'MissingIdColumn', pointer, [step.id, file], file));
  }
  if ((step.operation === 'delete' || step.operation === 'hardDelete') && !(mapped.length === 1 && has('Id'))) {
    problems.push(
      problem('error', 'DeleteNeedsIdOnly', pointer, [step.id, step.operation, file, mapped.join(', ')], file),
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
          file,
        ),
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
          file,
        ),
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
          },
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
  if (code === 'EISDIR') return messages.getMessage('kind.directory');
  return error instanceof Error ? error.message : String(error);
}
