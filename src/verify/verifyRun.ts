/*
 * `sf migrate verify`: proof that a finished run landed. Per step, its books (every source record
 * succeeded or in a dead letter, exactly once), then the org: the records it reports written exist
 * (a delete step's do not), nothing it wrote is duplicated by external id, every row that named a
 * parent has its lookup filled, and a seeded sample of rows holds the uploaded values. Read-only:
 * the run is not taken over and the org is only queried. Emits events; never prints.
 */
import { EventEmitter } from 'node:events';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Messages } from '@salesforce/core';
import type { Connection } from '@salesforce/core';
import { listRuns } from '../journal/runFolder.js';
import { normalizeSalesforceId } from '../journal/salesforceId.js';
import type { LoadedManifest, ResolvedStep } from '../manifest/types.js';
import type { StepState } from '../journal/state.js';
import { openRun } from '../engine/resumeRun.js';
import { resumeCommand } from '../engine/commandLines.js';
import { readResultRows } from '../engine/resultFiles.js';
import { QueryJobClient } from '../bulk/queryJobClient.js';
import { OrgDescribe } from '../bulk/orgDescribe.js';
import type { Sleep } from '../bulk/backoff.js';
import type { RetryOptions } from '../bulk/types.js';
import { checkStepInOrg, type DescribedField, type QueryToFile } from './orgCheck.js';
import { readStepBooks } from './stepBooks.js';
import type { Discrepancy, DiscrepancyKind, StepVerification, VerifyResult } from './types.js';

export type { Discrepancy, DiscrepancyKind, StepVerification, VerifyResult } from './types.js';

Messages.importMessagesDirectoryFromMetaUrl(import.meta.url);
const messages = Messages.loadMessages('@sf-migrate/plugin-migrate', 'verify');

export const DEFAULT_SAMPLE_SIZE = 100;
export const DEFAULT_SEED = 1;
/** discrepancies listed per step; all are counted */
export const LISTED_PER_STEP = 1000;

export type VerifyEvents = {
  'step.started': [{ step: string; object: string; wave: number }];
  'step.phase': [{ step: string; phase: 'books' | 'results' | 'query' | 'compare' | 'sample' }];
  'step.verified': [StepVerification];
};

/** the org the run is verified against: its Connection, and its id to check it is the run's */
export type VerifyOrg = { connection: Connection; orgId: string };

/** how verify's query jobs run (tests and benchmarks tune them) */
export type VerifyQueryOptions = {
  retry?: RetryOptions;
  /** rows a results page may hold (the org's own default applies when absent) */
  maxRecordsPerPage?: number;
  /** first and longest wait between polls of a query job */
  pollInitialMs?: number;
  pollMaxMs?: number;
  sleep?: Sleep;
};

function queryToFile(connection: Connection, options: VerifyQueryOptions): QueryToFile {
  const client = new QueryJobClient(connection, {
    ...(options.sleep ? { sleep: options.sleep } : {}),
    ...(options.retry ? { retry: options.retry } : {}),
    ...(options.maxRecordsPerPage ? { maxRecordsPerPage: options.maxRecordsPerPage } : {}),
  });
  const poll = { initialMs: options.pollInitialMs ?? 500, maxMs: options.pollMaxMs ?? 10_000 };
  return (soql, file) => client.queryToFile(soql, file, { poll });
}

export type VerifyOptions = {
  root: string;
  /** default: the newest finished run */
  runId?: string;
  org: (run: { username: string; orgId: string }) => Promise<VerifyOrg>;
  sampleSize?: number;
  seed?: number;
  /** tuning for tests and benchmarks */
  query?: VerifyQueryOptions;
  sortBudgetBytes?: number;
};

/**
 * Fields (lower case) each step writes that a later step of the run writes again on the same
 * object: the org holds the later value, so the earlier step's sample does not compare them. Read
 * from the header of the later step's first success file: the columns as uploaded.
 */
