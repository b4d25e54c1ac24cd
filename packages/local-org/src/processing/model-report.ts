import type { Clock } from './clock.js';

// What the realistic model did, in modelled time: a timeline of each ingest job and the accounting of
// the batch pool's worker-time. A benchmark compares a client against the model's lower bound; this says
// where the difference went: workers busy with work, busy only because the local org's own CPU or event
// loop ran late (lag, which a real org does not have), idle while batches were queued, idle with nothing
// queued (the whole pool, or part of it in a job's last round of batches), and idle while a closed job
// was still being checked and cut into batches. Not a Salesforce resource: served only under the local
// path /local-org/model and by LocalOrg.modelReport().

/** A job's life as the model saw it, in modelled ms since the model's origin. */
export type JobTimeline = {
  id: string;
  object: string;
  created?: number;
  uploadStarted?: number;
  /** the upload's answer: when the modelled link would have carried it */
  uploaded?: number;
  /** the close (UploadComplete) */
  closed?: number;
  /** the upload checked and cut into batches: its batches joined the queue */
  queued?: number;
  firstBatchStarted?: number;
  lastBatchEnded?: number;
  batches: number;
  records: number;
  /** modelled record time of its chunks (rows × time per record) */
  workMs: number;
  lockWaitMs: number;
  /** the rest of its batches' busy time: the local org's CPU and event loop, not the model's rules */
  lagMs: number;
  /** each state it entered (InProgress, JobComplete, Failed, Aborted), and when */
  states: Array<{ state: string; at: number }>;
  /** when its status was asked for (GET of the job), each with the state answered */
  polls: Array<{ at: number; state: string }>;
};

/** Worker-time of the pool, in modelled worker-ms (one worker for one ms is 1). */
export type PoolTotals = {
  workers: number;
  /** modelled ms from the model's origin to the report */
  elapsedMs: number;
  /** a worker held a batch: workMs + lockWaitMs + lagMs */
  busyMs: number;
  workMs: number;
  lockWaitMs: number;
  /** busy beyond the model's rules: a chunk's reading and writing, and sleeps that woke late */
  lagMs: number;
  /** of lagMs: sleeps that woke later than asked (the event loop was busy elsewhere) */
  lateWakeMs: number;
  /** idle workers while batches waited in the queue (should be none: the pool takes from the queue at once) */
  idleQueuedMs: number;
  /** idle workers, nothing queued, some batch running: a partly filled round */
  idlePartlyBusyMs: number;
  /** the whole pool idle, nothing queued, no job being cut */
  idleEmptyMs: number;
  /** the whole pool idle, nothing queued, while a closed job was being checked and cut into batches */
  idleCuttingMs: number;
};

/** The pool's state from `at` until the next segment: running batches, queued batches, jobs being cut. */
export type PoolSegment = [at: number, active: number, queued: number, cutting: number];

export type ModelReportJson = {
  timeScale: number;
  /** the model's clock and the wall clock at the same moment, to place wall-clock times (a journal's) */
  clock: { modelledMs: number; wallEpochMs: number };
  pool: PoolTotals;
  jobs: JobTimeline[];
  /** the pool's state over time (changes at one moment merged); at most MAX_SEGMENTS, then cut */
  segments: PoolSegment[];
  segmentsCut: boolean;
};

const MAX_SEGMENTS = 200_000;

/** One attempt of a batch by a worker, in modelled ms. */
export type BatchAttempt = {
  /** from the worker taking the batch to the attempt's end */
  busyMs: number;
  /** the rows' modelled processing time */
  workMs: number;
  /** waiting for parents another batch held */
  lockWaitMs: number;
  /** how much later than asked the work's sleeps woke */
  lateMs: number;
};

export class ModelReport {
  private readonly jobs = new Map<string, JobTimeline>();
  private readonly totals: Omit<PoolTotals, 'elapsedMs'>;
  private readonly segments: PoolSegment[] = [];
  private segmentsCut = false;
  private active = 0;
  private queued = 0;
  private cutting = 0;
  private last: number;

  public constructor(
    private readonly clock: Clock,
    workers: number,
    private readonly timeScale: number,
  ) {
    this.last = clock.now();
    this.totals = {
      workers,
      busyMs: 0,
      workMs: 0,
      lockWaitMs: 0,
      lagMs: 0,
      lateWakeMs: 0,
      idleQueuedMs: 0,
      idlePartlyBusyMs: 0,
      idleEmptyMs: 0,
      idleCuttingMs: 0,
    };
  }

