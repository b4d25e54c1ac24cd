/*
 * Duplicate record keys of one step, for `sf migrate validate --scan`, in bounded memory.
 *
 * Keys are kept in a KeyStore (flat arrays, its size known exactly) until it would pass the memory
 * budget. Past it, everything kept so far and every later key goes to one of PARTITIONS files under
 * a temporary folder, by a hash of the key, so all occurrences of a key land in one partition; each
 * partition is then read back alone. A partition still too large for the budget is split again with
 * another hash seed.
 * Both paths report the same thing: each key seen more than once, its first locations in file order
 * (per key, occurrences are written in the order they were read, and a split keeps that order), and
 * the totals. The temporary folder is removed when the finder is disposed, and on SIGINT/SIGTERM or
 * exit while it exists.
 */
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashBytes, KeyStore } from './keyStore.js';

/** A location packed into one number: file index × LINE_SPAN + line (exact below 2^53). */
const LINE_SPAN = 2 ** 37;
export const MAX_FILES = 2 ** 16;

export const packLocation = (file: number, line: number): number => file * LINE_SPAN + line;
export const unpackLocation = (location: number): { file: number; line: number } => ({
  file: Math.floor(location / LINE_SPAN),
  line: location % LINE_SPAN,
});

export type DuplicateKey = {
  key: string;
  /** how many rows carry the key */
  occurrences: number;
  /** the first `maxLocations` of them, in file order (packed; see unpackLocation) */
  locations: number[];
};

export type DuplicateReport = {
  /** distinct keys seen more than once */
  keys: number;
  /** rows that carry one of those keys */
  rows: number;
  /** the first `maxKeys` duplicate keys by their first location */
  shown: DuplicateKey[];
  /** whether the keys went to disk */
  spilled: boolean;
};

export type DuplicateFinderOptions = {
  /** bytes the key store may hold in memory (counted exactly) before the keys spill to disk */
  memoryBudgetBytes: number;
  maxKeys: number;
  maxLocations: number;
  /** where the temporary folder is made; default the OS temp folder */
  tempRoot?: string;
};

/** partition files per split: enough that 10M keys of a 256 MB budget split once */
const PARTITIONS = 64;
/** a split that cannot shrink a partition (one key on every row) stops after this many levels */
const MAX_SPLIT_DEPTH = 4;
const WRITE_BUFFER_BYTES = 64 * 1024;
/** a split writes many small files at once: smaller buffers */
const SPLIT_BUFFER_BYTES = 8 * 1024;
const READ_BUFFER_BYTES = 1024 * 1024;
/** per partition record: key length (u32) and location (f64) before the key's UTF-8 bytes */
const RECORD_HEAD_BYTES = 12;
/**
 * A partition on disk is at most this many times smaller than its keys in a KeyStore: a record is
 * 12 bytes and the key, an entry 32 bytes and the key, and arrays grow by doubling.
 */
const DISK_TO_MEMORY = 4;

/** the signals that end a CLI; the spill folder is removed before the signal takes its course */
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * Buffered appends to up to PARTITIONS files (synchronous: the scan is a loop over records). A
 * partition's file and buffer are made on its first key, so a split of a small partition costs
 * only the files it fills.
 */
class PartitionWriter {
  private readonly fds: number[] = [];
  private readonly buffers: Array<Buffer | undefined> = [];
  private readonly used: number[] = [];
  private readonly files: Array<string | undefined> = [];

  public constructor(
    private readonly folder: string,
    private readonly name: string,
    private readonly seed: number,
    private readonly bufferBytes = WRITE_BUFFER_BYTES,
  ) {}

  /** the files written, in partition order */
  public get paths(): string[] {
    return this.files.filter((path): path is string => path !== undefined);
  }

