import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import type { JournalEventBody, JournalEventType } from '../../src/journal/events.js';
import * as build from '../../src/journal/eventBuilders.js';
import type { EventBody } from '../../src/journal/eventBuilders.js';
import { protocolFieldPaths, toStoredEvent } from '../../src/journal/eventCodec.js';
import { findChunk, replayJournal } from '../../src/journal/state.js';
import {
  chunkLifecycle,
  finishedRun,
  jobIdFor,
  resultFilesOf,
  runStarted,
  scratch,
  writeJournalLines,
} from './journalFixtures.js';

/** a journal written before the builders existed, by inline literals: kept as bytes, never regenerated */
const OLD_JOURNAL = fileURLToPath(new URL('fixtures/journal-before-builders.jsonl', import.meta.url));

/** the events of OLD_JOURNAL, built the way the engine builds them now */
function oldJournalEvents(): JournalEventBody[] {
  const ref = { step: 'Account', chunk: 1 };
  const reason = 'Wave 1 did not pass its gate';
  return [
    ...finishedRun(1).slice(0, -3),
    build.chunkPlanned(ref, {
      file: '/srv/cutover/runs/x/retry/Account/attempt-1-1.csv',
      byteStart: 5,
      byteEnd: 40,
      records: 1,
      attempt: 1,
      retryOf: { step: 'Account', chunk: 0 },
      sha256: 'c'.repeat(64),
    }),
    build.jobCreating(ref),
    build.jobCreated(ref, jobIdFor(7)),
    build.jobAborted(ref, jobIdFor(7), 'the run stopped before its upload'),
    ...chunkLifecycle('Account', 1, jobIdFor(8)).slice(1, 6),
    build.jobFinished(ref, jobIdFor(8), {
      state: 'Failed',
      processed: 1,
      failed: 1,
      errorMessage: 'InvalidBatch : too many rows',
    }),
    ...chunkLifecycle('Account', 1, jobIdFor(8)).slice(7),
    build.stepFinished('Account', {
      records: 10,
      succeeded: 9,
      failed: 1,
      unprocessed: 0,
      jobs: 2,
      gate: 'failed',
      reason: 'threshold',
      failuresByCode: { DUPLICATE_VALUE: 1 },
      retryRounds: 1,
      durationMs: 1234,
      deadLetters: ['dead-letter/Account.csv'],
    }),
    build.waveFinished(0, 'failed'),
    build.runFinished('failed', reason),
    build.runResumed(4242, 'laptop'),
    build.runFinished('failed', reason),
  ];
}

/** one event of every type, each optional field given */
function everyEvent(): { [T in JournalEventType]: EventBody<T> } {
  const ref = { step: 'Account', chunk: 3 };
  const jobId = jobIdFor(3);
  return {
    'run.started': build.runStarted({
      ...(runStarted() as EventBody<'run.started'>),
      rollbackOf: '20261129-000000-abcd',
    }),
    'run.resumed': build.runResumed(1, 'host'),
    'wave.started': build.waveStarted(0, ['Account']),
    'step.started': build.stepStarted('Account', 0, { object: 'Account', operation: 'upsert' }),
    'chunk.planned': build.chunkPlanned(ref, {
      file: 'a.csv',
      byteStart: 0,
      byteEnd: 10,
      records: 1,
      attempt: 1,
      retryOf: { step: 'Account', chunk: 0 },
      sha256: 'd'.repeat(64),
    }),
    'source.partitioned': build.sourcePartitioned(
      'Contact',
      '/data/contacts.csv',
      'Account.Legacy_Id__c',
      [
        {
          file: '/runs/x/partitions/Contact/0/serial-00001.csv',
          size: 9,
          mtimeMs: 1,
          sha256: 'a',
          lane: 'serial',
          records: 2,
          chain: 0,
        },
      ],
      ['/data/contacts-2.csv'],
    ),
    'lookup.snapshot': build.lookupSnapshot({
      lookup: '0123456789abcdef',
      object: 'User',
      query: 'SELECT Id, Email, IsActive FROM User',
      records: 3,
      file: '/runs/x/lookups/0123456789abcdef.csv',
      size: 99,
      mtimeMs: 1,
      sha256: 'b'.repeat(64),
    }),
    'source.prepared': build.sourcePrepared(
      'Contact',
      '/data/contacts.csv',
      { file: '/runs/x/prepared/Contact/0/rows.csv', size: 9, mtimeMs: 1, sha256: 'b', records: 3 },
      [{ file: '/runs/x/prepared/Contact/0/rejected-1.csv', records: 1 }],
    ),
    'before.saved': build.beforeSaved(ref, {
      file: 'before/Account/3.csv',
      size: 9,
      sha256: 'e'.repeat(64),
      records: 2,
    }),
    'job.creating': build.jobCreating(ref),
    'job.created': build.jobCreated(ref, jobId),
    'job.uploaded': build.jobUploaded(ref, jobId, 10),
    'job.closing': build.jobClosing(ref, jobId),
    'job.closed': build.jobClosed(ref, jobId),
    'job.aborted': build.jobAborted(ref, jobId, 'why'),
    'job.finished': build.jobFinished(ref, jobId, { state: 'Failed', processed: 1, failed: 1, errorMessage: 'x' }),
    'results.saved': build.resultsSaved(ref, jobId, resultFilesOf('Account', jobId), {
      success: 0,
      failed: 1,
      unprocessed: 0,
    }),
    'job.deleted': build.jobDeleted(ref, jobId),
    'step.finished': build.stepFinished('Account', {
      records: 1,
      succeeded: 0,
      failed: 1,
      unprocessed: 0,
      jobs: 1,
      gate: 'failed',
      reason: 'r',
      failuresByCode: { X: 1 },
      retryRounds: 0,
      durationMs: 5,
      deadLetters: ['dead-letter/Account.csv'],
    }),
    'wave.finished': build.waveFinished(0, 'failed'),
    'job.ignored': build.jobIgnored(jobIdFor(4), 'not this run'),
    'run.finished': build.runFinished('failed', 'r'),
  };
}

