import type { ColumnDelimiter, LineEnding } from '../manifest/types.js';
import { CR } from './delimiters.js';
import { RecordScanner } from './scanner.js';

const LINE_ENDING_BYTES: Readonly<Record<LineEnding, Buffer>> = {
  LF: Buffer.from('\n'),
  CRLF: Buffer.from('\r\n'),
};

/** bytes of a job's line ending */
export function lineEndingBytes(lineEnding: LineEnding): number {
  return LINE_ENDING_BYTES[lineEnding].length;
}

/**
 * Gives every record of a CSV byte stream the job's line ending, streaming: a real org fails the
 * whole job when a record ends otherwise (`ClientInputError : LineEnding is invalid on user data.
 * Current LineEnding setting is CRLF`, a real capture in the Bulk API 2.0 reference we keep), so a
 * source whose lines end in LF, CRLF and lone CRs alike is sent with one of them throughout.
 *
 * Record ends are found by the RecordScanner, the same reading that cut the chunks and counted their
 * records: line breaks inside quoted values are data and pass untouched, and a lone CR outside
 * quotes ends a record, as the scanner reads it. Output is the input's bytes, re-sliced only where a
 * line ending differs; at most the one trailing byte that may be the CR of a CRLF split across two
 * buffers is kept back until the next `push`. Feed the bytes the org is to receive (no BOM), and
 * hash the source bytes before they get here: the checks of a chunk are about the file, not the
 * upload.
 */
export class LineEndingNormaliser {
  private readonly scanner: RecordScanner;
  private readonly target: Buffer;
  /** stream offset up to which the input has been written out (or replaced) */
  private emitted = 0;
  /** the input's last byte when it was a CR: [emitted, position) when set */
  private carry?: Buffer;
  private bytes: Buffer = Buffer.alloc(0);
  private base = 0;
  private pieces: Buffer[] = [];

  public constructor(delimiter: ColumnDelimiter, lineEnding: LineEnding) {
    this.scanner = new RecordScanner(delimiter);
    this.target = LINE_ENDING_BYTES[lineEnding];
  }

  /**
   * The output for these bytes (possibly empty). It may be a view of `bytes`: use it before reusing
   * them. Nothing of `bytes` is kept past the call (the carried CR is a copy).
   */
  public push(bytes: Buffer): Buffer {
    // nothing new: a carried CR is still undecided
    if (bytes.length === 0) return bytes;
    this.bytes = bytes;
    this.base = this.scanner.position;
    this.pieces = [];
    this.scanner.push(bytes, this.onRecord);
    const end = this.base + bytes.length;
    const holdBack = bytes[bytes.length - 1] === CR ? 1 : 0;
    this.emitInput(end - holdBack);
    // the kept-back CR is copied: the caller may reuse the buffer it came from
    this.carry = holdBack ? Buffer.from([CR]) : undefined;
    return this.output();
  }

  /** what is left once the input ended */
  public end(): Buffer {
    this.bytes = Buffer.alloc(0);
    this.base = this.scanner.position;
    this.pieces = [];
    const { last } = this.scanner.end();
    if (last?.terminator) this.onRecord(last.start, last.end, last.blank, last.terminator);
    this.emitInput(this.base);
    this.carry = undefined;
    return this.output();
  }

  private readonly onRecord = (_start: number, end: number, _blank: boolean, terminator: number): void => {
    if (terminator === 0 || this.endsWithTarget(end, terminator)) return;
    this.emitInput(end - terminator);
    this.pieces.push(this.target);
    this.emitted = end;
  };

  private endsWithTarget(end: number, terminator: number): boolean {
    if (terminator !== this.target.length) return false;
    // one byte: LF, or a lone CR (which may sit in the carry)
    return terminator === 2 || this.byteAt(end - 1) !== CR;
  }

  private byteAt(offset: number): number {
    return offset >= this.base ? this.bytes[offset - this.base] : CR; // only the carried CR lies before base
  }

  /** writes the input out from `emitted` up to `to` (stream offsets), from the carry and the current bytes */
  private emitInput(to: number): void {
    if (to <= this.emitted) return;
    if (this.carry && this.emitted < this.base) {
      this.pieces.push(this.carry);
      this.emitted = this.base;
      this.carry = undefined;
    }
    if (to > this.emitted) this.pieces.push(this.bytes.subarray(this.emitted - this.base, to - this.base));
    this.emitted = to;
  }

  private output(): Buffer {
    const { pieces } = this;
    this.pieces = [];
    if (pieces.length === 1) return pieces[0];
    return Buffer.concat(pieces);
  }
}
