/*
 * `sf migrate validate --target-org` end to end (bin/run.js) against local orgs started in this
 * process: the example migration passes, a manifest with org-level defects fails with each problem
 * located, and an org with almost no API requests left gets the ApiBudget problem.
 */
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { expect } from 'chai';
import type { ValidateResult } from '../../src/commands/migrate/validate.js';
import { useNutSession } from '../helpers/localOrg.js';
import { assertMatchesSchema } from '../helpers/resultSchema.js';

const RESULT_SCHEMA = resolve('schemas/migrate-validate.json');
const EXAMPLE = resolve('examples/legacy-crm/migration.json');
const EXAMPLE_SCHEMA = resolve('examples/legacy-crm/schema');

describe('migrate validate --target-org', () => {
  const nut = useNutSession('validate-org', [
    { alias: 'local', schemaDir: EXAMPLE_SCHEMA },
    { alias: 'tiny', schemaDir: EXAMPLE_SCHEMA, dailyApiRequests: 30 },
  ]);

  async function validate(manifest: string, targetOrg: string, code: number): Promise<ValidateResult> {
    const output = (
      await nut.sf<ValidateResult>(`migrate validate --manifest ${manifest} --target-org ${targetOrg} --json`, { code })
    ).jsonOutput;
    expect(output?.status).to.equal(code);
    assertMatchesSchema(RESULT_SCHEMA, output!.result);
    return output!.result;
  }

  it('passes the example migration against an org with its schema', async () => {
    const result = await validate(EXAMPLE, 'local', 0);
    expect(result.valid).to.equal(true);
    expect(result.errors).to.deep.equal([]);
    // account-parents upserts Accounts without a Name: rows that would create one are flagged
    expect(result.warnings.map((p) => [p.code, p.pointer])).to.deep.equal([['MissingRequiredField', '/steps/3']]);
    expect(result.org).to.deep.include({ username: nut.org.username, checked: true });
    expect(result.org!.objects).to.have.members(['Account', 'Contact', 'Opportunity']);
    expect(result.org!.limits!.dailyApiRequests!.estimated).to.be.greaterThan(0);
    expect(result.org!.limits!.dailyBulkApiBatches!.estimated).to.be.greaterThan(0);

    // (the testkit keeps stdout of an async command only when it exits 0)
    const human = (await nut.sf(`migrate validate --manifest ${EXAMPLE} --target-org local`)).shellOutput.stdout;
    expect(human).to.contain(`${EXAMPLE}:48:5  warning  MissingRequiredField`);
    expect(human).to.contain(`Checked against ${nut.org.username}: 3 object(s) described`);
    expect(human).to.match(/is valid: 4 step\(s\) in 3 wave\(s\), 1 warning\(s\)/);
  });

  it('fails on an unknown field, an unknown object, bad relationship columns and a field it cannot create', async () => {
    const dir = nut.testDir;
    writeFileSync(join(dir, 'accounts.csv'), 'Legacy_Id__c,Name,Nmae\nA1,Acme,x\n');
    writeFileSync(join(dir, 'widgets.csv'), 'Legacy_Id__c,Name\nW1,Widget\n');
    writeFileSync(
      join(dir, 'contacts.csv'),
      'Legacy_Id__c,LastName,Acount.Legacy_Id__c,Owner.Legacy_Id__c\nC1,Smith,A1,U1\n',
    );
    writeFileSync(join(dir, 'opportunities.csv'), 'Name,StageName,CloseDate,IsWon\nDeal,Prospecting,2025-01-01,true\n');
    const manifest = join(dir, 'migration.json');
    writeFileSync(
      manifest,
      JSON.stringify(
        {
          name: 'validate-org-nut',
          defaults: { operation: 'upsert', externalIdField: 'Legacy_Id__c' },
          steps: [
            { id: 'accounts', object: 'Account', source: 'accounts.csv' },
            { id: 'widgets', object: 'Widget__c', source: 'widgets.csv' },
            { id: 'contacts', object: 'Contact', source: 'contacts.csv', dependsOn: ['accounts'] },
            { id: 'opportunities', object: 'Opportunity', operation: 'insert', source: 'opportunities.csv' },
          ],
        },
        null,
        2,
      ),
    );
    const result = await validate(manifest, 'local', 1);
    expect(result.valid).to.equal(false);
    expect(result.errors.map((p) => [p.code, p.pointer, p.line])).to.deep.equal([
      ['UnknownField', '/steps/0', 8],
      ['UnknownObject', '/steps/1/object', 15],
      ['UnknownRelationship', '/steps/2', 18],
      ['NotAnExternalId', '/steps/2', 18],
      ['FieldNotWritable', '/steps/3', 26],
    ]);
    expect(result.errors.filter((p) => p.code !== 'UnknownObject').every((p) => p.file?.endsWith('.csv'))).to.equal(
      true,
    );
    expect(result.errors[0].message).to.contain('"Nmae"');
    expect(result.errors[2].message).to.contain('"Acount.Legacy_Id__c"');
    expect(result.errors[3].message).to.contain('"Owner.Legacy_Id__c"');
    expect(result.errors[4].message).to.contain('"IsWon"');
  });

  it('reports the API budget when the org has almost no requests left today', async () => {
    const result = await validate(EXAMPLE, 'tiny', 1);
    const budget = [...result.errors, ...result.warnings].filter((p) => p.code === 'ApiBudget');
    expect(budget.map((p) => [p.severity, p.pointer, p.line])).to.deep.equal([['error', '', 1]]);
    expect(budget[0].message).to.contain('DailyApiRequests');
    const used = result.org!.limits!.dailyApiRequests!;
    expect(used.max).to.equal(30);
    expect(used.estimated).to.be.greaterThan(used.remaining);
  });
});
