import { createHash, type Hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import type { ColumnDelimiter, ColumnMapping, LineEnding } from '../manifest/types.js';
import { recordTooLargeError, sourceChangedError } from './errors.js';
import type { CsvHeader } from './header.js';
import { RangeHasher } from './rangeHasher.js';
import { openSource, READ_BUFFER_BYTES, scanRecordBatches } from './records.js';
import { lineAt, type RecordBatch } from './scanner.js';
import { uploadSizeOverhead } from './upload.js';

/** One future ingest job: whole records of one file, as a byte range after the header. */
export type ChunkSpec = {
  file: string;
  byteStart: number;
  /** exclusive */
  byteEnd: number;
  records: number;
  /** SHA-256 (hex) of the bytes [byteStart, byteEnd) as planned: the upload sends them only if they still match */
  sha256?: string;
};

/** a file's size and modification time when it was opened for planning */
export type SourceStat = { size: number; mtimeMs: number };

export type ChunkOptions = {
  delimiter: ColumnDelimiter;
  header: CsvHeader;
  maxRecords: number;
  /** limit on the UPLOAD of one job: header + records (the BOM is never sent) */
  maxBytes: number;
  /**
   * What the upload does to the bytes: the mapping may re-serialise records (constants make them
   * grow), and every line is sent with the job's line ending (a CRLF job grows by a byte for each
   * line that ended in LF or a lone CR); give both so the byte limit holds for what is actually
   * sent. `lineEnding` defaults to the header's own.
   */
  mapping?: ColumnMapping;
  lineEnding?: LineEnding;
  /**
   * The file as fingerprinted when the run began: only its first `size` bytes are read, they must
   * hash to `sha256`, and no chunk is given out before they did.
   */
  fingerprint?: { size: number; sha256: string };
  /** give each chunk the SHA-256 of its bytes, for the upload to check */
  hashChunks?: boolean;
  /**
   * Receives the file's size and mtime as it was opened, once every byte read was checked: the
   * baseline of the quick check before each upload (openChunkStream's `expect`).
   */
  onVerified?: (stat: SourceStat) => void;
};

/**
 * Cuts a CSV file into jobs on record boundaries, reading it once as a stream: each chunk holds at
 * most `maxRecords` records and its upload at most `maxBytes` bytes, blank lines included (they are
 * sent as they are). A blank line stays in the chunk of the record before it while it fits; blank
 * lines that fit in no chunk fall between two chunks, since they carry no record. Otherwise the
 * chunks tile the data part of the file, [header.byteLength, file end). A record that cannot fit in
 * any job is an error that names its line.
 *
 * With a `fingerprint`, the bytes read are the ones the run began with, or planning stops with a
 * SourceChanged error: a file that is now longer stops it too, though the extra bytes would not be
 * read, because rows appended (or a last line still being written) during a run are not what the
 * run was started to load, and loading the old part silently would leave them out unnoticed.
 */
export async function* planChunks(file: string, options: ChunkOptions): AsyncGenerator<ChunkSpec> {
  const handle = await openSource(file);
  try {
    const stat = await handle.stat();
    const { fingerprint } = options;
    if (fingerprint && stat.size !== fingerprint.size) {
      const key = stat.size > fingerprint.size ? 'grew' : 'shrank';
      throw sourceChangedError(file, { key, tokens: [stat.size, fingerprint.size] }, { size: stat.size });
    }
    const cutter = new ChunkCutter(file, options);
    const fileHash = fingerprint ? createHash('sha256') : undefined;
    // With a fingerprint the chunks wait for its verdict at the end of the scan: once journaled, a
    // chunk of a changed file would have to be planned the same way again when the run resumes.
    const waiting = fingerprint ? new WaitingChunks(file) : undefined;
    let bytesRead = 0;
    try {
      for await (const batch of scanRecordBatches(file, options.delimiter, { handle, limit: fingerprint?.size })) {
        fileHash?.update(batch.bytes);
        bytesRead += batch.bytes.length;
        const ready = await cutter.take(batch);
        if (waiting) ready.forEach((chunk) => waiting.add(chunk));
        else yield* ready;
      }
    } catch (error) {
      // A record too large or a quote never closed in a file that changed: the change is what to
      // report, or the user would fix a line only to find the run refuses the edited file.
      if (fingerprint && fileHash) {
        bytesRead += await hashRest(handle, fileHash, bytesRead, fingerprint.size);
        checkFingerprint(file, fingerprint, bytesRead, fileHash);
      }
      throw error;
    }
    const last = cutter.finish();
    if (fingerprint && fileHash) checkFingerprint(file, fingerprint, bytesRead, fileHash);
    options.onVerified?.({ size: stat.size, mtimeMs: stat.mtimeMs });
    if (waiting) yield* waiting.drain();
    if (last) yield last;
  } finally {
    await handle.close();
  }
}

type Fingerprint = NonNullable<ChunkOptions['fingerprint']>;

function checkFingerprint(file: string, fingerprint: Fingerprint, bytesRead: number, hash: Hash): void {
  if (bytesRead < fingerprint.size) {
    throw sourceChangedError(file, { key: 'shrank', tokens: [bytesRead, fingerprint.size] }, { size: bytesRead });
  }
  const found = hash.digest('hex');
  if (found !== fingerprint.sha256) {
    throw sourceChangedError(file, { key: 'content', tokens: [fingerprint.sha256, found] }, { sha256: found });
  }
}

/** feeds `hash` the bytes [from, to) of the file (what a scan stopped by an error left unread); returns how many */
async function hashRest(handle: FileHandle, hash: Hash, from: number, to: number): Promise<number> {
  const buffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
  let position = from;
  while (position < to) {
    // eslint-disable-next-line no-await-in-loop
    const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, to - position), position);
    if (bytesRead === 0) break;
    hash.update(buffer.subarray(0, bytesRead));
    position += bytesRead;
  }
  return position - from;
}

