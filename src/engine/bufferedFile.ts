/*
 * A file written through one buffer with synchronous writes: the record scanner's callback is
 * synchronous, so the partition pass's spill files and derived files cannot await a stream's drain.
 */
import { closeSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs';

export const WRITE_BUFFER_BYTES = 256 * 1024;

/** A file written through one buffer with synchronous writes (the scanner's callback is synchronous). */
export class BufferedFile {
  public records = 0;
  public bytes = 0;
  private readonly fd: number;
  private buffer: Buffer;
  private used = 0;

  /** `buffer`: its size, or memory of the caller's to write through (not used after close) */
  public constructor(
    public readonly path: string,
    buffer: number | Buffer = WRITE_BUFFER_BYTES,
  ) {
    this.fd = openSync(path, 'w', 0o600);
    this.buffer = typeof buffer === 'number' ? Buffer.allocUnsafe(buffer) : buffer;
  }

  /** `records`: how many records `record` holds (the serial lane copies several at once) */
  public write(record: Buffer, records = 1): void {
    this.records += records;
    this.bytes += record.length;
    if (this.used + record.length > this.buffer.length) this.flush();
    if (record.length > this.buffer.length) {
      writeAll(this.fd, record);
      return;
    }
    record.copy(this.buffer, this.used);
    this.used += record.length;
  }

  public close(sync = false): void {
    this.flush();
    if (sync) fsyncSync(this.fd);
    closeSync(this.fd);
    this.buffer = Buffer.alloc(0);
  }

  /** closes the file durably and renames it to `target`, where it is complete */
  public commit(target: string): void {
    this.close(true);
    renameSync(this.path, target);
  }

  private flush(): void {
    if (this.used > 0) writeAll(this.fd, this.buffer.subarray(0, this.used));
    this.used = 0;
  }
}

function writeAll(fd: number, bytes: Buffer): void {
  for (let done = 0; done < bytes.length;) done += writeSync(fd, bytes, done, bytes.length - done);
}
