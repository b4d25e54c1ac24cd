/*
 * Issue 9.4: a source is loaded as it was fingerprinted when the run began, or not at all. Each
 * test runs the engine in this process against a local org and changes a source at a chosen
 * moment (listeners of the engine's own events run before it goes on, so no timing is involved),
 * then checks the org: no record of the changed content, and no job closed with it.
 */
import { appendFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { SfError } from '@salesforce/core';
import { startLocalOrg, type LocalOrg } from '@sf-migrate/local-org';
import { IngestJobClient, type StateChange } from '../../src/bulk/ingestJobClient.js';
import type { IngestJobInfo } from '../../src/bulk/types.js';
import { loadManifestOrThrow } from '../../src/manifest/load.js';
import { MigrationRun, type RunOptions } from '../../src/engine/migrationRun.js';
import { resumeRun } from '../../src/engine/resumeRun.js';
import { connectionTo } from './runScaffold.js';

const ACCOUNTS = 'Name\nAcme\nGlobex\nInitech\nHooli\nUmbrella\nStark\n';
const CONTACTS = 'LastName\nSmith\nJones\nBrown\n';
/** the same size, other content in every chunk, the same header */
const SHOUTED = `Name\n${ACCOUNTS.slice(5).toUpperCase()}`;
/** a whole second, so a test can give a rewritten file back exactly the mtime it had */
const MTIME = 1_700_000_000;

describe('a source changed during a run (issue 9.4)', function () {
  this.timeout(60_000);
  let dir: string;
  let realHome: string | undefined;
  let org: LocalOrg;
  let options: RunOptions;
  let manifestPath: string;
  let accounts: string;
  let contacts: string;

  // one HOME (so one job index) for every run of this file, as for one user: resume tells this
  // run's jobs from the earlier runs' jobs in the org by the index
  let home: string;
  before(async () => {
    realHome = process.env.HOME;
    home = await mkdtemp(join(tmpdir(), 'sf-migrate-integrity-home-'));
    process.env.HOME = home;
    org = await startLocalOrg();
    const connection = await connectionTo(org);
    options = {
      connection,
      username: org.username,
      orgId: org.orgId,
      client: new IngestJobClient(connection, { retry: { attempts: 1 } }),
      keepJobs: true,
    };
    const client = options.client!;
    const requestState = client.requestState.bind(client);
    client.requestState = async (jobId: string, state: 'UploadComplete' | 'Aborted'): Promise<StateChange> => {
      if (state === 'UploadComplete') closed.push(jobId);
      return requestState(jobId, state);
    };
  });

  after(async () => {
    await org.stop();
    process.env.HOME = realHome;
    await rm(home, { recursive: true, force: true });
  });

  /** every job the engine closed */
  let closed: string[] = [];
  beforeEach(() => {
    closed = [];
  });

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sf-migrate-integrity-'));
    accounts = join(dir, 'accounts.csv');
    contacts = join(dir, 'contacts.csv');
    writeSource(accounts, ACCOUNTS);
    writeSource(contacts, CONTACTS);
    manifestPath = join(dir, 'migration.json');
    writeFileSync(
      manifestPath,
      JSON.stringify({
        name: 'integrity',
        defaults: { operation: 'insert', maxRecordsPerJob: 2, poll: { initial: '10ms', max: '20ms' } },
        steps: [
          { object: 'Account', source: accounts },
          { object: 'Contact', source: contacts, dependsOn: ['Account'] },
        ],
      }),
    );
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** writes a source with the fixed mtime */
  function writeSource(file: string, content: string): void {
    writeFileSync(file, content);
    utimesSync(file, MTIME, MTIME);
  }

  async function startRun(): Promise<MigrationRun> {
    return MigrationRun.start(await loadManifestOrThrow(manifestPath), options);
  }

  async function failure(run: MigrationRun): Promise<SfError> {
    try {
      await run.execute();
    } catch (error) {
      return error as SfError;
    }
    throw new Error('expected the run to stop');
  }

  function names(object: string, field: string): string[] {
    return org.store
      .records(object)
      .map((record) => String(record[field]))
      .sort();
  }

  /** this test's jobs in the org (the org outlives the test, so only jobs created since `before`) */
  async function jobsOf(object: string, since: Set<string>): Promise<IngestJobInfo[]> {
    const jobs: IngestJobInfo[] = [];
    for await (const job of options.client!.list()) if (job.object === object && !since.has(job.id)) jobs.push(job);
    return jobs;
  }

  async function existingJobs(): Promise<Set<string>> {
    const ids = new Set<string>();
    for await (const job of options.client!.list()) ids.add(job.id);
    return ids;
  }

  /** records already in the org from earlier tests */
  function baseline(): { accounts: string[]; contacts: string[] } {
    return { accounts: names('Account', 'Name'), contacts: names('Contact', 'LastName') };
  }

  const added = (before: string[], after: string[]): string[] => {
    const left = [...before];
    return after.filter((name) => {
      const at = left.indexOf(name);
      if (at === -1) return true;
      left.splice(at, 1);
      return false;
    });
  };

  describe('before its step plans it (a later wave)', () => {
    for (const [title, change, kind] of [
      ['rows appended', (): void => appendFileSync(contacts, 'Appended\nAlso\n'), 'grew'],
      ['a half line being written', (): void => appendFileSync(contacts, 'Halfwr'), 'grew'],
      [
        'replaced by a file of the same size and mtime',
        (): void => writeSource(contacts, CONTACTS.replace('Jones', 'Evils')),
        'content',
      ],
      ['cut short', (): void => writeFileSync(contacts, CONTACTS.slice(0, 12)), 'shrank'],
    ] as const) {
      it(`stops before loading anything of it: ${title}`, async () => {
        const before = baseline();
        const jobsBefore = await existingJobs();
        const run = await startRun();
        run.on('wave.finished', ({ wave }) => {
          if (wave === 0) change();
        });
        const error = await failure(run);
        expect(error.name).to.equal('SourceChangedError');
        expect(error.data).to.deep.include({ file: contacts, change: kind });
        expect(error.message).to.contain(contacts);
        // wave 1 loaded as fingerprinted; nothing of the changed file, and no job for it
        expect(added(before.accounts, baseline().accounts).sort()).to.deep.equal(
          ['Acme', 'Globex', 'Hooli', 'Initech', 'Stark', 'Umbrella'].sort(),
        );
        expect(added(before.contacts, baseline().contacts)).to.deep.equal([]);
        expect(closed).to.have.length(3);
        expect(await jobsOf('Contact', jobsBefore)).to.deep.equal([]);
        // the journal holds no chunk of the changed file
        expect(run.state.steps.get('Contact')?.chunks ?? []).to.deep.equal([]);
      });
    }

    it('goes on from where it stopped once the file is put back, loading each record once', async () => {
      const before = baseline();
      const run = await startRun();
      run.on('wave.finished', ({ wave }) => {
        if (wave === 0) writeSource(contacts, CONTACTS.replace('Jones', 'Evils'));
      });
      expect((await failure(run)).data).to.deep.include({ change: 'content' });
      writeSource(contacts, CONTACTS);
      const resumed = await resumeRun({ ...options, root: join(dir, '.sf-migrate', 'runs'), runId: run.runId });
      expect((await resumed.execute()).status).to.equal('succeeded');
      expect(added(before.accounts, baseline().accounts)).to.have.length(6);
      expect(added(before.contacts, baseline().contacts).sort()).to.deep.equal(['Brown', 'Jones', 'Smith']);
    });
  });

  describe('after its chunks were planned, before their upload', () => {
    for (const [title, change, kind] of [
      ['rows appended', (): void => appendFileSync(accounts, 'Appended\n'), 'modified'],
      ['a half line being written', (): void => appendFileSync(accounts, 'Halfwr'), 'modified'],
      ['cut short', (): void => writeFileSync(accounts, ACCOUNTS.slice(0, 20)), 'modified'],
      ['deleted', (): void => rmSync(accounts), 'missing'],
      // same size and mtime: only the chunk's hash, checked before its last bytes go out, tells
      ['replaced by a file of the same size and mtime', (): void => writeSource(accounts, SHOUTED), 'range'],
    ] as const) {
      it(`closes no job with it and loads none of it: ${title}`, async () => {
        const before = baseline();
        const jobsBefore = await existingJobs();
        const run = await startRun();
        // 'step.started' comes once the step's files are planned, before any job is created
        run.on('step.started', ({ step }) => {
          if (step === 'Account') change();
        });
        const error = await failure(run);
        expect(error.name).to.equal('SourceChangedError');
        expect(error.data).to.deep.include({ file: accounts, change: kind });
        expect(added(before.accounts, baseline().accounts)).to.deep.equal([]);
        const jobs = await jobsOf('Account', jobsBefore);
        expect(jobs.length).to.be.greaterThan(0);
        // every job the run created was aborted, never closed. (The local org sometimes turns such
        // a job Failed: the abort lands while it still cleans up the upload the client dropped.)
        expect(closed.filter((jobId) => jobs.some((job) => job.id === jobId))).to.deep.equal([]);
        for (const job of jobs) {
          expect(job.state).to.be.oneOf(['Aborted', 'Failed']);
          expect(job.numberRecordsProcessed ?? 0).to.equal(0);
        }
        for (const chunk of run.state.steps.get('Account')!.chunks) {
          expect(chunk.phase).to.equal('planned');
          expect(chunk.sha256).to.match(/^[0-9a-f]{64}$/);
        }
      });
    }

    it('goes on from where it stopped once the file is put back, loading each record once', async () => {
      const before = baseline();
      const run = await startRun();
      run.on('step.started', ({ step }) => {
        if (step === 'Account') writeSource(accounts, SHOUTED);
      });
      expect((await failure(run)).data).to.deep.include({ change: 'range' });
      writeSource(accounts, ACCOUNTS);
      const resumed = await resumeRun({ ...options, root: join(dir, '.sf-migrate', 'runs'), runId: run.runId });
      expect((await resumed.execute()).status).to.equal('succeeded');
      expect(added(before.accounts, baseline().accounts).sort()).to.deep.equal(
        ['Acme', 'Globex', 'Hooli', 'Initech', 'Stark', 'Umbrella'].sort(),
      );
      expect(added(before.contacts, baseline().contacts)).to.have.length(3);
    });
  });
});
