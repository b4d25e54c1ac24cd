/*
 * `sf migrate retry`: resubmitting the dead letters of a finished run once the user has fixed the
 * data (in the dead-letter files themselves, or in the org). The retry is a new run of its own —
 * its own journal, gates and exactly-once guarantees — over a manifest derived from the finished
 * run: the same steps and settings, each reading its dead-letter files. Those files hold the
 * columns as uploaded (mapping already applied) plus the two error columns, which are dropped.
 * Steps that never started (the waves after a failed gate) load their own sources in full, so
 * "fix the data, retry" also carries a stopped run on to its end.
 */
import { join } from 'node:path';
import { Messages } from '@salesforce/core';
import type { Manifest, ResolvedStep, Step } from '../manifest/types.js';
import { loadManifestOrThrow } from '../manifest/load.js';
import { ensurePrivateDir, findRun, listRuns, type RunSummary } from '../journal/runFolder.js';
import { writeFileAtomically } from '../journal/durable.js';
import { readCsvHeader } from '../csv/header.js';
import { uploadedName } from '../prepare/rowMapping.js';
import { MigrationRun, type RunOptions } from './migrationRun.js';
import { DEAD_LETTER_COLUMNS } from './stepAccounting.js';
import { openRun } from './resumeRun.js';
import { shellQuote } from './commandLines.js';

Messages.importMessagesDirectoryFromMetaUrl(import.meta.url);
const messages = Messages.loadMessages('@sf-migrate/plugin-migrate', 'engine');
const retryMessages = Messages.loadMessages('@sf-migrate/plugin-migrate', 'retry');

export type RetryOptions = RunOptions & {
  root: string;
  /** default: the newest finished run of `manifest` */
  runId?: string;
  manifest?: string;
  /** only these steps (default: every step with dead letters) */
  steps?: string[];
};

