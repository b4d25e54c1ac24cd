/*
 * The journal's vocabulary: one JSON object a line, written ahead of each side effect (intent)
 * and after it (outcome). See docs/architecture.md §4. Never add a field that could hold a credential.
 */
import type { Operation } from '../manifest/types.js';

export type JobState = 'Open' | 'UploadComplete' | 'InProgress' | 'JobComplete' | 'Failed' | 'Aborted';

/** a source file as it was when the run began; resume refuses a file whose fingerprint changed */
export type SourceFingerprint = { file: string; size: number; mtimeMs: number; sha256: string };

/** a file the run derived from a source (partition pass of lock-aware jobs), fingerprinted as sources are */
export type DerivedSource = SourceFingerprint & {
  /** `serial` files are run one job at a time (engine/partitionPass.ts) */
  lane: 'grouped' | 'serial';
  records: number;
  /**
   * serial files of one chain have their jobs run one after another: a pass's serial files share
   * one (engine/serialLane.ts); runs of earlier versions have one per parent
   */
  chain?: number;
};

/** A chunk is identified by its step and a per-step sequence number. */
export type ChunkRef = { step: string; chunk: number };

export type JournalEventBody =
  | {
      type: 'run.started';
      runId: string;
      manifest: string;
      manifestSha256: string;
      username: string;
      orgId: string;
      instanceUrl: string;
      apiVersion: string;
      sources: SourceFingerprint[];
      /** the run this run undoes (`sf migrate rollback`) */
      rollbackOf?: string;
    }
  | { type: 'run.resumed'; pid: number; host: string }
  | { type: 'wave.started'; wave: number; steps: string[] }
  | { type: 'step.started'; step: string; wave: number; object: string; operation: Operation }
  /**
   * a step's source rewritten, grouped by its parent key column, into derived files in the run
   * folder (written and fsynced before this line): the step's chunks are cut from these instead.
   * `with`: the step's other sources (same header) whose rows the same pass took in, so a parent's
   * children in two files land in one job; no chunk is ever cut from them.
   */
  | {
      type: 'source.partitioned';
      step: string;
      source: string;
      with?: string[];
      column: string;
      files: DerivedSource[];
    }
  /**
   * the records a lookup matches keys against (src/lookup/), fetched from the target org once per
   * run into the run folder, written and fsynced before this line: the run and every resume of it
   * resolve from exactly this file, checked against its fingerprint
   */
  | ({ type: 'lookup.snapshot'; lookup: string; object: string; query: string; records: number } & SourceFingerprint)
  /**
   * a step's source run through the step's row stages (src/prepare/) into a derived file and
   * rejected-rows files in dead-letter form, all written and fsynced before this line: the step's
   * chunks are cut from `file` (partitioned first, when the step is), and the rejected rows are
   * failed records of the step
   */
  | {
      type: 'source.prepared';
      step: string;
      source: string;
      file: SourceFingerprint & { records: number };
      rejected: Array<{ file: string; records: number }>;
    }
  | (ChunkRef & {
      type: 'chunk.planned';
      file: string;
      byteStart: number;
      byteEnd: number;
      records: number;
      /** 0 for source chunks; n for the n-th retry of failed rows */
      attempt: number;
      /** the chunk whose failed rows this retries */
      retryOf?: ChunkRef;
      /**
       * SHA-256 (hex) of the bytes [byteStart, byteEnd) when planned: the upload sends them only if
       * they still match (absent in older journals)
       */
      sha256?: string;
    })
  /**
   * the chunk's before image: the current values of the fields its job writes, for the rows it
   * targets, queried from the org into a file of the run folder (written and fsynced before this
   * line) ahead of the job; rollback restores updated rows from it (src/engine/beforeImages.ts)
   */
  | (ChunkRef & { type: 'before.saved'; file: string; size: number; sha256: string; records: number })
  | (ChunkRef & { type: 'job.creating' })
  | (ChunkRef & { type: 'job.created'; jobId: string })
  | (ChunkRef & { type: 'job.uploaded'; jobId: string; bytes: number })
  | (ChunkRef & { type: 'job.closing'; jobId: string })
  | (ChunkRef & { type: 'job.closed'; jobId: string })
  | (ChunkRef & { type: 'job.aborted'; jobId: string; reason: string })
  | (ChunkRef & {
      type: 'job.finished';
      jobId: string;
      state: JobState;
      processed: number;
      failed: number;
      errorMessage?: string;
    })
  | (ChunkRef & {
      type: 'results.saved';
      jobId: string;
      /** paths relative to the run folder */
      files: { success: string; failed: string; unprocessed: string };
      counts: { success: number; failed: number; unprocessed: number };
    })
  | (ChunkRef & { type: 'job.deleted'; jobId: string })
  | {
      type: 'step.finished';
      step: string;
      records: number;
      succeeded: number;
      failed: number;
      unprocessed: number;
      jobs: number;
      gate: 'passed' | 'failed';
      reason?: string;
      /** failed records by status code */
      failuresByCode?: Record<string, number>;
      retryRounds?: number;
      durationMs?: number;
      /** dead-letter CSVs, relative to the run folder */
      deadLetters?: string[];
    }
  | { type: 'wave.finished'; wave: number; gate: 'passed' | 'failed' }
  /**
   * a job in the org that resume would have asked about (closed, by this user, on a step's object
   * and operation, unknown to the journal and the job index) that the user declared not this run's
   * (`resume --ignore-job`): a later resume does not ask again
   */
  | { type: 'job.ignored'; jobId: string; reason: string }
  | { type: 'run.finished'; status: 'succeeded' | 'completedWithFailures' | 'failed'; reason?: string };

export type JournalEventType = JournalEventBody['type'];

/** as stored: every line carries its sequence number and time */
export type JournalEvent = JournalEventBody & { seq: number; time: string };
