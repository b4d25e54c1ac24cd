/*
 * Legacy data through the compiled plugin against the local org (issue 12.3, 12.5, 12.6): accounts
 * whose parents are in the same file, one of them failing in the org, types given as old codes (one
 * code unmapped), contacts of the failing and of the unmapped account, and contacts reporting to
 * contacts of the same file. The run sends neither the unmapped account nor the orphans (no job of
 * the run received them: a job's result files list every row it was sent), keeps every one in the
 * dead letters with its reason, and `sf migrate retry` after the dead letters were fixed loads the
 * parents with their held children. Every reference is checked by SOQL. Then a run killed inside
 * the second pass of a self-reference (its files written, not journaled) resumes to the same end.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { useNutSession, type LocalOrg } from '../helpers/localOrg.js';

type RunJson = {
  status: number;
  result: {
    status: string;
    runDir: string;
    steps: Array<{ step: string; records: number; succeeded: number; failed: number; failuresByCode: object }>;
  };
};

type Row = Record<string, unknown>;

async function query(org: LocalOrg, soql: string): Promise<Row[]> {
  const response = await fetch(`${org.instanceUrl}/services/data/v62.0/query?q=${encodeURIComponent(soql)}`, {
    headers: { Authorization: `Bearer ${org.accessToken}` },
  });
  expect(response.status, soql).to.equal(200);
  return ((await response.json()) as { records: Row[] }).records;
}

/** key → the key of the record its relationship points to ('' for none), by SOQL */
async function references(org: LocalOrg, object: string, relationship: string, prefix: string): Promise<Row> {
  const rows = await query(org, `SELECT Legacy_Id__c, ${relationship}.Legacy_Id__c FROM ${object}`);
  return Object.fromEntries<unknown>(
    rows
      .filter((row) => String(row.Legacy_Id__c).startsWith(prefix))
      .map((row) => [String(row.Legacy_Id__c), (row[relationship] as Row | null)?.Legacy_Id__c ?? '']),
  );
}

/** every line of every result file of the run: what the org was sent */
function sentRows(runDir: string): string {
  const results = join(runDir, 'results');
  return readdirSync(results)
    .flatMap((step) => readdirSync(join(results, step)).map((name) => readFileSync(join(results, step, name), 'utf8')))
    .join('\n');
}

