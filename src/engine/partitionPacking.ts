/*
 * The partition pass's second half (see partitionPass.ts): groups of one parent's rows packed whole
 * into bins of the org's batch size, bins into job files (the grouped lane), and parents too big for
 * one batch set aside for jobs they share (the serial lane, serialLane.ts). Each file is written
 * under a temporary name, fsynced and renamed before it is reported.
 */
import { join } from 'node:path';
import { forEachRecord } from '../csv/recordBytes.js';
import { BufferedFile } from './bufferedFile.js';
import type { GroupList } from './partitionGroups.js';
import type { DerivedFile, PartitionSettings } from './partitionPass.js';
import { SerialLane } from './serialLane.js';

/**
 * The rows of one spill file read whole into `source`, as byte ranges chained per group: row r is
 * `source[starts[r], ends[r])`, the group's next row is `next[r]` (-1 ends the chain). Typed arrays
 * reused from spill file to spill file, so grouping makes no object per row.
 */
export class RowChains {
  public starts: Int32Array = new Int32Array(1024);
  public ends: Int32Array = new Int32Array(1024);
  public next: Int32Array = new Int32Array(1024);
  public count = 0;

  public constructor(public source: Buffer = Buffer.alloc(0)) {}

  /** empties the chains for the rows of another spill file */
  public reset(source: Buffer): void {
    this.source = source;
    this.count = 0;
  }

  /** adds a row after `last` (-1: the first row of its group); returns its index */
  public add(start: number, end: number, last: number): number {
    if (this.count === this.starts.length) {
      const grow = (from: Int32Array): Int32Array => {
        const to = new Int32Array(from.length * 2);
        to.set(from);
        return to;
      };
      this.starts = grow(this.starts);
      this.ends = grow(this.ends);
      this.next = grow(this.next);
    }
    const row = this.count++;
    this.starts[row] = start;
    this.ends[row] = end;
    this.next[row] = -1;
    if (last >= 0) this.next[last] = row;
    return row;
  }
}

/**
 * one parent's rows: a chain of rows (`first` to `last`) of `chains`, or (a single key past the
 * memory budget) a spill file of its own, streamed
 */
export type Group = {
  records: number;
  bytes: number;
  chains?: RowChains;
  first?: number;
  last?: number;
  file?: string;
};

/** index of the first of `sizes` (descending) that is at most `room`, or -1 */
function firstAtMost(sizes: number[], room: number): number {
  let low = 0;
  let high = sizes.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (sizes[middle] <= room) high = middle;
    else low = middle + 1;
  }
  return low < sizes.length ? low : -1;
}

/** candidates looked at past the largest that fits, to keep a bin fillable */
const FIT_LOOKAHEAD = 64;

/**
 * The size (index into `sizes`, descending) of the next group for a bin with `room` left: the
 * largest that fits and leaves the bin full or with room for at least the smallest group there is,
 * so a bin does not end a few records short (which would end its job); the largest that fits when
 * no candidate does; -1 when none fits.
 */
function fittingSize(sizes: number[], room: number): number {
  const first = firstAtMost(sizes, room);
  if (first === -1) return -1;
  const smallest = sizes[sizes.length - 1];
  for (let k = first; k < sizes.length && k <= first + FIT_LOOKAHEAD; k++) {
    const rest = room - sizes[k];
    if (rest === 0 || rest >= smallest) return k;
  }
  return first;
}

/**
 * Places groups into bins and bins into job files. The open bin and job carry over from one spill
 * file's groups to the next, so only a bin that no remaining group fits ends a job early.
 */
export class Packer {
  private readonly files: DerivedFile[] = [];
  private job?: BufferedFile;
  private jobBins = 0;
  /** the open job's bytes as uploaded, at most (see costOf) */
  private jobBytes = 0;
  private binFill = 0;
  private readonly serial: SerialLane;
  private readonly maxBinsPerJob: number;
  /** the header's bytes in the upload's count (see uploadHeaderBytes) */
  private readonly headerBytes: number;
  /** add's counting sort, by group size: groups per size, the end of each size's run in `order` */
  private sizeCounts = new Int32Array(0);
  private sizeEnds = new Int32Array(0);
  private order = new Int32Array(0);

  public constructor(
    private readonly outDir: string,
    private readonly header: Buffer,
    private readonly settings: PartitionSettings,
  ) {
    this.headerBytes = Math.max(header.length, settings.uploadHeaderBytes ?? 0);
    this.maxBinsPerJob = Math.max(1, Math.floor(settings.maxRecordsPerJob / settings.binRecords));
    this.serial = new SerialLane(join(outDir, '.serial'), outDir, header, settings);
  }

