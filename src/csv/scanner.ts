import { createReadStream } from 'node:fs';
import type { ColumnDelimiter } from '../manifest/types.js';
import { CR, DELIMITER_BYTES, LF, QUOTE } from './delimiters.js';

/** One record of a CSV file as a byte range. */
export type RecordBoundary = {
  start: number;
  /** exclusive; includes the record's line ending */
  end: number;
  /** a line holding nothing but its line ending: not a record for Salesforce, nor for our counts */
  blank: boolean;
  /** bytes of its line ending at the end of the range: 2 for CRLF, 1 for LF or a lone CR, 0 for none */
  terminator?: number;
};

/**
 * Receives each record as three numbers rather than an object: a file of millions of records
 * would otherwise allocate an object per record, and V8 sometimes pretenures such objects into
 * the old generation — measured on a 1 GB CSV, peak RSS of `plan` then jumped from ~185 MB to
 * ~300 MB in about one run in three.
 */
export type RecordSink = (start: number, end: number, blank: boolean, terminator: number) => boolean | void;

/** What is left when the input ends: the last record if it had no line ending. */
export type ScanEnd = {
  last?: RecordBoundary;
  /** the input ended inside a quoted field whose opening quote is at this offset */
  unterminatedQuoteAt?: number;
};

// States of the RFC 4180 machine. Plain numbers (not an enum) keep the hot loop monomorphic.
// Outside quotes, FIELD_START and UNQUOTED behave alike: whether a quote starts a field is read from
// the byte before it.
const FIELD_START = 0;
const UNQUOTED = 1;
const QUOTED = 2;
/** saw a quote inside a quoted field: either the closing quote or the first half of "" */
const QUOTED_QUOTE = 3;

/**
 * Finds record boundaries in a CSV byte stream without decoding or splitting values.
 *
 * Only byte offsets are needed to cut a file into jobs, and csv-parse yields values, not the byte
 * offsets of records; it is also far slower for this. Measured on a 200 MB file of 8-column
 * records (1.75 M records, page-cached, Node 22): csv-parse counted them in 11.3 s, this scanner
 * in 0.49 s. It jumps with Buffer#indexOf (memchr) from quote to quote and LF to LF instead of
 * looking at every byte. Every byte that matters (quote, delimiter, LF) is ASCII, so UTF-8
 * multi-byte sequences can never be mistaken for one of them.
 *
 * Rules: a quote opens a quoted field only at the start of a field (a quote inside an unquoted
 * value is data, as csv-parse reads it with relax_quotes, which the re-serialising upload uses);
 * inside quotes, "" is a literal quote and CR/LF are data; outside quotes a record ends at CRLF, LF or
 * a lone CR, so a file whose line endings are mixed is read record by record and its upload can be
 * given the job's line ending throughout (lineEndings.ts). A CR that is the last byte of a buffer
 * may be the first half of a CRLF: the record stays open until the next byte is known. Looking for
 * CRs too costs a CRLF file one more memchr a record (measured on 110 MB of 8-column records: about
 * 0.26 s instead of 0.20 s); an LF file, which has none to find, nothing measurable.
 */
export class RecordScanner {
  private readonly delimiter: number;
  private state = FIELD_START;
  /** absolute offset of the next byte pushed */
  private offset: number;
  private recordStart: number;
  private quoteStart = 0;
  private previousByte = -1;
  /** the last byte pushed was a CR outside quotes: its record ends there unless the next byte is LF */
  private pendingCr = false;
  /** the first bytes of the input, to tell whether a quote right after a BOM starts a field */
  private readonly head = [-1, -1, -1];

  public constructor(delimiter: ColumnDelimiter, startOffset = 0) {
    this.delimiter = DELIMITER_BYTES[delimiter];
    this.offset = startOffset;
    this.recordStart = startOffset;
  }

  /** absolute offset just past the bytes pushed so far */
  public get position(): number {
    return this.offset;
  }