function fieldsWrittenLater(
  manifest: LoadedManifest,
  steps: Map<string, StepState>,
  headers: Map<string, string[]>,
): Map<string, Set<string>> {
  const order = manifest.waves.flat();
  const later = new Map<string, Set<string>>();
  for (const [i, id] of order.entries()) {
    const step = manifest.steps.find((candidate) => candidate.id === id);
    const written = new Set<string>();
    for (const next of order.slice(i + 1)) {
      const other = manifest.steps.find((candidate) => candidate.id === next);
      if (!step || !other || other.object.toLowerCase() !== step.object.toLowerCase() || !steps.get(next)?.finished)
        continue;
      for (const column of headers.get(next) ?? []) written.add(column.toLowerCase());
    }
    later.set(id, written);
  }
  return later;
}

async function firstSuccessHeader(runDir: string, step: ResolvedStep, state: StepState): Promise<string[]> {
  for (const chunk of state.chunks) {
    if (!chunk.results) continue;
    // eslint-disable-next-line no-await-in-loop
    for await (const row of readResultRows(join(runDir, chunk.results.files.success), step.columnDelimiter)) return row;
  }
  return [];
}

/** one run being verified: what every step's check shares */
type Verification = {
  runDir: string;
  org: VerifyOrg;
  query: QueryToFile;
  describe: OrgDescribe;
  sampleSize: number;
  seed: number;
  writtenLater: Map<string, Set<string>>;
  describes: Map<string, Promise<DescribedField[]>>;
  scratchRoot: string;
  sortBudgetBytes?: number;
};

/** collects a step's discrepancies: all counted, the first LISTED_PER_STEP listed */
class StepDiscrepancies {
  public readonly counts: Partial<Record<DiscrepancyKind, number>> = {};
  public omitted = 0;
  private listedHere = 0;

  public constructor(
    private readonly step: string,
    private readonly listed: Discrepancy[],
  ) {}

  public report = (discrepancy: Discrepancy): void => {
    this.counts[discrepancy.kind] = (this.counts[discrepancy.kind] ?? 0) + 1;
    if (this.listedHere < LISTED_PER_STEP) {
      this.listed.push(discrepancy);
      this.listedHere++;
    } else this.omitted++;
  };

  public add(kind: DiscrepancyKind, expected: string, actual: string): void {
    this.report({ step: this.step, kind, expected, actual });
  }
}

function describeOnce(context: Verification, object: string): Promise<DescribedField[]> {
  let fields = context.describes.get(object.toLowerCase());
  if (!fields) {
    fields = context.describe.describe<{ fields: DescribedField[] }>(object).then((describe) => describe.fields);
    context.describes.set(object.toLowerCase(), fields);
  }
  return fields;
}

export class RunVerification extends EventEmitter<VerifyEvents> {
  public async verify(options: VerifyOptions): Promise<VerifyResult> {
    const runId = options.runId ?? (await newestFinishedRun(options.root));
    const { folder, state, manifest } = await openRun(options.root, runId);
    const started = state.started!;
    if (!state.finished) {
      throw messages.createError(
        'error.RunNotFinished',
        [folder.runId],
        [resumeCommand(started.manifest, folder.runId), `sf migrate status --run-id ${folder.runId}`],
      );
    }
    const org = await options.org({ username: started.username, orgId: started.orgId });
    if (normalizeSalesforceId(org.orgId) !== normalizeSalesforceId(started.orgId)) {
      throw messages.createError('error.RunOfAnotherOrg', [folder.runId, started.username], [started.username]);
    }
    const headers = new Map<string, string[]>();
    for (const step of manifest.steps) {
      const known = state.steps.get(step.id);
      // eslint-disable-next-line no-await-in-loop
      if (known) headers.set(step.id, await firstSuccessHeader(folder.dir, step, known));
    }
    const context: Verification = {
      runDir: folder.dir,
      org,
      query: queryToFile(org.connection, options.query ?? {}),
      describe: new OrgDescribe(org.connection, {
        ...(options.query?.sleep ? { sleep: options.query.sleep } : {}),
        ...(options.query?.retry ? { retry: options.query.retry } : {}),
      }),
      sampleSize: options.sampleSize ?? DEFAULT_SAMPLE_SIZE,
      seed: options.seed ?? DEFAULT_SEED,
      writtenLater: fieldsWrittenLater(manifest, state.steps, headers),
      describes: new Map(),
      scratchRoot: join(folder.dir, 'verify'),
      ...(options.sortBudgetBytes ? { sortBudgetBytes: options.sortBudgetBytes } : {}),
    };
    const listed: Discrepancy[] = [];
    let omitted = 0;
    const steps: StepVerification[] = [];
    try {
      for (const [wave, ids] of manifest.waves.entries()) {
        for (const id of ids) {
          const step = manifest.steps.find((candidate) => candidate.id === id)!;
          const found = new StepDiscrepancies(id, listed);
          // eslint-disable-next-line no-await-in-loop -- steps one after the other: each may read a whole object
          const verification = await this.verifyStep(context, step, wave, state.steps.get(id), found);
          omitted += found.omitted;
          steps.push(verification);
          this.emit('step.verified', verification);
        }
      }
    } finally {
      await rm(context.scratchRoot, { recursive: true, force: true });
    }
    return {
      runId: folder.runId,
      runDir: folder.dir,
      manifest: started.manifest,
      username: started.username,
      orgId: started.orgId,
      runStatus: state.finished.status,
      startedAt: started.time,
      finishedAt: state.finished.time,
      verified: listed.length === 0 && omitted === 0,
      sampleSize: context.sampleSize,
      seed: context.seed,
      steps,
      discrepancies: listed,
      discrepanciesOmitted: omitted,
    };
  }

