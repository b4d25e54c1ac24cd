/*
 * The part of a lookup index past its memory budget: an open-addressing hash table in a file, read
 * and written with positional reads and writes (one or two small reads per lookup, served from the
 * OS page cache once warm). The table never grows: its size is fixed from the number of records the
 * snapshot holds, an upper bound of the keys it can receive, so it stays at most half full.
 *
 *   slots file:   16 bytes a slot: [u32 hash][u32 records with this key][f64 offset of the record + 1]
 *   records file: [u16 key length][key bytes][value bytes], appended
 *
 * Synchronous I/O on purpose: a row stage resolves millions of keys one after the other, and a
 * promise round trip through the thread pool per read costs more than the read itself.
 */
import { closeSync, ftruncateSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { hashBytes } from '../scan/keyStore.js';

const SLOT_BYTES = 16;
/** slots read at once while probing: most keys are found in the first */
const PROBE_SLOTS = 4;
const DISK_SEED = 0x3c_3c_3c_3c;
/** records are written in buffers of this size; the buffer is flushed before any record is read back */
const WRITE_BUFFER = 1 << 20;

export type DiskEntry = { value: Buffer; count: number };

export class DiskTable {
  public size = 0;
  private readonly slotsFd: number;
  private readonly recordsFd: number;
  private readonly mask: number;
  private recordsWritten = 0;
  private pending = Buffer.allocUnsafe(WRITE_BUFFER);
  private pendingUsed = 0;
  private readonly probe = Buffer.alloc(SLOT_BYTES * PROBE_SLOTS);
  private readBuffer = Buffer.allocUnsafe(4096);

  /** `capacity`: most keys it will hold; `valueBytes`: the fixed width of a value */
  public constructor(
    private readonly dir: string,
    capacity: number,
    private readonly valueBytes: number,
  ) {
    let slots = 16;
    while (slots < capacity * 2) slots *= 2;
    this.mask = slots - 1;
    this.slotsFd = openSync(join(dir, 'slots.bin'), 'w+', 0o600);
    ftruncateSync(this.slotsFd, slots * SLOT_BYTES);
    this.recordsFd = openSync(join(dir, 'records.bin'), 'w+', 0o600);
  }

  /** Adds a key with its value; a key already present only has its count raised (the first value stays). */
  public add(key: Buffer, value: Buffer): void {
    const hash = hashBytes(key, 0, key.length, DISK_SEED);
    const found = this.locate(key, hash);
    if (found.offset >= 0) {
      const count = Buffer.allocUnsafe(4);
      count.writeUInt32LE(found.count + 1);
      writeSync(this.slotsFd, count, 0, 4, found.slot * SLOT_BYTES + 4);
      return;
    }
    if (this.size * 2 >= this.mask + 1) throw new RangeError('the disk table is full: its capacity was too small');
    const offset = this.appendRecord(key, value);
    const slot = Buffer.allocUnsafe(SLOT_BYTES);
    slot.writeUInt32LE(hash, 0);
    slot.writeUInt32LE(1, 4);
    slot.writeDoubleLE(offset + 1, 8);
    writeSync(this.slotsFd, slot, 0, SLOT_BYTES, found.slot * SLOT_BYTES);
    this.size++;
  }

  /** The value and count of a key, or undefined. */
  public get(key: Buffer): DiskEntry | undefined {
    const hash = hashBytes(key, 0, key.length, DISK_SEED);
    const found = this.locate(key, hash);
    if (found.offset < 0) return undefined;
    return { value: Buffer.from(found.value!), count: found.count };
  }

  /** Closes and removes the files. */
  public close(): void {
    closeSync(this.slotsFd);
    closeSync(this.recordsFd);
    rmSync(join(this.dir, 'slots.bin'), { force: true });
    rmSync(join(this.dir, 'records.bin'), { force: true });
  }

  /** the key's slot and record when present (offset ≥ 0), else the free slot where it goes (offset -1) */
  private locate(key: Buffer, hash: number): { slot: number; offset: number; count: number; value?: Buffer } {
    let slot = hash & this.mask;
    for (;;) {
      const slots = Math.min(PROBE_SLOTS, this.mask + 1 - slot);
      readSync(this.slotsFd, this.probe, 0, slots * SLOT_BYTES, slot * SLOT_BYTES);
      for (let k = 0; k < slots; k++, slot = (slot + 1) & this.mask) {
        const at = k * SLOT_BYTES;
        const stored = this.probe.readDoubleLE(at + 8);
        if (stored === 0) return { slot, offset: -1, count: 0 };
        if (this.probe.readUInt32LE(at) !== hash) continue;
        const value = this.readRecord(stored - 1, key);
        if (value) return { slot, offset: stored - 1, count: this.probe.readUInt32LE(at + 4), value };
      }
    }
  }

  /** the value of the record at `offset` when its key is `key`, else undefined */
  private readRecord(offset: number, key: Buffer): Buffer | undefined {
    this.flush();
    const length = 2 + key.length + this.valueBytes;
    if (this.readBuffer.length < length) this.readBuffer = Buffer.allocUnsafe(length * 2);
    const read = readSync(this.recordsFd, this.readBuffer, 0, length, offset);
    if (read < 2 || this.readBuffer.readUInt16LE(0) !== key.length || read < length) return undefined;
    if (key.compare(this.readBuffer, 2, 2 + key.length) !== 0) return undefined;
    return this.readBuffer.subarray(2 + key.length, length);
  }

  private appendRecord(key: Buffer, value: Buffer): number {
    if (key.length > 0xff_ff) throw new RangeError('a lookup key longer than 65535 bytes');
    const length = 2 + key.length + this.valueBytes;
    if (this.pendingUsed + length > this.pending.length) this.flush();
    if (length > this.pending.length) this.pending = Buffer.allocUnsafe(length);
    const offset = this.recordsWritten + this.pendingUsed;
    this.pending.writeUInt16LE(key.length, this.pendingUsed);
    key.copy(this.pending, this.pendingUsed + 2);
    value.copy(this.pending, this.pendingUsed + 2 + key.length, 0, this.valueBytes);
    this.pendingUsed += length;
    return offset;
  }

  private flush(): void {
    let written = 0;
    while (written < this.pendingUsed) {
      written += writeSync(
        this.recordsFd,
        this.pending,
        written,
        this.pendingUsed - written,
        this.recordsWritten + written,
      );
    }
    this.recordsWritten += this.pendingUsed;
    this.pendingUsed = 0;
  }
}
