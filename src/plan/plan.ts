/*
 * What a run of a manifest will do, without doing it: the waves in order, the steps in each, and
 * for every source file its size, its records and the jobs the chunking limits cut it into, with
 * the API calls all of that will spend. Every file is read once, as a stream.
 */
import { stat } from 'node:fs/promises';
import { relative } from 'node:path';
import { planChunks } from '../csv/chunks.js';
import { readCsvHeader } from '../csv/header.js';
import type { ImpliedDependency, LoadedManifest, Operation, ResolvedStep } from '../manifest/types.js';
import { partitionColumnOf } from './partitioning.js';
import { sharedParentWaits, type StepWait } from './sharedParents.js';
import { ASSUMED_RECORDS_PER_SECOND, CALLS_PER_JOB_BESIDES_POLLS, estimateJobCalls } from './budget.js';

export type PlannedFile = {
  /** relative to the manifest's folder */
  file: string;
  bytes: number;
  records: number;
  jobs: number;
};

export type PlannedStep = {
  id: string;
  object: string;
  operation: Operation;
  /** the field an upsert matches records on (upsert steps only) */
  externalIdField?: string;
  /** the step's dependsOn plus the steps its relationship columns imply */
  dependsOn: string[];
  maxRecordsPerJob: number;
  maxBytesPerJob: number;
  /**
   * lock-aware jobs: the column the run groups the step's rows by (see plan/partitioning.ts),
   * absent when it does not; `jobs` counts the cut of the files as they are
   */
  partitionBy?: { column: string; inferred: boolean };
  /**
   * the earlier steps of the wave this step waits for, because both write children of `objects`
   * (plan/sharedParents.ts); absent when it runs beside the others
   */
  waitsFor?: { steps: string[]; objects: string[] };
  files: PlannedFile[];
  bytes: number;
  records: number;
  jobs: number;
  /** estimated status calls of all the step's jobs */
  polls: number;
  /** estimated API calls of all the step's jobs, polls included */
  apiCalls: number;
};

export type PlannedWave = {
  /** 1-based, in run order */
  wave: number;
  steps: PlannedStep[];
};

export type PlanTotals = {
  waves: number;
  steps: number;
  files: number;
  bytes: number;
  records: number;
  jobs: number;
  polls: number;
  apiCalls: number;
};

export type ApiCallEstimate = {
  /** create, upload, close, three result downloads, delete */
  callsPerJobBesidesPolls: number;
  /** the processing rate assumed to estimate how long each job is polled */
  assumedRecordsPerSecond: number;
};

export type MigrationPlan = {
  /** absolute path of the manifest */
  manifest: string;
  name: string;
  waves: PlannedWave[];
  /** dependencies implied by relationship columns of the CSV headers */
  implied: ImpliedDependency[];
  totals: PlanTotals;
  estimate: ApiCallEstimate;
};

/** The result of `sf migrate plan --json`. */
export type PlanResult = MigrationPlan;

/** Files read at once: enough to overlap disk and CPU, few enough to keep memory flat. */
const FILES_AT_ONCE = 4;

export type PlanOptions = {
  /** called for every job the chunking cuts, with its records (the API budget check counts internal batches) */
  onJob?: (step: ResolvedStep, records: number) => void;
};

