/*
 * What a run of a manifest will do, without doing it: the waves in order, the steps in each, and
 * for every source file its size, its records and the jobs the chunking limits cut it into, with
 * the API calls all of that will spend. Every file is read once, as a stream; the files of a step
 * with lock-aware jobs also go through the run's own partition pass (into a temporary folder,
 * removed at the end), so their jobs are counted as the run will cut them; so do the sources of a
 * self-reference's second pass (`<id>.self`), whose jobs hold only the rows that set a reference.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { planChunks } from '../csv/chunks.js';
import { readCsvHeader } from '../csv/header.js';
import type { ImpliedDependency, LoadedManifest, Operation, ResolvedStep } from '../manifest/types.js';
import { partitionSource } from '../engine/partitionPass.js';
import { partitionSettingsOf, sameHeaderSources } from '../engine/stepPartitioning.js';
import { runRowPass } from '../prepare/rowPass.js';
import { projectionStage, setsAReference } from '../prepare/selfReferences.js';
import { partitionColumnOf, type PartitionColumn } from './partitioning.js';
import { sharedParentWaits, type StepWait } from './sharedParents.js';
import {
  ASSUMED_RECORDS_PER_SECOND,
  CALLS_PER_JOB_BESIDES_POLLS,
  estimateBeforeImageCalls,
  estimateJobCalls,
} from './budget.js';

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
   * absent when it does not. `jobs` then counts the jobs cut from the files the run's partition
   * pass derives (for the org's batches of 10,000 records), each counted on the first file of the
   * files partitioned together (the others show 0)
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
  /** estimated API calls of all the step's jobs, polls and before images (plan/budget.ts) included */
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
  /** of a job that loads cleanly: create, upload, close, the successful results, delete */
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
  for (const step of manifest.steps) {
    // eslint-disable-next-line no-await-in-loop -- one partition pass at a time keeps memory flat
    await countPartitionedJobs(step, filesByStep.get(step.id) ?? [], options);
  }

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
  /** the source file (absolute), its header's columns and, when partitioned, its partition column */
  path: string;
  columns: string[];
  partition?: PartitionColumn;
};

async function planFile(
  manifest: LoadedManifest,
  step: ResolvedStep,
  file: string,
  options: PlanOptions,
): Promise<PlannedFileWithPolls> {
  if (step.selfReferenceOf) return planSelfReferenceFile(manifest, step, file, options);
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
    ...(partition ? { partitionBy: { column: partition.column, inferred: partition.inferred }, partition } : {}),
    path: file,
    columns: header.columns,
    file: relative(manifest.dir, file) || file,
    bytes: (await stat(file)).size,
    records: 0,
    jobs: 0,
    polls: 0,
    apiCalls: 0,
  };
  for await (const chunk of chunks) {
    planned.records += chunk.records;
    // a partitioned file's jobs are cut from the files derived from it (countPartitionedJobs)
    if (!partition) addJob(planned, jobCalls(step, chunk.records, options));
  }
  return planned;
}

/**
 * A source of a self-reference's second pass: the run sends only the key and the reference of the
 * rows that set one (src/prepare/selfReferences.ts), so its jobs are cut from the row pass's
 * projection of the source, written here into a temporary folder that is removed whatever happens.
 * The row pass's hold-back has nothing to hold before a run, so it is left out. The run then
 * partitions the projection by its reference column, and so does this.
 */
