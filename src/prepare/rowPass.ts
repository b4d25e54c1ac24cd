/*
 * The pre-upload row pass over one source file: every record parsed once, streamed through the
 * step's row stages, and written either to the derived file its chunks are then cut from, or, when
 * a stage rejects it, to a rejected-rows file in dead-letter form (the row's columns as they would
 * have been uploaded + sf__ErrorCode + sf__ErrorMessage). Memory is one row at a time; files are
 * written under temporary names and committed (fsync, rename) only when the whole source was read.
 */
import { createReadStream } from 'node:fs';
import { parse } from 'csv-parse';
import type { ColumnDelimiter, ColumnMapping } from '../manifest/types.js';
import { delimiterCharacter } from '../csv/delimiters.js';
import { parsedRows } from '../csv/parsedRows.js';
import { AtomicCsvWriter, CsvWriterSet } from '../engine/resultFiles.js';
import { DEAD_LETTER_COLUMNS } from '../engine/stepAccounting.js';
import { isReject, type RowStage } from './stage.js';
import { rowMapper, type RowMapper } from './rowMapping.js';

export type RowPassOptions = {
  delimiter: ColumnDelimiter;
  /** the step's column mapping, applied to rejected rows only (the derived file keeps source names) */
  mapping: ColumnMapping;
  /** the derived file */
  out: string;
  /** the n-th rejected-rows file (one per distinct header a stage rejected rows under), n from 1 */
  rejectedPathFor: (n: number) => string;
  /**
   * which source rows the pass is about, given the source header; the others are left out (not
   * records of the step): the second pass of a self-reference sends only rows that set one
   */
  keep?: (header: readonly string[]) => (row: readonly string[]) => boolean;
};

export type RowPassResult = {
  file: string;
  records: number;
  rejected: Array<{ file: string; records: number }>;
};

export async function runRowPass(source: string, stages: RowStage[], options: RowPassOptions): Promise<RowPassResult> {
  const input = createReadStream(source);
  const parser = input.pipe(
    parse({
      delimiter: delimiterCharacter(options.delimiter),
      bom: true,
      relaxColumnCount: true,
      skipEmptyLines: true,
    }),
  );
  input.on('error', (error) => parser.destroy(error));
  const rejects = new CsvWriterSet(options.rejectedPathFor, DEAD_LETTER_COLUMNS, options.delimiter);
  const rejectedCounts = new Map<number, number>();
  const rejectedFiles: string[] = [];
  let writer: AtomicCsvWriter | undefined;
  /** the mapping of the rows each stage receives (stage k's input), made when it first rejects one */
  const mappers: Array<RowMapper | undefined> = [];
  let inputs: string[][] = [];
  let kept: ((row: readonly string[]) => boolean) | undefined;
  let records = 0;
  try {
    // not `for await` over the parser: Node's Readable iterator made the heap grow (parsedRows.ts)
    for await (const parsed of parsedRows<string[]>(parser)) {
      if (!writer) {
        inputs = [parsed];
        kept = options.keep?.(parsed);
        for (const stage of stages) inputs.push(stage.columns(inputs[inputs.length - 1]));
        // eslint-disable-next-line no-await-in-loop -- once, for the header
        writer = await AtomicCsvWriter.create(options.out, inputs[stages.length], options.delimiter, 'LF');
        continue;
      }
      if (kept && !kept(parsed)) continue;
      let row: string[] = parsed;
      let rejected = false;
      for (const [k, stage] of stages.entries()) {
        const applied = stage.apply(row);
        // awaited only when a stage answers later (a key looked up on disk): most answer at once
        // eslint-disable-next-line no-await-in-loop -- the stages of one row run in order
        const result = applied instanceof Promise ? await applied : applied;
        if (isReject(result)) {
          const mapper = (mappers[k] ??= rowMapper(inputs[k], options.mapping));
          // eslint-disable-next-line no-await-in-loop
          await rejects.write(mapper.columns, [...mapper.map(row), result.code, result.message]);
          const key = headerKey(mapper.columns, rejectedFiles);
          rejectedCounts.set(key, (rejectedCounts.get(key) ?? 0) + 1);
          rejected = true;
          break;
        }
        row = result;
      }
      if (rejected) continue;
      // eslint-disable-next-line no-await-in-loop
      await writer.write(row);
      records++;
    }
    // a source with a header only (or nothing) still gets a derived file to cut no chunks from
    writer ??= await AtomicCsvWriter.create(options.out, inputs[stages.length] ?? [], options.delimiter, 'LF');
    await writer.commit();
    const files = await rejects.commit();
    return {
      file: options.out,
      records,
      rejected: files.map((file, n) => ({ file, records: rejectedCounts.get(n) ?? 0 })),
    };
  } catch (error) {
    await writer?.discard();
    await rejects.discard();
    throw error;
  }
}

/** the number (from 0) of the rejected-rows file of a header, in order of first use, as CsvWriterSet numbers them */
function headerKey(columns: string[], seen: string[]): number {
  const key = JSON.stringify(columns);
  const at = seen.indexOf(key);
  if (at >= 0) return at;
  seen.push(key);
  return seen.length - 1;
}
