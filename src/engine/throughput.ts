/*
 * Records per second and time left, for a person planning a cutover window: per step from what the
 * step has processed since it started, per wave from its steps (they run side by side, so a wave
 * ends with its slowest step). The live display feeds it job progress as it is polled; `status`
 * feeds it the journal's closed and finished jobs. Both are estimates from the observed rate, so
 * they say nothing until some record was processed.
 */

export type Throughput = {
  /** records processed per second since the step started (upload and queueing included) */
  recordsPerSecond?: number;
  /** seconds until the rest would be processed at that rate */
  etaSeconds?: number;
};

/** The rate of `processed` records over `elapsedMs`, and the time the rest of `records` needs at it. */
export function throughputOf(records: number, processed: number, elapsedMs: number): Throughput {
  if (processed <= 0 || elapsedMs <= 0) return {};
  const recordsPerSecond = (processed / elapsedMs) * 1000;
  const left = Math.max(0, records - processed);
  return { recordsPerSecond, etaSeconds: left / recordsPerSecond };
}

/** A wave ends with its slowest step; its rate is the sum of its steps'. */
export function waveThroughput(steps: Throughput[]): Throughput {
  let recordsPerSecond = 0;
  let etaSeconds: number | undefined;
  for (const step of steps) {
    if (step.recordsPerSecond === undefined || step.etaSeconds === undefined) continue;
    recordsPerSecond += step.recordsPerSecond;
    etaSeconds = Math.max(etaSeconds ?? 0, step.etaSeconds);
  }
  return etaSeconds === undefined ? {} : { recordsPerSecond, etaSeconds };
}

/** One job as the journal knows it: when it was closed and, if it ended, when and with how many records. */
export type JournaledJob = { records: number; closedAt?: string; finishedAt?: string; processed?: number };

/**
 * A step's throughput from its journal: records of its finished jobs over the time from its first
 * close to its last finish. Jobs still running count toward what is left; only source chunks
 * (attempt 0) should be passed, since retries re-process records already counted.
 */
export function journaledThroughput(jobs: JournaledJob[]): Throughput {
  let records = 0;
  let processed = 0;
  let firstClosed = Infinity;
  let lastFinished = -Infinity;
  for (const job of jobs) {
    records += job.records;
    if (job.closedAt !== undefined) firstClosed = Math.min(firstClosed, Date.parse(job.closedAt));
    if (job.finishedAt !== undefined && job.processed !== undefined) {
      processed += job.processed;
      lastFinished = Math.max(lastFinished, Date.parse(job.finishedAt));
    }
  }
  if (!Number.isFinite(firstClosed) || !Number.isFinite(lastFinished)) return {};
  return throughputOf(records, processed, lastFinished - firstClosed);
}