  /**
   * Places a spill file's groups. Largest first into each bin, smaller ones fill what is left: the
   * groups that fit a bin are ordered by size (descending) in `order`, a counting sort over typed
   * arrays reused from call to call, so placing a million parents makes no object or array per
   * parent (partitionGroups.ts says why that matters); `sizes` holds each distinct size once.
   */
  public async add(groups: GroupList): Promise<void> {
    const { binRecords } = this.settings;
    if (this.sizeCounts.length < binRecords + 1) {
      this.sizeCounts = new Int32Array(binRecords + 1);
      this.sizeEnds = new Int32Array(binRecords + 1);
    }
    const counts = this.sizeCounts;
    counts.fill(0);
    let packed = 0;
    for (let g = 0; g < groups.count; g++) {
      // a parent that fits no batch, or no job by its bytes, goes to the jobs the serial lane's parents share
      if (this.isSerial(groups, g)) {
        const group = groups.group(g);
        if (group.file) {
          // eslint-disable-next-line no-await-in-loop
          await this.serial.holdFile(group.file, group.records);
        } else this.serial.holdRows(group.records, (write) => writeRows(group, write));
        continue;
      }
      counts[groups.records(g)]++;
      packed++;
    }
    if (this.order.length < packed) this.order = new Int32Array(packed);
    const { order } = this;
    const ends = this.sizeEnds;
    const sizes: number[] = [];
    let at = 0;
    for (let size = binRecords; size >= 1; size--) {
      if (counts[size] === 0) continue;
      sizes.push(size);
      at += counts[size];
      // filled back to front below, popped from the end: a size's groups are placed last first
      ends[size] = at;
    }
    for (let g = groups.count - 1; g >= 0; g--) {
      if (!this.isSerial(groups, g)) order[--ends[groups.records(g)]] = g;
    }
    while (sizes.length > 0) {
      const room = binRecords - this.binFill;
      const k = fittingSize(sizes, room);
      if (k === -1) {
        // nothing left fits this bin: the job ends here, and the next job's batches count from zero
        this.endJob();
        continue;
      }
      const size = sizes[k];
      const g = order[ends[size] + --counts[size]];
      if (counts[size] === 0) sizes.splice(k, 1);
      if (this.job && this.jobBytes + this.costOf(groups, g) > this.settings.maxBytesPerJob) this.endJob();
      // a group in memory is placed without a promise (a million parents made a million of them)
      const streamed = this.place(groups, g);
      // eslint-disable-next-line no-await-in-loop
      if (streamed) await streamed;
    }
  }

  /** places groups given as objects (a single key's rows streamed from its own spill file) */
  public addGroups(groups: Group[]): Promise<void> {
    const { settings } = this;
    return this.add({
      count: groups.length,
      records: (g) => groups[g].records,
      bytes: (g) => groups[g].bytes,
      write: (g, sink) => {
        if (!groups[g].file) {
          writeRows(groups[g], sink);
          return undefined;
        }
        return writeGroup(groups[g], sink, settings);
      },
      group: (g) => groups[g],
    });
  }

  /** the grouped lane's files, then the serial lane's (composed now, from the rows set aside) */
  public async finish(): Promise<DerivedFile[]> {
    this.endJob();
    return [...this.files, ...(await this.serial.compose())];
  }

  /** a group's bytes as uploaded, at most */
  private costOf(groups: GroupList, g: number): number {
    return groups.bytes(g) + groups.records(g) * (this.settings.extraBytesPerRow ?? 0);
  }

  private isSerial(groups: GroupList, g: number): boolean {
    return (
      groups.records(g) > this.settings.binRecords ||
      this.headerBytes + this.costOf(groups, g) > this.settings.maxBytesPerJob
    );
  }

  /** writes group `g` into the open job; a promise only when its rows are streamed from a file */
  private place(groups: GroupList, g: number): Promise<void> | undefined {
    const job = this.job ?? this.startJob();
    this.jobBytes += this.costOf(groups, g);
    const records = groups.records(g);
    const streamed = groups.write(g, (row) => job.write(row));
    if (streamed) return streamed.then(() => this.placed(records));
    this.placed(records);
    return undefined;
  }

  /** counts a group written into the open job, ending its bin (and the job) when full */
  private placed(records: number): void {
    this.binFill += records;
    if (this.binFill === this.settings.binRecords) {
      this.binFill = 0;
      this.jobBins++;
      if (this.jobBins === this.maxBinsPerJob) this.endJob();
    }
  }

  private startJob(): BufferedFile {
    const job = new BufferedFile(join(this.outDir, `.grouped-${this.files.length + 1}.tmp`));
    job.write(this.header);
    job.records = 0;
    this.job = job;
    this.jobBytes = this.headerBytes;
    return job;
  }

  private endJob(): void {
    if (this.job) {
      const file = join(this.outDir, `grouped-${String(this.files.length + 1).padStart(5, '0')}.csv`);
      this.job.commit(file);
      this.files.push({ file, lane: 'grouped', records: this.job.records });
    }
    this.job = undefined;
    this.jobBins = 0;
    this.binFill = 0;
  }
}

/** the rows of a group held in memory, in order */
function writeRows(group: Group, write: (row: Buffer) => void): void {
  const { chains, first } = group;
  if (!chains || first === undefined) return;
  const { source, starts, ends, next } = chains;
  for (let row = first; row >= 0; row = next[row]) write(source.subarray(starts[row], ends[row]));
}

async function writeGroup(group: Group, write: (row: Buffer) => void, settings: PartitionSettings): Promise<void> {
  if (group.chains) {
    writeRows(group, write);
    return;
  }
  // a single key past the memory budget: its rows are streamed back from its spill file (write copies)
  if (group.file) await forEachRecord(group.file, settings.delimiter, (row) => write(row), settings.maxRecordBytes);
}
