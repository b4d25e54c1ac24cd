/*
 * Lock-aware jobs against the local org's realistic model (batches processed in parallel, a
 * batch holding each parent it writes a child of): a skewed Contact load, the same rows, with the
 * partition pass and without it. The org's batches are 50 records here and the run is told so
 * (`orgBatchRecords`), as a rehearsal against a smaller org would be. Without partitioning the
 * concurrent batches of one job share parents and rows fail UNABLE_TO_LOCK_ROW; with it, none do.
 * Then the crash window of the pass: derived files written, not yet journaled.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';
import type { LocalOrgOptions } from '@sf-migrate/local-org';
import { loadManifestOrThrow } from '../../src/manifest/load.js';
import type { ResolvedStep } from '../../src/manifest/types.js';
import { MigrationRun, type RunOptions } from '../../src/engine/migrationRun.js';
import { StepPartitioning } from '../../src/engine/stepPartitioning.js';
import { ChunkPlanner } from '../../src/engine/chunkPlanner.js';
import { replayJournal } from '../../src/journal/state.js';
import { applyEvent, emptyRunState, type RunState } from '../../src/journal/state.js';
import type { JournalEventBody } from '../../src/journal/events.js';
import * as build from '../../src/journal/eventBuilders.js';
import { runFolder } from '../../src/journal/runFolder.js';
import { fingerprintFile } from '../../src/journal/fingerprint.js';
import { createScaffold, type Scaffold } from './runScaffold.js';

const BATCH = 50;

const realistic: LocalOrgOptions = {
  model: 'realistic',
  modelSettings: {
    timeScale: 0.001,
    workers: 4,
    batchRecords: BATCH,
    msPerRecord: 1000,
    lockWaitMs: 100,
    requestLatencyMs: 0,
  },
};

/** parent k's number of children: two parents bigger than a batch, the rest small and uneven */
const CHILDREN = [130, 70, ...Array.from({ length: 18 }, (_, k) => ((k * 7) % 12) + 1)];

/** Contacts interleaved across parents, as an export sorted by anything but the parent is; a few without one */
function contactsCsv(): { text: string; names: string[] } {
  const names: string[] = [];
  const lines = ['LastName,Account.Legacy_Id__c'];
  const left = [...CHILDREN];
  for (let round = 0; left.some((n) => n > 0); round++) {
    left.forEach((n, k) => {
      if (n === 0) return;
      left[k]--;
      names.push(`C${k}-${round}`);
      lines.push(`C${k}-${round},A${k}`);
    });
  }
  for (let k = 0; k < 5; k++) {
    names.push(`Orphan${k}`);
    lines.push(`Orphan${k},`);
  }
  return { text: `${lines.join('\n')}\n`, names: names.sort() };
}

/**
 * A journal kept in memory (its lines and the state they replay into) in which the run has begun
 * with `files` fingerprinted and the contacts step has started: where a partition pass runs.
 */
async function startedStep(
  manifestPath: string,
  step: ResolvedStep,
  files: string[],
): Promise<{ state: RunState; lines: JournalEventBody[]; record: (body: JournalEventBody) => Promise<void> }> {
  const state: RunState = emptyRunState();
  const lines: JournalEventBody[] = [];
  let seq = 0;
  const record = (body: JournalEventBody): Promise<void> => {
    lines.push(body);
    applyEvent(state, { ...body, seq: ++seq, time: new Date().toISOString() });
    return Promise.resolve();
  };
  const sources = await Promise.all(files.map((file) => fingerprintFile(file)));
  await record(
    build.runStarted({
      runId: 'run-1',
      manifest: manifestPath,
      manifestSha256: 'x',
      username: 'u',
      orgId: '00D000000000001AAA',
      instanceUrl: 'http://127.0.0.1',
      apiVersion: '62.0',
      sources,
    }),
  );
  await record(build.waveStarted(0, ['contacts']));
  await record(build.stepStarted('contacts', 0, step));
  return { state, lines, record };
}

