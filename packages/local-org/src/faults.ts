// Fault injection: every decision draws from one seeded generator, so a run with the same seed and
// the same sequence of requests fails in the same places.

export type FaultSettings = {
  seed?: number;
  /** fraction of API requests answered 500/503 (auth endpoints and the /services/data version list excluded) */
  serverErrorRate?: number;
  /** fraction of requests whose socket is destroyed mid-request (before or after the request took effect) */
  dropConnectionRate?: number;
  /** fraction of PUT uploads whose socket is destroyed after part of the body */
  dropUploadRate?: number;
  /** added to every response */
  latencyMs?: number;
  /** every API request answered 403 REQUEST_LIMIT_EXCEEDED `TotalRequests Limit exceeded.` */
  apiLimitExhausted?: boolean;
  /**
   * fraction of API requests answered 403 REQUEST_LIMIT_EXCEEDED `ConcurrentPerOrgLongTxn Limit exceeded.`:
   * the org's limit of concurrent long-running requests, a transient refusal (reference §1, "Error responses")
   */
  concurrentLimitRate?: number;
  /** fraction of rows failing UNABLE_TO_LOCK_ROW */
  lockRowRate?: number;
  /** jobs turn Failed after processing this many rows */
  failJobAfterRecords?: number;
  /** concurrent jobs touching one parent record contend for its lock */
  parentLockContention?: boolean;
  /** 401 INVALID_SESSION_ID once a token served this many requests or is this old; a refresh issues a fresh token */
  sessionExpiry?: { afterRequests?: number; afterSeconds?: number };
};

/** mulberry32: tiny, fast, and good enough to spread faults evenly. */
export function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d_2b_79_f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export class Faults {
  private settings: FaultSettings = {};
  private random: () => number = generator(1);

  public constructor(initial?: FaultSettings) {
    this.set(initial ?? {});
  }

  /** The settings in force (read on every request, so changes apply at once). */
  public get value(): Readonly<FaultSettings> {
    return this.settings;
  }

  public set(settings: FaultSettings): void {
    this.settings = structuredClone(settings);
    this.random = generator(settings.seed ?? 1);
  }

  public clear(): void {
    this.set({});
  }

  public current(): FaultSettings {
    return structuredClone(this.settings);
  }

  /** Draws once: true with the given probability. No draw (and so no change to the sequence) when the rate is 0. */
  public chance(rate: number | undefined): boolean {
    if (!rate || rate <= 0) return false;
    return this.random() < rate;
  }

  public draw(): number {
    return this.random();
  }
}

const FAULT_KEYS: Record<keyof FaultSettings, 'number' | 'boolean' | 'object'> = {
  seed: 'number',
  serverErrorRate: 'number',
  dropConnectionRate: 'number',
  dropUploadRate: 'number',
  latencyMs: 'number',
  apiLimitExhausted: 'boolean',
  concurrentLimitRate: 'number',
  lockRowRate: 'number',
  failJobAfterRecords: 'number',
  parentLockContention: 'boolean',
  sessionExpiry: 'object',
};

/** Checks parsed JSON against FaultSettings; returns the problems found (empty when valid). */
export function faultSettingsProblems(value: unknown): string[] {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return ['fault settings must be a JSON object'];
  const problems: string[] = [];
  for (const [key, v] of Object.entries(value)) {
    const expected = FAULT_KEYS[key as keyof FaultSettings];
    if (!expected) problems.push(`unknown fault "${key}" (known: ${Object.keys(FAULT_KEYS).join(', ')})`);
    else if (typeof v !== expected || v === null) problems.push(`"${key}" must be a ${expected}`);
    else if (key.endsWith('Rate') && ((v as number) < 0 || (v as number) > 1))
      problems.push(`"${key}" must be between 0 and 1`);
    else if (key === 'sessionExpiry') {
      for (const [k, n] of Object.entries(v as object)) {
        if (k !== 'afterRequests' && k !== 'afterSeconds') problems.push(`unknown sessionExpiry setting "${k}"`);
        else if (typeof n !== 'number' || n <= 0) problems.push(`"sessionExpiry.${k}" must be a positive number`);
      }
    }
  }
  return problems;
}
