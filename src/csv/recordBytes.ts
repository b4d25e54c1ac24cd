import type { ColumnDelimiter } from '../manifest/types.js';
import { CR, LF } from './delimiters.js';
import { recordTooLargeError } from './errors.js';
import { scanRecordBatches } from './records.js';
import { lineAt } from './scanner.js';

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