describe('lock-aware jobs against the realistic model', function () {
  this.timeout(120_000);
  let scaffold: Scaffold | undefined;

  afterEach(async () => {
    await scaffold?.cleanup();
    scaffold = undefined;
  });

  async function load(partitionBy: false | undefined): Promise<{ lockFailures: number; run: MigrationRun }> {
    scaffold = await createScaffold(realistic);
    const data = join(scaffold.dir, 'data');
    const accounts = CHILDREN.map((_, k) => `Account${k},A${k}`).join('\n');
    await writeFile(join(data, 'a.csv'), `Name,Legacy_Id__c\n${accounts}\n`);
    const contacts = contactsCsv();
    await writeFile(join(data, 'c.csv'), contacts.text);
    const path = join(scaffold.dir, 'engine.json');
    const contactStep = {
      id: 'contacts',
      object: 'Contact',
      source: join(data, 'c.csv'),
      dependsOn: ['accounts'],
      maxRecordsPerJob: 3 * BATCH,
      parallelism: 2,
      // no retry round and no gate: every lock failure stays visible in the step's books
      retry: { attempts: 0 },
      failureThreshold: { percent: 100 },
      ...(partitionBy === false ? { partitionBy } : {}),
    };
    const manifest = {
      name: 'lock-aware',
      defaults: { operation: 'insert', poll: { initial: '10ms', max: '40ms' } },
      steps: [{ id: 'accounts', object: 'Account', source: join(data, 'a.csv') }, contactStep],
    };
    await writeFile(path, JSON.stringify(manifest, null, 2));
    const options: RunOptions = {
      connection: scaffold.connection,
      username: scaffold.org.username,
      orgId: scaffold.org.orgId,
      orgBatchRecords: BATCH,
    };
    const run = await MigrationRun.start(await loadManifestOrThrow(path), options);
    const outcome = await run.execute();
    const step = outcome.steps.find((candidate) => candidate.step === 'contacts')!;
    const loaded = scaffold.org.store
      .records('Contact')
      .map((record) => String(record.LastName))
      .sort();
    const lockFailures = step.failuresByCode.UNABLE_TO_LOCK_ROW ?? 0;
    // books balance either way, and nothing is loaded twice
    expect(step.succeeded + step.failed + step.unprocessed).to.equal(contacts.names.length);
    expect(new Set(loaded).size).to.equal(loaded.length);
    expect(loaded.length).to.equal(step.succeeded);
    if (lockFailures === 0) expect(loaded).to.deep.equal(contacts.names);
    return { lockFailures, run };
  }

  it('loads a skewed Contact file with no UNABLE_TO_LOCK_ROW when partitioned, and with some when not', async () => {
    const partitioned = await load(undefined);
    expect(partitioned.lockFailures).to.equal(0);
    const state = await replayJournal(partitioned.run.folder.journalPath);
    const contacts = state.steps.get('contacts')!;
    expect(contacts.partitions).to.have.lengthOf(1);
    const [partition] = contacts.partitions!;
    expect(partition.column).to.equal('Account.Legacy_Id__c');
    const serial = partition.files.filter((file) => file.lane === 'serial');
    // the 200 rows of the two big parents (130 and 70) in jobs they share, one batch each a job:
    // 50 + 50; 50 + the last 20; the last 30; one chain
    expect(serial.map((file) => [file.records, file.chain])).to.deep.equal([
      [100, 0],
      [70, 0],
      [30, 0],
    ]);
    const files = new Set(partition.files.map((file) => file.file));
    expect(contacts.chunks.every((chunk) => files.has(chunk.file))).to.equal(true);
    await scaffold?.cleanup();
    scaffold = undefined;

    const plain = await load(false);
    expect(plain.lockFailures).to.be.greaterThan(0);
    const plainState = await replayJournal(plain.run.folder.journalPath);
    expect(plainState.steps.get('contacts')!.partitions).to.equal(undefined);
  });
});

