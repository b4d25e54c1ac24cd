/*
 * Lookups end to end (issue 12.1, 12.2, 12.4) through the compiled plugin against a seeded local
 * org: accounts whose record types are given by DeveloperName, contacts owned by e-mail addresses,
 * one of them unknown to the org and one an inactive user (the default policy, `fail`). `sf migrate
 * run` sends neither of the two (no job of the run received them: a job's result files list every
 * row it was sent), keeps both in the dead letters with their reasons, and sets every other
 * OwnerId and RecordTypeId right (checked by SOQL). One account fails in the org, so its contact
 * is held back: both dead letters carry the Ids their lookups resolved. Then the missing user is
 * created through the org's REST API, the inactive owner's dead letter is pointed at an active user
 * and the account given a name, and `sf migrate retry` resolves the keys against a fresh snapshot,
 * passes the Ids through, and loads all of them.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { useNutSession, type LocalOrg } from '../helpers/localOrg.js';

type RunResult = {
  status: string;
  runDir: string;
  steps: Array<{ step: string; records: number; succeeded: number; failed: number; failuresByCode: object }>;
};

type Row = Record<string, unknown>;

const user = (name: string, extra: Row = {}): Row => ({
  Username: `${name}@legacy.example`,
  LastName: name,
  Email: `${name}@legacy.example`,
  Alias: name.slice(0, 8),
  TimeZoneSidKey: 'GMT',
  ...extra,
});

const seed = {
  User: [user('ann'), user('bob'), user('gone', { IsActive: false })],
  RecordType: [
    { Name: 'Partner', DeveloperName: 'Partner_Account', SobjectType: 'Account', IsActive: true },
    { Name: 'Customer', DeveloperName: 'Customer_Account', SobjectType: 'Account', IsActive: true },
  ],
};

async function query(org: LocalOrg, soql: string): Promise<Row[]> {
  const response = await fetch(`${org.instanceUrl}/services/data/v62.0/query?q=${encodeURIComponent(soql)}`, {
    headers: { Authorization: `Bearer ${org.accessToken}` },
  });
  expect(response.status, soql).to.equal(200);
  return ((await response.json()) as { records: Row[] }).records;
}

/** Legacy_Id__c → `field` of the records of `object` whose key starts with `prefix` */
async function byKey(org: LocalOrg, object: string, field: string, prefix: string): Promise<Row> {
  const rows = await query(org, `SELECT Legacy_Id__c, ${field} FROM ${object}`);
  return Object.fromEntries<unknown>(
    rows
      .filter((row) => String(row.Legacy_Id__c).startsWith(prefix))
      .map((row) => [String(row.Legacy_Id__c), row[field]]),
  );
}

/** every line of every result file of the run: what the org was sent */
function sentRows(runDir: string): string {
  const results = join(runDir, 'results');
  return readdirSync(results)
    .flatMap((step) => readdirSync(join(results, step)).map((name) => readFileSync(join(results, step, name), 'utf8')))
    .join('\n');
}

