/*
 * Counts the records of a result file while it streams to disk, without parsing values: a record
 * ends at a line feed outside double quotes. Bulk API result files quote every value, so a line
 * feed inside a value never ends a record here; an escaped quote ("") flips the state twice and
 * leaves it as it was. Blank lines are not records. The first record is the header.
 */
import { Transform, type TransformCallback } from 'node:stream';

const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;

export class CsvRecordCounter extends Transform {
  /** bytes that went through */
  public bytes = 0;
  private lines = 0;
  private inQuotes = false;
  private lineHasContent = false;

  /** data records seen so far (the header is not one) */
  public get records(): number {
    return Math.max(0, this.lines - 1);
  }

  public override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.count(chunk);
    callback(null, chunk);
  }

  public override _flush(callback: TransformCallback): void {
    if (this.lineHasContent) this.lines++;
    this.lineHasContent = false;
    callback();
  }

  /**
   * Jumps from quote to quote and line feed to line feed with indexOf (native, fast) instead of
   * visiting every byte; each search result is reused until the scan passes it.
   */
  private count(chunk: Buffer): void {
    this.bytes += chunk.length;
    const length = chunk.length;
    let at = 0;
    let quote = -2;
    let lineFeed = -2;
    while (at < length) {
      if (quote !== -1 && quote < at) quote = chunk.indexOf(QUOTE, at);
      if (this.inQuotes) {
        this.lineHasContent = true;
        if (quote === -1) return;
        this.inQuotes = false;
        at = quote + 1;
        continue;
      }
      if (lineFeed !== -1 && lineFeed < at) lineFeed = chunk.indexOf(LF, at);
      const lineEnd = lineFeed === -1 ? length : lineFeed;
      if (quote !== -1 && quote < lineEnd) {
        this.inQuotes = true;
        this.lineHasContent = true;
        at = quote + 1;
        continue;
      }
      for (let i = at; !this.lineHasContent && i < lineEnd; i++) {
        if (chunk[i] !== CR) this.lineHasContent = true;
      }
      if (lineFeed === -1) return;
      if (this.lineHasContent) this.lines++;
      this.lineHasContent = false;
      at = lineFeed + 1;
    }
  }
}
