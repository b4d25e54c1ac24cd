/*
 * Lock-aware jobs (issue 11.2): a step's rows rearranged so that one parent's children are never in
 * two internal batches the org processes at once. A real org cuts a job into batches of 10,000
 * records in upload order and processes the batches of all jobs in parallel; a batch holds every
 * parent its rows write a child of, and a row whose parent another running batch holds fails with
 * UNABLE_TO_LOCK_ROW after a lock wait (Bulk API 2.0 guide, "Understanding Bulk API 2.0 Ingest";
 * Salesforce "Record Locking Cheat Sheet"). A client cannot choose which batches run together, so
 * it makes every parent's children land in exactly one batch:
 *
 * - rows are grouped by their parent key (the partition column);
 * - groups are packed whole into bins of `binRecords` (the org's batch size, or the job size when
 *   smaller), bins filled exactly with smaller groups where they fit, so the org's cut of a job
 *   every 10,000 records falls between groups; a bin that cannot be filled ends its job (a job
 *   starts the org's count again), and a job is whole bins up to maxRecordsPerJob;
 * - a group larger than a bin cannot fit one batch: its rows go to the serial lane (serialLane.ts),
 *   jobs that such parents share, each parent in one bin of a job and every bin but a job's last
 *   full; the engine runs the lane's jobs one at a time, and no other job holds those parents.
 *
 * Memory stays flat: the rows are first hash-partitioned by key into spill files on disk, then each
 * spill file is grouped in memory within `memoryBytes`; one that does not fit is partitioned again
 * with another hash seed, and one that holds a single key is streamed as one group.
 *
 * Output files are written under temporary names, fsynced and renamed; the caller journals them
 * (with their fingerprints) only after this returns, so a crash leaves at most unjournaled files
 * that the next attempt discards.
 */
import { statSync } from 'node:fs';
import { mkdir, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ColumnDelimiter, LineEnding } from '../manifest/types.js';
import { delimiterCharacter } from '../csv/delimiters.js';
import { RecordFields } from '../csv/fields.js';
import { forEachRecord } from '../csv/recordBytes.js';
import { RecordScanner } from '../csv/scanner.js';
import { syncDirectory } from '../journal/durable.js';
import { BufferedFile, WRITE_BUFFER_BYTES } from './bufferedFile.js';
import { Packer, RowChains } from './partitionPacking.js';
import { GroupTable } from './partitionGroups.js';

export type PartitionLane = 'grouped' | 'serial';

/**
 * `chain` (serial files only): files whose jobs run one after another. A pass puts all its serial
 * files in one chain; journals of earlier versions have a chain per parent, run side by side.
 */
export type DerivedFile = { file: string; lane: PartitionLane; records: number; chain?: number };

export type PartitionSettings = {
  delimiter: ColumnDelimiter;
  /** the line ending given to a last record that has none */
  lineEnding: LineEnding;
  /** index of the parent key column in the header */
  column: number;
  /** records of one internal batch of the org (10,000), capped at maxRecordsPerJob */
  binRecords: number;
  maxRecordsPerJob: number;
  maxBytesPerJob: number;
  /**
   * bytes the upload may add to each row beyond its bytes here (mapped constants, a line ending
   * given CRLF), so a grouped file stays one chunk: a second cut could split a parent over two jobs
   */
  extraBytesPerRow?: number;
  /**
   * the header's bytes as the upload counts them (mapped, with constants), when more than its bytes
   * here: a job's byte budget starts from the larger
   */
  uploadHeaderBytes?: number;
  /** bytes of rows (plus a per-row overhead) grouped in memory at once */
  memoryBytes: number;
  /** longest record accepted, as the scanner's carry bound */
  maxRecordBytes: number;
};

/** the org's internal batch (Bulk API 2.0 guide, "Understanding Bulk API 2.0 Ingest") */
export const ORG_BATCH_RECORDS = 10_000;
/**
 * The pass's resident memory follows its budget, not the file: with the budget used in full from
 * about 1M rows on, a larger budget is a run's peak RSS growing with the file up to that size. It
 * buys no speed: bench/partition-memory.mjs on 4M rows takes 4.5 to 5.4 s with 8, 16, 32 or 64 MB,
 * at a peak of 129, 133, 139 and 148 MB (108 MB of it the library's start).
 */
export const DEFAULT_PARTITION_MEMORY_BYTES = 16 * 1024 * 1024;
/** what a row held in memory costs beyond its bytes: its range in a group, generously (groups, keys) */
const ROW_OVERHEAD_BYTES = 96;
const SPILL_FANOUT = 16;
const SPILL_SHARE = 8;
const MAX_SPILL_DEPTH = 4;

