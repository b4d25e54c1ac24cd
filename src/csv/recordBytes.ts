import { open } from 'node:fs/promises';
import type { ColumnDelimiter } from '../manifest/types.js';
import { CR, LF } from './delimiters.js';
import { recordTooLargeError, unterminatedQuoteError } from './errors.js';
import { READ_BUFFER_BYTES, scanRecordBatches } from './records.js';
import { lineAt, RecordScanner } from './scanner.js';

/**
 * Receives one record: its bytes (line ending included; valid only during the call), the physical
 * line it starts on (1-based, counted as lineAt does: LF, CRLF and a lone CR each end a line), and
 * whether it is a blank line.
 */
export type RecordBytesSink = (bytes: Buffer, line: number, blank: boolean) => void;

/**
 * Streams every record of a file, the header first, with its bytes and line: the scan of
 * `validate --scan` reads values, where planning needs only offsets. A record that spans read
 * buffers is assembled from a carry of its first bytes, bounded by `maxRecordBytes` so a stray
 * quote cannot make the carry grow to the size of the file.
 */
export async function forEachRecord(
  file: string,
  delimiter: ColumnDelimiter,
  onRecord: RecordBytesSink,
  maxRecordBytes: number,
): Promise<void> {
  // The bytes of the record still open, in pieces: joining them only when it ends keeps a long
  // record (up to maxRecordBytes) from being copied once per buffer read.
  let carry: Buffer[] = [];
  let carryLength = 0;
  let carryStart = 0;
  let line = 1;
  for await (const batch of scanRecordBatches(file, delimiter)) {
    for (let k = 0; k < batch.length; k++) {
      const start = batch.starts[k];
      const end = batch.ends[k];
      let bytes: Buffer;
      if (start >= batch.offset) bytes = batch.bytes.subarray(start - batch.offset, end - batch.offset);
      else {
        const joined = Buffer.concat([...carry, batch.bytes.subarray(0, end - batch.offset)]);
        bytes = joined.subarray(start - carryStart);
      }
      onRecord(bytes, line, batch.blanks[k] === 1);
      // lines as lineAt counts them: each LF, and each CR not followed by one (a record holds its
      // whole line ending, so a CR at its very end is a lone CR)
      for (let lf = bytes.indexOf(LF); lf !== -1; lf = bytes.indexOf(LF, lf + 1)) line++;
      for (let cr = bytes.indexOf(CR); cr !== -1; cr = bytes.indexOf(CR, cr + 1)) if (bytes[cr + 1] !== LF) line++;
    }
    const pending = batch.pendingStart;
    const bufferEnd = batch.offset + batch.bytes.length;
    // copies: the scan refills its read buffer in place
    if (pending >= bufferEnd) {
      carry = [];
      carryLength = 0;
    } else if (pending >= batch.offset) {
      carry = [Buffer.from(batch.bytes.subarray(pending - batch.offset))];
      carryLength = carry[0].length;
      carryStart = pending;
    } else {
      carry.push(Buffer.from(batch.bytes));
      carryLength += batch.bytes.length;
    }
    if (carryLength > maxRecordBytes) {
      throw recordTooLargeError(file, await lineAt(file, carryStart), carryLength, maxRecordBytes);
    }
  }
}

/**
 * Copies whole records of a file from a byte offset (a record's start), for a reader that takes a
 * file in several runs of records, each from where the last ended. One read buffer at a time,
 * kept from copy to copy: with a buffer per copy, freed whenever V8 collects, the partition pass
 * over 2M rows with 100 parents of 12,000 (16 MB budget) peaked at 186-190 MB, not 160-166. A
 * record that does not end in the buffer is read again with the next, and a buffer that holds not
 * one whole record is doubled, up to `maxRecordBytes`. Records are found by the record scanner,
 * so a quoted line break stays inside its record.
 */
export class RecordCopier {
  private buffer?: Buffer;

  public constructor(
    private readonly delimiter: ColumnDelimiter,
    private readonly maxRecordBytes: number,
  ) {}

  /**
   * Copies the records of `file` from byte `from` to `write`, asking `accept` before each one
   * (with its length in bytes), and stops at the first it refuses or at the end of the file.
   * Returns the offset just past the last record copied, where the next copy starts. `write` gets
   * the bytes of one or more records (valid only during the call) and how many they are.
   */
  public async copy(
    file: string,
    from: number,
    accept: (bytes: number) => boolean,
    write: (bytes: Buffer, records: number) => void,
  ): Promise<number> {
    const handle = await open(file, 'r');
    try {
      const { size } = await handle.stat();
      let buffer = (this.buffer ??= Buffer.allocUnsafe(READ_BUFFER_BYTES));
      let at = from;
      while (at < size) {
        // eslint-disable-next-line no-await-in-loop -- one buffer after the other
        const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, size - at), at);
        if (bytesRead === 0) break;
        const bytes = buffer.subarray(0, bytesRead);
        // a scanner per buffer, started at a record's start: the record left open is read again whole
        const scanner = new RecordScanner(this.delimiter, at);
        let copied = 0;
        let end = at;
        let refused = false;
        const onRecord = (start: number, stop: number): boolean | void => {
          if (!accept(stop - start)) {
            refused = true;
            return false;
          }
          copied++;
          end = stop;
        };
        scanner.push(bytes, onRecord);
        const last = at + bytesRead >= size;
        if (!refused && last) {
          const tail = scanner.end();
          if (tail.unterminatedQuoteAt !== undefined) {
            // eslint-disable-next-line no-await-in-loop
            throw unterminatedQuoteError(file, await lineAt(file, tail.unterminatedQuoteAt));
          }
          if (tail.last) onRecord(tail.last.start, tail.last.end);
        }
        if (copied > 0) write(bytes.subarray(0, end - at), copied);
        if (refused || last) return end;
        if (copied === 0) {
          if (buffer.length >= this.maxRecordBytes) {
            // eslint-disable-next-line no-await-in-loop
            throw recordTooLargeError(file, await lineAt(file, at), buffer.length, this.maxRecordBytes);
          }
          buffer = this.buffer = Buffer.allocUnsafe(Math.min(buffer.length * 2, this.maxRecordBytes));
        }
        at = end;
      }
      return at;
    } finally {
      await handle.close();
    }
  }
}
