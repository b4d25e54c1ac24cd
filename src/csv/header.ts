import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { parse } from 'csv-parse/sync';
import type { ColumnDelimiter, LineEnding } from '../manifest/types.js';
import { CR, delimiterCharacter, UTF8_BOM } from './delimiters.js';
import { emptyCsvError, malformedCsvHeaderError } from './errors.js';
import { RecordScanner, type RecordBoundary } from './scanner.js';

export type CsvHeader = {
  columns: string[];
  bom: boolean;
  lineEnding: LineEnding;
  /**
   * bytes of the header record's own line ending (2 CRLF, 1 LF or lone CR, 0 none); when absent,
   * `lineEnding` tells (2 for CRLF, else 1)
   */
  terminatorBytes?: number;
  /** bytes of BOM + header record + its line ending = the offset where data starts */
  byteLength: number;
  /**
   * SHA-256 of those bytes: planning and every upload check that the file still starts with them,
   * so the columns a run maps values to are the ones its chunks were cut under
   */
  sha256?: string;
};

/**
 * A header longer than this is not a header: almost always a quote opened on the first line and
 * never closed, which would otherwise make us read the whole file looking for its end.
 */
const MAX_HEADER_BYTES = 1024 * 1024;

/** Reads the first record of a CSV file only (streamed; stops as soon as the record ends). */
export async function readCsvHeader(file: string, delimiter: ColumnDelimiter): Promise<CsvHeader> {
  const stream = createReadStream(file, { highWaterMark: 64 * 1024 });
  const scanner = new RecordScanner(delimiter);
  const pieces: Buffer[] = [];
  let header: RecordBoundary | undefined;
  let unterminatedQuote = false;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      const used = scanner.push(chunk, (start, end, blank, terminator) => {
        header = { start, end, blank, terminator };
        return false;
      });
      pieces.push(used === chunk.length ? chunk : chunk.subarray(0, used));
      if (header) break;
      if (scanner.position > MAX_HEADER_BYTES) {
        throw malformedCsvHeaderError(file, `no end of record in the first ${MAX_HEADER_BYTES} bytes`);
      }
    }
    if (!header) {
      const end = scanner.end();
      header = end.last;
      unterminatedQuote = end.unterminatedQuoteAt !== undefined;
    }
  } finally {
    stream.destroy();
  }

  const bytes = Buffer.concat(pieces);
  const bom = bytes.subarray(0, UTF8_BOM.length).equals(UTF8_BOM);
  const content = bytes.subarray(bom ? UTF8_BOM.length : 0);
  if (unterminatedQuote) throw malformedCsvHeaderError(file, 'a quoted column name is never closed');
  const text = stripLineEnding(content);
  if (text.length === 0) throw emptyCsvError(file);

  const lineEnding: LineEnding =
    content.length >= 2 && content[content.length - 1] === 0x0a && content[content.length - 2] === CR ? 'CRLF' : 'LF';
  return {
    columns: parseColumns(file, text, delimiter),
    bom,
    lineEnding,
    terminatorBytes: header?.terminator ?? 0,
    byteLength: bytes.length,
    sha256: createHash('sha256').update(bytes).digest('hex'),
  };
}

function stripLineEnding(record: Buffer): Buffer {
  let end = record.length;
  if (end > 0 && record[end - 1] === 0x0a) end--;
  if (end > 0 && record[end - 1] === CR) end--;
  return record.subarray(0, end);
}

function parseColumns(file: string, text: Buffer, delimiter: ColumnDelimiter): string[] {
  try {
    // The header is one small record, so parsing it with csv-parse costs nothing and gets every
    // quoting rule right for the column names themselves.
    const rows = parse(text, { delimiter: delimiterCharacter(delimiter), relaxQuotes: true, bom: false });
    if (rows.length !== 1) throw new Error(`found ${rows.length} records where one was expected`);
    return rows[0];
  } catch (error) {
    throw malformedCsvHeaderError(file, error instanceof Error ? error.message : String(error));
  }
}
