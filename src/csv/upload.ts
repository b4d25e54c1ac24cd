import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import { stringify } from 'csv-stringify/sync';
import type { ColumnDelimiter, ColumnMapping, LineEnding } from '../manifest/types.js';
import type { ChunkSpec } from './chunks.js';
import { delimiterCharacter, UTF8_BOM } from './delimiters.js';
import { sourceChangedError } from './errors.js';
import type { CsvHeader } from './header.js';
import { READ_BUFFER_BYTES } from './records.js';

export type UploadOptions = {
  header: CsvHeader;
  delimiter: ColumnDelimiter;
  /** the line ending declared on the ingest job */
  lineEnding: LineEnding;
  mapping: ColumnMapping;
};

/** Where each uploaded column's value comes from: a source column, or a constant. */
type OutputColumn = { name: string; source: number } | { name: string; constant: string };

/** Re-serialised uploads are flushed in pieces about this large. */
const OUTPUT_BATCH_CHARS = 256 * 1024;

/**
 * The columns of the upload: the file's columns minus `drop`, renamed by `rename`, then every
 * `constants` field not already among them (a constant naming an existing column replaces its
 * values). Names in `rename`/`drop` that are not in the header change nothing here:
 * `sf migrate validate` reports them before any run.
 */
export function mappedColumns(header: CsvHeader, mapping: ColumnMapping): string[] {
  return outputColumns(header, mapping).map((column) => column.name);
}

/** True when the upload is the file's own bytes: no column changes and the job's line ending is the file's. */
export function isPureByteCopy(header: CsvHeader, mapping: ColumnMapping, lineEnding: LineEnding): boolean {
  const renamesSomething = Object.entries(mapping.rename ?? {}).some(
    ([from, to]) => from !== to && header.columns.includes(from)
  );
  const dropsSomething = (mapping.drop ?? []).some((column) => header.columns.includes(column));
  const addsConstants = Object.keys(mapping.constants ?? {}).length > 0;
  return !renamesSomething && !dropsSomething && !addsConstants && lineEnding === header.lineEnding;
}

/**
 * The line ending a step's upload of this file is sent with (and its job must declare): the file's
 * own when the mapping leaves the columns alone (the bytes are copied), else the step's.
 */
export function uploadLineEnding(header: CsvHeader, mapping: ColumnMapping, stepLineEnding: LineEnding): LineEnding {
  return isPureByteCopy(header, mapping, header.lineEnding) ? header.lineEnding : stepLineEnding;
}

/**
 * How large an upload is relative to the file's bytes, so chunking can hold the job byte limit:
 * the header as sent, and an upper bound on what re-serialising adds to each record (constants, a
 * line ending for a last record that had none, LF turned into CRLF). Dropped columns and quotes
 * the source did not need only shrink a record, so they are not subtracted.
 */
export function uploadSizeOverhead(
  header: CsvHeader,
  options: { delimiter: ColumnDelimiter; mapping: ColumnMapping; lineEnding: LineEnding }
): { headerBytes: number; perRecordBytes: number } {
  if (isPureByteCopy(header, options.mapping, options.lineEnding)) {
    return { headerBytes: header.byteLength - (header.bom ? UTF8_BOM.length : 0), perRecordBytes: 0 };
  }
  const serialize = serializer(options.delimiter, options.lineEnding);
  const headerBytes = Buffer.byteLength(serialize([mappedColumns(header, options.mapping)]));
  const lineEndingBytes = options.lineEnding === 'CRLF' ? 2 : 1;
  // a constant costs a delimiter plus its value as written (quoted if it must be)
  const constantBytes = Object.values(options.mapping.constants ?? {}).reduce(
    (total, value) => total + 1 + Buffer.byteLength(serialize([[value]])) - lineEndingBytes,
    0
  );
  return { headerBytes, perRecordBytes: constantBytes + lineEndingBytes };
}

/**
 * The body of one job's upload: the (mapped) header record, then exactly the records of the chunk.
 * The BOM is never sent. Every call re-reads the file, so an interrupted upload is sent again from
 * the file, never from memory. With nothing to map the bytes are copied as they are; otherwise
 * each record is parsed and written again with correct quoting, streaming either way.
 */
export function openChunkStream(chunk: ChunkSpec, options: UploadOptions): Readable {
  const { header, mapping, lineEnding, delimiter } = options;
  // a byte stream, not an object stream, so an HTTP request body buffers bytes, not pieces
  if (isPureByteCopy(header, mapping, lineEnding)) {
    return Readable.from(copyBytes(chunk, header), { objectMode: false });
  }
  return Readable.from(reserialize(chunk, header, delimiter, lineEnding, mapping), { objectMode: false });
}

