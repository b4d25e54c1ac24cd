/*
 * Reading a manifest: JSON with positions, the JSON Schema, then the checks a schema cannot
 * express (ids, dependencies, waves, source files and their headers). Every problem is collected,
 * located (JSON pointer and line:column) and returned together.
 */
import { readFile, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { Messages } from '@salesforce/core';
import { checkLookups } from '../lookup/manifestChecks.js';
import { computeWaves, type ImpliedDependency, type WaveStep } from '../plan/waves.js';
import { splitSelfReferences } from '../prepare/selfReferences.js';
import { manifestDefaults, stepDefaults } from './defaults.js';
import { parseDuration } from './duration.js';
import { JsonText, MAX_JSON_DEPTH } from './jsonText.js';
import { errorsOf, pointerOf, sortProblems, type Problem } from './problems.js';
import { checkSchema } from './schemaCheck.js';
import { expandSources, inspectSources, type SourcedStep } from './sources.js';
import type { LoadedManifest, Lookup, Manifest, ResolvedStep, Step, StepSettings } from './types.js';
import { checkValueMaps, resolveValueMaps } from './valueMaps.js';

Messages.importMessagesDirectoryFromMetaUrl(import.meta.url);
const messages = Messages.loadMessages('@sf-migrate/plugin-migrate', 'manifest');

/** A manifest is a few kilobytes; this is a thousand times that. */
const MAX_MANIFEST_BYTES = 10_000_000;

export type LoadOptions = {
  /** glob the sources and read their headers (default true); without it, waves follow `dependsOn` only */
  checkSources?: boolean;
  /**
   * where relative paths resolve (default: the manifest's directory); resume loads the run
   * folder's copy of a manifest against the directory of the original
   */
  baseDir?: string;
  /** the path to report as LoadedManifest.path (default: the file read) */
  path?: string;
};

export type LoadResult = {
  /** present only when there is no error (warnings allowed) */
  manifest?: LoadedManifest;
  problems: Problem[];
  /** dependencies implied by relationship columns, also when the manifest has errors */
  implied: ImpliedDependency[];
  /** every step the manifest lists, by pointer, also when it has errors (for reports per step) */
  steps: Array<{ pointer: string; id: string }>;
};

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const isString = (value: unknown): value is string => typeof value === 'string' && value.length > 0;
const isStringList = (value: unknown): value is string[] => Array.isArray(value) && value.every(isString);

/** A step setting as it applies: the step's own, else the manifest default, else the built-in default. */
const setting = <K extends keyof StepSettings>(
  step: Record<string, unknown>,
  defaults: Record<string, unknown>,
  key: K,
): StepSettings[K] | undefined => (step[key] ?? defaults[key]) as StepSettings[K] | undefined;

export async function loadManifest(path: string, options: LoadOptions = {}): Promise<LoadResult> {
  const file = resolve(path);
  const dir = resolve(options.baseDir ?? dirname(file));
  const text = await readManifestText(file);

  const { json, syntax, tooDeep } = JsonText.parse(text.replace(/^\uFEFF/, ''));
  if (tooDeep) {
    return {
      problems: [
        {
          severity: 'error',
          code: 'JsonTooDeep',
          pointer: '',
          ...tooDeep,
          message: messages.getMessage('problem.JsonTooDeep', [MAX_JSON_DEPTH]),
        },
      ],
      implied: [],
      steps: [],
    };
  }
  if (syntax.length) {
    return {
      problems: syntax.map((s) => ({
        severity: 'error',
        code: 'InvalidJson',
        pointer: '',
        line: s.line,
        column: s.column,
        message: messages.getMessage('problem.InvalidJson', [s.detail]),
      })),
      implied: [],
      steps: [],
    };
  }

  const value = json.value();
  const problems: Problem[] = json.duplicateKeys().map((d) => ({
    severity: 'error',
    code: 'DuplicateKey',
    pointer: d.pointer,
    line: d.line,
    column: d.column,
    message: messages.getMessage('problem.DuplicateKey', [d.key, d.first.line]),
  }));
  problems.push(...checkSchema(value));

  const root = isObject(value) ? value : {};
  const defaults = isObject(root.defaults) ? root.defaults : {};
  const rawSteps = Array.isArray(root.steps) ? (root.steps as unknown[]) : [];
  problems.push(...checkPoll(defaults, '/defaults'));

  // Sense checks run on every step whose shape allows them, even when the schema found errors,
  // so one validate run shows everything.
  const usable: Array<{
    index: number;
    step: Record<string, unknown>;
    id: string;
    duplicate: boolean;
  }> = [];
  const firstById = new Map<string, number>();
  rawSteps.forEach((step, index) => {
    if (!isObject(step) || !isString(step.object)) return;
    const id = isString(step.id) ? step.id : step.object;
    const first = firstById.get(id);
    if (first !== undefined) {
      problems.push({
        severity: 'error',
        code: 'DuplicateStepId',
        pointer: step.id === undefined ? pointerOf('steps', index) : pointerOf('steps', index, 'id'),
        message: messages.getMessage('problem.DuplicateStepId', [id, pointerOf('steps', first)]),
      });
    } else {
      firstById.set(id, index);
    }
    usable.push({ index, step, id, duplicate: first !== undefined });
    const operation = setting(step, defaults, 'operation') ?? stepDefaults.operation;
    if (operation === 'upsert' && !setting(step, defaults, 'externalIdField')) {
      problems.push({
        severity: 'error',
        code: 'UpsertWithoutExternalId',
        pointer: step.operation === undefined ? pointerOf('steps', index) : pointerOf('steps', index, 'operation'),
        message: messages.getMessage('problem.UpsertWithoutExternalId', [id]),
      });
    }
    problems.push(...checkLookups(step, index, id));
    problems.push(
      ...checkPoll(
        {
          poll: {
            ...(isObject(defaults.poll) ? defaults.poll : {}),
            ...(isObject(step.poll) ? step.poll : {}),
          },
        },
        pointerOf('steps', index),
        isObject(step.poll),
      ),
    );
  });

  problems.push(...checkStepIds(usable));

  const sourced = usable.map(({ index, step, id }) => toSourcedStep(index, step, id, defaults));
  // A glob must never pick up the tool's own output (dead letters, results) as a source.
  const runFolders = [resolve(dir, isString(root.runFolder) ? root.runFolder : manifestDefaults.runFolder)];
  const stepObjects = usable.map(({ step }) => step.object as string);
  const inspected = await Promise.all(
    sourced.map(async (step) => {
      if (!step) return undefined;
      if (options.checkSources === false) {
        const expanded = await expandSources(dir, step, { runFolders });
        return {
          files: expanded.files.map((f) => f.file),
          relationships: [],
          // Missing files are skipped here, but a glob cut short must not pass as a shorter list of files.
          problems: expanded.problems.filter((p) => p.code === 'GlobTooBroad'),
        };
      }
      return inspectSources(dir, step, { runFolders, stepObjects });
    }),
  );
  inspected.forEach((result) => problems.push(...(result?.problems ?? [])));
  const valueMapProblems = await Promise.all(
    usable.map(({ index, step, id }, k) =>
      checkValueMaps(step, index, {
        id,
        dir,
        delimiter: sourced[k]?.columnDelimiter ?? stepDefaults.columnDelimiter,
        files: inspected[k]?.files ?? [],
      }),
    ),
  );
  valueMapProblems.forEach((found) => problems.push(...found));

  // A duplicate id would make every reference to it ambiguous: the graph keeps the first step.
  const waveSteps: WaveStep[] = usable.flatMap(({ index, step, id, duplicate }, k) =>
    duplicate
      ? []
      : [
          {
            id,
            object: step.object as string,
            dependsOn: isStringList(step.dependsOn) ? step.dependsOn : [],
            relationshipObjects: [...new Set((inspected[k]?.relationships ?? []).flatMap((r) => r.object ?? []))],
            relationships: inspected[k]?.relationships ?? [],
            operation: setting(step, defaults, 'operation') ?? stepDefaults.operation,
            pointer: pointerOf('steps', index),
          },
        ],
  );
  // The graph skips duplicates, so their dependencies are checked against the ids here.
  for (const { index, step } of usable.filter((u) => u.duplicate)) {
    (isStringList(step.dependsOn) ? step.dependsOn : []).forEach((dependency, j) => {
      if (firstById.has(dependency)) return;
      problems.push({
        severity: 'error',
        code: 'UnknownDependency',
        pointer: pointerOf('steps', index, 'dependsOn', j),
        message: messages.getMessage('problem.UnknownDependency', [
          String(step.id ?? step.object),
          dependency,
          [...firstById.keys()].join(', '),
        ]),
      });
    });
  }
  const explicit = Array.isArray(root.waves) && root.waves.every(isStringList) ? root.waves : undefined;
  const plan = computeWaves(waveSteps, explicit);
  problems.push(...plan.problems);

  for (const p of problems) {
    if (p.line === undefined) Object.assign(p, json.locate(p.pointer));
  }
  const sorted = sortProblems(problems);
  const listed = rawSteps.map((step, index) => ({
    pointer: pointerOf('steps', index),
    id: !isObject(step) ? `#${index}` : isString(step.id) ? step.id : isString(step.object) ? step.object : `#${index}`,
  }));
  if (errorsOf(sorted).length) return { problems: sorted, implied: plan.implied, steps: listed };

  const manifest = value as Manifest;
  const steps = usable.map(({ step, id }, k): ResolvedStep => {
    const s = sourced[k]!;
    const own = step as Step;
    const poll = {
      ...stepDefaults.poll,
      ...manifest.defaults?.poll,
      ...own.poll,
    };
    const implied = plan.implied.filter((d) => d.step === id).map((d) => d.dependsOn);
    return {
      id,
      object: own.object,
      operation: s.operation,
      ...(s.externalIdField ? { externalIdField: s.externalIdField } : {}),
      columnDelimiter: s.columnDelimiter,
      lineEnding: s.lineEnding,
      ...(setting(step, defaults, 'assignmentRuleId')
        ? { assignmentRuleId: setting(step, defaults, 'assignmentRuleId') }
        : {}),
      maxRecordsPerJob: setting(step, defaults, 'maxRecordsPerJob') ?? stepDefaults.maxRecordsPerJob,
      maxBytesPerJob: setting(step, defaults, 'maxBytesPerJob') ?? stepDefaults.maxBytesPerJob,
      poll: {
        initialMs: parseDuration(poll.initial),
        maxMs: parseDuration(poll.max),
      },
      failureThreshold: {
        ...(setting(step, defaults, 'failureThreshold') ?? stepDefaults.failureThreshold),
      },
      parallelism: setting(step, defaults, 'parallelism') ?? stepDefaults.parallelism,
      retry: { ...stepDefaults.retry, ...manifest.defaults?.retry, ...own.retry },
      mapping: s.mapping,
      ...(setting(step, defaults, 'beforeImage') === false ? { beforeImage: false as const } : {}),
      ...(typeof own.partitionBy === 'string' || own.partitionBy === false ? { partitionBy: own.partitionBy } : {}),
      ...(own.lookups?.length ? { lookups: own.lookups } : {}),
      ...(resolveValueMaps(step, dir) ? { valueMaps: resolveValueMaps(step, dir) } : {}),
      ...(own.selfReference === false ? { selfReference: false as const } : {}),
      sharedParents: setting(step, defaults, 'sharedParents') ?? stepDefaults.sharedParents,
      parentObjects: [...new Set((inspected[k]?.relationships ?? []).flatMap((r) => r.object ?? []))],
      dependsOn: [...new Set([...(own.dependsOn ?? []), ...implied])],
      sources: s.sources,
      files: inspected[k]?.files ?? [],
    };
  });
  // a step whose rows reference records of the same step runs in two passes (issue 12.5)
  const split =
    options.checkSources === false ? { steps, waves: plan.waves } : await splitSelfReferences(steps, plan.waves);
  return {
    manifest: {
      path: options.path ? resolve(options.path) : file,
      dir,
      name: manifest.name,
      raw: manifest,
      steps: split.steps,
      waves: split.waves,
      implied: plan.implied,
      concurrency: manifest.concurrency ?? manifestDefaults.concurrency,
      runFolder: resolve(dir, manifest.runFolder ?? manifestDefaults.runFolder),
    },
    problems: sorted,
    implied: plan.implied,
    steps: listed,
  };
}

/** Opening a FIFO would wait for a writer forever, and a huge file would be read whole. */
async function readManifestText(file: string): Promise<string> {
  try {
    const stats = await stat(file);
    if (!stats.isFile()) throw new Error(messages.getMessage('kind.other'));
    if (stats.size > MAX_MANIFEST_BYTES) throw new Error(messages.getMessage('manifestTooLarge', [MAX_MANIFEST_BYTES]));
    return await readFile(file, 'utf8');
  } catch (error) {
    throw messages.createError('error.ManifestNotReadable', [file, (error as Error).message]);
  }
}

export async function loadManifestOrThrow(path: string, options: LoadOptions = {}): Promise<LoadedManifest> {
  const { manifest, problems } = await loadManifest(path, options);
  if (manifest) return manifest;
  const errors = errorsOf(problems);
  const listed = errors
    .map((p) => `  ${p.line ?? '?'}:${p.column ?? '?'} ${p.code} ${p.message}${p.pointer ? ` (${p.pointer})` : ''}`)
    .join('\n');
  const error = messages.createError('error.InvalidManifest', [resolve(path), errors.length, listed], [path]);
  error.setData({ manifest: resolve(path), problems: errors });
  return Promise.reject(error);
}

function toSourcedStep(
  index: number,
  step: Record<string, unknown>,
  id: string,
  defaults: Record<string, unknown>,
): SourcedStep | undefined {
  const source = step.source;
  const sources = isString(source) ? [source] : isStringList(source) && source.length ? source : undefined;
  if (!sources) return undefined;
  const mapping = isObject(step.mapping) ? step.mapping : {};
  const externalIdField = setting(step, defaults, 'externalIdField');
  return {
    id,
    object: step.object as string,
    operation: setting(step, defaults, 'operation') ?? stepDefaults.operation,
    ...(isString(externalIdField) ? { externalIdField } : {}),
    ...(isString(step.partitionBy) ? { partitionBy: step.partitionBy } : {}),
    ...(Array.isArray(step.lookups) ? { lookups: step.lookups as Lookup[] } : {}),
    columnDelimiter: setting(step, defaults, 'columnDelimiter') ?? stepDefaults.columnDelimiter,
    lineEnding: setting(step, defaults, 'lineEnding') ?? stepDefaults.lineEnding,
    mapping: {
      ...(isObject(mapping.rename) ? { rename: mapping.rename as Record<string, string> } : {}),
      ...(isStringList(mapping.drop) ? { drop: mapping.drop } : {}),
      ...(isObject(mapping.constants) ? { constants: mapping.constants as Record<string, string> } : {}),
    },
    sources,
    pointer: pointerOf('steps', index),
    sourceIsList: Array.isArray(source),
  };
}

/** Windows device names, reserved with any extension (Win32 "Naming Files, Paths, and Namespaces"). */
const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[1-9]|lpt[1-9])(\..*)?$/i;

