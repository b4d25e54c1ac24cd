/*
 * Self-references in one file (issue 12.5) against the local org: Accounts whose parents are in the
 * same file, before and after them, one failing. The step loads the records without the column and
 * its second pass (accounts.self) sets it; the failed record is never created by the second pass,
 * and its child's link is held back; `retry` of the fixed record sets both links.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';
import { loadManifestOrThrow } from '../../src/manifest/load.js';
import { MigrationRun, type RunOptions } from '../../src/engine/migrationRun.js';
import { retryDeadLetters } from '../../src/engine/retryRun.js';
import { buildPlan } from '../../src/plan/plan.js';
import { createScaffold, type Scaffold } from './runScaffold.js';

describe('self-references in one file: two passes', function () {
  this.timeout(120_000);
  let scaffold: Scaffold;
  let manifestPath: string;

  beforeEach(async () => {
    scaffold = await createScaffold();
    const data = join(scaffold.dir, 'data');
    await writeFile(
      join(data, 'a.csv'),
      'Name,Legacy_Id__c,Parent.Legacy_Id__c\nAcme,A1,A3\nGlobex,A2,\nInitech,A3,A2\n,A4,A1\nHooli,A5,A4\n',
    );
    manifestPath = join(scaffold.dir, 'self.json');
    await writeFile(
      manifestPath,
      JSON.stringify({
        name: 'self',
        defaults: { poll: { initial: '10ms', max: '40ms' }, failureThreshold: { percent: 100 } },
        steps: [{ id: 'accounts', object: 'Account', operation: 'insert', source: join(data, 'a.csv') }],
      }),
    );
  });
  afterEach(() => scaffold.cleanup());

  const options = (): RunOptions => ({
    connection: scaffold.connection,
    username: scaffold.org.username,
    orgId: scaffold.org.orgId,
  });

  const parents = (): Record<string, unknown> => {
    const records = scaffold.org.store.records('Account');
    const keyOf = new Map(records.map((record) => [record.Id, record.Legacy_Id__c]));
    return Object.fromEntries(
      records.map((record) => [String(record.Legacy_Id__c), record.ParentId ? keyOf.get(record.ParentId) : null]),
    );
  };

  it('is planned as a second step in the next wave, upserting the key and the reference only', async () => {
    const manifest = await loadManifestOrThrow(manifestPath);
    expect(manifest.waves).to.deep.equal([['accounts'], ['accounts.self']]);
    const [first, second] = manifest.steps;
    expect(first.mapping).to.deep.equal({ drop: ['Parent.Legacy_Id__c'] });
    expect(second).to.deep.include({
      id: 'accounts.self',
      object: 'Account',
      operation: 'upsert',
      externalIdField: 'Legacy_Id__c',
      dependsOn: ['accounts'],
      mapping: {},
    });
    expect(second.selfReferenceOf).to.deep.equal({
      step: 'accounts',
      key: 'Legacy_Id__c',
      columns: ['Parent.Legacy_Id__c'],
      mapping: {},
    });
  });

  it('plans the second pass with the rows that set a reference only, as the run sends them', async () => {
    const plan = await buildPlan(await loadManifestOrThrow(manifestPath));
    const steps = plan.waves.flatMap((wave) => wave.steps);
    expect(steps.map((planned) => [planned.id, planned.records, planned.jobs])).to.deep.equal([
      ['accounts', 5, 1],
      // A2 sets no parent: 4 of the 5 rows, as the run's step.started counts them (records: 4 below)
      ['accounts.self', 4, 1],
    ]);
    expect(steps[1].files.map((file) => file.records)).to.deep.equal([4]);
  });

  it('plans the second pass as the run partitions it: a parent of more children than a batch is two jobs', async () => {
    // 12,000 Accounts under A0: the run groups the second pass by its reference column, and a parent
    // bigger than the org's batch of 10,000 is in one batch a job (the serial lane): 10,000, then 2,000
    const rows = Array.from({ length: 12_000 }, (_, k) => `Child ${k},C${k},A0`);
    await writeFile(
      join(scaffold.dir, 'data', 'a.csv'),
      `Name,Legacy_Id__c,Parent.Legacy_Id__c\nTop,A0,\n${rows.join('\n')}\n`,
    );
    const plan = await buildPlan(await loadManifestOrThrow(manifestPath));
    const steps = plan.waves.flatMap((wave) => wave.steps);
    expect(steps.map((planned) => [planned.id, planned.records, planned.jobs])).to.deep.equal([
      ['accounts', 12_001, 1],
      ['accounts.self', 12_000, 2],
    ]);
  });

  it('sets every reference that can be set, never creates a failed record, and retry sets the rest', async () => {
    const run = await MigrationRun.start(await loadManifestOrThrow(manifestPath), options());
    const outcome = await run.execute();
    const summary = Object.fromEntries(outcome.steps.map((step) => [step.step, step]));
    expect(summary.accounts).to.include({ records: 5, succeeded: 4, failed: 1 });
    expect(summary['accounts.self']).to.include({ records: 4, succeeded: 2, failed: 2 });
    expect(summary['accounts.self'].failuresByCode).to.deep.equal({ RECORD_FAILED: 1, PARENT_FAILED: 1 });
    // A4 failed in the first pass and was never created by the second
    expect(parents()).to.deep.equal({ A1: 'A3', A2: null, A3: 'A2', A5: null });
    const letters = await readFile(join(run.folder.dir, 'dead-letter', 'accounts.self.csv'), 'utf8');
    expect(letters).to.equal(
      'Legacy_Id__c,Parent.Legacy_Id__c,sf__ErrorCode,sf__ErrorMessage\n' +
        'A4,A1,RECORD_FAILED,record A4 of step accounts failed (REQUIRED_FIELD_MISSING)\n' +
        'A5,A4,PARENT_FAILED,parent A4 of step accounts failed (REQUIRED_FIELD_MISSING)\n',
    );
    // the first pass's dead letter has no reference column: it was never sent with the records
    const first = join(run.folder.dir, 'dead-letter', 'accounts.csv');
    const firstLetters = await readFile(first, 'utf8');
    expect(firstLetters.split('\n')[0]).to.equal('Name,Legacy_Id__c,sf__ErrorCode,sf__ErrorMessage');

    await writeFile(first, firstLetters.replace('\n,A4,', '\nUmbrella,A4,'));
    const retried = await (await retryDeadLetters({ ...options(), root: scaffold.root, runId: run.runId })).execute();
    expect(retried.status).to.equal('succeeded');
    expect(retried.steps.map((step) => [step.step, step.succeeded, step.failed])).to.deep.equal([
      ['accounts', 1, 0],
      ['accounts.self', 2, 0],
    ]);
    expect(parents()).to.deep.equal({ A1: 'A3', A2: null, A3: 'A2', A4: 'A1', A5: 'A4' });
  });

  it('retries a second pass that never ran (its first step failed its gate) as key and reference only', async () => {
    const strict = JSON.parse(await readFile(manifestPath, 'utf8')) as { defaults: Record<string, unknown> };
    delete strict.defaults.failureThreshold;
    await writeFile(manifestPath, JSON.stringify(strict));
    const run = await MigrationRun.start(await loadManifestOrThrow(manifestPath), options());
    const outcome = await run.execute();
    expect(outcome.status).to.equal('failed');
    expect(outcome.steps.map((step) => step.step)).to.deep.equal(['accounts']);
    const first = join(run.folder.dir, 'dead-letter', 'accounts.csv');
    await writeFile(first, (await readFile(first, 'utf8')).replace('\n,A4,', '\nUmbrella,A4,'));

    const retry = await retryDeadLetters({ ...options(), root: scaffold.root, runId: run.runId });
    const self = retry.manifest.steps.find((step) => step.id === 'accounts.self')!;
    expect(self.mapping).to.deep.equal({ drop: ['Name'] });
    const retried = await retry.execute();
    expect(retried.status).to.equal('succeeded');
    expect(parents()).to.deep.equal({ A1: 'A3', A2: null, A3: 'A2', A4: 'A1', A5: 'A4' });
    // the names the first pass and the retry loaded are untouched by the second pass
    const names = scaffold.org.store.records('Account').map((record) => String(record.Name));
    expect(names.sort()).to.deep.equal(['Acme', 'Globex', 'Hooli', 'Initech', 'Umbrella']);
  });

  it('keeps one pass: a reference by a standard field, selfReference false, records of an earlier step', async () => {
    const data = join(scaffold.dir, 'data');
    await writeFile(join(data, 'n.csv'), 'Name,Parent.Name\nAcme,Globex\n');
    const steps = [
      { id: 'byName', object: 'Account', source: join(data, 'n.csv') },
      { id: 'off', object: 'Account', source: join(data, 'a.csv'), selfReference: false },
      { id: 'later', object: 'Account', source: join(data, 'a.csv'), dependsOn: ['off'] },
    ];
    await writeFile(manifestPath, JSON.stringify({ name: 'one-pass', defaults: { operation: 'insert' }, steps }));
    const manifest = await loadManifestOrThrow(manifestPath);
    expect(manifest.steps.map((step) => step.id)).to.deep.equal(['byName', 'off', 'later']);
    expect(manifest.steps.every((step) => Object.keys(step.mapping).length === 0)).to.equal(true);
  });
});