  public job(id: string, object?: string): JobTimeline {
    let job = this.jobs.get(id);
    if (!job) {
      job = {
        id,
        object: object ?? '',
        batches: 0,
        records: 0,
        workMs: 0,
        lockWaitMs: 0,
        lagMs: 0,
        states: [],
        polls: [],
      };
      this.jobs.set(id, job);
    }
    if (object) job.object = object;
    return job;
  }

  /** Stamps a moment of a job's life (the first time only: a resumed job keeps its first stamps). */
  public stamp(id: string, what: 'created' | 'uploadStarted' | 'uploaded' | 'closed' | 'queued'): void {
    const job = this.job(id);
    // an upload is stamped each time it is tried
    if (job[what] === undefined || what === 'uploadStarted' || what === 'uploaded') job[what] = this.clock.now();
  }

  public state(id: string, state: string): void {
    const job = this.job(id);
    if (job.states.at(-1)?.state !== state) job.states.push({ state, at: this.clock.now() });
  }

  /** A client asked for the job's status (and got `state`). */
  public polled(id: string, state: string): void {
    this.job(id).polls.push({ at: this.clock.now(), state });
  }

  /**
   * A closed job's upload is being checked and cut into batches; the function returned says it ended (its
   * batches queued, or the job failed before): only its first call counts.
   */
  public cutStarted(): () => void {
    this.change(() => (this.cutting += 1));
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.change(() => (this.cutting -= 1));
    };
  }

  /** A job's batches joined the queue (counted in the job's batches and records). */
  public enqueued(batches: ReadonlyArray<{ jobId: string; records: number }>): void {
    for (const batch of batches) {
      const job = this.job(batch.jobId);
      job.batches += 1;
      job.records += batch.records;
    }
    this.change(() => (this.queued += batches.length));
  }

  /** A batch went back to the queue after its time-out. */
  public requeued(): void {
    this.change(() => (this.queued += 1));
  }

  public dequeued(count: number): void {
    this.change(() => (this.queued -= count));
  }

  /** A worker took a batch from the queue. */
  public batchStarted(jobId: string): void {
    this.job(jobId).firstBatchStarted ??= this.clock.now();
    this.change(() => {
      this.active += 1;
      this.queued -= 1;
    });
  }

  /** A batch attempt ended: its busy time split into the model's work, lock waits and the rest (lag). */
  public batchEnded(jobId: string, attempt: BatchAttempt): void {
    const job = this.job(jobId);
    job.lastBatchEnded = this.clock.now();
    const lag = Math.max(0, attempt.busyMs - attempt.workMs - attempt.lockWaitMs);
    job.workMs += attempt.workMs;
    job.lockWaitMs += attempt.lockWaitMs;
    job.lagMs += lag;
    this.totals.workMs += attempt.workMs;
    this.totals.lockWaitMs += attempt.lockWaitMs;
    this.totals.lagMs += lag;
    this.totals.lateWakeMs += Math.min(lag, attempt.lateMs);
    this.change(() => (this.active -= 1));
  }

  public toJSON(): ModelReportJson {
    this.accrue();
    return {
      timeScale: this.timeScale,
      clock: { modelledMs: this.clock.now(), wallEpochMs: Date.now() },
      pool: { ...this.totals, elapsedMs: this.clock.now() },
      jobs: [...this.jobs.values()].map((job) => ({ ...job, states: [...job.states], polls: [...job.polls] })),
      segments: [...this.segments],
      segmentsCut: this.segmentsCut,
    };
  }

  /** Accrues the time since the last change in the state it was in, applies `update`, records the new state. */
  private change(update: () => void): void {
    this.accrue();
    update();
    const at = this.clock.now();
    const segment: PoolSegment = [at, this.active, this.queued, this.cutting];
    const previous = this.segments.at(-1);
    if (previous && previous.slice(1).every((value, i) => value === segment[i + 1])) return;
    if (previous && previous[0] === at) this.segments[this.segments.length - 1] = segment;
    else if (this.segments.length < MAX_SEGMENTS) this.segments.push(segment);
    else this.segmentsCut = true;
  }

  private accrue(): void {
    const now = this.clock.now();
    const span = now - this.last;
    this.last = now;
    if (span <= 0) return;
    const { workers } = this.totals;
    const idle = Math.max(0, workers - this.active) * span;
    this.totals.busyMs += Math.min(this.active, workers) * span;
    if (this.queued > 0) this.totals.idleQueuedMs += idle;
    else if (this.active > 0) this.totals.idlePartlyBusyMs += idle;
    else if (this.cutting > 0) this.totals.idleCuttingMs += idle;
    else this.totals.idleEmptyMs += idle;
  }
}