async function* copyBytes(chunk: ChunkSpec, header: CsvHeader): AsyncGenerator<Buffer> {
  const headerStart = header.bom ? UTF8_BOM.length : 0;
  const headerBytes = Buffer.alloc(header.byteLength - headerStart);
  const handle = await open(chunk.file, 'r');
  try {
    const { bytesRead } = await handle.read(headerBytes, 0, headerBytes.length, headerStart);
    if (bytesRead !== headerBytes.length) throw sourceChangedError(chunk.file, 0, header.byteLength, 0);
  } finally {
    await handle.close();
  }
  yield headerBytes;

  let copied = 0;
  const stream = createReadStream(chunk.file, {
    start: chunk.byteStart,
    end: chunk.byteEnd - 1,
    highWaterMark: READ_BUFFER_BYTES,
  });
  try {
    for await (const bytes of stream as AsyncIterable<Buffer>) {
      copied += bytes.length;
      yield bytes;
    }
  } finally {
    stream.destroy();
  }
  if (copied !== chunk.byteEnd - chunk.byteStart) {
    throw sourceChangedError(chunk.file, chunk.byteStart, chunk.byteEnd, chunk.records);
  }
}

async function* reserialize(
  chunk: ChunkSpec,
  header: CsvHeader,
  delimiter: ColumnDelimiter,
  lineEnding: LineEnding,
  mapping: ColumnMapping
): AsyncGenerator<Buffer> {
  const columns = outputColumns(header, mapping);
  const serialize = serializer(delimiter, lineEnding);
  yield Buffer.from(serialize([columns.map((column) => column.name)]));

  const source = createReadStream(chunk.file, {
    start: chunk.byteStart,
    end: chunk.byteEnd - 1,
    highWaterMark: READ_BUFFER_BYTES,
  });
  let bytesRead = 0;
  source.on('data', (bytes: Buffer | string) => {
    bytesRead += Buffer.byteLength(bytes);
  });
  const records = source.pipe(
    parse({
      delimiter: delimiterCharacter(delimiter),
      // the same reading as the record scanner: LF ends a record, a CR before it is part of CRLF
      recordDelimiter: ['\r\n', '\n'],
      relaxQuotes: true,
      relaxColumnCount: true,
      skipEmptyLines: true,
      bom: false,
    })
  );
  let count = 0;
  let batch: string[][] = [];
  let batchChars = 0;
  try {
    for await (const values of records as AsyncIterable<string[]>) {
      count++;
      const row = columns.map((column) => ('constant' in column ? column.constant : (values[column.source] ?? '')));
      batch.push(row);
      batchChars += row.reduce((total, value) => total + value.length + 1, 0);
      if (batchChars >= OUTPUT_BATCH_CHARS) {
        yield Buffer.from(serialize(batch));
        batch = [];
        batchChars = 0;
      }
    }
  } finally {
    source.destroy();
  }
  if (batch.length > 0) yield Buffer.from(serialize(batch));
  if (count !== chunk.records || bytesRead !== chunk.byteEnd - chunk.byteStart)
    throw sourceChangedError(chunk.file, chunk.byteStart, chunk.byteEnd, chunk.records);
}

function outputColumns(header: CsvHeader, mapping: ColumnMapping): OutputColumn[] {
  const dropped = new Set(mapping.drop ?? []);
  const rename = mapping.rename ?? {};
  const constants = Object.entries(mapping.constants ?? {});
  const constantValues = new Map(constants);
  const columns: OutputColumn[] = [];
  header.columns.forEach((column, index) => {
    if (dropped.has(column)) return;
    const name = Object.prototype.hasOwnProperty.call(rename, column) ? rename[column] : column;
    const constant = constantValues.get(name);
    columns.push(constant === undefined ? { name, source: index } : { name, constant });
  });
  for (const [name, constant] of constants) {
    if (!columns.some((column) => column.name === name)) columns.push({ name, constant });
  }
  return columns;
}

function serializer(delimiter: ColumnDelimiter, lineEnding: LineEnding): (rows: string[][]) => string {
  const options = {
    delimiter: delimiterCharacter(delimiter),
    // eslint-disable-next-line camelcase
    record_delimiter: lineEnding === 'CRLF' ? '\r\n' : '\n',
    // eslint-disable-next-line camelcase
    quote_record_delimiter: true,
  };
  return (rows) => stringify(rows, options);
}
