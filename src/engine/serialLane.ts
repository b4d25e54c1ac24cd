/*
 * The partition pass's serial lane (see partitionPass.ts): parents with more children than one
 * internal batch holds (or more bytes than one job), packed into jobs they share.
 *
 * The org cuts a job into batches of `binRecords` in upload order and processes a job's batches in
 * parallel (Bulk API 2.0 guide, "Understanding Bulk API 2.0 Ingest"; the grouped lane rests on the
 * same cut). So within one job every bin but the last is exactly `binRecords` (the org's cut then
 * falls where ours does), and a parent is in at most one bin: two bins of one job may be processed
 * at once. Across jobs there is nothing to keep apart: the engine runs the lane's files as one chain,
 * a job in the org only once the one before it has ended, so a parent may continue in the next job.
 * Five parents of 12,000 children with bins of 10,000 thus take two jobs (five bins of 10,000, then
 * one bin of the five rests) where a chain of one-batch jobs per parent took ten. The price is the
 * lane's longest path: a whole batch of rests after the first job, where the chains ended with a
 * batch of one rest each, side by side. It shows only when the lane is most of a step's work: in
 * the realistic model at a tenth of the 1M bench's Contact step (batches of 1,000, 2 ms a record,
 * ten workers), five parents of 1,200 alone took 8.6 s against 6.7-7.0 s; with 33,000 grouped rows
 * beside them 14.2-14.3 s against 15.0-16.4 s, the grouped lane keeping the workers busy meanwhile.
 *
 * Memory stays flat: the parents arrive one spill file at a time, so their rows are set aside on
 * disk as they come (a parent held in memory appended to one file, a parent past the memory budget
 * keeping the spill file it already has), and the jobs are composed at the end by copying rows from
 * there, each parent read on from the offset where its last bin ended.
 */
import { mkdirSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { RecordCopier } from '../csv/recordBytes.js';
import { BufferedFile } from './bufferedFile.js';
import type { DerivedFile, PartitionSettings } from './partitionPass.js';

/** one parent's rows set aside: `left` of them from byte `offset` of `file`, its rows alone */
type Parent = { file: string; offset: number; left: number };

/** the chain every serial file of one pass is in (journals of earlier versions have one per parent) */
const CHAIN = 0;

export class SerialLane {
  private readonly parents: Parent[] = [];
  /** the rows of parents held in memory, appended parent after parent */
  private held?: BufferedFile;
  private moved = 0;
  /** every copy from the rows set aside, through one read buffer */
  private readonly copier: RecordCopier;

  /** `dir`: the lane's own temporary folder, which nothing else writes to */
  public constructor(
    private readonly dir: string,
    private readonly outDir: string,
    private readonly header: Buffer,
    private readonly settings: PartitionSettings,
  ) {
    this.copier = new RecordCopier(settings.delimiter, settings.maxRecordBytes);
  }

  /** sets aside a parent's rows held in memory: `writeRows` writes them, in order */
  public holdRows(records: number, writeRows: (write: (row: Buffer) => void) => void): void {
    this.held ??= new BufferedFile(join(this.folder(), 'held'));
    const held = this.held;
    this.parents.push({ file: held.path, offset: held.bytes, left: records });
    writeRows((row) => held.write(row));
  }

  /** takes over a spill file that holds one parent's rows alone (a parent past the memory budget) */
  public async holdFile(file: string, records: number): Promise<void> {
    const own = join(this.folder(), `parent-${++this.moved}`);
    await rename(file, own);
    this.parents.push({ file: own, offset: 0, left: records });
  }

  /**
   * The lane's job files, in the order their jobs run. Job after job: bins filled one at a time
   * from the parents not yet in the job, largest rest first, a parent cut where a bin ends (its
   * rest waits for the next job); the job ends when no parent is left for it, or at
   * maxRecordsPerJob or maxBytesPerJob (bytes as uploaded, at most: see extraBytesPerRow).
   * Largest first keeps the biggest parent moving in every job, which the number of jobs is
   * bound to: a parent of n rows needs n / binRecords of them at least.
   */
  public async compose(): Promise<DerivedFile[]> {
    this.held?.close();
    const files: DerivedFile[] = [];
    for (;;) {
      const waiting = this.parents.filter((parent) => parent.left > 0).sort((a, b) => b.left - a.left);
      if (waiting.length === 0) break;
      // eslint-disable-next-line no-await-in-loop -- one job file at a time
      files.push(await this.composeJob(waiting, files.length + 1));
    }
    // the job files are durable under their names: the rows set aside are no longer needed
    await rm(this.dir, { recursive: true, force: true });
    return files;
  }

  private folder(): string {
    if (this.parents.length === 0) mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    return this.dir;
  }

  private async composeJob(waiting: Parent[], n: number): Promise<DerivedFile> {
    const { binRecords, maxRecordsPerJob, maxBytesPerJob } = this.settings;
    const extra = this.settings.extraBytesPerRow ?? 0;
    const job = new BufferedFile(join(this.outDir, `.serial-${n}.tmp`));
    job.write(this.header, 0);
    let bytes = Math.max(this.header.length, this.settings.uploadHeaderBytes ?? 0);
    let binFill = 0;
    for (const parent of waiting) {
      const room = Math.min(binRecords - binFill, maxRecordsPerJob - job.records);
      if (room <= 0) break;
      const wanted = Math.min(room, parent.left);
      let taken = 0;
      let full = false;
      // eslint-disable-next-line no-await-in-loop -- rows copied in job order
      parent.offset = await this.copier.copy(
        parent.file,
        parent.offset,
        (length) => {
          if (taken === wanted) return false;
          // a row no job could hold with the header still goes, alone, rather than nowhere
          if (bytes + length + extra > maxBytesPerJob && job.records + taken > 0) {
            full = true;
            return false;
          }
          taken++;
          bytes += length + extra;
          return true;
        },
        (rows, records) => job.write(rows, records),
      );
      if (!full && taken < wanted) throw new Error(`serial lane: ${parent.file} holds ${wanted - taken} rows too few`);
      parent.left -= taken;
      // a job full by its bytes ends in a bin cut short, its last
      if (full) break;
      binFill += taken;
      // a parent cut at a bin's end waits for the next job; the next parent starts the next bin
      if (binFill === binRecords) binFill = 0;
    }
    const file = join(this.outDir, `serial-${String(n).padStart(5, '0')}.csv`);
    job.commit(file);
    return { file, lane: 'serial', records: job.records, chain: CHAIN };
  }
}
