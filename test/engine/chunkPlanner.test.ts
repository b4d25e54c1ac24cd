/*
 * Re-planning after a crash must reproduce the journaled cut: the planner adds only the chunks the
 * journal lacks, and refuses a cut that differs from it (a chunk moved, or a new chunk over bytes a
 * journaled chunk covers), since either would send some records in two jobs.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { JournalEventBody } from '../../src/journal/events.js';
import * as build from '../../src/journal/eventBuilders.js';
import { applyEvent, emptyRunState, type RunState } from '../../src/journal/state.js';
import type { ResolvedStep } from '../../src/manifest/types.js';
import { ChunkPlanner } from '../../src/engine/chunkPlanner.js';

function stepOf(file: string): ResolvedStep {
  return {
    id: 'accounts',
    object: 'Account',
    operation: 'insert',
    columnDelimiter: 'COMMA',
    lineEnding: 'LF',
    maxRecordsPerJob: 2,
    maxBytesPerJob: 100_000_000,
    poll: { initialMs: 10, maxMs: 10 },
    failureThreshold: { percent: 0 },
    parallelism: 1,
    retry: { codes: [], attempts: 0 },
    mapping: {},
    dependsOn: [],
    sources: ['accounts.csv'],
    files: [file],
  };
}

describe('ChunkPlanner.ensurePlanned', () => {
  let dir: string;
  let file: string;
  let state: RunState;
  let seq: number;
  const record = (body: JournalEventBody): Promise<void> => {
    applyEvent(state, { ...body, seq: ++seq, time: new Date().toISOString() });
    return Promise.resolve();
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'planner-'));
    file = join(dir, 'accounts.csv');
    // header 5 bytes, then five records of 2 bytes each
    await writeFile(file, 'Name\na\nb\nc\nd\ne\n');
    state = emptyRunState();
    seq = 0;
    await record(build.stepStarted('accounts', 0, { object: 'Account', operation: 'insert' }));
  });

  afterEach(() => rm(dir, { recursive: true, force: true }));

  /** the first chunk of the step, as an earlier planning journaled it */
  const journaled = { step: 'accounts', chunk: 0 };
  const planned = (): Array<[number, number, number]> =>
    state.steps.get('accounts')!.chunks.map((chunk) => [chunk.byteStart, chunk.byteEnd, chunk.records]);

  it('cuts a file into chunks once, and adds nothing when planned again', async () => {
    const step = stepOf(file);
    await new ChunkPlanner(state, record).ensurePlanned(step, file, 0);
    expect(planned()).to.deep.equal([
      [5, 9, 2],
      [9, 13, 2],
      [13, 15, 1],
    ]);
    await new ChunkPlanner(state, record).ensurePlanned(step, file, 0);
    expect(planned()).to.have.length(3);
  });

  it('adds only the chunks a crash kept from the journal', async () => {
    await record(build.chunkPlanned(journaled, { file, byteStart: 5, byteEnd: 9, records: 2, attempt: 0 }));
    await new ChunkPlanner(state, record).ensurePlanned(stepOf(file), file, 0);
    expect(planned()).to.deep.equal([
      [5, 9, 2],
      [9, 13, 2],
      [13, 15, 1],
    ]);
  });

  it('refuses a journaled chunk that the same cut ends elsewhere', async () => {
    await record(build.chunkPlanned(journaled, { file, byteStart: 5, byteEnd: 11, records: 3, attempt: 0 }));
    const error = await new ChunkPlanner(state, record).ensurePlanned(stepOf(file), file, 0).then(
      () => undefined,
      (caught: Error) => caught,
    );
    expect(error?.name).to.equal('ChunkingChangedError');
  });

  it('refuses a new chunk over bytes a journaled chunk covers', async () => {
    // an older cut that started its first chunk one record later: the new first chunk [5, 9)
    // is not journaled, but it overlaps the journaled [7, 11)
    await record(build.chunkPlanned(journaled, { file, byteStart: 7, byteEnd: 11, records: 2, attempt: 0 }));
    const error = await new ChunkPlanner(state, record).ensurePlanned(stepOf(file), file, 0).then(
      () => undefined,
      (caught: Error) => caught,
    );
    expect(error?.name).to.equal('ChunkingChangedError');
    expect(planned(), 'nothing was added').to.deep.equal([[7, 11, 2]]);
  });
});
