// The org's rolling 24-hour allocations for ingest processing: batches (15,000, shared with Bulk API
// 1.0: Limits cheat sheet, "Batch Allocations") and records (150,000,000: Bulk API 2.0 limits). The
// guide ("Understanding Bulk API 2.0 Ingest") says that when the record limit is exceeded while a job is
// processed, the rest of its data is not processed and the job is Failed; the model treats a batch past
// either allocation so.

const DAY_MS = 24 * 60 * 60 * 1000;

export class DailyAllocation {
  private readonly entries: Array<{ at: number; records: number }> = [];
  private batches = 0;
  private records = 0;

  public constructor(
    private readonly maxBatches: number,
    private readonly maxRecords: number,
  ) {}

  /** Batches and records used in the 24 hours before `now`. */
  public used(now: number): { batches: number; records: number } {
    this.expire(now);
    return { batches: this.batches, records: this.records };
  }

  /** Takes one batch of `records` at `now`; false (nothing taken) when it would pass either allocation. */
  public take(now: number, records: number): boolean {
    this.expire(now);
    if (this.batches + 1 > this.maxBatches || this.records + records > this.maxRecords) return false;
    this.entries.push({ at: now, records });
    this.batches += 1;
    this.records += records;
    return true;
  }

  private expire(now: number): void {
    while (this.entries.length && this.entries[0].at <= now - DAY_MS) {
      const gone = this.entries.shift()!;
      this.batches -= 1;
      this.records -= gone.records;
    }
  }
}
