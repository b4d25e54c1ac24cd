import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import { stringify } from 'csv-stringify/sync';
import type { ColumnDelimiter, ColumnMapping, LineEnding } from '../manifest/types.js';
import type { ChunkSpec, SourceStat } from './chunks.js';
import { delimiterCharacter, UTF8_BOM } from './delimiters.js';
import { sourceChangedError } from './errors.js';
import { LineEndingNormaliser } from './lineEndings.js';
import type { CsvHeader } from './header.js';
import { openSource, READ_BUFFER_BYTES } from './records.js';

export type UploadOptions = {
  header: CsvHeader;
  delimiter: ColumnDelimiter;
  /** the line ending declared on the ingest job */
  lineEnding: LineEnding;
  mapping: ColumnMapping;
  /** the file's size and mtime when its chunks were planned (planChunks' `onVerified`) */
  expect?: SourceStat;
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

/**
 * True when the upload is the file's own bytes: no column changes. Its line endings are still
 * made the job's (LineEndingNormaliser), so the file's may be anything and even mixed.
 */
export function isPureByteCopy(header: CsvHeader, mapping: ColumnMapping): boolean {
  const renamesSomething = Object.entries(mapping.rename ?? {}).some(
    ([from, to]) => from !== to && header.columns.includes(from),
  );
  const dropsSomething = (mapping.drop ?? []).some((column) => header.columns.includes(column));
  const addsConstants = Object.keys(mapping.constants ?? {}).length > 0;
  return !renamesSomething && !dropsSomething && !addsConstants;
}

/**
 * How large an upload is relative to the file's bytes, so chunking can hold the job byte limit.
 * A byte copy sends the header with the job's line ending, and each record (blank lines too) grows
 * or shrinks by the difference between its own line ending and the job's: `lineEndingBytes` is
 * given so the cutter can count that exactly from each record's terminator. A re-serialised upload
 * gets an upper bound on what re-writing adds to each record instead (constants, a line ending for
 * a last record that had none, LF turned into CRLF); dropped columns and quotes the source did not
 * need only shrink a record, so they are not subtracted.
 */
export function uploadSizeOverhead(
  header: CsvHeader,
  options: { delimiter: ColumnDelimiter; mapping: ColumnMapping; lineEnding: LineEnding },
): { headerBytes: number; perRecordBytes: number; lineEndingBytes?: number } {
  const lineEndingBytes = options.lineEnding === 'CRLF' ? 2 : 1;
  if (isPureByteCopy(header, options.mapping)) {
    const own = header.terminatorBytes ?? (header.lineEnding === 'CRLF' ? 2 : 1);
    const headerBytes = header.byteLength - (header.bom ? UTF8_BOM.length : 0) - own + (own > 0 ? lineEndingBytes : 0);
    return { headerBytes, perRecordBytes: 0, lineEndingBytes };
  }
  const serialize = serializer(options.delimiter, options.lineEnding);
  const headerBytes = Buffer.byteLength(serialize([mappedColumns(header, options.mapping)]));
  // a constant costs a delimiter plus its value as written (quoted if it must be)
  const constantBytes = Object.values(options.mapping.constants ?? {}).reduce(
    (total, value) => total + 1 + Buffer.byteLength(serialize([[value]])) - lineEndingBytes,
    0,
  );
  return { headerBytes, perRecordBytes: constantBytes + lineEndingBytes };
}

/**
 * The body of one job's upload: the (mapped) header record, then exactly the records of the chunk,
 * every one ending in the job's `lineEnding` whatever the file's own line endings are (a real org
 * fails a job whose data ends its records otherwise). The BOM is never sent. Every call re-reads
 * the file, so an interrupted upload is sent again from the file, never from memory. With nothing
 * to map the bytes are copied with only their line endings changed; otherwise each record is
 * parsed and written again with correct quoting, streaming either way.
 *
 * The file must still read as planned, or the stream fails with SourceChanged: its size and mtime
 * are checked against `expect` before anything is read, its header against `header.sha256`, and
 * the chunk's bytes, hashed as they are read, against `chunk.sha256`. That last check can only be
 * made once every byte was read, so the last piece of the body is held back until it passed: a
 * request body that fails never ends, and the org never receives a complete upload of bytes that
 * differ from the ones planned.
 */
export function openChunkStream(chunk: ChunkSpec, options: UploadOptions): Readable {
  const { header, mapping } = options;
  // a byte stream, not an object stream, so an HTTP request body buffers bytes, not pieces
  if (isPureByteCopy(header, mapping)) {
    return Readable.from(copyBytes(chunk, options), { objectMode: false });
  }
  return Readable.from(reserialize(chunk, options), { objectMode: false });
}

async function* copyBytes(chunk: ChunkSpec, options: UploadOptions): AsyncGenerator<Buffer> {
  const { header, delimiter, lineEnding } = options;
  const handle = await openSource(chunk.file);
  try {
    await checkStat(handle, chunk.file, options.expect);
    const headerBytes = await readHeader(handle, chunk.file, header);
    // one normaliser for header and records: the body is one CSV stream, and the chunk starts on a record boundary
    const normaliser = new LineEndingNormaliser(delimiter, lineEnding);
    const sentHeader = normaliser.push(headerBytes.subarray(header.bom ? UTF8_BOM.length : 0));
    if (sentHeader.length > 0) yield sentHeader;
    const range = new RangeReader(handle, chunk);
    // the range is hashed as read (RangeReader), before its line endings change
    yield* heldBackUntil(normalised(range.read(), normaliser), () => range.verify());
  } finally {
    await handle.close();
  }
}

async function* normalised(pieces: AsyncIterable<Buffer>, normaliser: LineEndingNormaliser): AsyncGenerator<Buffer> {
  for await (const piece of pieces) {
    const out = normaliser.push(piece);
    if (out.length > 0) yield out;
  }
  const tail = normaliser.end();
  if (tail.length > 0) yield tail;
}

async function* reserialize(chunk: ChunkSpec, options: UploadOptions): AsyncGenerator<Buffer> {
  const { header, delimiter, lineEnding, mapping } = options;
  const columns = outputColumns(header, mapping);
  const serialize = serializer(delimiter, lineEnding);
  const handle = await openSource(chunk.file);
  try {
    await checkStat(handle, chunk.file, options.expect);
    // the columns come from `header`: the file must still begin with it
    await readHeader(handle, chunk.file, header);
    yield Buffer.from(serialize([columns.map((column) => column.name)]));
    const range = new RangeReader(handle, chunk);
    let count = 0;
    // csv-parse reads LF and CRLF but takes a lone CR for data; made LF first, every record ends
    // where the scanner that counted them said (quoted line breaks stay as they are)
    const source = Readable.from(normalised(range.read(), new LineEndingNormaliser(delimiter, 'LF')));
    yield* heldBackUntil(
      serializedBatches(source, columns, delimiter, serialize, () => count++),
      () => range.verify(count),
    );
  } finally {
    await handle.close();
  }
}

async function* serializedBatches(
  source: Readable,
  columns: OutputColumn[],
  delimiter: ColumnDelimiter,
  serialize: (rows: string[][]) => string,
  onRecord: () => void,
): AsyncGenerator<Buffer> {
  // relaxQuotes reads a quote that does not open a field as data, as the record scanner does, so a
  // row the org would fail for a space next to a quote (`"John", "Smith"`, Bulk docs "Valid CSV
  // Record Rows") is not refused here as a whole file. Re-serialised, its stray quotes become part
  // of a correctly quoted value, so with a mapping such a row loads with those quotes in its values
  // where a byte copy (no mapping) would have it fail as a row error. A deliberate choice: csv-parse
  // no longer tells such a field from a well-quoted one, and the local org and a real org receive the
  // same bytes from this client, so a rehearsal still predicts the cutover.
  const records = source.pipe(
    parse({
      delimiter: delimiterCharacter(delimiter),
      // the normaliser before it left LF as the only line ending outside quotes
      recordDelimiter: ['\n'],
      relaxQuotes: true,
      relaxColumnCount: true,
      skipEmptyLines: true,
      bom: false,
    }),
  );
  source.on('error', (error) => records.destroy(error));
  let batch: string[][] = [];
  let batchChars = 0;
  try {
    for await (const values of records as AsyncIterable<string[]>) {
      onRecord();
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
}

/** Passes `pieces` on one behind; the last goes only if `check` (which throws otherwise) passes first. */
async function* heldBackUntil(pieces: AsyncIterable<Buffer>, check: () => void): AsyncGenerator<Buffer> {
  let held: Buffer | undefined;
  for await (const piece of pieces) {
    if (held) yield held;
    held = piece;
  }
  check();
  if (held) yield held;
}

/** the quick check: a file whose size or mtime moved since planning was written to during the run */
async function checkStat(handle: FileHandle, file: string, expect: SourceStat | undefined): Promise<void> {
  if (!expect) return;
  const now = await handle.stat();
  if (now.size === expect.size && now.mtimeMs === expect.mtimeMs) return;
  const tokens = [expect.size, now.size, new Date(expect.mtimeMs).toISOString(), new Date(now.mtimeMs).toISOString()];
  throw sourceChangedError(file, { key: 'modified', tokens }, { size: now.size });
}

/** the header record's bytes (with the BOM), checked against the header the run read */
async function readHeader(handle: FileHandle, file: string, header: CsvHeader): Promise<Buffer> {
  const bytes = Buffer.alloc(header.byteLength);
  const { bytesRead } = await handle.read(bytes, 0, bytes.length, 0);
  const sameBytes =
    bytesRead === bytes.length &&
    (header.sha256 === undefined || createHash('sha256').update(bytes).digest('hex') === header.sha256);
  if (!sameBytes) throw sourceChangedError(file, { key: 'header', tokens: [header.byteLength] });
  return bytes;
}

/** Reads a chunk's byte range in fresh buffers, hashing and counting what it read. */
class RangeReader {
  private readonly hash = createHash('sha256');
  private bytesRead = 0;

  public constructor(
    private readonly handle: FileHandle,
    private readonly chunk: ChunkSpec,
  ) {}

  public async *read(): AsyncGenerator<Buffer> {
    const { byteStart, byteEnd } = this.chunk;
    while (byteStart + this.bytesRead < byteEnd) {
      const buffer = Buffer.allocUnsafe(Math.min(READ_BUFFER_BYTES, byteEnd - byteStart - this.bytesRead));
      // eslint-disable-next-line no-await-in-loop
      const { bytesRead } = await this.handle.read(buffer, 0, buffer.length, byteStart + this.bytesRead);
      if (bytesRead === 0) return;
      const bytes = bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead);
      this.hash.update(bytes);
      this.bytesRead += bytesRead;
      yield bytes;
    }
  }

  /** throws SourceChanged unless the range was read whole, as planned (and held `records`, when counted) */
  public verify(records?: number): void {
    const { file, byteStart, byteEnd } = this.chunk;
    const data = { byteStart, byteEnd, records: this.chunk.records };
    if (this.bytesRead !== byteEnd - byteStart) {
      throw sourceChangedError(file, { key: 'short', tokens: [byteEnd, this.chunk.records] }, data);
    }
    const sha256 = this.hash.digest('hex');
    const otherBytes = this.chunk.sha256 !== undefined && sha256 !== this.chunk.sha256;
    if (otherBytes || (records !== undefined && records !== this.chunk.records)) {
      throw sourceChangedError(file, { key: 'range', tokens: [byteStart, byteEnd, this.chunk.records] }, data);
    }
  }
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
