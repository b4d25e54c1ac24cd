/*
 * Retry rounds of a step: round n's chunks are cut from files written out of the saved results of
 * round n - 1 (rows that failed with a retryable code, and the unprocessed rows of jobs that failed
 * for a reason other than their content), then driven like any other chunk.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { ResolvedStep } from '../manifest/types.js';
import type { StepState } from '../journal/state.js';
import { CsvWriterSet } from './resultFiles.js';
import { isRetried, problemCode, problemRows, uploadedValues, type ProblemSources } from './chunkProblems.js';

/**
 * Builds retry round `attempt` of `step` and journals its chunks; resolves the number of chunks
 * the round has. The round's files are written before any of its chunks is journaled, so a round
 * with journaled chunks always has complete files; a round without is simply written again.
 */
export async function planRetryRound(
  step: ResolvedStep,
  state: StepState,
  attempt: number,
  sources: ProblemSources,
): Promise<number> {
  const alreadyPlanned = state.chunks.some((chunk) => chunk.attempt === attempt);
  // every file of the round was renamed into place before its first chunk was journaled, so the
  // folder lists them all, even those a crash kept from being planned
  const files = alreadyPlanned
    ? await retryFilesOf(step, attempt, sources)
    : await writeRetryFiles(step, state, attempt, sources);
  for (const file of files) {
    // eslint-disable-next-line no-await-in-loop
    await sources.planner.ensurePlanned(step, file, attempt);
  }
  return state.chunks.filter((chunk) => chunk.attempt === attempt).length;
}

function retryFile(step: ResolvedStep, attempt: number, n: number, sources: ProblemSources): string {
  return join(sources.folder.retryDir(step.id), `attempt-${attempt}-${n}.csv`);
}

async function retryFilesOf(step: ResolvedStep, attempt: number, sources: ProblemSources): Promise<string[]> {
  const pattern = new RegExp(`^attempt-${attempt}-(\\d+)\\.csv$`);
  return (await readdir(sources.folder.retryDir(step.id)))
    .map((name) => Number(pattern.exec(name)?.[1]))
    .filter((n) => Number.isInteger(n))
    .sort((a, b) => a - b)
    .map((n) => retryFile(step, attempt, n, sources));
}

async function writeRetryFiles(
  step: ResolvedStep,
  state: StepState,
  attempt: number,
  sources: ProblemSources,
): Promise<string[]> {
  const previous = state.chunks.filter((chunk) => chunk.attempt === attempt - 1);
  const retryable = new Set(step.retry.codes);
  const writers = new CsvWriterSet((n) => retryFile(step, attempt, n, sources), [], step.columnDelimiter);
  try {
    for (const chunk of previous) {
      // eslint-disable-next-line no-await-in-loop
      for await (const problem of problemRows(step, chunk, sources)) {
        if (!isRetried(chunk, problem.kind, problemCode(problem), retryable)) continue;
        await writers.write(problem.header, uploadedValues(problem));
      }
    }
    return await writers.commit();
  } catch (error) {
    await writers.discard();
    throw error;
  }
}
