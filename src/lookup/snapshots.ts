/*
 * A lookup's snapshot: the target records its keys are matched against, fetched from the org once
 * per run through one Bulk API 2.0 query job into lookups/<key>.csv of the run folder, then
 * fingerprinted and journaled (`lookup.snapshot`). From that line on, the run and every resume of it
 * resolve from exactly that file: a resume never queries again (the org may have changed since, and
 * rows already loaded were resolved against the old records), and a snapshot file that is missing or
 * changed stops the resume.
 *
 * Crash safety, as the partition pass (engine/stepPartitioning.ts): the file is written under a
 * temporary name, fsynced and renamed before its line; a crash between the two (crash point
 * `lookup.written`) leaves a file no line names, which the next attempt fetches and replaces.
 * Steps that use the same lookup (the same query) share one snapshot.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Messages } from '@salesforce/core';
import type { CreateQueryJobRequest, QueryJobInfo, SavedQueryResults } from '../bulk/queryJobClient.js';
import { debugLog } from '../bulk/orgHttp.js';
import { crashPoint } from '../engine/crashPoints.js';
import { lookupSnapshot } from '../journal/eventBuilders.js';
import type { JournalEventBody } from '../journal/events.js';
import { findChangedSources, fingerprintFile } from '../journal/fingerprint.js';
import { lookupSnapshotsOf } from '../journal/lookupState.js';
import type { RunState } from '../journal/state.js';
import type { Lookup } from '../manifest/types.js';
import { lookupSpecs, type LookupSpec } from './spec.js';

Messages.importMessagesDirectoryFromMetaUrl(import.meta.url);
const messages = Messages.loadMessages('@sf-migrate/plugin-migrate', 'lookup');

/** What the run knows of one snapshot: the journaled line's fields. */
export type LookupSnapshot = {
  lookup: string;
  object: string;
  query: string;
  records: number;
  file: string;
  size: number;
  mtimeMs: number;
  sha256: string;
};

/** The part of QueryJobClient a snapshot needs (tests may stand in for it). */
export type SnapshotQueries = {
  create(request: CreateQueryJobRequest): Promise<QueryJobInfo>;
  poll(jobId: string, options: { initialMs: number; maxMs: number; signal?: AbortSignal }): Promise<QueryJobInfo>;
  saveResults(jobId: string, file: string): Promise<SavedQueryResults>;
  delete(jobId: string): Promise<void>;
};

export type EnsureLookupSnapshotsOptions = {
  step: { id: string; object: string; lookups?: Lookup[]; poll: { initialMs: number; maxMs: number } };
  state: RunState;
  /** the run folder (its `dir`) */
  folder: { dir: string };
  /** appends a journal event and applies it to `state` (the engine's RecordEvent) */
  record: (body: JournalEventBody) => Promise<void>;
  queries: SnapshotQueries;
  signal?: AbortSignal;
};

/** lookups/ of the run folder: the snapshots, and the spill folders of their indexes */
export function lookupsDir(folder: { dir: string }): string {
  return join(folder.dir, 'lookups');
}

export function snapshotPath(folder: { dir: string }, key: string): string {
  return join(lookupsDir(folder), `${key}.csv`);
}

/**
 * The snapshots of a step's lookups, by snapshot key: the journaled ones checked against their
 * fingerprints, the others fetched and journaled now. Call it when the step starts, before its
 * pre-upload pass.
 *
 * @throws SfError `LookupSnapshotChangedError` when a journaled snapshot file is missing or changed,
 * `LookupQueryFailedError` when the org refuses or fails the query.
 */
export async function ensureLookupSnapshots(
  options: EnsureLookupSnapshotsOptions,
): Promise<Map<string, LookupSnapshot>> {
  const { step, state } = options;
  const snapshots = new Map<string, LookupSnapshot>();
  for (const spec of lookupSpecs(step)) {
    if (snapshots.has(spec.snapshotKey)) continue;
    const known = lookupSnapshotsOf(state).get(spec.snapshotKey);
    // eslint-disable-next-line no-await-in-loop -- one query job at a time: a step has few lookups
    snapshots.set(spec.snapshotKey, known ? await checked(known) : await fetchOnce(options, spec));
  }
  return snapshots;
}

