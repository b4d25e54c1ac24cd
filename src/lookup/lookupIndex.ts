/*
 * A lookup's snapshot as an index from compared key (spec.ts) to the record's Id, built by one
 * streamed read of the snapshot file. Keys stay in memory, in the duplicate scan's byte-counted key
 * store (src/scan/keyStore.ts), until the memory budget is spent; every key after that goes to a hash
 * table on disk (diskTable.ts). A key is in exactly one of the two (memory is asked first, and a key
 * seen in memory is never sent to disk), so a spilled index answers exactly as an in-memory one.
 *
 * A key held by two records is kept with its count: resolving it answers `ambiguous`, never one of
 * the two Ids.
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'csv-parse';
import { KeyStore } from '../scan/keyStore.js';
import { DiskTable } from './diskTable.js';
import { recordKey, type LookupSpec } from './spec.js';

/** an Id (18 characters, padded) and the active flag: '1' active, '0' inactive, '-' not a user */
const VALUE_BYTES = 19;
const ID_BYTES = 18;

/** what the index may hold in memory by default before it spills to disk */
export const DEFAULT_LOOKUP_MEMORY_BYTES = 64 * 1024 * 1024;

export type Resolution =
  { kind: 'found'; id: string; active?: boolean } | { kind: 'missing' } | { kind: 'ambiguous'; count: number };

export type LookupIndexOptions = {
  /** bytes of keys and Ids held in memory before the rest goes to disk */
  memoryBytes?: number;
  /** where the disk table goes (a folder of its own is made inside and removed by close) */
  spillDir: string;
};

function encodeValue(id: string, active: string | undefined): Buffer {
  const value = Buffer.alloc(VALUE_BYTES, 0x20);
  value.write(id.slice(0, ID_BYTES), 0, 'latin1');
  value.write(active === undefined ? '-' : active.toLowerCase() === 'true' ? '1' : '0', ID_BYTES, 'latin1');
  return value;
}

function decodeValue(value: Buffer, offset = 0): { id: string; active?: boolean } {
  const id = value.toString('latin1', offset, offset + ID_BYTES).trimEnd();
  const flag = value[offset + ID_BYTES];
  return flag === 0x2d ? { id } : { id, active: flag === 0x31 };
}

export class LookupIndex {
  /** distinct keys */
  public size = 0;
  /** records read from the snapshot */
  public records = 0;
  private readonly memory: KeyStore;
  private values = Buffer.allocUnsafe(VALUE_BYTES * 1024);
  /** in-memory entries whose key more than one record holds: entry → records */
  private readonly repeats = new Map<number, number>();
  private disk?: DiskTable;
  private spillFolder?: string;

  private constructor(
    private readonly memoryBytes: number,
    private readonly spillDir: string,
    private readonly capacity: number,
  ) {
    // the values buffer grows by doubling, so budget it a quarter and the keys three quarters
    this.memory = new KeyStore(1, Math.floor(memoryBytes * 0.75));
  }

  public get spilled(): boolean {
    return this.disk !== undefined;
  }

  /** Reads the snapshot `file` (Id, the match fields, then IsActive for users; a header line first). */
  public static async build(
    spec: LookupSpec,
    snapshot: { file: string; records: number },
    options: LookupIndexOptions,
  ): Promise<LookupIndex> {
    const index = new LookupIndex(
      options.memoryBytes ?? DEFAULT_LOOKUP_MEMORY_BYTES,
      options.spillDir,
      Math.max(1, snapshot.records),
    );
    const parts = spec.matchOn.length;
    const parser = createReadStream(snapshot.file).pipe(parse({ fromLine: 2 }));
    try {
      for await (const row of parser as AsyncIterable<string[]>) {
        const key = recordKey(spec, row.slice(1, 1 + parts));
        // eslint-disable-next-line no-await-in-loop -- awaits only once, when the index first spills
        await index.add(key, encodeValue(row[0], spec.kind === 'user' ? row[1 + parts] : undefined));
      }
    } catch (error) {
      await index.close();
      throw error;
    }
    return index;
  }

  /** The record a compared key (spec.ts `sourceKey`) names. */
  public resolve(key: string): Resolution {
    const bytes = Buffer.from(key, 'utf8');
    const entry = this.memory.find(bytes, 0, bytes.length);
    if (entry >= 0) {
      const count = this.repeats.get(entry) ?? 1;
      if (count > 1) return { kind: 'ambiguous', count };
      return { kind: 'found', ...decodeValue(this.values, this.memory.entry(entry).first * VALUE_BYTES) };
    }
    const found = this.disk?.get(bytes);
    if (!found) return { kind: 'missing' };
    if (found.count > 1) return { kind: 'ambiguous', count: found.count };
    return { kind: 'found', ...decodeValue(found.value) };
  }

  /** Removes the disk part, if any. */
  public async close(): Promise<void> {
    this.disk?.close();
    this.disk = undefined;
    if (this.spillFolder) await rm(this.spillFolder, { recursive: true, force: true });
    this.spillFolder = undefined;
  }

  private async add(key: string, value: Buffer): Promise<void> {
    this.records++;
    const bytes = Buffer.from(key, 'utf8');
    const entry = this.memory.find(bytes, 0, bytes.length);
    if (entry >= 0) {
      this.repeats.set(entry, (this.repeats.get(entry) ?? 1) + 1);
      return;
    }
    if (!this.disk && this.keepInMemory(bytes, value)) {
      this.size++;
      return;
    }
    if (!this.disk) {
      this.spillFolder = await mkdtemp(join(this.spillDir, 'lookup-'));
      this.disk = new DiskTable(this.spillFolder, this.capacity, VALUE_BYTES);
    }
    const before = this.disk.size;
    this.disk.add(bytes, value);
    if (this.disk.size > before) this.size++;
  }

  /** adds a new key to memory when keys and values both stay within the budget */
  private keepInMemory(bytes: Buffer, value: Buffer): boolean {
    const slot = this.memory.size;
    const needed = (slot + 1) * VALUE_BYTES;
    if (needed > this.values.length) {
      const grown = this.values.length * 2;
      if (grown > this.memoryBytes * 0.25) return false;
      const values = Buffer.allocUnsafe(grown);
      this.values.copy(values);
      this.values = values;
    }
    if (!this.memory.add(bytes, 0, bytes.length, slot)) return false;
    value.copy(this.values, slot * VALUE_BYTES);
    return true;
  }
}