  /** where the record being read began; equals `position` when the bytes pushed so far end on a record boundary */
  public get pendingRecordStart(): number {
    return this.recordStart;
  }

  /**
   * Scans the next bytes and reports each record that ends inside them. `onRecord` may return
   * `false` to stop early; push then returns the index in `bytes` just past that record.
   */
  // eslint-disable-next-line complexity -- a byte-level state machine on the hot path, kept in one piece for speed
  public push(bytes: Buffer, onRecord: RecordSink): number {
    const delimiter = this.delimiter;
    const length = bytes.length;
    const base = this.offset;
    let state = this.state;
    if (base < 3) this.rememberHead(bytes);
    let i = 0;
    /** the CR that ended the last buffer and the LF at bytes[0] are one CRLF */
    const splitCrlf = this.pendingCr && length > 0 && bytes[0] === LF;
    if (this.pendingCr && length > 0) {
      this.pendingCr = false;
      state = FIELD_START;
      // CRLF split across buffers: the LF below ends the record; anything else means the CR ended it alone
      if (bytes[0] !== LF && this.endRecord(base, 1, onRecord) === false) {
        this.state = FIELD_START;
        return 0;
      }
    }
    /** the next LF (CR) at or after i, -1 when the buffer has none left, reused across quotes */
    let nextLf = -2;
    let nextCr = -2;
    while (i < length) {
      if (state === QUOTED) {
        const quote = bytes.indexOf(QUOTE, i);
        if (quote === -1) break;
        state = QUOTED_QUOTE;
        i = quote + 1;
        continue;
      }
      if (state === QUOTED_QUOTE) {
        if (bytes[i] === QUOTE) {
          state = QUOTED;
          i++;
          continue;
        }
        // that was the closing quote; what follows is read as outside quotes
        state = UNQUOTED;
      }
      // Outside quotes every LF or CR ends a record; a quote matters only at the start of a field.
      const quote = bytes.indexOf(QUOTE, i);
      const stop = quote === -1 ? length : quote;
      let crAtEnd = false;
      for (;;) {
        if (nextLf !== -1 && nextLf < i) nextLf = bytes.indexOf(LF, i);
        if (nextCr !== -1 && nextCr < i) nextCr = bytes.indexOf(CR, i);
        const lf = nextLf === -1 || nextLf >= stop ? -1 : nextLf;
        const cr = nextCr === -1 || nextCr >= stop ? -1 : nextCr;
        if (lf === -1 && cr === -1) break;
        let terminator = 1;
        if (cr !== -1 && (lf === -1 || cr < lf)) {
          if (cr + 1 === length) {
            crAtEnd = true;
            break;
          }
          if (bytes[cr + 1] === LF) terminator = 2;
          i = cr + terminator;
        } else {
          // (a CR before an LF in the same buffer was found first, so only a split CRLF gets here as one)
          if (lf === 0 && splitCrlf) terminator = 2;
          i = lf + 1;
        }
        if (this.endRecord(base + i, terminator, onRecord) === false) {
          this.state = FIELD_START;
          this.previousByte = bytes[i - 1];
          this.offset = base + i;
          return i;
        }
      }
      if (crAtEnd) {
        this.pendingCr = true;
        i = length;
        state = UNQUOTED;
        break;
      }
      if (quote === -1) {
        i = length;
        state = UNQUOTED;
        break;
      }
      const before = quote > 0 ? bytes[quote - 1] : this.previousByte;
      if (base + quote === this.recordStart || before === delimiter || this.isRightAfterBom(base + quote)) {
        state = QUOTED;
        this.quoteStart = base + quote;
      } else {
        state = UNQUOTED;
      }
      i = quote + 1;
    }
    this.state = state;
    if (length > 0) this.previousByte = bytes[length - 1];
    this.offset = base + length;
    return length;
  }

