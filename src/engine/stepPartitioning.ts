/*
 * Lock-aware jobs in a run: which files a step's source chunks are cut from. A source whose step
 * has a partition column (plan/partitioning.ts) is rewritten once by the partition pass into
 * derived files under partitions/<step>/<n>/ of the run folder, and `source.partitioned` journals
 * them with their fingerprints; from then on the run, and every resume of it, cuts chunks from
 * exactly those files, checked against those fingerprints like a source. A step's sources with the
 * same header go through one pass together (journaled on the first, the others named in `with`),
 * so a parent's children in two files still land in one job. A crash before the line
 * leaves files no event names: the next attempt empties the folder and starts the pass again.
 */
import { join } from 'node:path';
import type { ResolvedStep } from '../manifest/types.js';
import { partitionedSources, type RunState } from '../journal/state.js';
import type { RunFolder } from '../journal/runFolder.js';
import { sourcePartitioned } from '../journal/eventBuilders.js';
import { fingerprintFile } from '../journal/fingerprint.js';
import { sourceChangedError } from '../csv/errors.js';
import type { CsvHeader } from '../csv/header.js';
import { uploadSizeOverhead } from '../csv/upload.js';
import { partitionColumnOf } from '../plan/partitioning.js';
import {
  DEFAULT_PARTITION_MEMORY_BYTES,
  ORG_BATCH_RECORDS,
  partitionSource,
  type PartitionSettings,
} from './partitionPass.js';
import type { ChunkPlanner } from './chunkPlanner.js';
import type { RecordEvent } from './chunkLifecycle.js';
import { crashPoint } from './crashPoints.js';

/** a record longer than this is not loaded by Salesforce anyway (a Bulk API 2.0 row is far below it) */
const MAX_RECORD_BYTES = 32 * 1024 * 1024;

export type PartitioningOptions = {
  /** the org's internal batch size: 10,000 in every real org; a smaller local org rehearses with less */
  batchRecords?: number;
  memoryBytes?: number;
};

/**
 * At most what the upload adds to a row: each mapped constant as a quoted value with every quote
 * doubled, after a delimiter, and one byte for a line ending turned into CRLF.
 */
function extraBytesPerRow(step: ResolvedStep): number {
  const constants = Object.values(step.mapping.constants ?? {});
  return constants.reduce((sum, value) => sum + 2 * Buffer.byteLength(value) + 3, step.lineEnding === 'CRLF' ? 1 : 0);
}

/**
 * What the chunk planner will count beyond a derived file's row bytes (uploadSizeOverhead): the
 * packer must count at least as much, or a file it filled to the byte limit is cut into two chunks,
 * two jobs the org may process at once with a parent in both. A re-serialised upload (a rename, a
 * drop, a constant) is counted with its mapped header and a line ending more a row.
 */
function uploadOverheadOf(
  step: ResolvedStep,
  header: CsvHeader,
): Pick<PartitionSettings, 'extraBytesPerRow' | 'uploadHeaderBytes'> {
  const counted = uploadSizeOverhead(header, {
    delimiter: step.columnDelimiter,
    mapping: step.mapping,
    lineEnding: step.lineEnding,
  });
  return {
    extraBytesPerRow: Math.max(extraBytesPerRow(step), counted.perRecordBytes),
    uploadHeaderBytes: counted.headerBytes,
  };
}

/**
 * The partition pass's settings for a step whose parent key is column `column` of its header: the
 * run's, and `sf migrate plan`'s when it counts the jobs the run will cut.
 */
export function partitionSettingsOf(
  step: ResolvedStep,
  column: number,
  options: PartitioningOptions = {},
  header?: CsvHeader,
): PartitionSettings {
  return {
    delimiter: step.columnDelimiter,
    lineEnding: step.lineEnding,
    column,
    binRecords: Math.min(options.batchRecords ?? ORG_BATCH_RECORDS, step.maxRecordsPerJob),
    maxRecordsPerJob: step.maxRecordsPerJob,
    maxBytesPerJob: step.maxBytesPerJob,
    ...(header ? uploadOverheadOf(step, header) : { extraBytesPerRow: extraBytesPerRow(step) }),
    memoryBytes: options.memoryBytes ?? DEFAULT_PARTITION_MEMORY_BYTES,
    maxRecordBytes: MAX_RECORD_BYTES,
  };
}

/**
 * The step's sources after the n-th that one pass takes in with it: those with exactly its header
 * columns (so the same column holds the parent key, and one header serves every derived file), in
 * order, among `candidates`. Shared by the run and `plan`, so both group the files alike.
 */
export function sameHeaderSources(
  files: readonly string[],
  n: number,
  columns: readonly string[],
  headerOf: (file: string) => readonly string[],
  candidate: (file: string) => boolean,
): string[] {
  const same = JSON.stringify(columns);
  const others: string[] = [];
  for (const other of files.slice(n + 1)) {
    if (other === files[n] || others.includes(other) || !candidate(other)) continue;
    if (JSON.stringify(headerOf(other)) === same) others.push(other);
  }
  return others;
}

