import { expect } from 'chai';
import type { Connection } from '@salesforce/core';
import { retryDeadLetters } from '../../src/engine/retryRun.js';
import * as build from '../../src/journal/eventBuilders.js';
import { buildRun, createScaffold, type Scaffold } from './runScaffold.js';

describe('retryDeadLetters --step', () => {
  let scaffold: Scaffold;
  let runId: string;

  before(async () => {
    scaffold = await createScaffold();
    // a finished run whose Account step left dead letters and whose Contact step never started
    const run = await buildRun(scaffold, 'saved');
    runId = run.folder.runId;
    await run.append(
      build.stepFinished('Account', {
        records: 3,
        succeeded: 2,
        failed: 1,
        unprocessed: 0,
        jobs: 1,
        gate: 'failed',
        deadLetters: ['dead-letter/Account.csv'],
      }),
    );
    await run.append(build.waveFinished(0, 'failed'));
    await run.append(build.runFinished('failed', 'Wave 1 did not pass its gate'));
    await run.journal.close();
  });
  after(() => scaffold.cleanup());

  it('refuses an unknown step id by listing the valid ones, and never advises a new run', async () => {
    const error = await retryDeadLetters({
      root: scaffold.root,
      runId,
      steps: ['Acount', 'Account'],
      connection: {} as Connection,
      username: scaffold.org.username,
      orgId: scaffold.org.orgId,
    }).then(
      () => undefined,
      (failure: unknown) => failure as Error & { actions?: string[]; data?: unknown },
    );
    expect(error, 'a refusal').to.not.equal(undefined);
    expect(error!.name).to.equal('UnknownStepError');
    expect(error!.message).to.include(`Run ${runId} has no step "Acount"`).and.include('Its steps: Account, Contact.');
    expect(error!.message).to.include('Steps with rows to resubmit: Account, Contact.');
    const actions = error!.actions!.join('\n');
    expect(actions).to.include(`--run-id ${runId} --step Account`);
    expect(actions).to.not.include('--new');
    expect(error!.data).to.deep.equal({
      unknown: ['Acount'],
      steps: ['Account', 'Contact'],
      retryable: ['Account', 'Contact'],
    });
  });

  it("refuses a run of another org by naming retry, not resume, against the run's own org", async () => {
    const error = await retryDeadLetters({
      root: scaffold.root,
      runId,
      connection: {} as Connection,
      username: 'someone@sandbox.example',
      orgId: '00D000000000009AAA',
    }).then(
      () => undefined,
      (failure: unknown) => failure as Error & { actions?: string[] },
    );
    expect(error?.name).to.equal('RunOfAnotherOrgError');
    expect(error!.actions!.join('\n')).to.equal(
      `Run it against its own org: sf migrate retry --run-id ${runId} --target-org ${scaffold.org.username}`,
    );
  });
});
