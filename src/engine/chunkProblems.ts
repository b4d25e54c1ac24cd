/*
 * The rows of a chunk that did not load, read back from its saved result files for the next retry
 * round and for the step's dead letters: the failed rows (with their sf__Error) and the rows the
 * job never processed. Streamed row by row: a step's results can be far larger than memory.
 */
import { join } from 'node:path';
import { parse } from 'csv-parse';
import type { ResolvedStep } from '../manifest/types.js';
import type { ChunkState } from '../journal/state.js';
import type { RunFolder } from '../journal/runFolder.js';
import { delimiterCharacter } from '../csv/delimiters.js';
import { errorCodeOf, readResultRows } from './resultFiles.js';
import type { ChunkPlanner } from './chunkPlanner.js';

export type ProblemKind = 'failed' | 'unprocessed';

/**
 * One row that did not load. `row` is as the result file has it (a failed row starts with sf__Id
 * and sf__Error); `header` is the uploaded header the row's values belong to.
 */
export type ProblemRow = { row: string[]; header: string[]; kind: ProblemKind };

/** where a chunk's rows are read from: its saved results, and its source for a job that reported none */
export type ProblemSources = { folder: RunFolder; planner: ChunkPlanner };

/**
 * Whether the saved results of a chunk miss rows its job never reported: a job that failed before
 * processing any record (`InvalidBatch : …` on its header or its CSV) may answer its unprocessed
 * rows with an empty file — the local org does — and those rows would then be neither retried nor
 * dead letters. No public evidence says what a real org's file holds then; either way this reads
 * the chunk's own rows instead, so every record of the job is accounted for with the job's error.
 */
function missesRows(chunk: ChunkState): boolean {
  if (chunk.finished?.state !== 'Failed' || !chunk.results) return false;
  const { counts } = chunk.results;
  if (chunk.finished.processed > 0 || counts.success > 0 || counts.failed > 0) return false;
  return counts.unprocessed < chunk.records;
}

/** the failed and unprocessed rows of a chunk, with the uploaded header of each */
export async function* problemRows(
  step: ResolvedStep,
  chunk: ChunkState,
  sources: ProblemSources,
): AsyncGenerator<ProblemRow> {
  if (!chunk.results) return;
  if (missesRows(chunk)) {
    yield* uploadedRows(step, chunk, sources.planner);
    return;
  }
  for (const kind of ['failed', 'unprocessed'] as const) {
    let header: string[] | undefined;
    const { files } = chunk.results;
    const file = join(sources.folder.dir, kind === 'failed' ? files.failed : files.unprocessed);
    // eslint-disable-next-line no-await-in-loop -- rows of one file, then the next
    for await (const row of readResultRows(file, step.columnDelimiter)) {
      if (!header) {
        header = kind === 'failed' ? row.slice(2) : row;
        continue;
      }
      yield { row, header, kind };
    }
  }
}

/** the chunk's rows exactly as its job was sent them (mapped), as unprocessed rows */
async function* uploadedRows(step: ResolvedStep, chunk: ChunkState, planner: ChunkPlanner): AsyncGenerator<ProblemRow> {
  const body = (await planner.uploadBody(step, chunk))();
  // relaxed: these rows may be the very ones the org refused to parse, and they must still be read
  const parser = body.pipe(
    parse({ delimiter: delimiterCharacter(step.columnDelimiter), relaxColumnCount: true, relaxQuotes: true }),
  );
  body.on('error', (error) => parser.destroy(error));
  let header: string[] | undefined;
  for await (const row of parser as AsyncIterable<string[]>) {
    if (!header) {
      header = row;
      continue;
    }
    yield { row, header, kind: 'unprocessed' };
  }
}

/**
 * Whether a failed or unprocessed row of `chunk` goes into the next retry round. Rows of a job
 * that failed on its content (InvalidBatch: a bad header, a bad delete file) would fail again.
 */
export function isRetried(chunk: ChunkState, kind: ProblemKind, code: string, retryable: Set<string>): boolean {
  if (kind === 'failed') return retryable.has(code);
  return !(chunk.finished?.errorMessage ?? '').startsWith('InvalidBatch');
}

/** `sf__Error` → status code, for a failed row; every unprocessed row counts as UNPROCESSED */
export function problemCode(problem: ProblemRow): string {
  return problem.kind === 'failed' ? errorCodeOf(problem.row[1]) : 'UNPROCESSED';
}

/** the row's values without the sf__Id and sf__Error columns of a failed row */
export function uploadedValues(problem: ProblemRow): string[] {
  return problem.kind === 'failed' ? problem.row.slice(2) : problem.row;
}