/**
 * Rewrites `source` as derived files in `outDir` (emptied first: nothing there was journaled).
 * Several sources (files of one step with the same header) are rewritten together, so a parent's
 * children spread over them still land in one group; the header is the first's, and each other
 * file's own header line is skipped. Returns the files in the order their chunks should be
 * planned: grouped files, then serial ones.
 */
export async function partitionSource(
  source: string | readonly string[],
  outDir: string,
  settings: PartitionSettings,
): Promise<DerivedFile[]> {
  const sources = typeof source === 'string' ? [source] : source;
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true, mode: 0o700 });
  const spillDir = join(outDir, '.spill');
  await mkdir(spillDir, { mode: 0o700 });
  const size = sources.reduce((total, file) => total + statSync(file).size, 0);
  const fanout = Math.min(256, Math.max(1, Math.ceil((SPILL_SHARE * size) / settings.memoryBytes)));
  let header: Buffer | undefined;
  const keys = new KeyReader(settings);
  // The spill files' write buffers together take at most a quarter of the budget, as pieces of one
  // allocation that the grouping reads spill files into afterwards: a buffer per spill file, freed
  // whenever V8 next collects, was still resident when grouping began (16 MB of them on 10M rows
  // with a 64 MB budget: peak RSS 172 MB, against 152 MB on 1M rows; bench/partition-memory.mjs).
  const spillBuffer = Math.min(WRITE_BUFFER_BYTES, Math.max(4096, Math.floor(settings.memoryBytes / 4 / fanout)));
  const arena = Buffer.allocUnsafe(spillBuffer * fanout);
  const spills = Array.from(
    { length: fanout },
    (_, k) => new BufferedFile(join(spillDir, `p${k}`), arena.subarray(k * spillBuffer, (k + 1) * spillBuffer)),
  );
  const spread = new Spreader(0, fanout);
  for (const file of sources) {
    let headerSeen = false;
    // eslint-disable-next-line no-await-in-loop -- one source after the other into the same spill files
    await forEachRecord(
      file,
      settings.delimiter,
      (bytes, _line, blank) => {
        if (!headerSeen) {
          headerSeen = true;
          header ??= terminated(Buffer.from(bytes), settings.lineEnding);
          return;
        }
        if (blank) return;
        const spill = spills[spread.indexOfHash(keys.hashOfRange(bytes, 0, bytes.length, 0))];
        spill.write(terminated(bytes, settings.lineEnding));
      },
      settings.maxRecordBytes,
    );
  }
  for (const spill of spills) spill.close();
  const packer = new Packer(outDir, header ?? Buffer.alloc(0), settings);
  const context = {
    packer,
    keys,
    reader: new SpillReader(settings.memoryBytes, arena),
    groups: new GroupTable(new RowChains()),
    settings,
  };
  for (const spill of spills) {
    // eslint-disable-next-line no-await-in-loop -- one spill file at a time is what keeps memory flat
    await groupSpill(spill.path, 0, context);
  }
  const files = await packer.finish();
  await rm(spillDir, { recursive: true, force: true });
  await syncDirectory(outDir);
  return files;
}

/**
 * The spill file a row goes to. Rows without a parent are dealt round-robin: they lock nothing, and
 * hashing them all to one file would send that file down every level of re-partitioning.
 */
class Spreader {
  private parentless = 0;

  public constructor(
    private readonly seed: number,
    private readonly fanout: number,
  ) {}

  public indexOf(key: string): number {
    return this.indexOfHash(key === '' ? undefined : hashOf(key, this.seed));
  }

  /** indexOf, given hashOf(key, seed) of the row's key (undefined: the row has none) */
  public indexOfHash(hash: number | undefined): number {
    if (this.fanout === 1) return 0;
    if (hash === undefined) return this.parentless++ % this.fanout;
    return hash % this.fanout;
  }
}

function terminated(bytes: Buffer, lineEnding: LineEnding): Buffer {
  const last = bytes[bytes.length - 1];
  if (last === 0x0a || last === 0x0d) return bytes;
  return Buffer.concat([bytes, Buffer.from(lineEnding === 'CRLF' ? '\r\n' : '\n')]);
}

/** FNV-1a over the key's UTF-16 units, seeded per spill depth so a re-partition splits differently */
function hashOf(key: string, seed: number): number {
  let hash = hashStart(seed);
  for (let i = 0; i < key.length; i++) hash = hashStep(hash, key.charCodeAt(i));
  return hash;
}

function hashStart(seed: number): number {
  return (0x81_1c_9d_c5 ^ Math.imul(seed + 1, 0x9e_37_79_b1)) >>> 0;
}

function hashStep(hash: number, unit: number): number {
  return Math.imul(hash ^ unit, 0x01_00_01_93) >>> 0;
}

class KeyReader {
  private readonly fields: RecordFields;
  private readonly delimiter: number;