  /** Call when the input is exhausted. */
  public end(): ScanEnd {
    const result: ScanEnd = {};
    if (this.state === QUOTED) result.unterminatedQuoteAt = this.quoteStart;
    if (this.offset > this.recordStart) {
      // a lone CR as the very last byte still ended its record
      const terminator = this.pendingCr ? 1 : 0;
      const blank = terminator === 1 && this.offset - this.recordStart === 1;
      result.last = { start: this.recordStart, end: this.offset, blank, terminator };
      this.recordStart = this.offset;
      this.pendingCr = false;
    }
    return result;
  }

  private rememberHead(bytes: Buffer): void {
    for (let k = 0; this.offset + k < 3 && k < bytes.length; k++) this.head[this.offset + k] = bytes[k];
  }

  private isRightAfterBom(offset: number): boolean {
    return offset === 3 && this.head[0] === 0xef && this.head[1] === 0xbb && this.head[2] === 0xbf;
  }

  /** Reports the record that ends (exclusive, absolute) at `end` with a line ending of `terminator` bytes. */
  private endRecord(end: number, terminator: number, onRecord: RecordSink): boolean | void {
    const start = this.recordStart;
    this.recordStart = end;
    return onRecord(start, end, end - start === terminator, terminator);
  }
}

/**
 * The 1-based line of a byte offset in a file, for error messages only: counting lines while
 * scanning would cost every record a little, and errors are rare.
 */
export async function lineAt(file: string, offset: number): Promise<number> {
  if (offset <= 0) return 1;
  let line = 1;
  // a lone CR ends a line too (as it ends a record); a CR before an LF is counted with the LF
  let crBefore = false;
  const stream = createReadStream(file, { end: offset - 1, highWaterMark: 1024 * 1024 });
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    if (crBefore && chunk[0] !== LF) line++;
    for (let at = chunk.indexOf(LF); at !== -1; at = chunk.indexOf(LF, at + 1)) line++;
    for (let at = chunk.indexOf(CR); at !== -1 && at + 1 < chunk.length; at = chunk.indexOf(CR, at + 1)) {
      if (chunk[at + 1] !== LF) line++;
    }
    crBefore = chunk.length > 0 && chunk[chunk.length - 1] === CR;
  }
  return crBefore ? line + 1 : line;
}

/**
 * The records that ended in one buffer, as parallel typed arrays reused from buffer to buffer (see
 * RecordSink for why not objects), with the buffer itself so a consumer can hash what was read
 * without reading it again. Valid only until the next buffer is scanned.
 */
export class RecordBatch {
  public length = 0;
  public starts = new Float64Array(4096);
  public ends = new Float64Array(4096);
  public blanks = new Uint8Array(4096);
  /** bytes of each record's line ending (RecordBoundary.terminator) */
  public terminators = new Uint8Array(4096);
  /** the bytes scanned (empty for the last record of an input without a final line ending) */
  public bytes: Buffer = Buffer.alloc(0);
  /** the file offset of bytes[0] */
  public offset = 0;
  /** where the record still open after these bytes began (offset + bytes.length when none is) */
  public pendingStart = 0;

  /** bound, so it can be handed to RecordScanner.push as it is */
  public readonly add = (start: number, end: number, blank: boolean, terminator = 0): void => {
    if (this.length === this.starts.length) this.grow();
    this.starts[this.length] = start;
    this.ends[this.length] = end;
    this.blanks[this.length] = blank ? 1 : 0;
    this.terminators[this.length] = terminator;
    this.length++;
  };

  public clear(): void {
    this.length = 0;
  }

  private grow(): void {
    const size = this.starts.length * 2;
    const starts = new Float64Array(size);
    const ends = new Float64Array(size);
    const blanks = new Uint8Array(size);
    const terminators = new Uint8Array(size);
    starts.set(this.starts);
    ends.set(this.ends);
    blanks.set(this.blanks);
    terminators.set(this.terminators);
    this.starts = starts;
    this.ends = ends;
    this.blanks = blanks;
    this.terminators = terminators;
  }
}
