import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { SfError } from '@salesforce/core';
import { buildPlan } from '../../src/plan/plan.js';
import { CALLS_PER_BEFORE_IMAGE_QUERY, estimateJobCalls } from '../../src/plan/budget.js';
import type { LoadedManifest, ResolvedStep } from '../../src/manifest/types.js';
import { scratchFolder } from '../csv/csvFixtures.js';

function step(id: string, object: string, files: string[], settings: Partial<ResolvedStep> = {}): ResolvedStep {
  return {
    id,
    object,
    operation: 'insert',
    columnDelimiter: 'COMMA',
    lineEnding: 'LF',
    maxRecordsPerJob: 150_000,
    maxBytesPerJob: 100_000_000,
    poll: { initialMs: 5000, maxMs: 120_000 },
    failureThreshold: { percent: 0 },
    parallelism: 2,
    retry: { codes: ['UNABLE_TO_LOCK_ROW'], attempts: 3 },
    mapping: {},
    dependsOn: [],
    sources: files,
    files,
    ...settings,
  };
}

describe('buildPlan', () => {
  const folder = scratchFolder();
  after(() => folder.remove());
  const dir = folder.path('m');
  mkdirSync(join(dir, 'data'), { recursive: true });
  const write = (name: string, content: string): string => {
    const file = join(dir, 'data', name);
    writeFileSync(file, content);
    return file;
  };

  const accountsCsv = 'Legacy_Id__c,Name\nA1,"Acme, Inc."\nA2,"Two\nlines"\nA3,Globex\n';
  const accounts = write('accounts.csv', accountsCsv);
  const contactsA = write(
    'contacts-1.csv',
    '\ufeffLegacy_Id__c,LastName,Account.Legacy_Id__c\r\nC1,Smith,A1\r\nC2,"O""Brien",A2\r\n',
  );
  const contactsB = write('contacts-2.csv', 'Legacy_Id__c,LastName,Account.Legacy_Id__c\nC3,Jones,A3');
  const parents = write('parents.csv', 'Legacy_Id__c,Parent.Legacy_Id__c\n');

  const manifest: LoadedManifest = {
    path: join(dir, 'migration.json'),
    dir,
    name: 'test-plan',
    raw: { name: 'test-plan', steps: [] },
    steps: [
      step('accounts', 'Account', [accounts], { operation: 'upsert', externalIdField: 'Legacy_Id__c' }),
      step('contacts', 'Contact', [contactsA, contactsB], {
        maxRecordsPerJob: 1,
        externalIdField: 'Legacy_Id__c',
        dependsOn: ['accounts'],
        lineEnding: 'CRLF',
      }),
      step('parents', 'Account', [parents], { operation: 'update', dependsOn: ['accounts', 'contacts'] }),
    ],
    waves: [['accounts'], ['contacts'], ['parents']],
    implied: [{ step: 'contacts', dependsOn: 'accounts', column: 'Account.Legacy_Id__c' }],
    concurrency: 4,
    runFolder: join(dir, '.sf-migrate', 'runs'),
  };

  it('lists the waves in order with each step, its files, records and jobs', async () => {
    const plan = await buildPlan(manifest);
    expect(plan.name).to.equal('test-plan');
    expect(plan.manifest).to.equal(manifest.path);
    expect(plan.waves.map((wave) => [wave.wave, wave.steps.map((s) => s.id)])).to.deep.equal([
      [1, ['accounts']],
      [2, ['contacts']],
      [3, ['parents']],
    ]);
    const [accountsStep] = plan.waves[0].steps;
    expect(accountsStep).to.deep.include({
      object: 'Account',
      operation: 'upsert',
      externalIdField: 'Legacy_Id__c',
      records: 3,
      jobs: 1,
    });
    expect(accountsStep.files).to.deep.equal([
      { file: join('data', 'accounts.csv'), bytes: Buffer.byteLength(accountsCsv), records: 3, jobs: 1 },
    ]);

    const [contactsStep] = plan.waves[1].steps;
    // an insert step does not show the external id it inherited
    expect(contactsStep).to.not.have.property('externalIdField');
    // partitioned together (one header): the jobs are cut from the derived files, counted on the first
    expect(contactsStep.files.map((f) => [f.file, f.records, f.jobs])).to.deep.equal([
      [join('data', 'contacts-1.csv'), 2, 3],
      [join('data', 'contacts-2.csv'), 1, 0],
    ]);
    expect(contactsStep).to.deep.include({ records: 3, jobs: 3, dependsOn: ['accounts'] });

    const [parentsStep] = plan.waves[2].steps;
    expect(parentsStep).to.deep.include({ records: 0, jobs: 0, polls: 0, apiCalls: 0 });
    expect(plan.implied).to.deep.equal(manifest.implied);
  });

  it('adds up the totals and estimates the API calls per job', async () => {
    const plan = await buildPlan(manifest);
    const perJob = (records: number): number => estimateJobCalls(records, { initialMs: 5000, maxMs: 120_000 }).apiCalls;
    expect(plan.totals).to.deep.equal({
      waves: 3,
      steps: 3,
      files: 4,
      bytes: plan.waves.flatMap((w) => w.steps).reduce((total, s) => total + s.bytes, 0),
      records: 6,
      jobs: 4,
      polls: 4,
      // plus the before image of the upsert's one job: one query (create, poll, results page, delete)
      apiCalls: perJob(3) + 3 * perJob(1) + CALLS_PER_BEFORE_IMAGE_QUERY,
    });
    expect(plan.totals.apiCalls).to.equal(4 * 6 + 4);
    expect(plan.estimate).to.deep.equal({ callsPerJobBesidesPolls: 5, assumedRecordsPerSecond: 500 });
  });

  it('shows the column the rows of a step are grouped by: named, inferred from its only relationship column, or off', async () => {
    const plan = await buildPlan(manifest);
    const byId = new Map(plan.waves.flatMap((wave) => wave.steps).map((planned) => [planned.id, planned]));
    expect(byId.get('accounts')).to.not.have.property('partitionBy');
    expect(byId.get('contacts')?.partitionBy).to.deep.equal({ column: 'Account.Legacy_Id__c', inferred: true });
    expect(byId.get('parents')?.partitionBy).to.deep.equal({ column: 'Parent.Legacy_Id__c', inferred: true });

    const withSettings = (partitionBy: string | false): LoadedManifest => ({
      ...manifest,
      steps: manifest.steps.map((s) => (s.id === 'contacts' ? { ...s, partitionBy } : s)),
    });
    const off = await buildPlan(withSettings(false));
    expect(off.waves[1].steps[0]).to.not.have.property('partitionBy');
    const named = await buildPlan(withSettings('Legacy_Id__c'));
    expect(named.waves[1].steps[0].partitionBy).to.deep.equal({ column: 'Legacy_Id__c', inferred: false });
    try {
      await buildPlan(withSettings('AccountId'));
      expect.fail('expected PartitionColumnMissing');
    } catch (error) {
      expect((error as SfError).name).to.equal('PartitionColumnMissingError');
      // both files lack it, and files are read side by side: either may be the one named
      expect([contactsA, contactsB].some((file) => (error as SfError).message.includes(file))).to.equal(true);
    }
  });

  it("counts a partitioned step's jobs as the run cuts them after packing, not as the files are", async () => {
    // three parents of 100 children, interleaved, and one of 400; jobs of at most 150 records
    const rows: string[] = [];
    for (let k = 0; k < 100; k++) rows.push(`c${k}a,A1`, `c${k}b,A2`, `c${k}c,A3`);
    for (let k = 0; k < 400; k++) rows.push(`big${k},A4`);
    const skewed = write('skewed.csv', `LastName,Account.Legacy_Id__c\n${rows.join('\n')}\n`);
    const plan = await buildPlan({
      ...manifest,
      steps: [step('skewed', 'Contact', [skewed], { maxRecordsPerJob: 150 })],
      waves: [['skewed']],
      implied: [],
    });
    const [planned] = plan.waves[0].steps;
    // as they are: 700 records in jobs of 150 would be 5 jobs; packed, each 100-child parent fills a
    // bin no other parent fits (3 jobs) and the 400-child parent goes serial in jobs of 150 (3 jobs)
    expect(planned).to.deep.include({ records: 700, jobs: 6 });
  });

  it('counts the serial jobs that parents bigger than a batch share', async () => {
    // two parents of 12,000 children and batches of 10,000: a job of two full batches, then one of
    // the two rests (4,000 records); a job per batch would be four
    const rows: string[] = [];
    for (let k = 0; k < 12_000; k++) rows.push(`c${k}a,A1`, `c${k}b,A2`);
    const giants = write('giants.csv', `LastName,Account.Legacy_Id__c\n${rows.join('\n')}\n`);
    const plan = await buildPlan({
      ...manifest,
      steps: [step('giants', 'Contact', [giants])],
      waves: [['giants']],
      implied: [],
    });
    expect(plan.waves[0].steps[0]).to.deep.include({ records: 24_000, jobs: 2 });
  });

  it('fails, naming the file, when a source has an unterminated quote', async () => {
    const broken = write('broken.csv', 'Name\n"never closed\n');
    try {
      await buildPlan({ ...manifest, steps: [step('broken', 'Account', [broken])], waves: [['broken']], implied: [] });
      expect.fail('expected UnterminatedQuote');
    } catch (error) {
      expect((error as SfError).code).to.equal('UnterminatedQuote');
      expect((error as SfError).message).to.include(broken);
    }
  });
});