  public constructor(private readonly settings: PartitionSettings) {
    this.delimiter = delimiterCharacter(settings.delimiter).charCodeAt(0);
    this.fields = new RecordFields(this.delimiter);
  }

  /**
   * The parent key of a row; '' when the column is empty or missing (such a row locks no parent).
   * Lower-cased: an external id matches regardless of case unless its field was made case
   * sensitive (Salesforce Help, "Custom Field Attributes": External ID, Unique), so `a1` and `A1`
   * may name one parent; grouping them together is never wrong, only coarser.
   */
  public keyOf(bytes: Buffer): string {
    // RecordFields leaves a lone CR (a record end, as the scanner reads it) on the last value
    const last = bytes[bytes.length - 1];
    this.fields.split(last === 0x0d ? bytes.subarray(0, bytes.length - 1) : bytes);
    return this.settings.column < this.fields.count ? this.fields.value(this.settings.column).toLowerCase() : '';
  }

  /**
   * hashOf(keyOf(row), seed) for the row `source[start, end)`, undefined for a row without a key,
   * without a view of the row or a string when the key is unquoted ASCII: the fields before it are
   * skipped on the bytes (a quoted one to its closing quote, "" inside it being data, as
   * RecordFields reads them) and the key hashed where it lies, ASCII lower-casing being toLowerCase
   * there and an ASCII byte its own UTF-16 unit. Any other key (quoted, non-ASCII) is read as
   * keyOf reads it.
   */
  public hashOfRange(source: Buffer, start: number, end: number, seed: number): number | undefined {
    let stop = end;
    if (stop > start && source[stop - 1] === 0x0a) stop--;
    if (stop > start && source[stop - 1] === 0x0d) stop--;
    const at = skipFields(source, start, stop, this.settings.column, this.delimiter);
    if (at < 0) return undefined;
    if (at < stop && source[at] === 0x22) return this.hashOfKey(source.subarray(start, end), seed);
    let hash = hashStart(seed);
    let k = at;
    for (; k < stop && source[k] !== this.delimiter; k++) {
      const byte = source[k];
      if (byte >= 0x80) return this.hashOfKey(source.subarray(start, end), seed);
      hash = hashStep(hash, byte >= 0x41 && byte <= 0x5a ? byte + 0x20 : byte);
    }
    return k === at ? undefined : hash;
  }

  private hashOfKey(row: Buffer, seed: number): number | undefined {
    const key = this.keyOf(row);
    return key === '' ? undefined : hashOf(key, seed);
  }
}

/** where field `count` of the record `source[at, stop)` starts, or -1 when it has fewer fields */
function skipFields(source: Buffer, at: number, stop: number, count: number, delimiter: number): number {
  let i = at;
  for (let field = 0; field < count; field++) {
    if (i < stop && source[i] === 0x22) {
      i++;
      while (i < stop && !(source[i] === 0x22 && (i + 1 >= stop || source[i + 1] !== 0x22))) {
        i += source[i] === 0x22 ? 2 : 1;
      }
    }
    while (i < stop && source[i] !== delimiter) i++;
    if (i >= stop) return -1;
    i++;
  }
  return i;
}

class SpillNeeded extends Error {}

/**
 * One buffer every spill file is read into in turn, grown to the largest one read (at most the
 * memory budget), instead of a buffer per spill file left for V8 to free whenever it collects.
 * The packer copies every row out before `add` resolves, so the buffer is free again once a spill
 * file's groups are placed. It grows to twice what it was (up to the budget), not to the size
 * asked: spill files are about one size, each a little larger than the last, and a buffer made
 * anew for each one left the older ones (8 MB each) for V8 to free when it next collected, 46 MB of
 * them at once (bench/partition-memory.mjs, 4M rows, 64 MB budget). Pages of it never read into
 * are never resident.
 */
class SpillReader {
  /** `buffer`: memory to start with, free once the spill files are written */
  public constructor(
    private readonly limit: number,
    private buffer: Buffer,
  ) {}