describe('legacy data: owners by e-mail and record types by name, resolved in the target org', function () {
  this.timeout(10 * 60_000);
  const nut = useNutSession('legacy-lookups', [{ alias: 'local', seed }]);

  it('resolves what the org holds, keeps the unknown and the inactive owner out, and retry loads them', async () => {
    const prefix = 'LK';
    const dir = nut.testDir;
    writeFileSync(
      join(dir, 'accounts.csv'),
      [
        'Name,Legacy_Id__c,RecordTypeName',
        `Acme,${prefix}A1,Partner_Account`,
        // compared without case or padding, as SOQL's = compares text
        `Globex,${prefix}A2, customer_account `,
        `Initech,${prefix}A3,Customer_Account`,
        // no Name: fails in the org (REQUIRED_FIELD_MISSING), so its contact is held back
        `,${prefix}A4,Partner_Account`,
      ].join('\n') + '\n',
    );
    writeFileSync(
      join(dir, 'contacts.csv'),
      [
        'LastName,Legacy_Id__c,Account.Legacy_Id__c,OwnerEmail',
        `Smith,${prefix}C1,${prefix}A1,ann@legacy.example`,
        `Jones,${prefix}C2,${prefix}A2,BOB@Legacy.Example`,
        `Newman,${prefix}C3,${prefix}A3,new@legacy.example`,
        `Ghost,${prefix}C4,${prefix}A1,gone@legacy.example`,
        `Orphan,${prefix}C5,${prefix}A4,bob@legacy.example`,
      ].join('\n') + '\n',
    );
    const manifest = join(dir, 'migration.json');
    writeFileSync(
      manifest,
      JSON.stringify({
        name: 'legacy-lookups',
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
            lookups: [{ column: 'RecordTypeName', recordType: 'DeveloperName' }],
          },
          {
            id: 'contacts',
            object: 'Contact',
            source: 'contacts.csv',
            lookups: [{ column: 'OwnerEmail', user: 'Email' }],
          },
        ],
      }),
    );
    const target = `--manifest ${manifest} --target-org local --json`;

    const run = (await nut.sf<RunResult>(`migrate run ${target}`, { code: 68 })).jsonOutput!;
    const steps = Object.fromEntries(run.result.steps.map((step) => [step.step, step]));
    expect(steps.accounts).to.deep.include({ records: 4, succeeded: 3, failed: 1 });
    expect(steps.contacts).to.deep.include({ records: 5, succeeded: 2, failed: 3 });
    expect(steps.contacts.failuresByCode).to.deep.equal({ LOOKUP_NOT_FOUND: 1, USER_INACTIVE: 1, PARENT_FAILED: 1 });

    // the org was never sent the two rows, nor any e-mail address (the column is replaced by OwnerId)
    const sent = sentRows(run.result.runDir);
    for (const never of ['Newman', 'Ghost', 'Orphan', '@legacy.example', 'RecordTypeName', 'OwnerEmail']) {
      expect(sent).to.not.include(never);
    }
    const deadLetter = join(run.result.runDir, 'dead-letter', 'contacts.csv');
    const letters = readFileSync(deadLetter, 'utf8');
    expect(letters).to.include(
      `Newman,${prefix}C3,${prefix}A3,new@legacy.example,LOOKUP_NOT_FOUND,` +
        'no User with Email new@legacy.example (column OwnerEmail)',
    );
    expect(letters).to.match(new RegExp(`Ghost,${prefix}C4,${prefix}A1,gone@legacy.example,USER_INACTIVE,.*gone@`));
    // the held-back orphan was resolved before it was held: its dead letter (a file of its own, for its
    // header) carries the owner's Id, and so does the failed account's its record type's
    expect(readdirSync(join(run.result.runDir, 'dead-letter')).sort()).to.deep.equal([
      'accounts.csv',
      'contacts 2.csv',
      'contacts.csv',
    ]);
    const held = readFileSync(join(run.result.runDir, 'dead-letter', 'contacts 2.csv'), 'utf8');
    expect(held).to.match(/^LastName,Legacy_Id__c,Account\.Legacy_Id__c,OwnerId,sf__ErrorCode,sf__ErrorMessage\n/);
    expect(held).to.include(`Orphan,${prefix}C5,${prefix}A4,`);
    expect(held).to.include(`PARENT_FAILED,parent ${prefix}A4 of step accounts failed (REQUIRED_FIELD_MISSING)`);

    const users = Object.fromEntries(
      (await query(nut.org, 'SELECT Id, Email FROM User')).map((row) => [String(row.Email), String(row.Id)]),
    );
    const recordTypes = Object.fromEntries(
      (await query(nut.org, "SELECT Id, DeveloperName FROM RecordType WHERE SobjectType = 'Account'")).map((row) => [
        String(row.DeveloperName),
        String(row.Id),
      ]),
    );
    const accountTypes = {
      [`${prefix}A1`]: recordTypes.Partner_Account,
      [`${prefix}A2`]: recordTypes.Customer_Account,
      [`${prefix}A3`]: recordTypes.Customer_Account,
    };
    expect(await byKey(nut.org, 'Account', 'RecordTypeId', prefix)).to.deep.equal(accountTypes);
    expect(held).to.include(`,${users['bob@legacy.example']},PARENT_FAILED`);
    expect(await byKey(nut.org, 'Contact', 'OwnerId', prefix)).to.deep.equal({
      [`${prefix}C1`]: users['ann@legacy.example'],
      [`${prefix}C2`]: users['bob@legacy.example'],
    });

    // the missing user is created in the org, the inactive owner's row is given to ann, and the
    // failed account gets a name: its dead letter and its orphan's carry Ids, which pass through
    const created = await fetch(`${nut.org.instanceUrl}/services/data/v62.0/sobjects/User`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${nut.org.accessToken}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(user('new')),
    });
    expect(created.status, await created.clone().text()).to.equal(201);
    const newId = ((await created.json()) as { id: string }).id;
    writeFileSync(deadLetter, letters.replace(`${prefix}A1,gone@legacy.example`, `${prefix}A1,ann@legacy.example`));

    const accountLetters = join(run.result.runDir, 'dead-letter', 'accounts.csv');
    const named = readFileSync(accountLetters, 'utf8').replace(`\n,${prefix}A4,`, `\nWayne,${prefix}A4,`);
    writeFileSync(accountLetters, named);
    const retry = (await nut.sf<RunResult>(`migrate retry ${target}`)).jsonOutput!;
    expect(retry.result.status).to.equal('succeeded');
    const retried = Object.fromEntries(retry.result.steps.map((step) => [step.step, [step.succeeded, step.failed]]));
    expect(retried).to.deep.equal({ accounts: [1, 0], contacts: [3, 0] });
    expect(await byKey(nut.org, 'Account', 'RecordTypeId', prefix)).to.deep.equal({
      ...accountTypes,
      [`${prefix}A4`]: recordTypes.Partner_Account,
    });
    expect(await byKey(nut.org, 'Contact', 'OwnerId', prefix)).to.deep.equal({
      [`${prefix}C1`]: users['ann@legacy.example'],
      [`${prefix}C2`]: users['bob@legacy.example'],
      [`${prefix}C3`]: newId,
      [`${prefix}C4`]: users['ann@legacy.example'],
      [`${prefix}C5`]: users['bob@legacy.example'],
    });
    // the retry queried the org again (a fresh snapshot): the run's own never held the new user
    const snapshots = (runDir: string): string[] =>
      readFileSync(join(runDir, 'journal.jsonl'), 'utf8')
        .split('\n')
        .filter((line) => line.includes('"lookup.snapshot"'));
    expect(snapshots(run.result.runDir)).to.have.lengthOf(2);
    // a fresh snapshot of each lookup (the accounts' too, though its one row carries RecordTypeId already)
    expect(snapshots(retry.result.runDir)).to.have.lengthOf(2);
  });
});