  /** Appends the key `bytes[start, end)` at `location` to its partition. */
  public write(bytes: Buffer, start: number, end: number, location: number): void {
    const p = hashBytes(bytes, start, end, this.seed) % PARTITIONS;
    let buffer = this.buffers[p];
    if (!buffer) buffer = this.open(p);
    const length = end - start;
    const size = RECORD_HEAD_BYTES + length;
    if (this.used[p] + size > buffer.length) this.flush(p);
    if (size > buffer.length) {
      const head = Buffer.allocUnsafe(RECORD_HEAD_BYTES);
      head.writeUInt32LE(length, 0);
      head.writeDoubleLE(location, 4);
      writeSync(this.fds[p], head);
      writeSync(this.fds[p], bytes, start, length);
      return;
    }
    const at = this.used[p];
    buffer.writeUInt32LE(length, at);
    buffer.writeDoubleLE(location, at + 4);
    bytes.copy(buffer, at + RECORD_HEAD_BYTES, start, end);
    this.used[p] = at + size;
  }

  public close(): void {
    for (let p = 0; p < PARTITIONS; p++) {
      if (this.buffers[p] === undefined) continue;
      this.flush(p);
      closeSync(this.fds[p]);
      this.buffers[p] = undefined;
    }
  }

  private open(p: number): Buffer {
    const path = join(this.folder, `${this.name}-${p}.bin`);
    this.fds[p] = openSync(path, 'w', 0o600);
    this.files[p] = path;
    this.used[p] = 0;
    const buffer = Buffer.allocUnsafe(this.bufferBytes);
    this.buffers[p] = buffer;
    return buffer;
  }

  private flush(p: number): void {
    if (this.used[p] > 0) writeSync(this.fds[p], this.buffers[p]!, 0, this.used[p]);
    this.used[p] = 0;
  }
}

/** Reads the records of a partition file in order, one buffer at a time. */
function readPartition(
  path: string,
  onRecord: (bytes: Buffer, start: number, end: number, location: number) => void,
): void {
  const fd = openSync(path, 'r');
  try {
    let buffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
    let filled = 0;
    let position = 0;
    for (;;) {
      if (filled === buffer.length) {
        // one record larger than the buffer: grow to hold it
        const bigger = Buffer.allocUnsafe(buffer.length * 2);
        buffer.copy(bigger, 0, 0, filled);
        buffer = bigger;
      }
      const read = readSync(fd, buffer, filled, buffer.length - filled, position);
      position += read;
      filled += read;
      let at = 0;
      while (at + RECORD_HEAD_BYTES <= filled) {
        const length = buffer.readUInt32LE(at);
        if (at + RECORD_HEAD_BYTES + length > filled) break;
        const location = buffer.readDoubleLE(at + 4);
        onRecord(buffer, at + RECORD_HEAD_BYTES, at + RECORD_HEAD_BYTES + length, location);
        at += RECORD_HEAD_BYTES + length;
      }
      buffer.copy(buffer, 0, at, filled);
      filled -= at;
      if (read === 0) break;
    }
  } finally {
    closeSync(fd);
  }
}

const byFirstLocation = (a: DuplicateKey, b: DuplicateKey): number =>
  a.locations[0] - b.locations[0] || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

/** Collects the keys of one step; `finish` once, then `dispose` (also after an error). */
export class DuplicateKeyFinder {
  /** partition files read back into memory (more than PARTITIONS when some were split again) */
  public partitionsRead = 0;
  private keys: KeyStore;
  private readonly report: DuplicateReport = { keys: 0, rows: 0, shown: [], spilled: false };
  private folder?: string;
  private writer?: PartitionWriter;
  /** a key's UTF-8 bytes, reused from key to key */
  private scratch = Buffer.allocUnsafe(1024);

  public constructor(private readonly options: DuplicateFinderOptions) {
    this.keys = new KeyStore(Infinity, options.memoryBudgetBytes);
  }

