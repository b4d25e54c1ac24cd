import { writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { expect } from 'chai';
import { runStatus, readRunLock, type StatusResult } from '../../src/engine/runStatus.js';
import * as build from '../../src/journal/eventBuilders.js';
import { acquireRunLock } from '../../src/journal/lock.js';
import { createRunFolder, runFolder } from '../../src/journal/runFolder.js';
import { assertMatchesSchema } from '../helpers/resultSchema.js';
import { buildRun, createScaffold, type Scaffold } from './runScaffold.js';

const SCHEMA = 'schemas/migrate-status.json';

describe('runStatus', () => {
  let scaffold: Scaffold;

  beforeEach(async () => {
    scaffold = await createScaffold();
  });

  afterEach(async () => {
    await scaffold.cleanup();
  });

  it('reports an interrupted run: waves, steps (started or not) and the chunk phase', async () => {
    const run = await buildRun(scaffold, 'closed');
    await run.journal.close();
    const status = await runStatus({ root: scaffold.root });
    assertMatchesSchema(SCHEMA, status);
    expect(status.runId).to.equal(run.folder.runId);
    expect(status.activity).to.equal('interrupted');
    expect(status.resumeCommand).to.equal(
      `sf migrate resume --manifest ${scaffold.manifestPath} --run-id ${run.folder.runId}`,
    );
    expect(status.waves).to.deep.equal([
      { wave: 0, steps: ['Account'], status: 'running' },
      { wave: 1, steps: ['Contact'], status: 'pending' },
    ]);
    expect(status.steps.map((step) => [step.step, step.status, step.records, step.jobs])).to.deep.equal([
      ['Account', 'running', 3, 1],
      ['Contact', 'pending', 0, 0],
    ]);
    expect(status.jobs).to.deep.equal([
      { step: 'Account', chunk: 0, attempt: 0, records: 3, jobId: run.jobId, phase: 'closed' },
    ]);
    expect(status.refreshed).to.equal(false);
  });

  it("estimates a step's rate from its journaled jobs, and the time left of a running step and wave", async () => {
    const run = await buildRun(scaffold, 'closed');
    const before = await runStatus({ root: scaffold.root });
    // closed, nothing finished: nothing to estimate from yet
    expect(before.steps[0]).not.to.have.property('recordsPerSecond');
    expect(before.waves[0]).not.to.have.property('etaSeconds');
    // the close and the finish must be journaled at different milliseconds for a rate to exist
    await new Promise((resolve) => setTimeout(resolve, 5));
    await run.append(
      build.jobFinished({ step: 'Account', chunk: 0 }, run.jobId!, { state: 'JobComplete', processed: 3, failed: 0 }),
    );
    await run.journal.close();
    const status = await runStatus({ root: scaffold.root });
    assertMatchesSchema(SCHEMA, status);
    const [account, contact] = status.steps;
    expect(account.recordsPerSecond).to.be.greaterThan(0);
    // all 3 records processed: nothing left
    expect(account.etaSeconds).to.equal(0);
    expect(status.waves[0]).to.include({ status: 'running', etaSeconds: 0 });
    expect(status.waves[0].recordsPerSecond).to.equal(account.recordsPerSecond);
    expect(contact).not.to.have.property('recordsPerSecond');
    expect(status.waves[1]).not.to.have.property('recordsPerSecond');
  });

  it('asks the org about unfinished jobs with refresh, and refuses an org that is not the run`s', async () => {
    const run = await buildRun(scaffold, 'closed');
    await run.journal.close();
    const refreshed = await runStatus({
      root: scaffold.root,
      refresh: (owner) => {
        expect(owner).to.deep.equal({ username: scaffold.org.username, orgId: scaffold.org.orgId });
        return Promise.resolve({ client: scaffold.client, orgId: scaffold.org.orgId });
      },
    });
    assertMatchesSchema(SCHEMA, refreshed);
    const live = refreshed.jobs[0].live;
    expect(live?.state).to.be.oneOf(['UploadComplete', 'InProgress', 'JobComplete']);

    let error: Error | undefined;
    try {
      await runStatus({
        root: scaffold.root,
        refresh: () => Promise.resolve({ client: scaffold.client, orgId: '00D000000000001AAA' }),
      });
    } catch (caught) {
      error = caught as Error;
    }
    expect(error?.name).to.equal('RunOfAnotherOrgError');
  });

  it('reports a job the org no longer has as NotFound', async () => {
    const run = await buildRun(scaffold, 'closed');
    await run.journal.close();
    await scaffold.client.poll(run.jobId!, { initialMs: 10, maxMs: 20 });
    await scaffold.client.delete(run.jobId!);
    const status = await runStatus({
      root: scaffold.root,
      refresh: () => Promise.resolve({ client: scaffold.client, orgId: scaffold.org.orgId }),
    });
    expect(status.jobs[0].live).to.deep.equal({ state: 'NotFound', processed: 0, failed: 0 });
  });

  it('reports a run whose lock a live process holds as running', async () => {
    const run = await buildRun(scaffold, 'uploaded');
    await run.journal.close();
    const lock = await acquireRunLock(run.folder);
    try {
      const status = await runStatus({ root: scaffold.root, runId: run.folder.runId });
      assertMatchesSchema(SCHEMA, status);
      expect(status.activity).to.equal('running');
      expect(status.lock).to.include({ pid: process.pid, host: hostname(), alive: true });
      expect(status.resumeCommand).to.equal(undefined);
    } finally {
      await lock.release();
    }
  });

  it('treats a lock whose process is gone as interrupted', async () => {
    const run = await buildRun(scaffold, 'uploaded');
    await run.journal.close();
    // pid 2^22 + 1 is above Linux's default pid_max: no such process
    await writeFile(run.folder.lockPath, JSON.stringify({ pid: 4_194_305, host: hostname(), startedAt: 'then' }));
    expect(await readRunLock(run.folder)).to.deep.equal({
      pid: 4_194_305,
      host: hostname(),
      startedAt: 'then',
      alive: false,
    });
    const status = await runStatus({ root: scaffold.root });
    expect(status.activity).to.equal('interrupted');
  });

  it('shows a finished run with its outcome and per-step counts, newest first by default', async () => {
    const older = await buildRun(scaffold, 'closed');
    await older.journal.close();
    const run = await buildRun(scaffold, 'saved');
    await run.append(
      build.stepFinished('Account', { records: 3, succeeded: 3, failed: 0, unprocessed: 0, jobs: 1, gate: 'passed' }),
    );
    await run.append(build.waveFinished(0, 'passed'));
    await run.append(build.waveStarted(1, ['Contact']));
    await run.append(build.stepStarted('Contact', 1, { object: 'Contact', operation: 'insert' }));
    await run.append(
      build.stepFinished('Contact', { records: 0, succeeded: 0, failed: 0, unprocessed: 0, jobs: 0, gate: 'passed' }),
    );
    await run.append(build.waveFinished(1, 'passed'));
    await run.append(build.runFinished('succeeded'));
    await run.journal.close();

    const status: StatusResult = await runStatus({ root: scaffold.root });
    assertMatchesSchema(SCHEMA, status);
    expect(status.runId).to.equal(run.folder.runId);
    expect(status.activity).to.equal('finished');
    expect(status.status).to.equal('succeeded');
    expect(status.waves.map((wave) => wave.status)).to.deep.equal(['passed', 'passed']);
    expect(status.steps[0]).to.include({ step: 'Account', status: 'finished', gate: 'passed', succeeded: 3 });
    expect(status.jobs[0]).to.deep.include({ phase: 'saved', state: 'JobComplete', processed: 3, failed: 0 });
    expect(status.jobs[0].results).to.deep.equal({ success: 3, failed: 0, unprocessed: 0 });

    const byId = await runStatus({ root: scaffold.root, runId: older.folder.runId });
    expect(byId.activity).to.equal('interrupted');
  });

  it('skips a newer run folder whose journal never started', async () => {
    const run = await buildRun(scaffold, 'planned');
    await run.journal.close();
    const empty = await createRunFolder(scaffold.root, scaffold.manifestPath, '29991231-235959-ffff');
    const status = await runStatus({ root: scaffold.root });
    expect(status.runId).to.equal(run.folder.runId);
    expect(empty.runId).to.not.equal(run.folder.runId);
  });

  it('fails clearly when there is no run, or no such run', async () => {
    let error: Error | undefined;
    try {
      await runStatus({ root: scaffold.root });
    } catch (caught) {
      error = caught as Error;
    }
    expect(error?.name).to.equal('NoRunsError');
    error = undefined;
    const run = await buildRun(scaffold, 'planned');
    await run.journal.close();
    try {
      await runStatus({ root: scaffold.root, runId: '20000101-000000-abcd' });
    } catch (caught) {
      error = caught as Error;
    }
    expect(error?.name).to.equal('RunNotFoundError');
    expect(runFolder(scaffold.root, run.folder.runId).dir).to.equal(run.folder.dir);
  });
});