/**
 * A step id becomes a folder and file name in the run folder (results/<id>/, dead-letter/<id>.csv):
 * it must name exactly one folder, the same one on every system. The schema's pattern already
 * keeps out separators and blanks.
 */
function checkStepIds(
  steps: Array<{ index: number; step: Record<string, unknown>; id: string; duplicate: boolean }>,
): Problem[] {
  const problems: Problem[] = [];
  const at = (index: number, step: Record<string, unknown>): string =>
    step.id === undefined ? pointerOf('steps', index) : pointerOf('steps', index, 'id');
  const byFolded = new Map<string, { id: string; index: number }>();
  for (const { index, step, id, duplicate } of steps) {
    const reason = id.endsWith('.')
      ? messages.getMessage('unsafe.dots')
      : WINDOWS_RESERVED.test(id)
        ? messages.getMessage('unsafe.reserved', [id.split('.')[0].toUpperCase()])
        : undefined;
    if (reason) {
      problems.push({
        severity: 'error',
        code: 'UnsafeStepId',
        pointer: at(index, step),
        message: messages.getMessage('problem.UnsafeStepId', [id, reason]),
      });
    }
    if (duplicate) continue;
    const folded = id.toLowerCase();
    const first = byFolded.get(folded);
    if (first && first.id !== id) {
      problems.push({
        severity: 'error',
        code: 'StepIdsDifferInCase',
        pointer: at(index, step),
        message: messages.getMessage('problem.StepIdsDifferInCase', [id, first.id, pointerOf('steps', first.index)]),
      });
    } else if (!first) byFolded.set(folded, { id, index });
  }
  return problems;
}

/** max ≥ initial, checked where the user wrote a poll setting (an invalid duration is the schema's to report). */
function checkPoll(holder: Record<string, unknown>, at: string, written = true): Problem[] {
  if (!written || !isObject(holder.poll)) return [];
  const poll = { ...stepDefaults.poll, ...holder.poll } as Record<string, unknown>;
  let initial: number;
  let max: number;
  try {
    initial = parseDuration(String(poll.initial));
    max = parseDuration(String(poll.max));
  } catch {
    return [];
  }
  if (max >= initial) return [];
  return [
    {
      severity: 'error',
      code: 'PollMaxBelowInitial',
      pointer: `${at}/poll${holder.poll.max === undefined ? '' : '/max'}`,
      message: messages.getMessage('problem.PollMaxBelowInitial', [String(poll.max), String(poll.initial)]),
    },
  ];
}