export class StepPartitioning {
  public constructor(
    private readonly state: RunState,
    private readonly folder: RunFolder,
    private readonly record: RecordEvent,
    private readonly planner: ChunkPlanner,
    private readonly options: PartitioningOptions = {},
  ) {}

  /**
   * The serial lane's files, by chain: files whose jobs run one at a time (all of a pass's serial
   * files; one parent's in runs of earlier versions). Chains are numbered per source, so the key
   * holds the source too.
   */
  public serialChains(stepId: string): Map<string, string> {
    const chains = new Map<string, string>();
    for (const partition of this.state.steps.get(stepId)?.partitions ?? []) {
      for (const file of partition.files) {
        if (file.lane === 'serial') chains.set(file.file, `${partition.source}\u0000${file.chain ?? 0}`);
      }
    }
    return chains;
  }

  /**
   * The files the step's source chunks are cut from, in order; stops early when `signal` fires. A
   * source partitioned together with an earlier one (`with` of its `source.partitioned`) has none:
   * its rows are in the earlier one's derived files. `sources`: the step's files as the row pass
   * left them (src/prepare/), one a source.
   */
  public async filesOf(step: ResolvedStep, signal?: AbortSignal, sources = step.files): Promise<string[]> {
    const files: string[] = [];
    for (const [n, source] of sources.entries()) {
      if (signal?.aborted) break;
      // eslint-disable-next-line no-await-in-loop -- one pass at a time keeps the pass's memory flat
      files.push(...(await this.filesOfSource(step, sources, source, n)));
    }
    return files;
  }

  private async filesOfSource(step: ResolvedStep, sources: string[], source: string, n: number): Promise<string[]> {
    const stepState = this.state.steps.get(step.id);
    const known = stepState?.partitions?.find((partition) => partitionedSources(partition).includes(source));
    if (known) return known.source === source ? known.files.map((file) => file.file) : [];
    if (this.cutFromItself(step.id, source)) return [source];
    const header = await this.planner.header(source, step.columnDelimiter);
    const column = partitionColumnOf(step, source, header.columns);
    if (!column) return [source];
    const others = await this.partitionedWith(step, sources, n, header.columns);

    const outDir = join(this.folder.dir, 'partitions', step.id, String(n));
    const derived = await partitionSource(
      [source, ...others],
      outDir,
      partitionSettingsOf(step, column.index, this.options, header),
    );
    // The pass read the sources without hashing them: the derived rows are the run's only if each
    // source still is what the run fingerprinted when it began (one more read, once per source).
    for (const read of [source, ...others]) {
      const began = this.state.started?.sources.find((candidate) => candidate.file === read);
      if (!began) continue;
      // eslint-disable-next-line no-await-in-loop
      const now = await fingerprintFile(read);
      if (now.sha256 !== began.sha256) {
        throw sourceChangedError(read, { key: 'content', tokens: [began.sha256, now.sha256] });
      }
    }
    const files = await Promise.all(
      derived.map(async (file) => ({
        ...(await fingerprintFile(file.file)),
        lane: file.lane,
        records: file.records,
        ...(file.chain !== undefined ? { chain: file.chain } : {}),
      })),
    );
    // the derived files are complete and durable, and nothing names them yet
    crashPoint('partition.written');
    await this.record(sourcePartitioned(step.id, source, column.column, files, others));
    return files.map((file) => file.file);
  }

  /** chunks were cut from the source itself (a run begun before partitioning, or with it off): they stay so */
  private cutFromItself(stepId: string, source: string): boolean {
    return this.state.steps.get(stepId)?.chunks.some((chunk) => chunk.file === source && chunk.attempt === 0) ?? false;
  }

  /**
   * The step's sources after the n-th that its pass takes in too (sameHeaderSources): not taken by
   * a pass already, no chunk cut from them. A source with another header is partitioned on its own,
   * and a parent whose children span two such groups of files may then be in two concurrent jobs.
   */
  private async partitionedWith(
    step: ResolvedStep,
    sources: string[],
    n: number,
    columns: string[],
  ): Promise<string[]> {
    const taken = new Set((this.state.steps.get(step.id)?.partitions ?? []).flatMap(partitionedSources));
    const headers = new Map<string, string[]>();
    for (const other of sources.slice(n + 1)) {
      // eslint-disable-next-line no-await-in-loop -- headers are read once per run and cached
      headers.set(other, (await this.planner.header(other, step.columnDelimiter)).columns);
    }
    return sameHeaderSources(
      sources,
      n,
      columns,
      (file) => headers.get(file) ?? [],
      (file) => !taken.has(file) && !this.cutFromItself(step.id, file),
    );
  }
}