  public async read(file: string, size: number): Promise<Buffer> {
    if (this.buffer.length < size) {
      this.buffer = Buffer.allocUnsafe(Math.max(size, Math.min(this.limit, 2 * this.buffer.length)));
    }
    const handle = await open(file, 'r');
    try {
      let done = 0;
      while (done < size) {
        // eslint-disable-next-line no-await-in-loop -- one read after the other into one buffer
        const { bytesRead } = await handle.read(this.buffer, done, size - done, done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
      return this.buffer.subarray(0, done);
    } finally {
      await handle.close();
    }
  }
}

type SpillContext = {
  packer: Packer;
  keys: KeyReader;
  reader: SpillReader;
  /** the groups of the spill file being grouped, reused from one to the next */
  groups: GroupTable;
  settings: PartitionSettings;
};

/** the hash seed of grouping inside a spill file (spill files are cut with seeds 0 to MAX_SPILL_DEPTH) */
const GROUP_SEED = 0x5e_ed;

/**
 * Groups one spill file by key and hands the groups to the packer. A file whose rows do not fit the
 * budget is partitioned again, one level deeper, with another seed.
 */
async function groupSpill(file: string, depth: number, context: SpillContext): Promise<void> {
  const { packer, keys, settings } = context;
  const { size } = statSync(file);
  if (size <= settings.memoryBytes) {
    // The file whole in one buffer and each row a range of it in typed arrays, groups keyed by the
    // hash of their key read where it lies, their counts and chains in typed arrays too
    // (partitionGroups.ts): no object or string per row or per parent, and nothing sized by the file.
    // Objects per row (a view of the row, its key as two strings, arrays of ranges) are garbage at
    // once, but at millions of rows V8 promoted them faster than it collected, and its heap grew to
    // several times the budget (bench/partition-memory.mjs, 4M rows, 16 MB budget: peak RSS 296 MB,
    // 107 MB of it the library's start; 171 MB without them). Two parents whose keys hash alike
    // share a group: coarser, never wrong (a parent's children still sit together), and rare.
    const source = await context.reader.read(file, size);
    const { groups } = context;
    groups.chains.reset(source);
    groups.reset();
    let cost = size;
    const scanner = new RecordScanner(settings.delimiter);
    const onRow = (start: number, end: number): void => {
      cost += ROW_OVERHEAD_BYTES;
      if (cost > settings.memoryBytes) throw new SpillNeeded();
      // a row without a parent locks nothing: the table makes it a group of its own, the packer's best filler
      groups.add(keys.hashOfRange(source, start, end, GROUP_SEED), start, end);
    };
    try {
      scanner.push(source, onRow);
      const last = scanner.end().last;
      if (last) onRow(last.start, last.end);
      await packer.add(groups);
      return;
    } catch (error) {
      if (!(error instanceof SpillNeeded)) throw error;
    }
  }
  // Too big for memory. The key most rows share (a majority vote over the rows with a parent, one
  // pass, no table) has its rows taken out whole, into a file of their own streamed as one group:
  // a parent past the budget is never cut however its file is mixed (rows without a parent are dealt
  // round-robin into every part at every depth, and a few small parents of other keys may share its
  // hash at every seed, so the file a big parent lands in is rarely its rows alone). The rest splits
  // again, one level deeper.
  let candidate: string | undefined;
  let votes = 0;
  let others = false;
  let records = 0;
  await forEachRecord(
    file,
    settings.delimiter,
    (bytes) => {
      records++;
      const key = keys.keyOf(bytes);
      if (key === '') {
        others = true;
        return;
      }
      if (candidate !== undefined && key !== candidate) others = true;
      if (votes === 0) candidate = key;
      votes += key === candidate ? 1 : -1;
    },
    settings.maxRecordBytes,
  );
  if (candidate !== undefined && !others) {
    await packer.addGroups([{ records, bytes: statSync(file).size, file }]);
    return;
  }
  // Past the depth limit what is left after the heaviest key is cut into runs of rows in file
  // order, each grouped on its own: a parent there may span two bins only if two keys past the
  // budget together collide under every seed, not seen with a 32-bit hash and four seeds.
  const byRuns = depth + 1 >= MAX_SPILL_DEPTH;
  const spread = new Spreader(depth + 1, SPILL_FANOUT);
  const parts = Array.from({ length: SPILL_FANOUT }, (_, k) => new BufferedFile(`${file}.${k}`));
  const heavy = candidate === undefined ? undefined : new BufferedFile(`${file}.key`);
  let runBytes = 0;
  let run = 0;
  await forEachRecord(
    file,
    settings.delimiter,
    (bytes) => {
      const key = keys.keyOf(bytes);
      if (heavy && key === candidate) {
        heavy.write(bytes);
        return;
      }
      if (!byRuns) {
        parts[spread.indexOf(key)].write(bytes);
        return;
      }
      runBytes += bytes.length + ROW_OVERHEAD_BYTES;
      if (runBytes > settings.memoryBytes / 2 && run < SPILL_FANOUT - 1) {
        run++;
        runBytes = bytes.length + ROW_OVERHEAD_BYTES;
      }
      parts[run].write(bytes);
    },
    settings.maxRecordBytes,
  );
  if (heavy) {
    heavy.close();
    await packer.addGroups([{ records: heavy.records, bytes: statSync(heavy.path).size, file: heavy.path }]);
  }
  for (const part of parts) part.close();
  await rm(file, { force: true });
  for (const part of parts) {
    if (part.records === 0) continue;
    // eslint-disable-next-line no-await-in-loop
    await groupSpill(part.path, depth + 1, context);
  }
}