/** The cutting rules of planChunks, fed one scanned buffer at a time. */
class ChunkCutter {
  private readonly header: CsvHeader;
  private readonly maxRecords: number;
  private readonly maxBytes: number;
  private readonly headerBytes: number;
  private readonly perRecordBytes: number;
  /** the job's line ending in bytes when the upload copies the file's bytes, each line's ending made this */
  private readonly lineEndingBytes?: number;
  /** what the line endings of the current chunk's lines add to (or take from) its upload */
  private chunkGrowth = 0;
  private readonly headerHash?: Hash;
  private readonly hasher?: RangeHasher;
  private headerSeen = false;
  private chunkStart: number;
  private chunkRecords = 0;
  private fileEnd: number;

  public constructor(
    private readonly file: string,
    options: ChunkOptions,
  ) {
    this.header = options.header;
    this.maxRecords = options.maxRecords;
    this.maxBytes = options.maxBytes;
    const overhead = uploadSizeOverhead(options.header, {
      delimiter: options.delimiter,
      mapping: options.mapping ?? {},
      lineEnding: options.lineEnding ?? options.header.lineEnding,
    });
    this.headerBytes = overhead.headerBytes;
    this.perRecordBytes = overhead.perRecordBytes;
    this.lineEndingBytes = overhead.lineEndingBytes;
    this.headerHash = options.header.sha256 ? createHash('sha256') : undefined;
    this.hasher = options.hashChunks ? new RangeHasher(options.header.byteLength) : undefined;
    this.chunkStart = options.header.byteLength;
    this.fileEnd = options.header.byteLength;
  }

  /** the chunks that end in this batch's bytes */
  public async take(batch: RecordBatch): Promise<ChunkSpec[]> {
    const { maxRecords, maxBytes } = this;
    const ready: ChunkSpec[] = [];
    this.hasher?.beginBuffer(batch.bytes, batch.offset);
    if (this.headerHash && batch.offset < this.header.byteLength) {
      this.headerHash.update(batch.bytes.subarray(0, this.header.byteLength - batch.offset));
    }
    for (let k = 0; k < batch.length; k++) {
      const start = batch.starts[k];
      const end = batch.ends[k];
      this.fileEnd = end;
      if (!this.headerSeen) {
        this.headerSeen = true;
        this.checkHeader(end);
        continue;
      }
      const growth = this.growth(batch.terminators[k]);
      if (batch.blanks[k] === 1) {
        if (this.uploadBytes(end, this.chunkRecords, growth) > maxBytes) {
          if (this.chunkRecords > 0) ready.push(this.cut(start));
          // blank lines alone do not fit: they are left out, as they carry no record
          if (this.uploadBytes(end, 0, growth) > maxBytes) this.skipTo(end);
          else this.chunkGrowth += growth;
        } else this.chunkGrowth += growth;
        this.hasher?.settle();
        continue;
      }
      if (this.headerBytes + (end - start) + growth + this.perRecordBytes > maxBytes) {
        // eslint-disable-next-line no-await-in-loop -- only on the way out with an error
        const line = await lineAt(this.file, start);
        throw recordTooLargeError(this.file, line, end - start, maxBytes);
      }
      const records = this.chunkRecords;
      if (records > 0 && (records >= maxRecords || this.uploadBytes(end, records + 1, growth) > maxBytes)) {
        ready.push(this.cut(start));
      } else if (records === 0 && this.uploadBytes(end, 1, growth) > maxBytes) {
        // the blank lines before the chunk's first record do not fit with it
        this.skipTo(start);
      }
      this.hasher?.settle();
      this.chunkRecords++;
      this.chunkGrowth += growth;
    }
    this.hasher?.endBuffer(batch.pendingStart);
    return ready;
  }

