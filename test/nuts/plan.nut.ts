/*
 * `sf migrate plan` through the compiled plugin (bin/run.js): the example migration's waves in
 * order, its counts, the --json result checked against schemas/migrate-plan.json, and the errors
 * a broken manifest or a broken CSV gives.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { expect } from 'chai';
import type { PlanResult } from '../../src/commands/migrate/plan.js';
import { useNutSession } from '../helpers/localOrg.js';
import { assertMatchesSchema } from '../helpers/resultSchema.js';

const example = resolve('examples/legacy-crm/migration.json');
const resultSchema = resolve('schemas/migrate-plan.json');

describe('sf migrate plan', () => {
  const nut = useNutSession('plan', []);
  let scratch: string;

  before(() => {
    scratch = join(nut.dir, 'plan-nut');
    mkdirSync(join(scratch, 'data'), { recursive: true });
  });

  function writeManifest(name: string, steps: unknown[]): string {
    const file = join(scratch, `${name}.json`);
    writeFileSync(file, JSON.stringify({ name, steps }, null, 2));
    return file;
  }

  it('prints the example waves in run order, with steps, records, jobs and totals', async () => {
    const output = (await nut.sf(`migrate plan --manifest ${example}`)).shellOutput.stdout;
    const at = (text: string): number => {
      const index = output.indexOf(text);
      expect(index, `"${text}" in:\n${output}`).to.be.greaterThan(-1);
      return index;
    };
    expect(at('Wave 1')).to.be.lessThan(at('Wave 2'));
    expect(at('Wave 2')).to.be.lessThan(at('Wave 3'));
    // each step sits in its wave's table
    expect(at('accounts ')).to.be.within(at('Wave 1'), at('Wave 2'));
    expect(at('contacts ')).to.be.within(at('Wave 2'), at('Wave 3'));
    expect(at('opportunities ')).to.be.within(at('Wave 2'), at('Wave 3'));
    expect(at('account-parents ')).to.be.greaterThan(at('Wave 3'));
    at('contacts depends on accounts (column Account.Legacy_Id__c)');
    at('4 step(s) in 3 wave(s): 4 file(s), 928 record(s)');
  });

  it('returns the same plan as JSON, matching its schema', async () => {
    const result = (await nut.sf<PlanResult>(`migrate plan --manifest ${example} --json`)).jsonOutput!;
    expect(result.status).to.equal(0);
    const plan = result.result;
    assertMatchesSchema(resultSchema, plan);
    expect(plan.manifest).to.equal(example);
    expect(plan.waves.map((wave) => wave.steps.map((step) => step.id))).to.deep.equal([
      ['accounts'],
      ['contacts', 'opportunities'],
      ['account-parents'],
    ]);
    const steps = Object.fromEntries(plan.waves.flatMap((wave) => wave.steps).map((step) => [step.id, step]));
    expect(steps.accounts).to.deep.include({
      object: 'Account',
      operation: 'upsert',
      externalIdField: 'Legacy_Id__c',
      records: 200,
      jobs: 1,
    });
    expect(steps.contacts.files.map((file) => file.file)).to.deep.equal(['data/contacts-001.csv']);
    expect(steps.contacts).to.deep.include({ records: 400, jobs: 3 });
    expect(steps.opportunities).to.deep.include({ operation: 'insert', records: 300, jobs: 1 });
    expect(plan.totals).to.deep.include({ waves: 3, steps: 4, files: 4, records: 928, jobs: 6 });
    expect(plan.estimate.callsPerJobBesidesPolls).to.equal(5);
    // every job of an update or upsert step first saves a before image: one query (4 calls) here
    const imaged = plan.waves
      .flatMap((wave) => wave.steps)
      .filter((step) => step.operation !== 'insert')
      .reduce((sum, step) => sum + step.jobs, 0);
    expect(plan.totals.apiCalls).to.equal(plan.totals.jobs * 5 + plan.totals.polls + imaged * 4);
    expect(plan.implied).to.deep.include({
      step: 'opportunities',
      dependsOn: 'accounts',
      column: 'Account.Legacy_Id__c',
    });
  });

  it('computes waves from relationship columns and cuts a file at maxRecordsPerJob', async () => {
    writeFileSync(join(scratch, 'data', 'a.csv'), 'Legacy_Id__c,Name\nA1,"Acme,\nInc."\nA2,Globex\nA3,Initech\n');
    writeFileSync(join(scratch, 'data', 'c.csv'), 'LastName,Account.Legacy_Id__c\r\nSmith,A1\r\nJones,A2\r\n');
    const manifest = writeManifest('implied', [
      { id: 'accounts', object: 'Account', source: 'data/a.csv', maxRecordsPerJob: 2 },
      // no dependsOn: only its Account.Legacy_Id__c column puts it after accounts
      { id: 'contacts', object: 'Contact', source: 'data/c.csv', lineEnding: 'CRLF' },
    ]);
    const plan = (await nut.sf<PlanResult>(`migrate plan --manifest ${manifest} --json`)).jsonOutput!.result;
    assertMatchesSchema(resultSchema, plan);
    expect(plan.waves.map((wave) => wave.steps.map((step) => [step.id, step.records, step.jobs]))).to.deep.equal([
      [['accounts', 3, 2]],
      [['contacts', 2, 1]],
    ]);
    expect(plan.implied).to.deep.equal([{ step: 'contacts', dependsOn: 'accounts', column: 'Account.Legacy_Id__c' }]);
  });

  it('refuses an invalid manifest and points to validate', async () => {
    const manifest = writeManifest('cycle', [
      { id: 'a', object: 'Account', source: 'data/a.csv', dependsOn: ['b'] },
      { id: 'b', object: 'Contact', source: 'data/c.csv', lineEnding: 'CRLF', dependsOn: ['a'] },
    ]);
    const output = (await nut.sf(`migrate plan --manifest ${manifest} --json`, { code: 1 })).jsonOutput!;
    expect(output.name).to.equal('InvalidManifestError');
    expect(JSON.stringify(output)).to.include('DependencyCycle');
    expect(JSON.stringify(output)).to.include('sf migrate validate');
  });

  it('fails on a CSV whose quote never closes, naming the file and line', async () => {
    const file = join(scratch, 'data', 'open-quote.csv');
    writeFileSync(file, 'Name,Description\nAcme,fine\nGlobex,"never closed\nInitech,x\n');
    const manifest = writeManifest('open-quote', [{ object: 'Account', source: 'data/open-quote.csv' }]);
    const output = (await nut.sf(`migrate plan --manifest ${manifest} --json`, { code: 1 })).jsonOutput!;
    expect(output.name).to.equal('UnterminatedQuoteError');
    expect(output.message).to.include(file).and.include('line 3');
  });

  it('lists its exit codes in --help', async () => {
    const help = (await nut.sf('migrate plan --help')).shellOutput.stdout;
    expect(help).to.match(/EXIT CODES\n\s+0\s+Success\.\n\s+1\s+Failed/);
  });
});
