/*
 * `sf migrate rollback` end to end: the real commands (bin/run.js) against a local org started in
 * this process. A run with inserts, upserts (some matching records that existed before), updates
 * and a failed row; a record changed by hand after the run; a dry run that writes nothing; the
 * rollback killed (SIGKILL) in the middle of its jobs and finished with `sf migrate resume`. The
 * org must end as it was before the run (compared by a full export of every field but the ones
 * the org stamps on each write), except the hand-changed record, which the rollback reports.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import type { RollbackResult } from '../../src/commands/migrate/rollback.js';
import type { RunResult } from '../../src/commands/migrate/run.js';
import { useNutSession, type LocalOrg } from '../helpers/localOrg.js';
import { assertMatchesSchema } from '../helpers/resultSchema.js';

/** fields the org stamps on every write: not part of what a rollback restores */
const STAMPED = new Set(['LastModifiedDate', 'LastModifiedById', 'SystemModstamp']);

function exportOrg(org: LocalOrg): Record<string, Record<string, Record<string, unknown>>> {
  const out: Record<string, Record<string, Record<string, unknown>>> = {};
  for (const object of ['Account', 'Contact']) {
    out[object] = Object.fromEntries(
      org.store.records(object).map((record) => [
        String(record.Id),
        // a field never set and one set to null read the same through the API
        Object.fromEntries(
          Object.entries(record).filter(
            ([field, value]) => !STAMPED.has(field) && value !== null && value !== undefined,
          ),
        ),
      ]),
    );
  }
  return out;
}