export async function retryDeadLetters(options: RetryOptions): Promise<MigrationRun> {
  const runId = options.runId ?? (await newestFinishedRun(options.root, options.manifest));
  const { folder, state, manifest } = await openRun(options.root, runId);
  const started = state.started!;
  if (!state.finished) {
    throw messages.createError('error.RetryUnfinishedRun', [folder.runId], [shellQuote(manifest.path), folder.runId]);
  }
  if (started.orgId !== options.orgId) {
    throw messages.createError(
      'error.RunOfAnotherOrg',
      [folder.runId, started.username, options.username],
      ['retry', folder.runId, started.username],
    );
  }
  const deadLetters = (id: string): string[] => state.steps.get(id)?.finished?.deadLetters ?? [];
  const neverStarted = (id: string): boolean => (state.steps.get(id)?.status ?? 'pending') === 'pending';
  const unknown = (options.steps ?? []).filter((id) => !manifest.steps.some((step) => step.id === id));
  if (unknown.length > 0) {
    // a typo in --step: the run is fine, so the way on is the right id, never a new run
    const ids = manifest.steps.map((step) => step.id);
    const retryable = ids.filter((id) => deadLetters(id).length > 0 || neverStarted(id));
    const error = retryMessages.createError(
      'error.UnknownStep',
      [folder.runId, unknown.join('", "'), ids.join(', '), retryable.length > 0 ? retryable.join(', ') : '-'],
      [
        shellQuote(manifest.path),
        folder.runId,
        shellQuote(retryable[0] ?? ids[0]),
        shellQuote(manifest.path),
        folder.runId,
      ],
    );
    error.setData({ unknown, steps: ids, retryable });
    throw error;
  }
  const wanted = (id: string): boolean => options.steps === undefined || options.steps.includes(id);
  const chosen = manifest.steps.filter(
    (step) =>
      wanted(step.id) &&
      (deadLetters(step.id).length > 0 || neverStarted(step.id)) &&
      // the second pass of a self-reference whose first pass reloads its sources: the loader makes it again
      !(step.selfReferenceOf && neverStarted(step.selfReferenceOf.step) && wanted(step.selfReferenceOf.step)),
  );
  if (chosen.length === 0) throw messages.createError('error.NothingToRetry', [folder.runId]);

  const ids = new Set(chosen.map((step) => step.id));
  const derived: Manifest = {
    name: `${manifest.name} (retry of ${folder.runId})`,
    concurrency: manifest.concurrency,
    runFolder: options.root,
    steps: await Promise.all(
      chosen.map(async (step) => {
        if (!neverStarted(step.id)) return deadLetterStep(step, ids, deadLetters(step.id), folder.dir);
        return sourceStep(step.selfReferenceOf ? await asProjection(step) : step, ids);
      }),
    ),
    waves: manifest.waves.map((wave) => wave.filter((id) => ids.has(id))).filter((wave) => wave.length > 0),
  };
  const retries = join(folder.dir, 'retries');
  await ensurePrivateDir(retries);
  const derivedPath = join(retries, `${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  await writeFileAtomically(derivedPath, `${JSON.stringify(derived, null, 2)}\n`);
  const loaded = await loadManifestOrThrow(derivedPath);
  return MigrationRun.start(loaded, { ...options, belongsTo: manifest.path });
}

/**
 * The second pass of a self-reference that never ran, as a plain step over its first step's
 * sources that sends only the key and the reference columns (every other column dropped): the
 * retry's loader does not split it again (`selfReference: false`), and the hold-back still keeps
 * back the rows whose record or parent the retry's first step fails.
 */
async function asProjection(step: ResolvedStep): Promise<ResolvedStep> {
  const of = step.selfReferenceOf!;
  const kept = new Set([of.key, ...of.columns]);
  const drop = new Set<string>();
  for (const file of step.files) {
    // eslint-disable-next-line no-await-in-loop -- headers only, one file after another
    for (const column of (await readCsvHeader(file, step.columnDelimiter)).columns) {
      const name = uploadedName(column, of.mapping);
      if (name === undefined || !kept.has(name)) drop.add(column);
    }
  }
  return { ...step, mapping: { ...(of.mapping.rename ? { rename: of.mapping.rename } : {}), drop: [...drop] } };
}

/** what the run folder says of the run `retryDeadLetters` would retry (the same choice) */
export async function locateRetriedRun(root: string, runId?: string, manifest?: string): Promise<RunSummary> {
  const id = runId ?? (await newestFinishedRun(root, manifest));
  const summary = await findRun(root, id);
  if (!summary) throw messages.createError('error.RunNotFound', [id, root]);
  return summary;
}

async function newestFinishedRun(root: string, manifest?: string): Promise<string> {
  const run = (await listRuns(root)).find(
    (candidate) => candidate.finished && (manifest === undefined || candidate.manifest === manifest),
  );
  if (!run) throw messages.createError('error.NoFinishedRun', [root]);
  return run.runId;
}

/** the step as resolved, written out in full, reading its own sources (absolute paths) */
function sourceStep(step: ResolvedStep, included: Set<string>): Step {
  return {
    ...settingsOf(step, included),
    source: step.files,
    columnDelimiter: step.columnDelimiter,
    lineEnding: step.lineEnding,
    mapping: step.mapping,
    ...(step.valueMaps ? { valueMaps: step.valueMaps } : {}),
  };
}

/**
 * The step, reading its dead letters (absolute paths). They hold the values as they were to be
 * uploaded (value maps applied, src/prepare/), so no value map runs again. Rows held back because
 * their parent failed (PARENT_FAILED) go through the hold-back again, against the parent step of
 * the retry itself: they are sent when their parent now loads, and held again when it fails again.
 */
function deadLetterStep(step: ResolvedStep, included: Set<string>, deadLetters: string[], runDir: string): Step {
  return {
    ...settingsOf(step, included),
    source: deadLetters.map((file) => join(runDir, file)),
    // dead letters are written with the step's delimiter and LF line endings
    columnDelimiter: step.columnDelimiter,
    lineEnding: 'LF',
    mapping: { drop: DEAD_LETTER_COLUMNS },
    // a row a lookup could not resolve is resolved again, against a fresh snapshot (the user may have
    // added the missing user); rows that carry the Id already pass through (src/lookup/stages.ts)
    ...(step.lookups?.length ? { lookups: step.lookups } : {}),
  };
}

function settingsOf(step: ResolvedStep, included: Set<string>): Omit<Step, 'source'> {
  return {
    id: step.id,
    object: step.object,
    operation: step.operation,
    ...(step.externalIdField ? { externalIdField: step.externalIdField } : {}),
    ...(step.assignmentRuleId ? { assignmentRuleId: step.assignmentRuleId } : {}),
    // the columns of a second pass (or of a step that never had one) are sent as they are
    ...(step.selfReferenceOf !== undefined || step.selfReference === false ? { selfReference: false } : {}),
    maxRecordsPerJob: step.maxRecordsPerJob,
    maxBytesPerJob: step.maxBytesPerJob,
    poll: { initial: `${step.poll.initialMs}ms`, max: `${step.poll.maxMs}ms` },
    failureThreshold: step.failureThreshold,
    parallelism: step.parallelism,
    retry: step.retry,
    ...(step.beforeImage === false ? { beforeImage: false } : {}),
    dependsOn: step.dependsOn.filter((id) => included.has(id)),
  };
}
