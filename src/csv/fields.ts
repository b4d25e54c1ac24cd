import { CR, LF, QUOTE } from './delimiters.js';

/**
 * The values of one record, as byte ranges into the record's bytes, with the same quoting rules as
 * RecordScanner: a quote opens a quoted value only at the start of a field; inside it "" is a
 * literal quote and CR/LF are data; after the closing quote, anything up to the delimiter is kept
 * as data (as csv-parse's relax_quotes reads it). Reused from record to record, so a scan of
 * millions of records allocates no object per record.
 */
export class RecordFields {
  public count = 0;
  /** start and end (exclusive) of each value; for a quoted value, inside the quotes */
  public starts = new Int32Array(64);
  public ends = new Int32Array(64);
  /** 1 when the value was quoted (it may then hold "" pairs and line breaks) */
  public quoted = new Uint8Array(64);
  private bytes: Buffer = Buffer.alloc(0);
  /** the bytes after the closing quote up to the delimiter, when a quoted value has any (rare) */
  private readonly tails = new Map<number, [number, number]>();

  public constructor(private readonly delimiter: number) {}

  /** Splits `record` (one whole record, its line ending included or not). */
  public split(record: Buffer): void {
    this.bytes = record;
    this.count = 0;
    this.tails.clear();
    let end = record.length;
    if (end > 0 && record[end - 1] === LF) {
      end--;
      if (end > 0 && record[end - 1] === CR) end--;
    }
    const delimiter = this.delimiter;
    let i = 0;
    for (;;) {
      if (i < end && record[i] === QUOTE) {
        const open = i + 1;
        let close = open;
        for (;;) {
          const quote = record.indexOf(QUOTE, close);
          if (quote === -1 || quote >= end) {
            close = end;
            break;
          }
          if (quote + 1 < end && record[quote + 1] === QUOTE) {
            close = quote + 2;
            continue;
          }
          close = quote;
          break;
        }
        let next = record.indexOf(delimiter, Math.min(close + 1, end));
        if (next === -1 || next > end) next = end;
        const index = this.push(open, close, 1);
        if (next > close + 1) this.tails.set(index, [close + 1, next]);
        if (next >= end) return;
        i = next + 1;
      } else {
        let next = record.indexOf(delimiter, i);
        if (next === -1 || next > end) next = end;
        this.push(i, next, 0);
        if (next >= end) return;
        i = next + 1;
      }
    }
  }

  /** The decoded text of value `k` (quotes removed, "" as one quote). */
  public value(k: number): string {
    const text = this.bytes.toString('utf8', this.starts[k], this.ends[k]);
    if (this.quoted[k] === 0) return text;
    const unescaped = text.includes('"') ? text.replace(/""/g, '"') : text;
    const tail = this.tails.get(k);
    return tail ? unescaped + this.bytes.toString('utf8', tail[0], tail[1]) : unescaped;
  }

  /** Whether value `k` is empty (an empty value leaves a field untouched in Bulk API 2.0). */
  public isEmpty(k: number): boolean {
    return this.starts[k] === this.ends[k] && !this.tails.has(k);
  }

  private push(start: number, end: number, quoted: number): number {
    if (this.count === this.starts.length) this.grow();
    const k = this.count++;
    this.starts[k] = start;
    this.ends[k] = end;
    this.quoted[k] = quoted;
    return k;
  }

  private grow(): void {
    const size = this.starts.length * 2;
    const starts = new Int32Array(size);
    const ends = new Int32Array(size);
    const quoted = new Uint8Array(size);
    starts.set(this.starts);
    ends.set(this.ends);
    quoted.set(this.quoted);
    this.starts = starts;
    this.ends = ends;
    this.quoted = quoted;
  }
}
