/*
 * `sf migrate status` end to end (bin/run.js) against a local org started in this process: a run
 * made by the real `migrate run`, and an interrupted run whose journal is built step by step
 * exactly as the engine writes it, so its job is still live in the org for --refresh.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import type { StatusResult } from '../../src/commands/migrate/status.js';
import type { RunResult } from '../../src/commands/migrate/run.js';
import { useNutSession } from '../helpers/localOrg.js';
import { assertMatchesSchema } from '../helpers/resultSchema.js';
import { buildRun, runSite, type BuiltRun, type ChunkStop } from '../engine/runScaffold.js';

const SCHEMA = 'schemas/migrate-status.json';

describe('migrate status', () => {
  const nut = useNutSession('status');
  /** a run stopped at `stop`, with its job recorded in this session's job index */
  const stoppedRun = async (stop: ChunkStop): Promise<BuiltRun> =>
    nut.inHome(async () => buildRun(await runSite(nut.testDir, nut.org), stop));

  async function status(flags: string, code = 0): Promise<StatusResult> {
    const output = (await nut.sf<StatusResult>(`migrate status ${flags} --json`, { code })).jsonOutput;
    expect(output, 'json output').to.not.equal(undefined);
    assertMatchesSchema(SCHEMA, output!.result);
    return output!.result;
  }

  it('shows a run made by migrate run: finished, its steps and its jobs', async () => {
    writeFileSync(join(nut.testDir, 'accounts.csv'), 'Name\nA1\nA2\nA3\nA4\nA5\n');
    const manifest = join(nut.testDir, 'migration.json');
    writeFileSync(
      manifest,
      JSON.stringify({
        name: 'status-nut',
        defaults: { maxRecordsPerJob: 2, poll: { initial: '100ms', max: '200ms' } },
        steps: [{ object: 'Account', source: 'accounts.csv' }],
      }),
    );
    const run = (await nut.sf<RunResult>(`migrate run --manifest ${manifest} --target-org local --json`)).jsonOutput!
      .result;

    const result = await status(`--manifest ${manifest}`);
    expect(result).to.deep.include({ runId: run.runId, activity: 'finished', status: 'succeeded', refreshed: false });
    // a finished step keeps the rate its jobs showed, and has no time left
    expect(result.steps[0].recordsPerSecond).to.be.greaterThan(0);
    expect(result.steps[0]).not.to.have.property('etaSeconds');
    // eslint-disable-next-line @typescript-eslint/no-unused-vars -- compared above
    expect(result.steps.map(({ recordsPerSecond, ...step }) => step)).to.deep.equal([
      {
        step: 'Account',
        object: 'Account',
        operation: 'insert',
        wave: 0,
        status: 'finished',
        gate: 'passed',
        records: 5,
        succeeded: 5,
        failed: 0,
        unprocessed: 0,
        jobs: 3,
      },
    ]);
    expect(
      result.jobs.map((job) => [job.chunk, job.records, job.phase, job.state, job.results?.success]),
    ).to.deep.equal([
      [0, 2, 'deleted', 'JobComplete', 2],
      [1, 2, 'deleted', 'JobComplete', 2],
      [2, 1, 'deleted', 'JobComplete', 1],
    ]);

    const human = (await nut.sf(`migrate status --manifest ${manifest} --run-id ${run.runId}`)).shellOutput.stdout;
    expect(human)
      .to.include(`Run ${run.runId}`)
      .and.include('finished: succeeded')
      .and.include('Steps')
      .and.include('Jobs');
  });

  it('shows an interrupted run and, with --refresh, the live state of its unfinished job', async () => {
    const built = await stoppedRun('closed');
    await built.journal.close();
    const manifest = join(nut.testDir, 'migration.json');

    const offline = await status(`--manifest ${manifest}`);
    expect(offline).to.deep.include({ runId: built.folder.runId, activity: 'interrupted', refreshed: false });
    expect(offline.resumeCommand).to.equal(`sf migrate resume --manifest ${manifest} --run-id ${built.folder.runId}`);
    expect(offline.jobs).to.deep.equal([
      { step: 'Account', chunk: 0, attempt: 0, records: 3, jobId: built.jobId, phase: 'closed' },
    ]);
    expect(offline.steps.map((step) => step.status)).to.deep.equal(['running', 'pending']);

    // no --target-org: the org the run was started against
    const live = await status(`--manifest ${manifest} --refresh`);
    expect(live.refreshed).to.equal(true);
    expect(live.jobs[0].live?.state).to.be.oneOf(['UploadComplete', 'InProgress', 'JobComplete']);
  });

  it('fails with a clear error when there is no run, and when --refresh names another org', async () => {
    const empty = join(nut.testDir, 'empty.json');
    writeFileSync(empty, JSON.stringify({ name: 'empty', steps: [{ object: 'Account', source: 'none.csv' }] }));
    const none = (await nut.sf(`migrate status --manifest ${empty} --json`, { code: 1 })).jsonOutput as unknown as {
      name: string;
    };
    expect(none.name).to.equal('NoRunsError');

    const built = await stoppedRun('uploaded');
    await built.journal.close();
    const other = await nut.startOrg({ alias: 'other-org' });
    try {
      const error = (
        await nut.sf(
          `migrate status --manifest ${join(nut.testDir, 'migration.json')} --refresh --target-org other-org --json`,
          {
            code: 1,
          },
        )
      ).jsonOutput as unknown as { name: string; actions: string[] };
      expect(error.name).to.equal('RunOfAnotherOrgError');
      expect(error.actions[0]).to.include(`--target-org ${nut.org.username}`);
    } finally {
      await other.stop();
    }
  });
});
