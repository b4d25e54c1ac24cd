import type { ColumnDelimiter, ColumnMapping, LineEnding } from '../manifest/types.js';
import { recordTooLargeError, sourceChangedError } from './errors.js';
import type { CsvHeader } from './header.js';
import { scanRecordBatches } from './records.js';
import { lineAt } from './scanner.js';
import { uploadSizeOverhead } from './upload.js';

/** One future ingest job: whole records of one file, as a byte range after the header. */
export type ChunkSpec = {
  file: string;
  byteStart: number;
  /** exclusive */
  byteEnd: number;
  records: number;
};

export type ChunkOptions = {
  delimiter: ColumnDelimiter;
  header: CsvHeader;
  maxRecords: number;
  /** limit on the UPLOAD of one job: header + records (the BOM is never sent) */
  maxBytes: number;
  /**
   * When the upload is re-serialised (a mapping, or a line ending other than the file's), records
   * can grow (constants, CRLF); give both so the byte limit holds for what is actually sent.
   */
  mapping?: ColumnMapping;
  lineEnding?: LineEnding;
};

/**
 * Cuts a CSV file into jobs on record boundaries, reading it once as a stream: each chunk holds at
 * most `maxRecords` records and its upload at most `maxBytes` bytes. The chunks tile the data part
 * of the file exactly — [header.byteLength, file end) — so nothing falls between two chunks (a blank
 * line stays in the chunk before the next record). A record that cannot fit in any job is an error that
 * names its line.
 */
export async function* planChunks(file: string, options: ChunkOptions): AsyncGenerator<ChunkSpec> {
  const { header, maxRecords, maxBytes } = options;
  const { headerBytes, perRecordBytes } = uploadSizeOverhead(header, {
    delimiter: options.delimiter,
    mapping: options.mapping ?? {},
    lineEnding: options.lineEnding ?? header.lineEnding,
  });
  let headerSeen = false;
  let chunkStart = header.byteLength;
  let chunkRecords = 0;
  let fileEnd = header.byteLength;

  for await (const batch of scanRecordBatches(file, options.delimiter)) {
    const ready: ChunkSpec[] = [];
    for (let k = 0; k < batch.length; k++) {
      const start = batch.starts[k];
      const end = batch.ends[k];
      fileEnd = end;
      if (!headerSeen) {
        headerSeen = true;
        // The header was read separately (validate, plan, a resumed run); if its size differs, the
        // file is not the one the header describes any more.
        if (end !== header.byteLength) throw sourceChangedError(file, 0, header.byteLength, 0);
        continue;
      }
      if (batch.blanks[k] === 1) continue;
      const recordBytes = end - start + perRecordBytes;
      if (headerBytes + recordBytes > maxBytes) {
        // eslint-disable-next-line no-await-in-loop -- only on the way out with an error
        const line = await lineAt(file, start);
        throw recordTooLargeError(file, line, end - start, maxBytes);
      }
      const bytesWithRecord = headerBytes + (end - chunkStart) + perRecordBytes * (chunkRecords + 1);
      if (chunkRecords > 0 && (chunkRecords >= maxRecords || bytesWithRecord > maxBytes)) {
        ready.push({ file, byteStart: chunkStart, byteEnd: start, records: chunkRecords });
        chunkStart = start;
        chunkRecords = 0;
      }
      chunkRecords++;
    }
    yield* ready;
  }
  if (chunkRecords > 0) yield { file, byteStart: chunkStart, byteEnd: fileEnd, records: chunkRecords };
}