  /** the last chunk, once the input ended */
  public finish(): ChunkSpec | undefined {
    if (this.chunkRecords === 0) return undefined;
    const sha256 = this.hasher?.finish().toString('hex');
    const chunk = { file: this.file, byteStart: this.chunkStart, byteEnd: this.fileEnd, records: this.chunkRecords };
    return sha256 ? { ...chunk, sha256 } : chunk;
  }

  /** the upload of the current chunk if it ran to `end`, held `records` records and its last line grew by `growth` */
  private uploadBytes(end: number, records: number, growth: number): number {
    return this.headerBytes + (end - this.chunkStart) + this.perRecordBytes * records + this.chunkGrowth + growth;
  }

  /**
   * What sending a line with the job's line ending adds to the file's bytes (negative for CRLF
   * sent as LF): a CRLF job grows by a byte for each line that ended in LF or a lone CR. Only for
   * byte copies; a re-serialised upload's bound is in perRecordBytes already.
   */
  private growth(terminator: number): number {
    return this.lineEndingBytes === undefined || terminator === 0 ? 0 : this.lineEndingBytes - terminator;
  }

  private checkHeader(end: number): void {
    const { header } = this;
    // The header was read separately (validate, plan, a resumed run); if it differs, the file is
    // not the one the header describes any more.
    if (end !== header.byteLength || (this.headerHash && this.headerHash.digest('hex') !== header.sha256)) {
      throw sourceChangedError(this.file, { key: 'header', tokens: [header.byteLength] });
    }
  }

  private cut(at: number): ChunkSpec {
    const sha256 = this.hasher?.cut(at).toString('hex');
    const chunk = { file: this.file, byteStart: this.chunkStart, byteEnd: at, records: this.chunkRecords };
    this.chunkStart = at;
    this.chunkRecords = 0;
    this.chunkGrowth = 0;
    return sha256 ? { ...chunk, sha256 } : chunk;
  }

  private skipTo(at: number): void {
    this.hasher?.cut(at);
    this.chunkStart = at;
    this.chunkGrowth = 0;
  }
}

/**
 * Chunks held until their file is verified, packed (56 bytes a chunk, not an object each). A run's
 * chunks are few next to its records: every one becomes an ingest job, and an org takes about
 * 15,000 Bulk API batches a day.
 */
class WaitingChunks {
  private length = 0;
  private numbers = new Float64Array(3 * 256);
  private hashes = Buffer.alloc(32 * 256);
  private hashed = true;

  public constructor(private readonly file: string) {}

  public add(chunk: ChunkSpec): void {
    if (this.length * 3 === this.numbers.length) {
      const numbers = new Float64Array(this.numbers.length * 2);
      numbers.set(this.numbers);
      this.numbers = numbers;
      const hashes = Buffer.alloc(this.hashes.length * 2);
      this.hashes.copy(hashes);
      this.hashes = hashes;
    }
    this.numbers.set([chunk.byteStart, chunk.byteEnd, chunk.records], this.length * 3);
    if (chunk.sha256) this.hashes.write(chunk.sha256, this.length * 32, 'hex');
    else this.hashed = false;
    this.length++;
  }

  public *drain(): Generator<ChunkSpec> {
    for (let k = 0; k < this.length; k++) {
      const [byteStart, byteEnd, records] = this.numbers.subarray(k * 3, k * 3 + 3);
      const chunk = { file: this.file, byteStart, byteEnd, records };
      yield this.hashed ? { ...chunk, sha256: this.hashes.toString('hex', k * 32, k * 32 + 32) } : chunk;
    }
  }
}
