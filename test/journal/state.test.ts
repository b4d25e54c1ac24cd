import { mkdirSync } from 'node:fs';
import { expect } from 'chai';
import { SfError } from '@salesforce/core';
import type { JournalEvent, JournalEventBody } from '../../src/journal/events.js';
import { Journal } from '../../src/journal/journal.js';
import {
  applyEvent,
  emptyRunState,
  findChunk,
  replayJournal,
  type ChunkState,
  type RunState,
} from '../../src/journal/state.js';
import * as build from '../../src/journal/eventBuilders.js';
import { chunkLifecycle, finishedRun, jobIdFor, runStarted, scratch } from './journalFixtures.js';

const at = (seq: number): string => new Date(Date.UTC(2026, 10, 29, 2, 30, 0, seq)).toISOString();

function apply(state: RunState, ...bodies: JournalEventBody[]): void {
  for (const body of bodies)
    applyEvent(state, { ...body, seq: state.lastSeq + 1, time: at(state.lastSeq + 1) } as JournalEvent);
}

function expectImpossible(state: RunState, body: JournalEventBody, reason: string): SfError {
  const seq = state.lastSeq + 1;
  try {
    apply(state, body);
  } catch (error) {
    expect(error).to.be.instanceOf(SfError);
    const sfError = error as SfError;
    expect(sfError.name).to.equal('ImpossibleTransitionError');
    expect(sfError.message).to.include(`seq ${seq}`);
    expect(sfError.data).to.deep.include({ seq, reason });
    return sfError;
  }
  expect.fail(`expected ${body.type} to be refused (${reason})`);
}

const framing: JournalEventBody[] = [
  runStarted(),
  build.waveStarted(0, ['Account', 'Contact']),
  build.stepStarted('Account', 0, { object: 'Account', operation: 'insert' }),
];

function startedState(): RunState {
  const state = emptyRunState();
  apply(state, ...framing);
  return state;
}

const account0 = { step: 'Account', chunk: 0 };
const chunk0 = (state: RunState): ChunkState => findChunk(state, account0)!;