export async function buildPlan(manifest: LoadedManifest, options: PlanOptions = {}): Promise<MigrationPlan> {
  const stepsById = new Map(manifest.steps.map((step) => [step.id, step]));
  const work = manifest.steps.flatMap((step) => step.files.map((file) => ({ step, file })));
  const planned = await mapWithLimit(work, FILES_AT_ONCE, ({ step, file }) => planFile(manifest, step, file, options));
  const filesByStep = new Map<string, PlannedFileWithPolls[]>();
  work.forEach(({ step }, i) => filesByStep.set(step.id, [...(filesByStep.get(step.id) ?? []), planned[i]]));

  const waves = manifest.waves.map((ids, index): PlannedWave => {
    const steps = ids.flatMap((id) => stepsById.get(id) ?? []);
    const waits = sharedParentWaits(steps);
    return {
      wave: index + 1,
      steps: steps.map((step) => planStep(step, filesByStep.get(step.id) ?? [], waits.get(step.id))),
    };
  });
  const steps = waves.flatMap((wave) => wave.steps);
  const sum = (pick: (step: PlannedStep) => number): number => steps.reduce((total, step) => total + pick(step), 0);
  return {
    manifest: manifest.path,
    name: manifest.name,
    waves,
    implied: manifest.implied,
    totals: {
      waves: waves.length,
      steps: steps.length,
      files: sum((step) => step.files.length),
      bytes: sum((step) => step.bytes),
      records: sum((step) => step.records),
      jobs: sum((step) => step.jobs),
      polls: sum((step) => step.polls),
      apiCalls: sum((step) => step.apiCalls),
    },
    estimate: {
      callsPerJobBesidesPolls: CALLS_PER_JOB_BESIDES_POLLS,
      assumedRecordsPerSecond: ASSUMED_RECORDS_PER_SECOND,
    },
  };
}

type PlannedFileWithPolls = PlannedFile & {
  polls: number;
  apiCalls: number;
  partitionBy?: { column: string; inferred: boolean };
};

async function planFile(
  manifest: LoadedManifest,
  step: ResolvedStep,
  file: string,
  options: PlanOptions,
): Promise<PlannedFileWithPolls> {
  const header = await readCsvHeader(file, step.columnDelimiter);
  const chunks = planChunks(file, {
    delimiter: step.columnDelimiter,
    header,
    maxRecords: step.maxRecordsPerJob,
    maxBytes: step.maxBytesPerJob,
    mapping: step.mapping,
    lineEnding: step.lineEnding,
  });
  const partition = partitionColumnOf(step, file, header.columns);
  const planned: PlannedFileWithPolls = {
    ...(partition ? { partitionBy: { column: partition.column, inferred: partition.inferred } } : {}),
    file: relative(manifest.dir, file) || file,
    bytes: (await stat(file)).size,
    records: 0,
    jobs: 0,
    polls: 0,
    apiCalls: 0,
  };
  for await (const chunk of chunks) {
    const calls = estimateJobCalls(chunk.records, step.poll);
    options.onJob?.(step, chunk.records);
    planned.records += chunk.records;
    planned.jobs++;
    planned.polls += calls.polls;
    planned.apiCalls += calls.apiCalls;
  }
  return planned;
}

function planStep(step: ResolvedStep, files: PlannedFileWithPolls[], wait?: StepWait): PlannedStep {
  const sum = (pick: (file: PlannedFileWithPolls) => number): number =>
    files.reduce((total, file) => total + pick(file), 0);
  return {
    id: step.id,
    object: step.object,
    operation: step.operation,
    // only an upsert matches on it; a default inherited by an insert step means nothing there
    ...(step.operation === 'upsert' && step.externalIdField ? { externalIdField: step.externalIdField } : {}),
    dependsOn: step.dependsOn,
    maxRecordsPerJob: step.maxRecordsPerJob,
    maxBytesPerJob: step.maxBytesPerJob,
    // the run decides per file; the first file's header stands for the step
    ...(files[0]?.partitionBy ? { partitionBy: files[0].partitionBy } : {}),
    ...(wait ? { waitsFor: { steps: wait.after, objects: wait.objects } } : {}),
    files: files.map(({ file, bytes, records, jobs }) => ({ file, bytes, records, jobs })),
    bytes: sum((file) => file.bytes),
    records: sum((file) => file.records),
    jobs: sum((file) => file.jobs),
    polls: sum((file) => file.polls),
    apiCalls: sum((file) => file.apiCalls),
  };
}

async function mapWithLimit<T, R>(items: T[], limit: number, map: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      // eslint-disable-next-line no-await-in-loop -- each worker handles its files one after another
      results[index] = await map(items[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