describe('the partition pass and the journal', () => {
  let scaffold: Scaffold | undefined;
  afterEach(async () => {
    await scaffold?.cleanup();
    scaffold = undefined;
  });

  it('a crash between the derived files and their journal line leaves nothing a resume takes for done', async () => {
    scaffold = await createScaffold();
    const source = join(scaffold.dir, 'data', 'c.csv');
    await writeFile(source, contactsCsv().text);
    const manifest = await loadManifestOrThrow(scaffold.manifestPath);
    const step = {
      ...manifest.steps[0],
      id: 'contacts',
      object: 'Contact',
      maxRecordsPerJob: 150,
      files: [source],
      partitionBy: 'Account.Legacy_Id__c',
    };
    const folder = runFolder(join(scaffold.dir, 'runs'), 'run-1');
    const { state, lines, record } = await startedStep(scaffold.manifestPath, step, [source]);

    // the process dies right before the line: the files are on disk, nothing names them
    const crashed = new StepPartitioning(
      state,
      folder,
      () => Promise.reject(new Error('killed')),
      new ChunkPlanner(state, record),
      { batchRecords: BATCH },
    );
    await crashed.filesOf(step).then(
      () => expect.fail('the crash should have stopped the pass'),
      (error: Error) => expect(error.message).to.equal('killed'),
    );
    const outDir = join(folder.dir, 'partitions', 'contacts', '0');
    const left = await readdir(outDir);
    expect(left.length).to.be.greaterThan(0);
    expect(state.steps.get('contacts')!.partitions).to.equal(undefined);
    // an unjournaled file is corrupted, as a torn write might leave one: the resume must not use it
    await writeFile(join(outDir, left[0]), 'garbage\n');

    const planner = new ChunkPlanner(state, record);
    const resumed = new StepPartitioning(state, folder, record, planner, { batchRecords: BATCH });
    const files = await resumed.filesOf(step);
    expect(lines.filter((line) => line.type === 'source.partitioned')).to.have.lengthOf(1);
    for (const file of files) {
      // eslint-disable-next-line no-await-in-loop
      expect((await readFile(file, 'utf8')).startsWith('LastName,Account.Legacy_Id__c\n')).to.equal(true);
    }
    for (const file of files) {
      // eslint-disable-next-line no-await-in-loop
      await planner.ensurePlanned(step, file, 0);
    }
    const records = state.steps.get('contacts')!.chunks.reduce((sum, chunk) => sum + chunk.records, 0);
    expect(records).to.equal(contactsCsv().names.length);

    // a later resume uses the journaled files as they are, and the pass never runs again
    const again = await new StepPartitioning(state, folder, record, planner, { batchRecords: BATCH }).filesOf(step);
    expect(again).to.deep.equal(files);
    expect(lines.filter((line) => line.type === 'source.partitioned')).to.have.lengthOf(1);

    // a derived file changed after it was journaled is refused when chunks are cut from it
    await writeFile(files[0], 'LastName,Account.Legacy_Id__c\nIntruder,A1\n');
    const fresh = emptyRunState();
    let freshSeq = 0;
    for (const line of lines.filter((body) => body.type !== 'chunk.planned')) {
      applyEvent(fresh, { ...line, seq: ++freshSeq, time: new Date().toISOString() });
    }
    await new ChunkPlanner(fresh, () => Promise.resolve()).ensurePlanned(step, files[0], 0).then(
      () => expect.fail('a changed derived file must not be planned'),
      (error: Error & { code?: string }) => expect(error.code).to.equal('SourceChanged'),
    );
  });

  it("partitions a step's files of one header together, so a parent's children in two files share a bin", async () => {
    scaffold = await createScaffold();
    const data = join(scaffold.dir, 'data');
    const [header, ...rows] = contactsCsv().text.trimEnd().split('\n');
    // the rows dealt alternately into two files, and a third file with its columns the other way round
    const first = join(data, 'c1.csv');
    const second = join(data, 'c2.csv');
    const third = join(data, 'c3.csv');
    await writeFile(first, `${header}\n${rows.filter((_, k) => k % 2 === 0).join('\n')}\n`);
    await writeFile(second, `${header}\n${rows.filter((_, k) => k % 2 === 1).join('\n')}`);
    await writeFile(third, 'Account.Legacy_Id__c,LastName\nA3,Late0\nA3,Late1\n');
    const manifest = await loadManifestOrThrow(scaffold.manifestPath);
    const step = {
      ...manifest.steps[0],
      id: 'contacts',
      object: 'Contact',
      maxRecordsPerJob: 150,
      files: [first, second, third],
      partitionBy: 'Account.Legacy_Id__c',
    };
    const folder = runFolder(join(scaffold.dir, 'runs'), 'run-1');
    const { state, lines, record } = await startedStep(scaffold.manifestPath, step, [first, second, third]);
    // killed before the first pass's line, then resumed: one pass over both files, journaled once
    await new StepPartitioning(
      state,
      folder,
      () => Promise.reject(new Error('killed')),
      new ChunkPlanner(state, record),
      { batchRecords: BATCH },
    )
      .filesOf(step)
      .catch(() => undefined);
    const planner = new ChunkPlanner(state, record);
    const files = await new StepPartitioning(state, folder, record, planner, { batchRecords: BATCH }).filesOf(step);
    const passes = lines.flatMap((line) => (line.type === 'source.partitioned' ? [line] : []));
    expect(passes.map((line) => [line.source, line.with])).to.deep.equal([
      [first, [second]],
      [third, undefined],
    ]);
    const again = await new StepPartitioning(state, folder, record, planner, { batchRecords: BATCH }).filesOf(step);
    expect(again).to.deep.equal(files);
    expect(lines.filter((line) => line.type === 'source.partitioned')).to.have.lengthOf(2);

    // every row once; each parent that fits a batch in one file of the first pass
    const fileRows = await Promise.all(
      passes[0].files.map(async ({ file }) => (await readFile(file, 'utf8')).trimEnd().split('\n').slice(1)),
    );
    expect(fileRows.flat().sort()).to.deep.equal([...rows].sort());
    const homes = new Map<string, Set<number>>();
    fileRows.forEach((inFile, f) => {
      for (const row of inFile) {
        const parent = row.split(',')[1];
        if (parent !== '') homes.set(parent, (homes.get(parent) ?? new Set()).add(f));
      }
    });
    CHILDREN.forEach((children, k) => {
      if (children <= BATCH) expect([...homes.get(`A${k}`)!], `A${k}`).to.have.lengthOf(1);
    });
  });

  it('loads a step whose children span two files once each, from one pass over both', async () => {
    scaffold = await createScaffold();
    const data = join(scaffold.dir, 'data');
    const accounts = CHILDREN.map((_, k) => `Account${k},A${k}`).join('\n');
    await writeFile(join(data, 'a.csv'), `Name,Legacy_Id__c\n${accounts}\n`);
    const [header, ...rows] = contactsCsv().text.trimEnd().split('\n');
    await writeFile(join(data, 'kids-1.csv'), `${header}\n${rows.filter((_, k) => k % 2 === 0).join('\n')}\n`);
    await writeFile(join(data, 'kids-2.csv'), `${header}\n${rows.filter((_, k) => k % 2 === 1).join('\n')}\n`);
    const path = join(scaffold.dir, 'engine.json');
    const manifest = {
      name: 'two-files',
      defaults: { operation: 'insert', poll: { initial: '10ms', max: '40ms' } },
      steps: [
        { id: 'accounts', object: 'Account', source: join(data, 'a.csv') },
        {
          id: 'contacts',
          object: 'Contact',
          source: join(data, 'kids-*.csv'),
          dependsOn: ['accounts'],
          maxRecordsPerJob: 3 * BATCH,
        },
      ],
    };
    await writeFile(path, JSON.stringify(manifest, null, 2));
    const run = await MigrationRun.start(await loadManifestOrThrow(path), {
      connection: scaffold.connection,
      username: scaffold.org.username,
      orgId: scaffold.org.orgId,
      orgBatchRecords: BATCH,
    });
    const outcome = await run.execute();
    expect(outcome.status).to.equal('succeeded');
    const loaded = scaffold.org.store
      .records('Contact')
      .map((record) => String(record.LastName))
      .sort();
    expect(loaded).to.deep.equal(contactsCsv().names);
    const state = await replayJournal(run.folder.journalPath);
    const passes = state.steps.get('contacts')!.partitions!;
    expect(passes.map((pass) => [pass.source, pass.with])).to.deep.equal([
      [join(data, 'kids-1.csv'), [join(data, 'kids-2.csv')]],
    ]);
    // no chunk was cut from either source itself
    const sources = new Set([join(data, 'kids-1.csv'), join(data, 'kids-2.csv')]);
    expect(state.steps.get('contacts')!.chunks.filter((chunk) => sources.has(chunk.file))).to.deep.equal([]);
  });
});