describe('run state replay', () => {
  it('walks a chunk through every phase of the protocol', () => {
    const state = startedState();
    const expected = [
      'planned',
      'creating',
      'created',
      'uploaded',
      'closing',
      'closed',
      'finished',
      'saved',
      'deleted',
    ];
    chunkLifecycle('Account', 0).forEach((body, i) => {
      apply(state, body);
      expect(chunk0(state).phase, body.type).to.equal(expected[i]);
    });
    const chunk = chunk0(state);
    expect(chunk.jobId).to.equal(jobIdFor(0));
    expect(chunk.abandonedJobIds).to.deep.equal([]);
    expect(chunk.finished).to.deep.equal({ state: 'JobComplete', processed: 10, failed: 1 });
    expect(chunk.results?.counts).to.deep.equal({ success: 9, failed: 1, unprocessed: 0 });
    expect(chunk.results?.files.failed).to.equal(`results/Account/${jobIdFor(0)}-failed.csv`);
    expect(state.lastSeq).to.equal(framing.length + 9);
    expect(state.events).to.equal(framing.length + 9);
  });

  it('records the run, waves and steps', () => {
    const state = emptyRunState();
    apply(state, ...finishedRun(2));
    expect(state.runId).to.equal('20261129-023000-4f2a');
    expect(state.started?.orgId).to.equal('00D5g000004XyZ1EAK');
    expect(state.started?.seq).to.equal(1);
    expect(state.waves.get(0)).to.deep.equal({ steps: ['Account'], gate: 'passed' });
    const step = state.steps.get('Account')!;
    expect(step).to.deep.include({
      id: 'Account',
      wave: 0,
      object: 'Account',
      operation: 'insert',
      status: 'finished',
    });
    expect(step.finished?.succeeded).to.equal(18);
    expect(step.chunks.map((c) => c.phase)).to.deep.equal(['deleted', 'deleted']);
    expect(state.finished?.status).to.equal('completedWithFailures');
  });

  it('lists the steps of a started wave as pending until they start', () => {
    const state = startedState();
    expect(state.steps.get('Contact')).to.deep.equal({ id: 'Contact', wave: 0, status: 'pending', chunks: [] });
    expect(state.steps.get('Account')?.status).to.equal('running');
  });

  it('an abort sends the chunk back to planned, and a new job can then be created', () => {
    const state = startedState();
    const [planned, creating, created, uploaded] = chunkLifecycle('Account', 0, jobIdFor(1));
    apply(state, planned, creating, created, uploaded);
    apply(state, build.jobAborted(account0, jobIdFor(1), 'found Open on resume'));
    expect(chunk0(state)).to.deep.include({ phase: 'planned', abandonedJobIds: [jobIdFor(1)] });
    expect(chunk0(state).jobId).to.equal(undefined);

    apply(state, ...chunkLifecycle('Account', 0, jobIdFor(2)).slice(1));
    expect(chunk0(state)).to.deep.include({ phase: 'deleted', jobId: jobIdFor(2), abandonedJobIds: [jobIdFor(1)] });
  });

  it('an orphan job found on resume is recorded as abandoned', () => {
    const state = startedState();
    const [planned, creating] = chunkLifecycle('Account', 0);
    apply(state, planned, creating);
    apply(state, build.jobAborted(account0, jobIdFor(9), 'orphan'));
    expect(chunk0(state)).to.deep.include({ phase: 'planned', abandonedJobIds: [jobIdFor(9)] });
    apply(state, creating, build.jobCreated(account0, jobIdFor(10)));
    expect(chunk0(state).phase).to.equal('created');
  });

  it('a crash between the intent and its outcome allows the intent again', () => {
    const state = startedState();
    const events = chunkLifecycle('Account', 0);
    apply(state, events[0], events[1], events[1]);
    expect(chunk0(state).phase).to.equal('creating');
    apply(state, events[2], events[3], events[4], events[4], events[5]);
    expect(chunk0(state).phase).to.equal('closed');
  });

  it('a job that ended before it was closed is finished', () => {
    const state = startedState();
    const events = chunkLifecycle('Account', 0);
    apply(state, ...events.slice(0, 4));
    apply(
      state,
      build.jobFinished(account0, jobIdFor(0), {
        state: 'Failed',
        processed: 0,
        failed: 0,
        errorMessage: 'InvalidBatch',
      }),
    );
    expect(chunk0(state)).to.deep.include({ phase: 'finished' });
    expect(chunk0(state).finished).to.deep.equal({
      state: 'Failed',
      processed: 0,
      failed: 0,
      errorMessage: 'InvalidBatch',
    });
  });

  it('refuses a second job.created for a chunk whose job was never aborted', () => {
    const state = startedState();
    const events = chunkLifecycle('Account', 0);
    apply(state, events[0], events[1], events[2]);
    const error = expectImpossible(state, build.jobCreated(account0, jobIdFor(5)), 'secondJob');
    expect(error.message).to.include(jobIdFor(0));
    expectImpossible(state, events[1], 'secondJob');
  });

  it('refuses job events for an unknown step or chunk', () => {
    const state = startedState();
    expectImpossible(state, build.jobClosed({ step: 'Account', chunk: 3 }, jobIdFor(3)), 'unknownChunk');
    expectImpossible(state, build.jobClosed({ step: 'Nope', chunk: 0 }, jobIdFor(3)), 'unknownStep');
    expectImpossible(state, { ...chunkLifecycle('Nope', 0)[0] }, 'unknownStep');
    expectImpossible(
      state,
      build.stepFinished('Nope', { records: 0, succeeded: 0, failed: 0, unprocessed: 0, jobs: 0, gate: 'passed' }),
      'unknownStep',
    );
    expectImpossible(state, build.waveFinished(7, 'passed'), 'unknownWave');
  });

  it('refuses events out of phase or for another job', () => {
    const state = startedState();
    const events = chunkLifecycle('Account', 0);
    apply(state, events[0]);
    expectImpossible(state, events[2], 'wrongPhase'); // created without creating
    apply(state, events[1], events[2]);
    expectImpossible(state, events[4], 'wrongPhase'); // closing before uploaded
    expectImpossible(state, build.jobUploaded(account0, jobIdFor(7), 1), 'jobMismatch');
    apply(state, events[3]);
    expectImpossible(state, events[5], 'wrongPhase'); // closed without closing
    expectImpossible(state, events[7], 'wrongPhase'); // results before finished
    expectImpossible(state, events[0], 'chunkExists');
  });

  it('refuses to abandon a job that was closed: its records may be processed', () => {
    const state = startedState();
    apply(state, ...chunkLifecycle('Account', 0).slice(0, 6));
    expectImpossible(state, build.jobAborted(account0, jobIdFor(0), 'x'), 'abortAfterClose');
    apply(state, chunkLifecycle('Account', 0)[6]);
    expectImpossible(state, build.jobAborted(account0, jobIdFor(0), 'x'), 'abortAfterClose');
  });

  it('an orphan aborted while the chunk has its job leaves that job alone', () => {
    const state = startedState();
    apply(state, ...chunkLifecycle('Account', 0).slice(0, 4));
    apply(state, build.jobAborted(account0, jobIdFor(4), 'orphan'));
    expect(chunk0(state)).to.deep.include({ phase: 'uploaded', jobId: jobIdFor(0), abandonedJobIds: [jobIdFor(4)] });
    apply(state, ...chunkLifecycle('Account', 0).slice(4));
    expect(chunk0(state).phase).to.equal('deleted');
  });

  it('refuses seqs that do not increase and a second run.started', () => {
    const state = startedState();
    expect(() => applyEvent(state, { ...framing[1], seq: 2, time: at(2) } as JournalEvent)).to.throw(/seq 2/);
    expectImpossible(state, runStarted(), 'runStartedTwice');
  });

  it('records a partitioned source once, and never one whose chunks were cut from it', () => {
    const state = startedState();
    const derived = {
      file: '/runs/r/partitions/Account/0/grouped-00001.csv',
      size: 10,
      mtimeMs: 1,
      sha256: 'a'.repeat(64),
      lane: 'grouped' as const,
      records: 2,
    };
    const partitioned = build.sourcePartitioned('Account', '/data/a.csv', 'Parent.Legacy_Id__c', [derived]);
    apply(state, partitioned);
    expect(state.steps.get('Account')!.partitions?.map((p) => p.source)).to.deep.equal(['/data/a.csv']);
    expectImpossible(state, partitioned, 'sourcePartitionedTwice');
    const [planned] = chunkLifecycle('Account', 0);
    apply(state, planned);
    const file = (planned as { file: string }).file;
    expectImpossible(state, build.sourcePartitioned('Account', file, 'X.Y', []), 'sourcePartitionedTwice');
    // sources partitioned together: none of them may be taken by another pass, nor name one taken
    apply(state, build.sourcePartitioned('Account', '/data/b.csv', 'Parent.Legacy_Id__c', [], ['/data/c.csv']));
    expectImpossible(state, build.sourcePartitioned('Account', '/data/c.csv', 'X.Y', []), 'sourcePartitionedTwice');
    expectImpossible(
      state,
      build.sourcePartitioned('Account', '/data/d.csv', 'X.Y', [], ['/data/a.csv']),
      'sourcePartitionedTwice',
    );
  });

  it('keeps chunks in chunk order whatever order they were planned in', () => {
    const state = startedState();
    for (const n of [3, 0, 2, 1, 7]) apply(state, chunkLifecycle('Account', n)[0]);
    expect(state.steps.get('Account')!.chunks.map((c) => c.chunk)).to.deep.equal([0, 1, 2, 3, 7]);
    expect(findChunk(state, { step: 'Account', chunk: 2 })?.byteStart).to.equal(2000);
    expect(findChunk(state, { step: 'Account', chunk: 5 })).to.equal(undefined);
  });

  it('records retry chunks with what they retry', () => {
    const state = startedState();
    apply(
      state,
      build.chunkPlanned(
        { step: 'Account', chunk: 1 },
        {
          file: '/srv/cutover/data/accounts.csv',
          byteStart: 1000,
          byteEnd: 2000,
          records: 10,
          attempt: 1,
          retryOf: account0,
        },
      ),
    );
    expect(findChunk(state, { step: 'Account', chunk: 1 })).to.deep.include({
      attempt: 1,
      retryOf: { step: 'Account', chunk: 0 },
    });
  });

  it('a resume after run.finished reopens the run', () => {
    const state = emptyRunState();
    apply(state, ...finishedRun(1));
    expect(state.finished).not.to.equal(undefined);
    apply(state, build.runResumed(4242, 'laptop'));
    expect(state.finished).to.equal(undefined);
    expect(state.resumes.map((r) => r.pid)).to.deep.equal([4242]);
  });

  describe('replayJournal', () => {
    const tmp = scratch();
    after(() => tmp.remove());

    async function journalOf(name: string, bodies: JournalEventBody[]): Promise<{ file: string; live: RunState }> {
      mkdirSync(tmp.path(name));
      const file = tmp.path(name, 'journal.jsonl');
      const journal = await Journal.create(file);
      const live = emptyRunState();
      for (const body of bodies) {
        // eslint-disable-next-line no-await-in-loop
        applyEvent(live, await journal.append(body));
      }
      await journal.close();
      return { file, live };
    }

    it('rebuilds from disk the same state the engine built live', async () => {
      const bodies = finishedRun(3);
      // an orphan aborted between job.creating and job.created
      bodies.splice(5, 0, build.jobAborted(account0, jobIdFor(99), 'orphan'), build.jobCreating(account0));
      const { file, live } = await journalOf('same', bodies);
      const replayed = await replayJournal(file);
      expect(replayed).to.deep.equal(live);
      expect(replayed.events).to.equal(bodies.length);
    });

    it('reports a torn last line and replays the rest', async () => {
      const { file } = await journalOf('torn', finishedRun(1).slice(0, 6));
      const { appendFileSync } = await import('node:fs');
      appendFileSync(file, '{"seq":7,"ti');
      const torn: string[] = [];
      const state = await replayJournal(file, { onTorn: (line) => torn.push(line) });
      expect(torn).to.deep.equal(['{"seq":7,"ti']);
      expect(state.lastSeq).to.equal(6);
      expect(chunk0(state).phase).to.equal('created');
    });

    it('names the file and seq of an impossible event', async () => {
      const bodies = [...framing, ...chunkLifecycle('Account', 0).slice(0, 3), build.jobCreated(account0, jobIdFor(8))];
      mkdirSync(tmp.path('bad'));
      const file = tmp.path('bad', 'journal.jsonl');
      const { writeFileSync } = await import('node:fs');
      writeFileSync(
        file,
        bodies.map((body, i) => JSON.stringify({ seq: i + 1, time: at(i + 1), ...body })).join('\n') + '\n',
      );
      try {
        await replayJournal(file);
        expect.fail('expected a replay error');
      } catch (error) {
        const sfError = error as SfError;
        expect(sfError.name).to.equal('JournalReplayFailedError');
        expect(sfError.message).to.include(file);
        expect(sfError.message).to.include('seq 7');
        expect(sfError.data).to.deep.include({ file, seq: 7, type: 'job.created' });
      }
    });
  });
});
