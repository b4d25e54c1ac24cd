import { createHash, type Hash } from 'node:crypto';

/**
 * SHA-256 of consecutive byte ranges of a file (its chunks), computed from the buffers of a single
 * scan, for the upload to check each chunk against. A chunk ends where a record starts, and the
 * scanner only tells where a record starts once the record ends, which may be buffers later; by
 * then the buffer holding its first bytes has been reused. So the bytes of a record still open at
 * the end of a buffer go both into the chunk's hash and into a hash of their own, beside a copy
 * of the chunk's hash from before them: when the record turns out to start the next chunk, the
 * copy is the finished chunk and the record's own hash goes on as the next one. Memory stays at
 * two hashes and a copy, whatever the size of a record.
 *
 * Use: for each buffer, `beginBuffer`, then `cut` at each chunk end inside it and `settle` after
 * the first record that ends in it, then `endBuffer`; `finish` for the last chunk.
 */
export class RangeHasher {
  private hash: Hash = createHash('sha256');
  /** the offset up to which `hash` has been fed */
  private fed: number;
  /** the record open across the last buffer end, fed to `hash` before it was known to belong there */
  private held?: { before: Hash; record: Hash; at: number };
  private bytes: Buffer = Buffer.alloc(0);
  private offset = 0;

  /** @param start where the first range starts: bytes before it (the header) belong to none */
  public constructor(start: number) {
    this.fed = start;
  }

  public beginBuffer(bytes: Buffer, offset: number): void {
    this.bytes = bytes;
    this.offset = offset;
  }

  /** ends the current range at `at` (the start of a record or line) and returns its hash */
  public cut(at: number): Buffer {
    let digest: Buffer;
    if (at < this.offset) {
      // the open record that the last buffer ended in starts the next range
      if (!this.held || this.held.at !== at) throw new Error(`RangeHasher: no held record at ${at}`);
      digest = this.held.before.digest();
      this.hash = this.held.record;
      this.held = undefined;
      return digest;
    }
    this.feed(this.hash, this.fed, at);
    digest = this.hash.digest();
    this.hash = createHash('sha256');
    this.fed = at;
    return digest;
  }

  /** the first record that ended in this buffer stays in the current range (unless `cut` said otherwise) */
  public settle(): void {
    this.held = undefined;
  }

  /** @param pendingStart where the record still open at the end of this buffer began */
  public endBuffer(pendingStart: number): void {
    const end = this.offset + this.bytes.length;
    if (end <= this.fed) return;
    if (this.held) {
      // a record longer than a buffer goes on
      this.feed(this.hash, this.fed, end);
      this.held.record.update(this.bytes.subarray(Math.max(this.fed, this.offset) - this.offset));
    } else if (pendingStart >= end || pendingStart < this.fed) {
      // nothing open, or the open record is the header
      this.feed(this.hash, this.fed, end);
    } else {
      this.feed(this.hash, this.fed, pendingStart);
      this.held = { before: this.hash.copy(), record: createHash('sha256'), at: pendingStart };
      this.feed(this.hash, pendingStart, end);
      this.feed(this.held.record, pendingStart, end);
    }
    this.fed = end;
  }

  /** the hash of the last range, which ends where the input ended */
  public finish(): Buffer {
    this.held = undefined;
    return this.hash.digest();
  }

  /** feeds [from, to) of the current buffer, clipped to it */
  private feed(hash: Hash, from: number, to: number): void {
    const start = Math.max(from, this.offset) - this.offset;
    const end = Math.min(to, this.offset + this.bytes.length) - this.offset;
    if (end > start) hash.update(this.bytes.subarray(start, end));
  }
}