describe('legacy data: value maps, self-references, orphans held back and retried', function () {
  this.timeout(10 * 60_000);
  const nut = useNutSession('legacy');

  function writeMigration(prefix: string, withContacts = true): string {
    const dir = nut.testDir;
    writeFileSync(
      join(dir, 'accounts.csv'),
      [
        'Name,Legacy_Id__c,Parent.Legacy_Id__c,Type',
        `Acme,${prefix}A1,${prefix}A3,P`,
        `Globex,${prefix}A2,,C`,
        `Initech,${prefix}A3,${prefix}A2,P`,
        `,${prefix}A4,${prefix}A1,C`,
        `Hooli,${prefix}A5,${prefix}A4,P`,
        `Umbrella,${prefix}A6,,Z`,
      ].join('\n') + '\n',
    );
    writeFileSync(
      join(dir, 'contacts.csv'),
      [
        'LastName,Legacy_Id__c,Account.Legacy_Id__c,ReportsTo.Legacy_Id__c',
        `Smith,${prefix}C1,${prefix}A1,${prefix}C2`,
        `Jones,${prefix}C2,${prefix}A2,`,
        `Brown,${prefix}C3,${prefix}A4,${prefix}C1`,
        `Green,${prefix}C4,${prefix}A6,`,
      ].join('\n') + '\n',
    );
    const manifest = join(dir, 'migration.json');
    writeFileSync(
      manifest,
      JSON.stringify({
        name: `legacy-${prefix}`,
        defaults: {
          operation: 'upsert',
          externalIdField: 'Legacy_Id__c',
          poll: { initial: '50ms', max: '100ms' },
          failureThreshold: { percent: 100 },
        },
        steps: [
          {
            id: 'accounts',
            object: 'Account',
            source: 'accounts.csv',
            valueMaps: { Type: { map: { P: 'Prospect', C: 'Customer - Direct' }, onUnmapped: 'fail' } },
          },
          ...(withContacts ? [{ id: 'contacts', object: 'Contact', source: 'contacts.csv' }] : []),
        ],
      }),
    );
    return manifest;
  }

  it('holds back what cannot load, with its reason, and retry loads it once the parent is fixed', async () => {
    const prefix = 'L1';
    const manifest = writeMigration(prefix);
    const target = `--manifest ${manifest} --target-org local --json`;

    const planned = (await nut.sf(`migrate plan --manifest ${manifest}`)).shellOutput.stdout;
    expect(planned).to.include('accounts loads its records without Parent.Legacy_Id__c; accounts.self then sets it');
    expect(planned).to.include('contacts loads its records without ReportsTo.Legacy_Id__c; contacts.self then sets');

    const run = (await nut.sf<RunJson['result']>(`migrate run ${target}`, { code: 68 })).jsonOutput!;
    const steps = Object.fromEntries(run.result.steps.map((step) => [step.step, step]));
    expect(steps.accounts).to.deep.include({ records: 6, succeeded: 4, failed: 2 });
    expect(steps.accounts.failuresByCode).to.deep.equal({ VALUE_NOT_MAPPED: 1, REQUIRED_FIELD_MISSING: 1 });
    expect(steps['accounts.self']).to.deep.include({ records: 4, succeeded: 2, failed: 2 });
    expect(steps.contacts).to.deep.include({ records: 4, succeeded: 2, failed: 2 });
    expect(steps.contacts.failuresByCode).to.deep.equal({ PARENT_FAILED: 2 });
    // C1 reports to C2; C3's own record was held back, so its link is held too
    expect(steps['contacts.self']).to.deep.include({ records: 2, succeeded: 1, failed: 1 });

    // the org was never sent the unmapped account, the orphans, or a link of a record it lacks
    const sent = sentRows(run.result.runDir);
    for (const never of ['Umbrella', 'Brown', 'Green', `${prefix}A4,${prefix}A1`]) expect(sent).to.not.include(never);
    const letters = (step: string): string =>
      readFileSync(join(run.result.runDir, 'dead-letter', `${step}.csv`), 'utf8');
    expect(letters('contacts')).to.include(
      `Brown,${prefix}C3,${prefix}A4,PARENT_FAILED,parent ${prefix}A4 of step accounts failed (REQUIRED_FIELD_MISSING)`,
    );
    expect(letters('contacts')).to.include(`parent ${prefix}A6 of step accounts failed (VALUE_NOT_MAPPED)`);
    expect(letters('accounts')).to.include('"value ""Z"" of column Type has no mapping"');
    expect(await references(nut.org, 'Account', 'Parent', prefix)).to.deep.equal({
      [`${prefix}A1`]: `${prefix}A3`,
      [`${prefix}A2`]: '',
      [`${prefix}A3`]: `${prefix}A2`,
      [`${prefix}A5`]: '',
    });

    // the user fixes the two accounts in their dead letters, then retries the run
    const deadLetter = join(run.result.runDir, 'dead-letter', 'accounts.csv');
    const fixed = letters('accounts')
      .replace(`\n,${prefix}A4,`, `\nWayne,${prefix}A4,`)
      .replace(`${prefix}A6,Z,`, `${prefix}A6,Partner,`);
    writeFileSync(deadLetter, fixed);
    const retry = (await nut.sf<RunJson['result']>(`migrate retry ${target}`)).jsonOutput!;
    expect(retry.result.status).to.equal('succeeded');
    const retried = Object.fromEntries(retry.result.steps.map((step) => [step.step, [step.succeeded, step.failed]]));
    expect(retried).to.deep.equal({
      accounts: [2, 0],
      'accounts.self': [2, 0],
      contacts: [2, 0],
      'contacts.self': [1, 0],
    });

    expect(await references(nut.org, 'Account', 'Parent', prefix)).to.deep.equal({
      [`${prefix}A1`]: `${prefix}A3`,
      [`${prefix}A2`]: '',
      [`${prefix}A3`]: `${prefix}A2`,
      [`${prefix}A4`]: `${prefix}A1`,
      [`${prefix}A5`]: `${prefix}A4`,
      [`${prefix}A6`]: '',
    });
    expect(await references(nut.org, 'Contact', 'Account', prefix)).to.deep.equal({
      [`${prefix}C1`]: `${prefix}A1`,
      [`${prefix}C2`]: `${prefix}A2`,
      [`${prefix}C3`]: `${prefix}A4`,
      [`${prefix}C4`]: `${prefix}A6`,
    });
    expect(await references(nut.org, 'Contact', 'ReportsTo', prefix)).to.deep.equal({
      [`${prefix}C1`]: `${prefix}C2`,
      [`${prefix}C2`]: '',
      [`${prefix}C3`]: `${prefix}C1`,
      [`${prefix}C4`]: '',
    });
    const types = await query(nut.org, 'SELECT Legacy_Id__c, Type FROM Account');
    expect(
      Object.fromEntries(
        types.filter((row) => String(row.Legacy_Id__c).startsWith(prefix)).map((r) => [String(r.Legacy_Id__c), r.Type]),
      ),
    ).to.deep.equal({
      [`${prefix}A1`]: 'Prospect',
      [`${prefix}A2`]: 'Customer - Direct',
      [`${prefix}A3`]: 'Prospect',
      [`${prefix}A4`]: 'Customer - Direct',
      [`${prefix}A5`]: 'Prospect',
      [`${prefix}A6`]: 'Partner',
    });
  });

  it('resumes a run killed inside the second pass of a self-reference to the same end', async () => {
    const prefix = 'L2';
    const manifest = writeMigration(prefix, false);
    const args = ['--manifest', manifest, '--target-org', 'local', '--json'];
    // the first pass is the accounts' value maps, the second the self-reference pass (accounts.self)
    const killed = await nut.spawn(['migrate', 'run', ...args], {
      env: { SF_MIGRATE_TEST_CRASH: 'prepare.written:2' },
    }).exit;
    expect(killed.signal, killed.stdout + killed.stderr).to.equal('SIGKILL');
    const again = await nut.spawn(['migrate', 'resume', ...args], {
      env: { SF_MIGRATE_TEST_CRASH: 'source.prepared:1' },
    }).exit;
    expect(again.signal, again.stdout + again.stderr).to.equal('SIGKILL');
    const resumed = await nut.spawn(['migrate', 'resume', ...args]).exit;
    expect(resumed.status, resumed.stdout + resumed.stderr).to.equal(68);
    const result = (JSON.parse(resumed.stdout) as RunJson).result;
    const journal = readFileSync(join(result.runDir, 'journal.jsonl'), 'utf8')
      .split('\n')
      .filter((line) => line.includes('"source.prepared"'));
    // one line for each prepared source: the accounts, and the second pass
    expect(journal).to.have.lengthOf(2);
    const accounts = (await query(nut.org, 'SELECT Legacy_Id__c FROM Account')).filter((row) =>
      String(row.Legacy_Id__c).startsWith(prefix),
    );
    expect(accounts.map((row) => row.Legacy_Id__c).sort()).to.deep.equal(
      ['A1', 'A2', 'A3', 'A5'].map((key) => `${prefix}${key}`),
    );
    expect(await references(nut.org, 'Account', 'Parent', prefix)).to.deep.equal({
      [`${prefix}A1`]: `${prefix}A3`,
      [`${prefix}A2`]: '',
      [`${prefix}A3`]: `${prefix}A2`,
      [`${prefix}A5`]: '',
    });
  });
});
