/*
 * A step's books as the run left them: its source records, what succeeded (the saved success
 * results' counts), what went to dead letters (the rows of its dead-letter files, counted as they
 * stream), and the retry rounds, from the journal state and the run folder alone.
 */
import { join } from 'node:path';
import type { ResolvedStep } from '../manifest/types.js';
import type { StepState } from '../journal/state.js';
import { readResultRows } from '../engine/resultFiles.js';
import { DEAD_LETTER_COLUMNS } from '../engine/stepAccounting.js';
import { rejectedRecords } from '../journal/preparedState.js';

export type StepBooks = {
  sourceRecords: number;
  succeeded: number;
  deadLetters: number;
  heldBack: number;
  deadLettersByCode: Record<string, number>;
  retryRounds: number;
  retriedRecords: number;
  accounted: boolean;
};

export async function readStepBooks(runDir: string, step: ResolvedStep, state: StepState): Promise<StepBooks> {
  let sourceRecords = 0;
  let retriedRecords = 0;
  let succeeded = 0;
  let retryRounds = 0;
  for (const chunk of state.chunks) {
    if (chunk.attempt === 0) sourceRecords += chunk.records;
    else retriedRecords += chunk.records;
    retryRounds = Math.max(retryRounds, chunk.attempt);
    succeeded += chunk.results?.counts.success ?? 0;
  }
  const deadLettersByCode: Record<string, number> = {};
  let deadLetters = 0;
  // rows the pre-upload pass did not send (orphans, unresolved lookups, unmapped values): never in a
  // chunk, always in the dead letters, counted from the journal's source.prepared lines
  const heldBack = rejectedRecords(state);
  sourceRecords += heldBack;
  for (const file of state.finished?.deadLetters ?? []) {
    let header: string[] | undefined;
    let codeAt = -1;
    // eslint-disable-next-line no-await-in-loop -- one file after the other
    for await (const row of readResultRows(join(runDir, file), step.columnDelimiter)) {
      if (!header) {
        header = row;
        codeAt = header.lastIndexOf(DEAD_LETTER_COLUMNS[0]);
        continue;
      }
      deadLetters++;
      const code = codeAt >= 0 ? (row[codeAt] ?? '') : '';
      deadLettersByCode[code] = (deadLettersByCode[code] ?? 0) + 1;
    }
  }
  return {
    sourceRecords,
    succeeded,
    deadLetters,
    heldBack,
    deadLettersByCode,
    retryRounds: state.finished?.retryRounds ?? retryRounds,
    retriedRecords,
    accounted: state.finished !== undefined && sourceRecords === succeeded + deadLetters,
  };
}
