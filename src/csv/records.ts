import { createReadStream } from 'node:fs';
import type { ColumnDelimiter } from '../manifest/types.js';
import { unterminatedQuoteError } from './errors.js';
import { lineAt, RecordScanner, type RecordBoundary } from './scanner.js';

/** Large reads: the scanner is CPU-bound, and fewer, bigger buffers keep it busy without growing memory. */
export const READ_BUFFER_BYTES = 256 * 1024;

/**
 * Streams a whole CSV file through the record scanner. `onBatch` receives the records that ended in
 * each buffer read (never more than one buffer's worth), so callers can be async generators without
 * paying a promise per record. The last record is reported even without a trailing line ending;
 * an unterminated quoted value is an error naming its line. (Why a hand-written scanner and not
 * csv-parse, with the measurement: see RecordScanner.)
 */
export async function* scanRecordBatches(file: string, delimiter: ColumnDelimiter): AsyncGenerator<RecordBoundary[]> {
  const scanner = new RecordScanner(delimiter);
  const stream = createReadStream(file, { highWaterMark: READ_BUFFER_BYTES });
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      const batch: RecordBoundary[] = [];
      scanner.push(chunk, (record) => {
        batch.push(record);
      });
      if (batch.length > 0) yield batch;
    }
  } finally {
    stream.destroy();
  }
  const end = scanner.end();
  if (end.unterminatedQuoteAt !== undefined)
    throw unterminatedQuoteError(file, await lineAt(file, end.unterminatedQuoteAt));
  if (end.last) yield [end.last];
}

/**
 * Counts the data records of a CSV file (the header record and blank lines are not records),
 * reading it once as a stream. Quoted line breaks stay inside their record. `bytes` is the size of
 * the file as read.
 */
export async function countRecords(
  file: string,
  delimiter: ColumnDelimiter
): Promise<{ records: number; bytes: number }> {
  let records = 0;
  let bytes = 0;
  let headerSeen = false;
  for await (const batch of scanRecordBatches(file, delimiter)) {
    for (const record of batch) {
      bytes = record.end;
      if (!headerSeen) headerSeen = true;
      else if (!record.blank) records++;
    }
  }
  return { records, bytes };
}
