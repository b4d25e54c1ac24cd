import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { makeId, serialOf } from './ids.js';
import type { FieldDescribe, ObjectDescribe } from './describe.js';

export type StoredRecord = Record<string, unknown> & { Id: string };

/** Records of one object, with lazily built case-insensitive indexes on lookup fields. */
export class ObjectStore {
  public readonly records = new Map<string, StoredRecord>();
  /** Deleted records: soft-deleted ones keep their last values (queryAll sees them), hard-deleted ones map to undefined. */
  public readonly deleted = new Map<string, StoredRecord | undefined>();
  public readonly fieldsByLowerName = new Map<string, FieldDescribe>();
  private readonly indexes = new Map<string, Map<string, Set<string>>>();
  private serial = 0;
  private log?: WriteStream;

  public constructor(
    public readonly describe: ObjectDescribe,
    private readonly pod: string,
  ) {
    for (const f of describe.fields) this.fieldsByLowerName.set(f.name.toLowerCase(), f);
  }

  public field(name: string): FieldDescribe | undefined {
    return this.fieldsByLowerName.get(name.toLowerCase());
  }

  public nextId(): string {
    this.serial += 1;
    return makeId(this.describe.keyPrefix, this.pod, this.serial);
  }

  /** Ids of the records whose field equals value (case-insensitively unless the field is case-sensitive). */
  public findBy(fieldName: string, value: string): string[] {
    if (fieldName === 'Id') return this.records.has(value) ? [value] : [];
    const index = this.indexFor(fieldName);
    const ids = index.get(this.indexKey(fieldName, value));
    return ids ? [...ids] : [];
  }

  public put(record: StoredRecord): void {
    const before = this.records.get(record.Id);
    for (const [fieldName, index] of this.indexes) {
      const oldValue = before?.[fieldName];
      const newValue = record[fieldName];
      if (oldValue === newValue) continue;
      if (oldValue !== undefined && oldValue !== null)
        index.get(this.indexKey(fieldName, String(oldValue)))?.delete(record.Id);
      if (newValue !== undefined && newValue !== null)
        this.addToIndex(index, this.indexKey(fieldName, String(newValue)), record.Id);
    }
    this.records.set(record.Id, record);
    // A record put with an Id of this object's numbering (the org's own user, made at start-up) moves the
    // numbering past it, so no record made later takes its Id.
    if (record.Id.startsWith(this.describe.keyPrefix + this.pod))
      this.serial = Math.max(this.serial, serialOf(record.Id));
    this.log?.write(`${JSON.stringify({ put: record })}\n`);
  }

  public remove(id: string, hard: boolean): void {
    const before = this.records.get(id);
    if (!before) return;
    for (const [fieldName, index] of this.indexes) {
      const value = before[fieldName];
      if (value !== undefined && value !== null) index.get(this.indexKey(fieldName, String(value)))?.delete(id);
    }
    this.records.delete(id);
    this.deleted.set(id, hard ? undefined : { ...before, IsDeleted: true });
    this.log?.write(`${JSON.stringify({ remove: id, hard })}\n`);
  }

  /** Replays a journal of puts and removes written by an earlier run with the same data dir. */
  public async load(file: string): Promise<void> {
    try {
      await stat(file);
    } catch {
      return;
    }
    // Line by line: a data dir may hold millions of records, more than one string can.
    for await (const line of createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity })) {
      if (!line) continue;
      let entry: { put?: StoredRecord; remove?: string; hard?: boolean };
      try {
        entry = JSON.parse(line) as typeof entry;
      } catch {
        continue; // a torn last line from a hard stop
      }
      if (entry.put) {
        this.records.set(entry.put.Id, entry.put);
        this.deleted.delete(entry.put.Id); // a delete rolled back (allOrNone) puts the record back
      }
      if (entry.remove) {
        const before = this.records.get(entry.remove);
        this.records.delete(entry.remove);
        this.deleted.set(entry.remove, entry.hard === true || !before ? undefined : { ...before, IsDeleted: true });
      }
      const id = entry.put?.Id ?? entry.remove;
      if (id) this.serial = Math.max(this.serial, serialOf(id));
    }
  }

  public openLog(file: string): void {
    this.log = createWriteStream(file, { flags: 'a' });
  }

  public async closeLog(): Promise<void> {
    const log = this.log;
    this.log = undefined;
    if (log) await new Promise<void>((resolve) => log.end(resolve));
  }

  private indexKey(fieldName: string, value: string): string {
    return this.field(fieldName)?.caseSensitive ? value : value.toLowerCase();
  }

  private addToIndex(index: Map<string, Set<string>>, key: string, id: string): void {
    const ids = index.get(key);
    if (ids) ids.add(id);
    else index.set(key, new Set([id]));
  }

  private indexFor(fieldName: string): Map<string, Set<string>> {
    let index = this.indexes.get(fieldName);
    if (!index) {
      index = new Map();
      for (const record of this.records.values()) {
        const value = record[fieldName];
        if (value !== undefined && value !== null)
          this.addToIndex(index, this.indexKey(fieldName, String(value)), record.Id);
      }
      this.indexes.set(fieldName, index);
    }
    return index;
  }
}

export class RecordStore {
  private readonly objects = new Map<string, ObjectStore>();
  private readonly byPrefix = new Map<string, ObjectStore>();

  public constructor(describes: ObjectDescribe[], pod: string) {
    for (const d of describes) {
      const store = new ObjectStore(d, pod);
      this.objects.set(d.name.toLowerCase(), store);
      this.byPrefix.set(d.keyPrefix, store);
    }
  }

  public object(name: string): ObjectStore | undefined {
    return this.objects.get(name.toLowerCase());
  }

  public objectOfId(id: string): ObjectStore | undefined {
    return this.byPrefix.get(id.slice(0, 3));
  }

  public all(): ObjectStore[] {
    return [...this.objects.values()];
  }

  public async persistTo(dir: string): Promise<void> {
    await mkdir(dir, { recursive: true });
    for (const store of this.objects.values()) {
      // eslint-disable-next-line no-await-in-loop
      await store.load(join(dir, `${store.describe.name}.jsonl`));
      store.openLog(join(dir, `${store.describe.name}.jsonl`));
    }
  }

  public async close(): Promise<void> {
    await Promise.all([...this.objects.values()].map((s) => s.closeLog()));
  }
}
