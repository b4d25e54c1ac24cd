/*
 * Lock-aware jobs in a run: which files a step's source chunks are cut from. A source whose step
 * has a partition column (plan/partitioning.ts) is rewritten once by the partition pass into
 * derived files under partitions/<step>/<n>/ of the run folder, and `source.partitioned` journals
 * them with their fingerprints; from then on the run, and every resume of it, cuts chunks from
 * exactly those files, checked against those fingerprints like a source. A crash before the line
 * leaves files no event names: the next attempt empties the folder and starts the pass again.
 */
import { join } from 'node:path';
import type { ResolvedStep } from '../manifest/types.js';
import type { RunState } from '../journal/state.js';
import type { RunFolder } from '../journal/runFolder.js';
import { sourcePartitioned } from '../journal/eventBuilders.js';
import { fingerprintFile } from '../journal/fingerprint.js';
import { sourceChangedError } from '../csv/errors.js';
import { partitionColumnOf } from '../plan/partitioning.js';
import { DEFAULT_PARTITION_MEMORY_BYTES, ORG_BATCH_RECORDS, partitionSource } from './partitionPass.js';
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

export class StepPartitioning {
  public constructor(
    private readonly state: RunState,
    private readonly folder: RunFolder,
    private readonly record: RecordEvent,
    private readonly planner: ChunkPlanner,
    private readonly options: PartitioningOptions = {},
  ) {}

  /**
   * The serial lane's files, by chain: the files of one parent, whose jobs run one at a time. Chains
   * are numbered per source, so the key holds the source too.
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
   * the files the step's source chunks are cut from, in order; stops early when `signal` fires.
   * `sources`: the step's files as the row pass left them (src/prepare/), one a source
   */
  public async filesOf(step: ResolvedStep, signal?: AbortSignal, sources = step.files): Promise<string[]> {
    const files: string[] = [];
    for (const [n, source] of sources.entries()) {
      if (signal?.aborted) break;
      // eslint-disable-next-line no-await-in-loop -- one source at a time keeps the pass's memory flat
      files.push(...(await this.filesOfSource(step, source, n)));
    }
    return files;
  }

  private async filesOfSource(step: ResolvedStep, source: string, n: number): Promise<string[]> {
    const stepState = this.state.steps.get(step.id);
    const known = stepState?.partitions?.find((partition) => partition.source === source);
    if (known) return known.files.map((file) => file.file);
    // chunks cut from the source itself (a run begun before partitioning, or with it off) stay so
    if (stepState?.chunks.some((chunk) => chunk.file === source && chunk.attempt === 0)) return [source];
    const header = await this.planner.header(source, step.columnDelimiter);
    const column = partitionColumnOf(step, source, header.columns);
    if (!column) return [source];

    const outDir = join(this.folder.dir, 'partitions', step.id, String(n));
    const derived = await partitionSource(source, outDir, {
      delimiter: step.columnDelimiter,
      lineEnding: step.lineEnding,
      column: column.index,
      binRecords: Math.min(this.options.batchRecords ?? ORG_BATCH_RECORDS, step.maxRecordsPerJob),
      maxRecordsPerJob: step.maxRecordsPerJob,
      maxBytesPerJob: step.maxBytesPerJob,
      extraBytesPerRow: extraBytesPerRow(step),
      memoryBytes: this.options.memoryBytes ?? DEFAULT_PARTITION_MEMORY_BYTES,
      maxRecordBytes: MAX_RECORD_BYTES,
    });
    // The pass read the source without hashing it: the derived rows are the run's only if the
    // source still is what the run fingerprinted when it began (one more read, once per source).
    const began = this.state.started?.sources.find((candidate) => candidate.file === source);
    if (began) {
      const now = await fingerprintFile(source);
      if (now.sha256 !== began.sha256) {
        throw sourceChangedError(source, { key: 'content', tokens: [began.sha256, now.sha256] });
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
    await this.record(sourcePartitioned(step.id, source, column.column, files));
    return files.map((file) => file.file);
  }
}