/** fetches in flight, per run state: two steps of one wave that share a lookup start it once */
const inFlight = new WeakMap<RunState, Map<string, Promise<LookupSnapshot>>>();

function fetchOnce(options: EnsureLookupSnapshotsOptions, spec: LookupSpec): Promise<LookupSnapshot> {
  let fetches = inFlight.get(options.state);
  if (!fetches) {
    fetches = new Map();
    inFlight.set(options.state, fetches);
  }
  let fetch = fetches.get(spec.snapshotKey);
  if (!fetch) {
    const running = fetchSnapshot(options, spec).finally(() => fetches.delete(spec.snapshotKey));
    fetches.set(spec.snapshotKey, running);
    fetch = running;
  }
  return fetch;
}

async function checked(known: LookupSnapshot & { time?: string }): Promise<LookupSnapshot> {
  const [change] = await findChangedSources([known], known.time ? { recordedAt: known.time } : {});
  if (change) {
    const how = messages.getMessage(change.reason === 'missing' ? 'snapshot.missing' : 'snapshot.changed');
    const error = messages.createError('error.LookupSnapshotChanged', [known.lookup, known.file, how]);
    error.setData({ lookup: known.lookup, file: known.file, reason: change.reason });
    throw error;
  }
  const { lookup, object, query, records, file, size, mtimeMs, sha256 } = known;
  return { lookup, object, query, records, file, size, mtimeMs, sha256 };
}

function queryFailed(stepId: string, spec: LookupSpec, how: string, detail: string, cause?: unknown): Error {
  const error = messages.createError(
    'error.LookupQueryFailed',
    [stepId, String(spec.index), spec.query, how, detail],
    undefined,
    cause instanceof Error ? cause : undefined,
  );
  error.setData({ step: stepId, lookup: spec.index, query: spec.query });
  return error;
}

async function fetchSnapshot(options: EnsureLookupSnapshotsOptions, spec: LookupSpec): Promise<LookupSnapshot> {
  const { step, folder, queries } = options;
  let job: QueryJobInfo;
  try {
    job = await queries.create({ query: spec.query });
  } catch (error) {
    throw queryFailed(step.id, spec, 'refused', error instanceof Error ? error.message : String(error), error);
  }
  const done = await queries.poll(job.id, { ...step.poll, ...(options.signal ? { signal: options.signal } : {}) });
  if (done.state !== 'JobComplete') {
    throw queryFailed(step.id, spec, done.state, done.errorMessage ?? '');
  }
  const file = snapshotPath(folder, spec.snapshotKey);
  await mkdir(lookupsDir(folder), { recursive: true, mode: 0o700 });
  const saved = await queries.saveResults(job.id, file);
  if (done.numberRecordsProcessed !== undefined && done.numberRecordsProcessed !== saved.records) {
    throw queryFailed(step.id, spec, 'short', `${saved.records} of ${done.numberRecordsProcessed} records arrived`);
  }
  const fingerprint = await fingerprintFile(file);
  // the snapshot is complete and durable, and nothing names it yet
  crashPoint('lookup.written');
  const snapshot: LookupSnapshot = {
    lookup: spec.snapshotKey,
    object: spec.object,
    query: spec.query,
    records: saved.records,
    ...fingerprint,
  };
  await options.record(lookupSnapshot(snapshot));
  try {
    await queries.delete(job.id);
  } catch (error) {
    // the results are on disk; the org drops the job itself after 7 days
    debugLog(`query job ${job.id} not deleted: ${error instanceof Error ? error.message : String(error)}`);
  }
  return snapshot;
}
