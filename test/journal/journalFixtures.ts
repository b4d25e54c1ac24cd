import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type { JournalEventBody } from '../../src/journal/events.js';
import * as build from '../../src/journal/eventBuilders.js';
import type { EventBody } from '../../src/journal/eventBuilders.js';
import { toStoredEvent } from '../../src/journal/eventCodec.js';
import { runFolder } from '../../src/journal/runFolder.js';

export type Scratch = { dir: string; path(...parts: string[]): string; remove(): void };

/** A private temporary folder for one test file. */
export function scratch(prefix = 'journal-'): Scratch {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return {
    dir,
    path: (...parts) => join(dir, ...parts),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** where the fixtures' run folder would be: only its layout is used (no I/O) */
const FIXTURE_ROOT = '/srv/cutover/.sf-migrate/runs';
const FIXTURE_RUN_ID = '20261129-023000-4f2a';

export const ORG_ID = '00D5g000004XyZ1EAK';
/** what a Connection's access token looks like: org id, '!', opaque text */
export const ACCESS_TOKEN =
  '00D5g000004XyZ1!AQ4AQFxH3m0s9Lr.kq7TtYw3vN_2GcP1oZbQe8RfUiJd6Ka5Sx0Yh4Mn7Bv2Cw9Xz1Lp3Oq6Ir8Et0Wu5Ty2Ao4Gs';
export const REFRESH_TOKEN = '5Aep861TSESvWeug_xvFHRBTTbf_YrTWgEyjBJvVRfHxCwZNbL1nUzz8gcHpDdBhhPv7DHeZ6rA3ZK3vO9ZHdJ';

export function runStarted(runId = FIXTURE_RUN_ID, manifest = '/srv/cutover/migration.json'): JournalEventBody {
  return build.runStarted({
    runId,
    manifest,
    manifestSha256: 'a'.repeat(64),
    username: 'admin@acme.example',
    orgId: ORG_ID,
    instanceUrl: 'https://acme.my.salesforce.com',
    apiVersion: '62.0',
    sources: [
      { file: '/srv/cutover/data/accounts.csv', size: 1234, mtimeMs: 1_764_383_400_000.123, sha256: 'b'.repeat(64) },
    ],
  });
}

/** A job id for chunk n: 750 key prefix, 18 characters. */
export function jobIdFor(n: number): string {
  return `7505g0000${String(n).padStart(6, '0')}AAA`;
}

/** the result files the engine saves for a job, relative to the run folder */
export function resultFilesOf(step: string, jobId: string): EventBody<'results.saved'>['files'] {
  const layout = runFolder(FIXTURE_ROOT, FIXTURE_RUN_ID);
  const file = (kind: 'success' | 'failed' | 'unprocessed'): string =>
    relative(layout.dir, layout.resultFile(step, jobId, kind));
  return { success: file('success'), failed: file('failed'), unprocessed: file('unprocessed') };
}

/** Every event of the protocol for one chunk, planned to deleted (12 events with step/wave framing excluded). */
export function chunkLifecycle(step: string, chunk: number, jobId = jobIdFor(chunk)): JournalEventBody[] {
  const ref = { step, chunk };
  return [
    build.chunkPlanned(ref, {
      file: '/srv/cutover/data/accounts.csv',
      byteStart: chunk * 1000,
      byteEnd: chunk * 1000 + 1000,
      records: 10,
      attempt: 0,
    }),
    build.jobCreating(ref),
    build.jobCreated(ref, jobId),
    build.jobUploaded(ref, jobId, 1000),
    build.jobClosing(ref, jobId),
    build.jobClosed(ref, jobId),
    build.jobFinished(ref, jobId, { state: 'JobComplete', processed: 10, failed: 1 }),
    build.resultsSaved(ref, jobId, resultFilesOf(step, jobId), { success: 9, failed: 1, unprocessed: 0 }),
    build.jobDeleted(ref, jobId),
  ];
}

/** A whole small run: one wave, one step, `chunks` chunks, all finished. */
export function finishedRun(chunks: number, step = 'Account'): JournalEventBody[] {
  const run: JournalEventBody[] = [
    runStarted(),
    build.waveStarted(0, [step]),
    build.stepStarted(step, 0, { object: 'Account', operation: 'insert' }),
  ];
  for (let chunk = 0; chunk < chunks; chunk++) run.push(...chunkLifecycle(step, chunk));
  run.push(
    build.stepFinished(step, {
      records: chunks * 10,
      succeeded: chunks * 9,
      failed: chunks,
      unprocessed: 0,
      jobs: chunks,
      gate: 'passed',
    }),
    build.waveFinished(0, 'passed'),
    build.runFinished('completedWithFailures'),
  );
  return run;
}

/**
 * Writes the lines Journal.append would write, without a sync per event: for tests about reading,
 * where hundreds of fdatasyncs would only make them slow.
 */
export function writeJournalLines(file: string, bodies: JournalEventBody[], firstSeq = 1): void {
  const start = Date.UTC(2026, 10, 29, 2, 30);
  const lines = bodies.map(
    (body, i) =>
      `${JSON.stringify(toStoredEvent(body, firstSeq + i, new Date(start + (firstSeq + i) * 1000).toISOString()))}\n`,
  );
  writeFileSync(file, lines.join(''), { flag: 'a', mode: 0o600 });
}
