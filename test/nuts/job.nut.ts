/*
 * `sf migrate job status|resume|abort|results` end to end (bin/run.js) against a local org started
 * in this process. Runs stopped in a chosen phase are built step by step exactly as the engine
 * journals them (fast and deterministic); the commands run from another directory than the run's,
 * finding the job through the job index in the sf state folder.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import type { JobStatusResult } from '../../src/commands/migrate/job/status.js';
import type { JobResumeCommandResult } from '../../src/commands/migrate/job/resume.js';
import type { JobAbortResult } from '../../src/commands/migrate/job/abort.js';
import type { JobResultsResult } from '../../src/commands/migrate/job/results.js';
import type { RunResult } from '../../src/commands/migrate/run.js';
import type { StatusResult } from '../../src/commands/migrate/status.js';
import { useNutSession } from '../helpers/localOrg.js';
import { assertMatchesSchema } from '../helpers/resultSchema.js';
import { buildRun, runSite, type BuiltRun, type ChunkStop } from '../engine/runScaffold.js';

type ErrorOutput = { name: string; message: string; actions?: string[] };

describe('migrate job', () => {
  const nut = useNutSession('job');
  /** the commands run from here, not from the run's folder: they find jobs through the job index */
  const elsewhere = (): string => {
    const folder = join(nut.dir, 'elsewhere');
    mkdirSync(folder, { recursive: true });
    return folder;
  };

  /** runs a command from a folder that is not the run's */
  async function sf<T>(command: string, code: number, schema?: string): Promise<T> {
    const output = (await nut.sf<T>(`${command} --json`, { code, cwd: elsewhere() })).jsonOutput;
    expect(output, 'json output').to.not.equal(undefined);
    // errors come as the whole JSON (name, message, actions); results (exit 0, 68, 69) under `result`
    if (output!.result === undefined) return output as unknown as T;
    if (schema) assertMatchesSchema(schema, output!.result);
    return output!.result;
  }

  /** a run stopped at `stop`, with its job recorded in this session's job index */
  const stoppedRun = async (stop: ChunkStop): Promise<BuiltRun> =>
    nut.inHome(async () => buildRun(await runSite(nut.testDir, nut.org), stop));

  it('job status: finds a job by its 15-character id from any folder and shows the org`s and the journal`s view', async () => {
    const built = await stoppedRun('uploaded');
    await built.journal.close();
    const result = await sf<JobStatusResult>(
      `migrate job status --job-id ${built.jobId!.slice(0, 15)}`,
      0,
      'schemas/migrate-job-status.json',
    );
    expect(result).to.deep.include({
      jobId: built.jobId,
      object: 'Account',
      operation: 'insert',
      state: 'Open',
      processed: 0,
    });
    expect(result.run).to.deep.include({ runId: built.folder.runId, step: 'Account', chunk: 0, phase: 'uploaded' });
    const human = (await nut.sf(`migrate job status --job-id ${built.jobId!}`, { cwd: elsewhere() })).shellOutput
      .stdout;
    expect(human).to.include(`Job ${built.jobId!} (insert Account): Open`).and.include('journal phase uploaded');

    const other = await nut.startOrg({ alias: 'other-org' });
    try {
      const refused = await sf<ErrorOutput>(`migrate job status --job-id ${built.jobId!} --target-org other-org`, 1);
      expect(refused.name).to.equal('JobOfAnotherOrgError');
      // a default org that is another org does not get in the way: the job's own org is used
      const withDefault = await nut.sf<JobStatusResult>(`migrate job status --job-id ${built.jobId!} --json`, {
        cwd: elsewhere(),
        env: { SF_TARGET_ORG: 'other-org' },
      });
      expect(withDefault.jsonOutput?.result.state).to.equal('Open');
    } finally {
      await other.stop();
    }
    const unknown = await sf<ErrorOutput>('migrate job status --job-id 750000000000001AAA', 1);
    expect(unknown.name).to.equal('JobNotIndexedError');
  });

  it('job resume: finishes a closed job into its run, and the run-level resume takes it from there', async () => {
    const built = await stoppedRun('closed');
    await built.journal.close();
    const result = await sf<JobResumeCommandResult>(
      `migrate job resume --job-id ${built.jobId!}`,
      0,
      'schemas/migrate-job-resume.json',
    );
    expect(result).to.deep.include({ status: 'finished', state: 'JobComplete', processed: 3, failed: 0, exitCode: 0 });
    expect(result.results?.counts).to.deep.equal({ success: 3, failed: 0, unprocessed: 0 });
    expect(readFileSync(result.results!.files.success, 'utf8').trim().split('\n')).to.have.length(4);

    const status = await sf<StatusResult>(`migrate status --manifest ${join(nut.testDir, 'migration.json')}`, 0);
    expect(status.jobs[0]).to.deep.include({ jobId: built.jobId, phase: 'saved' });

    const again = await sf<ErrorOutput>(`migrate job resume --job-id ${built.jobId!}`, 1);
    expect(again.name).to.equal('JobAlreadySavedError');
    expect(again.actions?.[0]).to.include(
      `sf migrate resume --manifest ${join(nut.testDir, 'migration.json')} --run-id ${built.folder.runId}`,
    );

    // the run continues without touching the job again: no second job for the chunk
    const before = nut.org.store.count('Account');
    const resumed = await sf<RunResult>(
      `migrate resume --manifest ${join(nut.testDir, 'migration.json')} --run-id ${built.folder.runId} --target-org local`,
      0,
    );
    expect(resumed.status).to.equal('succeeded');
    expect(resumed.steps.map((step) => [step.step, step.succeeded, step.jobs])).to.deep.equal([
      ['Account', 3, 1],
      ['Contact', 1, 1],
    ]);
    expect(nut.org.store.count('Account')).to.equal(before);
  });

  it('job resume: refuses a job its run never closed', async () => {
    const built = await stoppedRun('uploaded');
    await built.journal.close();
    const refused = await sf<ErrorOutput>(`migrate job resume --job-id ${built.jobId!}`, 1);
    expect(refused.name).to.equal('JobNotClosedError');
    expect(refused.actions?.[0]).to.include('sf migrate resume');
  });

  it('job abort: aborts a job that was never closed and journals it, then refuses it as finished', async () => {
    const built = await stoppedRun('uploaded');
    await built.journal.close();
    const result = await sf<JobAbortResult>(
      `migrate job abort --job-id ${built.jobId!}`,
      0,
      'schemas/migrate-job-abort.json',
    );
    expect(result).to.deep.include({ previousState: 'Open', state: 'Aborted', journaled: 'job.aborted' });
    // the chunk no longer has this job: the run's resume starts it again with a fresh one
    expect(result.run?.phase).to.equal('aborted');
    const journal = readFileSync(built.folder.journalPath, 'utf8').trim().split('\n');
    expect(JSON.parse(journal[journal.length - 1])).to.include({ type: 'job.aborted', jobId: built.jobId });

    const again = await sf<ErrorOutput>(`migrate job abort --job-id ${built.jobId!}`, 1);
    expect(again.name).to.equal('JobAlreadyFinishedError');
  });

  it('job results: downloads the three files of a job kept in the org by migrate run --keep-jobs', async () => {
    writeFileSync(join(nut.testDir, 'accounts.csv'), 'Name\nOne\n\nThree\n'.replace('\n\n', '\n""\n'));
    const manifest = join(nut.testDir, 'kept.json');
    writeFileSync(
      manifest,
      JSON.stringify({
        name: 'kept',
        defaults: { poll: { initial: '100ms', max: '200ms' }, failureThreshold: { records: 5 } },
        steps: [{ object: 'Account', source: 'accounts.csv' }],
      }),
    );
    const run = await sf<RunResult>(`migrate run --manifest ${manifest} --target-org local --keep-jobs`, 68);
    expect(run.steps[0]).to.deep.include({ succeeded: 2, failed: 1 });
    const status = await sf<StatusResult>(`migrate status --manifest ${manifest}`, 0);
    const jobId = status.jobs[0].jobId!;

    const out = join(nut.testDir, 'out');
    const result = await sf<JobResultsResult>(
      `migrate job results --job-id ${jobId} --output-dir ${out}`,
      0,
      'schemas/migrate-job-results.json',
    );
    expect(result).to.deep.include({ jobId, state: 'JobComplete', journaled: false });
    expect(result.counts).to.deep.equal({ success: 2, failed: 1, unprocessed: 0 });
    for (const file of Object.values(result.files)) expect(existsSync(file), file).to.equal(true);
    expect(readFileSync(result.files.failed, 'utf8')).to.include('REQUIRED_FIELD_MISSING');
  });
});
