/*
 * A step's books: every source record accounted for (succeeded, failed for good, or unprocessed)
 * once its last retry round ended, the dead letters written, the failure threshold applied (the
 * wave gate), and the per-step summary `run`, `resume` and `status` show, from journal state alone.
 */
import { relative } from 'node:path';
import { Messages } from '@salesforce/core';
import type { LoadedManifest, ResolvedStep } from '../manifest/types.js';
import { stepFinished, type EventBody } from '../journal/eventBuilders.js';
import type { ChunkState, RunState, StepState } from '../journal/state.js';
import { delimiterCharacter } from '../csv/delimiters.js';
import { rejectedRecords } from '../journal/preparedState.js';
import { CsvWriterSet, errorMessageOf, readResultRows } from './resultFiles.js';
import { isRetried, problemCode, problemRows, uploadedValues, type ProblemSources } from './chunkProblems.js';
import type { JobError, StepSummary } from './outcome.js';

Messages.importMessagesDirectoryFromMetaUrl(import.meta.url);
const messages = Messages.loadMessages('@sf-migrate/plugin-migrate', 'engine');

/** what a dead letter adds to the uploaded columns (`sf migrate retry` drops them again) */
export const DEAD_LETTER_COLUMNS = ['sf__ErrorCode', 'sf__ErrorMessage'];

/** the highest retry round among chunks (no spread: a step can have very many chunks) */
function lastRoundOf(chunks: ChunkState[]): number {
  return chunks.reduce((round, chunk) => Math.max(round, chunk.attempt), 0);
}

function sourceRecords(chunks: ChunkState[]): number {
  return chunks.filter((chunk) => chunk.attempt === 0).reduce((sum, chunk) => sum + chunk.records, 0);
}

/** the step's records: those cut into chunks, and those the row pass did not send (src/prepare/) */
function stepRecords(state: StepState): number {
  return sourceRecords(state.chunks) + rejectedRecords(state);
}

/**
 * The rows the row pass did not send, from its rejected-rows files (dead-letter form already: the
 * uploaded columns, then code and message), each with the header its values belong to.
 */
async function* rejectedRows(
  step: ResolvedStep,
  state: StepState,
): AsyncGenerator<{ header: string[]; values: string[]; code: string; message: string }> {
  for (const prepared of state.prepared ?? []) {
    for (const rejected of prepared.rejected) {
      let header: string[] | undefined;
      // eslint-disable-next-line no-await-in-loop -- one file after another
      for await (const row of readResultRows(rejected.file, step.columnDelimiter)) {
        if (!header) {
          header = row.slice(0, row.length - DEAD_LETTER_COLUMNS.length);
          continue;
        }
        const width = header.length;
        yield { header, values: row.slice(0, width), code: row[width] ?? '', message: row[width + 1] ?? '' };
      }
    }
  }
}

/**
 * A dead-letter row as wide as its header, so the file stays rectangular and its two error columns
 * line up: a short row is padded with empty cells, and the cells beyond the header (a source row
 * with extra cells) are folded into the last column, joined by the delimiter. Folded rather than
 * truncated: the dead letter is where the user fixes the row, and truncating would hide the very
 * cells that made it fail.
 */
export function fitToHeader(values: string[], width: number, delimiter: string): string[] {
  if (values.length === width || width === 0) return values;
  if (values.length < width) return [...values, ...new Array<string>(width - values.length).fill('')];
  return [...values.slice(0, width - 1), values.slice(width - 1).join(delimiter)];
}

/**
 * Accounts for every source record of the step, writes its dead letters (dead-letter/<step>.csv,
 * one file per distinct uploaded header) and applies the failure threshold. Resolves the
 * `step.finished` event to journal.
 */