  private async verifyStep(
    context: Verification,
    step: ResolvedStep,
    wave: number,
    known: StepState | undefined,
    found: StepDiscrepancies,
  ): Promise<StepVerification> {
    this.emit('step.started', { step: step.id, object: step.object, wave });
    this.emit('step.phase', { step: step.id, phase: 'books' });
    const books = known ? await readStepBooks(context.runDir, step, known) : undefined;
    const verification: StepVerification = {
      step: step.id,
      object: step.object,
      operation: step.operation,
      wave,
      finished: known?.finished !== undefined,
      sourceRecords: books?.sourceRecords ?? 0,
      succeeded: books?.succeeded ?? 0,
      deadLetters: books?.deadLetters ?? 0,
      heldBack: books?.heldBack ?? 0,
      deadLettersByCode: books?.deadLettersByCode ?? {},
      retryRounds: books?.retryRounds ?? 0,
      retriedRecords: books?.retriedRecords ?? 0,
      accounted: books?.accounted ?? false,
      checkedInOrg: 0,
      duplicatesChecked: false,
      sampled: 0,
      discrepancies: found.counts,
      ...(known?.finished ? { finishedAt: known.finished.time } : {}),
      ...(known?.finished?.durationMs !== undefined ? { durationMs: known.finished.durationMs } : {}),
    };
    if (!known?.finished) {
      found.add('notRun', 'finished', known?.status ?? 'pending');
      return verification;
    }
    if (!verification.accounted) {
      found.add(
        'unaccounted',
        `${verification.sourceRecords} source records`,
        `${verification.succeeded} succeeded + ${verification.deadLetters} dead letters`,
      );
    }
    const checked = await checkStepInOrg({
      step,
      chunks: known.chunks,
      runDir: context.runDir,
      fields: await describeOnce(context, step.object),
      writtenLater: context.writtenLater.get(step.id) ?? new Set(),
      query: context.query,
      sampleSize: context.sampleSize,
      seed: context.seed,
      scratch: join(context.scratchRoot, `${process.pid}-${step.id}`),
      ...(context.sortBudgetBytes ? { sortBudgetBytes: context.sortBudgetBytes } : {}),
      report: found.report,
      onPhase: (phase) => this.emit('step.phase', { step: step.id, phase }),
    });
    return { ...verification, ...checked };
  }
}

async function newestFinishedRun(root: string): Promise<string> {
  const newest = (await listRuns(root)).find((run) => run.finished);
  if (!newest) throw messages.createError('error.NoFinishedRun', [root]);
  return newest.runId;
}
