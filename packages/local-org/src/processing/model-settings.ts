// The figures of the realistic processing model, each with its default and where the default comes
// from. "No public figure" means Salesforce publishes none: the default is a plausible choice that a
// user can replace with what they measured in their own org.

export type ModelSettings = {
  /** batches processed at once per org, across all jobs (no public figure) */
  workers: number;
  /** records per internal batch (reference §4; Bulk API 2.0 guide, "How Requests Are Processed") */
  batchRecords: number;
  /** rows per chunk, one transaction each (reference §3) */
  chunkRows: number;
  /** modelled processing time per record of an object without triggers (no public figure) */
  msPerRecord: number;
  /** per-object time per record, overriding msPerRecord (e.g. an object with triggers or flows) */
  objectMsPerRecord: Record<string, number>;
  /** a batch not processed within this time is put back in the queue (guide: "within 5 minutes") */
  batchTimeoutMs: number;
  /** retries of one batch before the job is Failed (guide: "up to a maximum of 20 times") */
  maxBatchRetries: number;
  /**
   * how long a row waits for a parent record another batch holds before it fails UNABLE_TO_LOCK_ROW
   * (Salesforce's "Record Locking Cheat Sheet": a request waits up to 10 seconds for a lock)
   */
  lockWaitMs: number;
  /** added to every request (no public figure: network and platform overhead of one REST call) */
  requestLatencyMs: number;
  /** upload bandwidth of a PUT body in bytes per second (no public figure; depends on the user's link) */
  uploadBytesPerSecond: number;
  /** batches per rolling 24 hours (Limits cheat sheet: 15,000, shared with Bulk API 1.0) */
  dailyBatches: number;
  /** records per rolling 24 hours (Bulk API 2.0 limits: 150,000,000) */
  dailyRecords: number;
  /** real milliseconds per modelled millisecond: 0.01 runs the model 100 times faster than real time */
  timeScale: number;
};

export const DEFAULT_MODEL_SETTINGS: Readonly<ModelSettings> = Object.freeze({
  workers: 10,
  batchRecords: 10_000,
  chunkRows: 200,
  msPerRecord: 2,
  objectMsPerRecord: {},
  batchTimeoutMs: 300_000,
  maxBatchRetries: 20,
  lockWaitMs: 10_000,
  requestLatencyMs: 100,
  uploadBytesPerSecond: 10 * 1024 * 1024,
  dailyBatches: 15_000,
  dailyRecords: 150_000_000,
  timeScale: 1,
});

/** The settings in force: the defaults, with what the user gave over them. */
export function modelSettings(given: Partial<ModelSettings> = {}): ModelSettings {
  return {
    ...DEFAULT_MODEL_SETTINGS,
    ...given,
    objectMsPerRecord: { ...DEFAULT_MODEL_SETTINGS.objectMsPerRecord, ...given.objectMsPerRecord },
  };
}

/** Checks parsed JSON against ModelSettings; returns the problems found (empty when valid). */
export function modelSettingsProblems(value: unknown): string[] {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return ['model settings must be a JSON object'];
  const problems: string[] = [];
  const positive = (key: string, v: unknown, allowZero: boolean): void => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (!allowZero && v === 0))
      problems.push(`"${key}" must be a ${allowZero ? 'non-negative' : 'positive'} number`);
  };
  for (const [key, v] of Object.entries(value)) {
    if (key === 'objectMsPerRecord') {
      if (!v || typeof v !== 'object' || Array.isArray(v)) problems.push('"objectMsPerRecord" must be an object');
      else for (const [object, ms] of Object.entries(v as object)) positive(`objectMsPerRecord.${object}`, ms, true);
    } else if (!(key in DEFAULT_MODEL_SETTINGS)) {
      problems.push(`unknown model setting "${key}" (known: ${Object.keys(DEFAULT_MODEL_SETTINGS).join(', ')})`);
    } else {
      const integral = ['workers', 'batchRecords', 'chunkRows', 'maxBatchRetries', 'dailyBatches', 'dailyRecords'];
      positive(key, v, ['msPerRecord', 'requestLatencyMs', 'lockWaitMs', 'maxBatchRetries'].includes(key));
      if (integral.includes(key) && !Number.isInteger(v)) problems.push(`"${key}" must be an integer`);
    }
  }
  return problems;
}