function pathsOf(value: Record<string, unknown>, prefix = ''): string[] {
  return Object.entries(value).flatMap(([name, field]) => {
    const path = `${prefix}${name}`;
    if (Array.isArray(field)) {
      const first: unknown = field[0];
      return typeof first === 'object' && first !== null
        ? [path, ...pathsOf(first as Record<string, unknown>, `${path}.`)]
        : [path];
    }
    if (typeof field === 'object' && field !== null && name !== 'failuresByCode') {
      return [path, ...pathsOf(field as Record<string, unknown>, `${path}.`)];
    }
    return [path];
  });
}

describe('journal event builders', () => {
  const tmp = scratch('builders-');
  after(() => tmp.remove());

  it('write a journal from before the builders byte for byte, and that journal still replays', async () => {
    const old = readFileSync(OLD_JOURNAL, 'utf8');
    const file = tmp.path('rebuilt.jsonl');
    writeJournalLines(file, oldJournalEvents());
    expect(readFileSync(file, 'utf8')).to.equal(old);

    const state = await replayJournal(OLD_JOURNAL);
    expect(state.events).to.equal(29);
    expect(state.resumes.map((resume) => resume.pid)).to.deep.equal([4242]);
    expect(state.finished).to.deep.include({ status: 'failed', reason: 'Wave 1 did not pass its gate' });
    expect(findChunk(state, { step: 'Account', chunk: 0 })).to.deep.include({ phase: 'deleted', attempt: 0 });
    expect(findChunk(state, { step: 'Account', chunk: 0 })?.sha256).to.equal(undefined);
    expect(findChunk(state, { step: 'Account', chunk: 1 })).to.deep.include({
      phase: 'deleted',
      attempt: 1,
      retryOf: { step: 'Account', chunk: 0 },
      sha256: 'c'.repeat(64),
      abandonedJobIds: [jobIdFor(7)],
      finished: { state: 'Failed', processed: 1, failed: 1, errorMessage: 'InvalidBatch : too many rows' },
    });
    expect(state.steps.get('Account')?.finished).to.deep.include({ gate: 'failed', retryRounds: 1, jobs: 2 });
  });

  it('cover every field of the protocol, and nothing the codec would drop', () => {
    const protocol = protocolFieldPaths();
    for (const [type, body] of Object.entries(everyEvent()) as Array<[JournalEventType, JournalEventBody]>) {
      expect(body.type, type).to.equal(type);
      const fields: Record<string, unknown> = { ...body };
      delete fields.type;
      expect(pathsOf(fields).sort(), type).to.deep.equal([...protocol[type]].sort());
      const stored: Record<string, unknown> = { ...toStoredEvent(body, 1, 'now') };
      delete stored.seq;
      delete stored.time;
      expect(stored, type).to.deep.equal(body);
    }
  });

  it('copy a chunk reference out of a larger object, never the object itself', () => {
    const chunk = { step: 'Account', chunk: 2, phase: 'created', jobId: jobIdFor(2), records: 10, abandonedJobIds: [] };
    expect(build.jobCreating(chunk)).to.deep.equal({ type: 'job.creating', step: 'Account', chunk: 2 });
    expect(build.jobClosed(chunk, jobIdFor(2))).to.deep.equal({
      type: 'job.closed',
      step: 'Account',
      chunk: 2,
      jobId: jobIdFor(2),
    });
    const retryOf = { ...chunk, chunk: 0 };
    const planned = build.chunkPlanned(chunk, {
      file: 'a.csv',
      byteStart: 0,
      byteEnd: 1,
      records: 1,
      attempt: 1,
      retryOf,
    });
    expect(planned.retryOf).to.deep.equal({ step: 'Account', chunk: 0 });
  });

  it('leave empty optional fields out, as the engine always did, and keep a zero', () => {
    const ref = { step: 'Account', chunk: 0 };
    expect(
      build.jobFinished(ref, jobIdFor(0), { state: 'Failed', processed: 0, failed: 0, errorMessage: '' }),
    ).not.to.have.property('errorMessage');
    expect(build.runFinished('succeeded')).to.deep.equal({ type: 'run.finished', status: 'succeeded' });
    expect(build.runFinished('failed', '')).to.deep.equal({ type: 'run.finished', status: 'failed' });
    const planned = build.chunkPlanned(ref, {
      file: 'a.csv',
      byteStart: 0,
      byteEnd: 1,
      records: 1,
      attempt: 0,
      sha256: '',
    });
    expect(Object.keys(planned)).to.deep.equal([
      'type',
      'step',
      'chunk',
      'file',
      'byteStart',
      'byteEnd',
      'records',
      'attempt',
    ]);
    const books = { records: 0, succeeded: 0, failed: 0, unprocessed: 0, jobs: 0, gate: 'passed' as const };
    expect(Object.keys(build.stepFinished('Account', { ...books, reason: '' }))).to.deep.equal([
      'type',
      'step',
      'records',
      'succeeded',
      'failed',
      'unprocessed',
      'jobs',
      'gate',
    ]);
    expect(build.stepFinished('Account', { ...books, retryRounds: 0, durationMs: 0 })).to.deep.include({
      retryRounds: 0,
      durationMs: 0,
    });
  });
});