  public add(key: string, location: number): void {
    if (key.length * 3 > this.scratch.length) this.scratch = Buffer.allocUnsafe(key.length * 3);
    const length = this.scratch.write(key, 0, 'utf8');
    if (this.writer) {
      this.writer.write(this.scratch, 0, length, location);
      return;
    }
    if (this.keys.add(this.scratch, 0, length, location)) return;
    this.spill();
    this.writer!.write(this.scratch, 0, length, location);
  }

  public async finish(): Promise<DuplicateReport> {
    this.report.spilled = this.writer !== undefined;
    if (!this.writer) {
      this.collect(this.keys);
      this.keys = new KeyStore();
      return this.report;
    }
    this.writer.close();
    await this.finishPartitions(this.writer.paths, 1);
    return this.report;
  }

  public dispose(): void {
    this.writer?.close();
    this.writer = undefined;
    this.keys = new KeyStore();
    this.removeFolder();
  }

  private spill(): void {
    this.folder = mkdtempSync(join(this.options.tempRoot ?? tmpdir(), 'sf-migrate-scan-'));
    process.once('exit', this.cleanup);
    // First in line: a listener such as signal-exit's re-raises the signal only when it is alone.
    for (const signal of SIGNALS) process.prependOnceListener(signal, this.onSignal);
    const writer = new PartitionWriter(this.folder, 'keys', 0);
    this.writer = writer;
    this.keys.forEach((bytes, start, end, locations) => {
      for (const location of locations) writer.write(bytes, start, end, location);
    });
    this.keys = new KeyStore();
  }

  private async finishPartitions(paths: string[], depth: number): Promise<void> {
    for (const path of paths) {
      // eslint-disable-next-line no-await-in-loop
      const { size } = await stat(path);
      if (size * DISK_TO_MEMORY > this.options.memoryBudgetBytes && depth < MAX_SPLIT_DEPTH) {
        const name = path.slice(this.folder!.length + 1, -'.bin'.length);
        const writer = new PartitionWriter(this.folder!, name, depth, SPLIT_BUFFER_BYTES);
        try {
          readPartition(path, (bytes, start, end, location) => writer.write(bytes, start, end, location));
        } finally {
          writer.close();
        }
        rmSync(path);
        const parts = writer.paths;
        // One part as large as the whole is one key on many rows: splitting again cannot help, and
        // reading it keeps one entry of at most maxLocations locations.
        // eslint-disable-next-line no-await-in-loop
        await this.finishPartitions(parts, parts.length === 1 ? MAX_SPLIT_DEPTH : depth + 1);
        continue;
      }
      // Only the first maxLocations of a key are kept; the rest are counted.
      const keys = new KeyStore(this.options.maxLocations);
      this.partitionsRead++;
      readPartition(path, (bytes, start, end, location) => keys.add(bytes, start, end, location));
      rmSync(path);
      this.collect(keys);
    }
  }

  private collect(keys: KeyStore): void {
    const found: DuplicateKey[] = [];
    keys.forEachRepeated((key, locations, count) => {
      this.report.keys++;
      this.report.rows += count;
      found.push({ key, occurrences: count, locations: locations.slice(0, this.options.maxLocations) });
    });
    this.keep(found);
  }

  /** Keeps the first maxKeys by first location of what was shown so far and `found`. */
  private keep(found: DuplicateKey[]): void {
    if (found.length === 0) return;
    found.sort(byFirstLocation);
    this.report.shown = [...this.report.shown, ...found.slice(0, this.options.maxKeys)]
      .sort(byFirstLocation)
      .slice(0, this.options.maxKeys);
  }

  private readonly cleanup = (): void => this.removeFolder();
  private readonly onSignal = (signal: NodeJS.Signals): void => {
    this.removeFolder();
    // Our listener took the signal's default action away; give it back when no one else handles it.
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  };

  private removeFolder(): void {
    process.removeListener('exit', this.cleanup);
    for (const signal of SIGNALS) process.removeListener(signal, this.onSignal);
    if (!this.folder) return;
    rmSync(this.folder, { recursive: true, force: true });
    this.folder = undefined;
  }
}