async function planSelfReferenceFile(
  manifest: LoadedManifest,
  step: ResolvedStep,
  file: string,
  options: PlanOptions,
): Promise<PlannedFileWithPolls> {
  const of = step.selfReferenceOf!;
  const dir = await mkdtemp(join(tmpdir(), 'sf-migrate-plan-self-'));
  try {
    const projected = await runRowPass(file, [projectionStage(of)], {
      delimiter: step.columnDelimiter,
      mapping: {},
      out: join(dir, 'rows.csv'),
      rejectedPathFor: (n) => join(dir, `rejected-${n}.csv`),
      keep: (header) => setsAReference(of, header),
    });
    const header = await readCsvHeader(projected.file, step.columnDelimiter);
    const planned: PlannedFileWithPolls = {
      path: file,
      columns: (await readCsvHeader(file, step.columnDelimiter)).columns,
      file: relative(manifest.dir, file) || file,
      bytes: (await stat(file)).size,
      records: 0,
      jobs: 0,
      polls: 0,
      apiCalls: 0,
    };
    // the run partitions the projection like any source with a parent key column (the reference)
    const partition = partitionColumnOf(step, projected.file, header.columns);
    const files = partition
      ? await partitionSource(
          projected.file,
          join(dir, 'partitions'),
          partitionSettingsOf(step, partition.index, {}, header),
        )
      : [{ file: projected.file }];
    for (const { file: cut } of files) {
      const chunks = planChunks(cut, {
        delimiter: step.columnDelimiter,
        // eslint-disable-next-line no-await-in-loop
        header: await readCsvHeader(cut, step.columnDelimiter),
        maxRecords: step.maxRecordsPerJob,
        maxBytes: step.maxBytesPerJob,
        mapping: step.mapping,
        lineEnding: step.lineEnding,
      });
      // eslint-disable-next-line no-await-in-loop
      for await (const chunk of chunks) {
        planned.records += chunk.records;
        addJob(planned, jobCalls(step, chunk.records, options));
      }
    }
    return planned;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** the estimated calls of one job of `records`, reported to `onJob` */
function jobCalls(step: ResolvedStep, records: number, options: PlanOptions): { polls: number; apiCalls: number } {
  options.onJob?.(step, records);
  const calls = estimateJobCalls(records, step.poll);
  // an update, upsert or delete job first saves its rows' before image (src/engine/beforeImages.ts)
  return { ...calls, apiCalls: calls.apiCalls + estimateBeforeImageCalls(records, step) };
}

function addJob(planned: PlannedFileWithPolls, calls: { polls: number; apiCalls: number }): void {
  Object.assign(planned, {
    jobs: planned.jobs + 1,
    polls: planned.polls + calls.polls,
    apiCalls: planned.apiCalls + calls.apiCalls,
  });
}

/**
 * The jobs of a step's partitioned files as the run cuts them: the run's partition pass (same
 * settings, same grouping of files with one header) into a temporary folder, then the chunking of
 * the derived files. Counted on the first file of each group. The files are read twice more and
 * written once to the temporary folder, which is removed whatever happens.
 */
async function countPartitionedJobs(
  step: ResolvedStep,
  files: PlannedFileWithPolls[],
  options: PlanOptions,
): Promise<void> {
  if (!files.some((file) => file.partition)) return;
  const byPath = new Map(files.map((file) => [file.path, file]));
  const paths = files.map((file) => file.path);
  const taken = new Set<string>();
  const dir = await mkdtemp(join(tmpdir(), 'sf-migrate-plan-'));
  try {
    for (const [n, lead] of files.entries()) {
      if (!lead.partition || taken.has(lead.path)) continue;
      const others = sameHeaderSources(
        paths,
        n,
        lead.columns,
        (path) => byPath.get(path)?.columns ?? [],
        (path) => !taken.has(path) && byPath.get(path)?.partition !== undefined,
      );
      for (const path of [lead.path, ...others]) taken.add(path);
      // eslint-disable-next-line no-await-in-loop -- one pass at a time
      const leadHeader = await readCsvHeader(lead.path, step.columnDelimiter);
      // eslint-disable-next-line no-await-in-loop
      const derived = await partitionSource(
        [lead.path, ...others],
        join(dir, String(n)),
        partitionSettingsOf(step, lead.partition.index, {}, leadHeader),
      );
      for (const { file } of derived) {
        // eslint-disable-next-line no-await-in-loop
        const header = await readCsvHeader(file, step.columnDelimiter);
        const chunks = planChunks(file, {
          delimiter: step.columnDelimiter,
          header,
          maxRecords: step.maxRecordsPerJob,
          maxBytes: step.maxBytesPerJob,
          mapping: step.mapping,
          lineEnding: step.lineEnding,
        });
        // eslint-disable-next-line no-await-in-loop
        for await (const chunk of chunks) addJob(lead, jobCalls(step, chunk.records, options));
      }
      // eslint-disable-next-line no-await-in-loop
      await rm(join(dir, String(n)), { recursive: true, force: true });
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
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