describe('sf migrate rollback', function () {
  this.timeout(10 * 60_000);
  const nut = useNutSession('rollback');

  function manifest(name: string, steps: object[]): string {
    const path = join(nut.testDir, `${name}.json`);
    writeFileSync(
      path,
      JSON.stringify({ name, defaults: { poll: { initial: '50ms', max: '100ms' }, maxRecordsPerJob: 2 }, steps }),
    );
    return path;
  }

  function data(file: string, text: string): string {
    writeFileSync(join(nut.testDir, file), text);
    return file;
  }

  /**
   * Seeds records, runs the migration, changes one record by hand, then rolls back, killed at
   * `kill` and resumed; `full` adds the dry run and the second-rollback refusal.
   */
  async function scenario(p: string, kill: string, full: boolean): Promise<void> {
    const seed = manifest('seed', [
      {
        object: 'Account',
        source: data('seed.csv', `Name,Legacy_Id__c,Phone\nOld R1,${p}-1,111\nOld R2,${p}-2,222\nOld R3,${p}-3,\n`),
      },
    ]);
    await nut.sf(`migrate run --manifest ${seed} --target-org local --json`);
    const idOf = (legacy: string): string =>
      String(nut.org.store.records('Account').find((record) => record.Legacy_Id__c === legacy)?.Id);
    const before = exportOrg(nut.org);

    const migration = manifest('migration', [
      {
        object: 'Account',
        operation: 'upsert',
        externalIdField: 'Legacy_Id__c',
        source: data(
          'accounts.csv',
          `Name,Legacy_Id__c,Phone\nNew R1,${p}-1,#N/A\nNew R2,${p}-2,999\nBrand R,${p}N-1,5\n`,
        ),
      },
      {
        object: 'Contact',
        source: data(
          'contacts.csv',
          `LastName,Legacy_Id__c,Account.Legacy_Id__c\nSmith,${p}C-1,${p}N-1\n,${p}C-2,${p}-1\nJones,${p}C-3,${p}-2\n`,
        ),
        failureThreshold: { percent: 50 },
      },
      {
        id: 'account-update',
        object: 'Account',
        operation: 'update',
        source: data('update.csv', `Id,Name\n${idOf(`${p}-3`)},Renamed R3\n`),
        dependsOn: ['Account'],
      },
    ]);
    const run = (await nut.sf<RunResult>(`migrate run --manifest ${migration} --target-org local --json`, { code: 68 }))
      .jsonOutput!.result;
    expect(run.status).to.equal('completedWithFailures');

    // changed by hand after the run
    const hand = await fetch(`${nut.org.instanceUrl}/services/data/v62.0/composite/sobjects`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${nut.org.accessToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        allOrNone: true,
        records: [{ attributes: { type: 'Account' }, Id: idOf(`${p}-2`), Name: 'By Hand' }],
      }),
    });
    expect(hand.status).to.equal(200);

    // the dry run: per step what would be undone, the changed record, no write call
    if (full) await dryRun(migration, run.runId);

    // the rollback, killed, then resumed to its end
    const killed = await nut.spawn(
      ['migrate', 'rollback', '--manifest', migration, '--target-org', 'local', '--json'],
      {
        env: { SF_MIGRATE_TEST_CRASH: kill },
      },
    ).exit;
    expect(killed.signal, killed.stdout + killed.stderr).to.equal('SIGKILL');
    const resumed = (await nut.sf<RunResult>(`migrate resume --manifest ${migration} --target-org local --json`))
      .jsonOutput!.result;
    expect(resumed.status).to.equal('succeeded');
    expect(resumed.steps.map((step) => step.step)).to.have.members([
      'Contact.delete',
      'account-update.restore',
      'Account.restore',
      'Account.delete',
    ]);
    const journal = readFileSync(join(resumed.runDir, 'journal.jsonl'), 'utf8');
    expect((JSON.parse(journal.slice(0, journal.indexOf('\n'))) as { rollbackOf?: string }).rollbackOf).to.equal(
      run.runId,
    );
    await nut.sf(`migrate status --manifest ${migration} --run-id ${resumed.runId} --json`);

    const after = exportOrg(nut.org);
    const r2 = idOf(`${p}-2`);
    expect(after.Contact).to.deep.equal(before.Contact);
    expect(after.Account).to.deep.equal({
      ...before.Account,
      [r2]: { ...before.Account[r2], Name: 'By Hand', Phone: '999' },
    });
    if (!full) return;

    // a run is undone once
    const again = await nut.sf(
      `migrate rollback --manifest ${migration} --run-id ${run.runId} --target-org local --json`,
      {
        code: 1,
      },
    );
    expect((again.jsonOutput as unknown as { name: string }).name).to.equal('AlreadyRolledBackError');
  }

  async function dryRun(migration: string, runId: string): Promise<void> {
    const ingestCalls = (): number => nut.org.stats().byRoute['POST jobs/ingest'] ?? 0;
    const calls = ingestCalls();
    const dry = (
      await nut.sf<RollbackResult>(`migrate rollback --manifest ${migration} --target-org local --dry-run --json`)
    ).jsonOutput!.result;
    assertMatchesSchema('schemas/migrate-rollback.json', dry);
    expect(ingestCalls()).to.equal(calls);
    expect(dry.rollbackOf).to.equal(runId);
    // children before parents: the second wave's steps (in either order), then the first's
    expect(dry.steps.map((step) => step.step)[2]).to.equal('Account');
    expect(
      dry.steps.map((step) => [step.step, step.toDelete, step.toRestore, step.changedAfterRun]),
    ).to.have.deep.members([
      ['Contact', 2, 0, 0],
      ['account-update', 0, 1, 0],
      ['Account', 1, 1, 1],
    ]);
    const text = await nut.spawn(['migrate', 'rollback', '--manifest', migration, '--target-org', 'local', '--dry-run'])
      .exit;
    expect(text.status, text.stdout + text.stderr).to.equal(0);
    expect(text.stdout).to.include('Dry run: nothing was changed in the org.');
    expect(text.stderr).to.include('changed in the org after the run');
  }

  it('undoes a run (after a crash and a resume) to the org as it was, except a record changed by hand', async () => {
    await scenario('R', 'job.closed:1', true);
  });

  // the rollback killed at other points of its own run, each resumed to the same end
  // run.folder: the rollback's folder exists, its journal does not; resume starts it in place and
  // must still name the run it undoes (from the folder's owner file)
  for (const [n, kill] of [
    'run.folder:1',
    'run.started:1',
    'job.created:2',
    'results.saved:1',
    'job.finished:3',
  ].entries()) {
    it(`killed at ${kill.replace(':', '#')}, resumed: the same end`, async () => {
      await scenario(`K${n}`, kill, false);
    });
  }
});
