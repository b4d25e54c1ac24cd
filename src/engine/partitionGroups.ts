/*
 * The groups of one spill file of the partition pass (partitionPass.ts), held in typed arrays.
 *
 * Why not an object per group: a spill file's groups live until the packer has placed them, long
 * enough for V8 to promote them to its old generation, where they stay until a full collection that
 * V8 puts off while its heap may still grow. With one object per parent (and a Map entry, and the
 * arrays they were sorted in) the heap grew by about 100 bytes a parent over the whole pass, not
 * per spill file: bench/partition-memory.mjs, 4M rows (1M parents), 64 MB budget, heap 28 → 105 MB
 * during grouping and peak RSS 211 MB against 110 MB for the library's start-up. Typed arrays
 * reused from spill file to spill file make the pass's memory its budget, whatever the file's size.
 */
import type { Group, RowChains } from './partitionPacking.js';

/** the groups the packer places, by index: no object per group unless it asks for one */
export type GroupList = {
  readonly count: number;
  records(g: number): number;
  bytes(g: number): number;
  /** writes the group's rows in order; a promise only when they are streamed from a file */
  write(g: number, sink: (row: Buffer) => void): Promise<void> | undefined;
  /** the group as an object, for the few the serial lane takes */
  group(g: number): Group;
};

/** smallest table made; it doubles as a spill file needs and is kept for the next one */
const INITIAL_GROUPS = 1024;

/**
 * One spill file's groups: keyed groups (by the 32-bit hash of their key, in order of first row),
 * then one group a row without a parent. Group g has `records`, `bytes` and a chain of rows of
 * `chains` from `first` to `last`; the open-addressing `slots` map a hash to its group + 1.
 */
export class GroupTable implements GroupList {
  /** keyed groups */
  public keyed = 0;
  private hashes = new Int32Array(INITIAL_GROUPS);
  private groupRecords = new Int32Array(INITIAL_GROUPS);
  // a group's bytes may pass 2 GB only with a budget that large; a double costs 4 bytes more a group
  private groupBytes = new Float64Array(INITIAL_GROUPS);
  private firsts = new Int32Array(INITIAL_GROUPS);
  private lasts = new Int32Array(INITIAL_GROUPS);
  private slots = new Int32Array(INITIAL_GROUPS * 2);
  /** rows without a parent, by row index: each a group of one, after the keyed ones */
  private loose = new Int32Array(INITIAL_GROUPS);
  private looseCount = 0;

  public constructor(public readonly chains: RowChains) {}

  public get count(): number {
    return this.keyed + this.looseCount;
  }

  /** empties the table for the next spill file (the chains are reset by their owner) */
  public reset(): void {
    this.keyed = 0;
    this.looseCount = 0;
    this.slots.fill(0);
  }

  /** adds row `[start, end)` to the group of `hash` (undefined: the row has no parent) */
  public add(hash: number | undefined, start: number, end: number): void {
    if (hash === undefined) {
      if (this.looseCount === this.loose.length) this.loose = grown(this.loose);
      this.loose[this.looseCount++] = this.chains.add(start, end, -1);
      return;
    }
    // as stored: an Int32Array holds the unsigned hash as a signed 32-bit integer
    const key = hash | 0;
    const mask = this.slots.length - 1;
    // Fibonacci hashing spreads FNV's low bits over the table
    let slot = (Math.imul(key, 0x9e_37_79_b1) >>> 0) & mask;
    for (;;) {
      const entry = this.slots[slot];
      if (entry === 0) break;
      const g = entry - 1;
      if (this.hashes[g] === key) {
        this.groupRecords[g]++;
        this.groupBytes[g] += end - start;
        this.lasts[g] = this.chains.add(start, end, this.lasts[g]);
        return;
      }
      slot = (slot + 1) & mask;
    }
    const g = this.keyed++;
    if (g === this.hashes.length) this.grow();
    const row = this.chains.add(start, end, -1);
    this.hashes[g] = key;
    this.groupRecords[g] = 1;
    this.groupBytes[g] = end - start;
    this.firsts[g] = row;
    this.lasts[g] = row;
    if (this.keyed * 2 > this.slots.length) this.rehash();
    else this.slots[slot] = g + 1;
  }

  public records(g: number): number {
    return g < this.keyed ? this.groupRecords[g] : 1;
  }

  public bytes(g: number): number {
    if (g < this.keyed) return this.groupBytes[g];
    const row = this.loose[g - this.keyed];
    return this.chains.ends[row] - this.chains.starts[row];
  }

  public write(g: number, sink: (row: Buffer) => void): undefined {
    const { source, starts, ends, next } = this.chains;
    for (let row = this.first(g); row >= 0; row = next[row]) sink(source.subarray(starts[row], ends[row]));
    return undefined;
  }

  public group(g: number): Group {
    const first = this.first(g);
    const last = g < this.keyed ? this.lasts[g] : first;
    return { records: this.records(g), bytes: this.bytes(g), chains: this.chains, first, last };
  }

  private first(g: number): number {
    return g < this.keyed ? this.firsts[g] : this.loose[g - this.keyed];
  }

  private grow(): void {
    this.hashes = grown(this.hashes);
    this.groupRecords = grown(this.groupRecords);
    this.groupBytes = grown(this.groupBytes);
    this.firsts = grown(this.firsts);
    this.lasts = grown(this.lasts);
  }

  /** doubles the slots (kept at most half full) and places every keyed group again */
  private rehash(): void {
    this.slots = new Int32Array(this.slots.length * 2);
    const mask = this.slots.length - 1;
    for (let g = 0; g < this.keyed; g++) {
      let slot = (Math.imul(this.hashes[g], 0x9e_37_79_b1) >>> 0) & mask;
      while (this.slots[slot] !== 0) slot = (slot + 1) & mask;
      this.slots[slot] = g + 1;
    }
  }
}

function grown<T extends Int32Array | Float64Array>(from: T): T {
  const to = new (from.constructor as new (length: number) => T)(from.length * 2);
  to.set(from);
  return to;
}