export async function accountStep(
  step: ResolvedStep,
  state: StepState,
  sources: ProblemSources,
  durationMs: number,
): Promise<EventBody<'step.finished'>> {
  const lastRound = lastRoundOf(state.chunks);
  const retryable = new Set(step.retry.codes);
  const delimiter = delimiterCharacter(step.columnDelimiter);
  const failuresByCode: Record<string, number> = {};
  const counts = { succeeded: 0, failed: 0, unprocessed: 0 };
  const deadLetterPath = sources.folder.deadLetterPath(step.id);
  const writers = new CsvWriterSet(
    // "X 2.csv": a space cannot occur in a step id, so no other step's name; no parentheses, which
    // are glob syntax: `retry` lists the files as sources, and "X (2).csv" matched no file
    (n) => (n === 1 ? deadLetterPath : deadLetterPath.replace(/\.csv$/, ` ${n}.csv`)),
    DEAD_LETTER_COLUMNS,
    step.columnDelimiter,
  );
  let deadLetters: string[];
  try {
    // rows never sent: failed records of the step, in its dead letters like the org's failures
    for await (const rejected of rejectedRows(step, state)) {
      failuresByCode[rejected.code] = (failuresByCode[rejected.code] ?? 0) + 1;
      counts.failed++;
      await writers.write(rejected.header, [...rejected.values, rejected.code, rejected.message]);
    }
    for (const chunk of state.chunks) {
      counts.succeeded += chunk.results?.counts.success ?? 0;
      const retriedLater = chunk.attempt < lastRound;
      // eslint-disable-next-line no-await-in-loop
      for await (const problem of problemRows(step, chunk, sources)) {
        const code = problemCode(problem);
        if (retriedLater && isRetried(chunk, problem.kind, code, retryable)) continue;
        const message =
          problem.kind === 'failed'
            ? errorMessageOf(problem.row[1])
            : (chunk.finished?.errorMessage ?? messages.getMessage('reason.unprocessed'));
        if (problem.kind === 'failed') failuresByCode[code] = (failuresByCode[code] ?? 0) + 1;
        counts[problem.kind]++;
        const values = fitToHeader(uploadedValues(problem), problem.header.length, delimiter);
        await writers.write(problem.header, [...values, code, message]);
      }
    }
    deadLetters = (await writers.commit()).map((file) => relative(sources.folder.dir, file));
  } catch (error) {
    await writers.discard();
    throw error;
  }

  const records = stepRecords(state);
  const gate = evaluateGate(step, { records, ...counts });
  return stepFinished(step.id, {
    records,
    ...counts,
    jobs: state.chunks.length,
    gate: gate.passed ? 'passed' : 'failed',
    reason: gate.reason,
    failuresByCode,
    retryRounds: lastRound,
    durationMs,
    deadLetters,
  });
}

export function evaluateGate(
  step: ResolvedStep,
  counts: { records: number; succeeded: number; failed: number; unprocessed: number },
): { passed: boolean; reason?: string } {
  const accounted = counts.succeeded + counts.failed + counts.unprocessed;
  if (accounted !== counts.records) {
    return { passed: false, reason: messages.getMessage('reason.unaccounted', [counts.records, accounted]) };
  }
  const bad = counts.failed + counts.unprocessed;
  const { percent, records } = step.failureThreshold;
  if (records !== undefined && bad > records) {
    return { passed: false, reason: messages.getMessage('reason.thresholdRecords', [bad, records]) };
  }
  if (percent !== undefined && counts.records > 0 && (bad / counts.records) * 100 > percent) {
    const share = ((bad / counts.records) * 100).toFixed(2);
    return { passed: false, reason: messages.getMessage('reason.thresholdPercent', [bad, share, percent]) };
  }
  return { passed: true };
}

/** jobs of the step that ended Failed or Aborted with a message of their own, in chunk order */
function jobErrorsOf(chunks: ChunkState[]): JobError[] {
  const errors: JobError[] = [];
  for (const chunk of chunks) {
    if (chunk.phase !== 'finished' && chunk.phase !== 'saved' && chunk.phase !== 'deleted') continue;
    if (chunk.finished.errorMessage === undefined || chunk.finished.state === 'JobComplete') continue;
    errors.push({ jobId: chunk.jobId, state: chunk.finished.state, errorMessage: chunk.finished.errorMessage });
  }
  return errors;
}

/** the per-step summary of a run, from its journal state alone */
export function summarizeSteps(manifest: LoadedManifest, state: RunState): StepSummary[] {
  const summaries: StepSummary[] = [];
  for (const [wave, ids] of manifest.waves.entries()) {
    for (const id of ids) {
      const step = manifest.steps.find((candidate) => candidate.id === id);
      const known = state.steps.get(id);
      if (!step || !known) continue;
      const done = known.finished;
      const jobErrors = jobErrorsOf(known.chunks);
      summaries.push({
        step: id,
        object: step.object,
        operation: step.operation,
        wave,
        records: done?.records ?? stepRecords(known),
        succeeded:
          done?.succeeded ?? known.chunks.reduce((sum, chunk) => sum + (chunk.results?.counts.success ?? 0), 0),
        failed: done?.failed ?? 0,
        unprocessed: done?.unprocessed ?? 0,
        failuresByCode: done?.failuresByCode ?? {},
        ...(jobErrors.length > 0 ? { jobErrors } : {}),
        jobs: known.chunks.length,
        retryRounds: done?.retryRounds ?? lastRoundOf(known.chunks),
        durationMs: done?.durationMs ?? 0,
        gate: done?.gate ?? 'failed',
        ...(done?.reason
          ? { gateReason: done.reason }
          : !done
            ? { gateReason: messages.getMessage('reason.notFinished') }
            : {}),
        ...(done?.deadLetters?.length ? { deadLetter: done.deadLetters.join(', ') } : {}),
      });
    }
  }
  return summaries;
}
