/* eslint-disable camelcase -- Salesforce field names (Legacy_Id__c) are the wire format */
/*
 * SFDMU 3.7.19 (the devDependency `sfdmu`) loads the example migration (examples/legacy-crm) into the local
 * org with its default bulkThreshold (200), through scripts/run-sfdmu.js and an sf alias of this session's
 * HOME (SFDMU asks `sfdx force:org:display` for the token; the script answers it from that alias).
 * With that threshold SFDMU writes Accounts (200 records) through sObject Collections (POST
 * composite/sobjects), their parents in a second pass (PATCH composite/sobjects), and Contacts (400) and
 * Opportunities (300) through Bulk API 2.0; it counts records with `SELECT COUNT(Id) CNT …` and lists the
 * org's objects from EntityDefinition. The test then reads every record back by SOQL. A second run (in the
 * same org, after the first) updates Accounts and deletes Opportunities, both through sObject Collections.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { expect } from 'chai';
import { useNutSession, type LocalOrg } from '../helpers/localOrg.js';

type Row = Record<string, string>;
type QueryPage = { totalSize: number; done: boolean; nextRecordsUrl?: string; records: Array<Record<string, unknown>> };

const DATA = resolve('examples', 'legacy-crm', 'data');
const SCRIPT = resolve('scripts', 'run-sfdmu.js');

const readCsv = (file: string): Row[] => parse<Row>(readFileSync(join(DATA, file)), { columns: true });
const without = (row: Row, ...columns: string[]): Row =>
  Object.fromEntries(Object.entries(row).filter(([column]) => !columns.includes(column)));

/** SFDMU's package: export.json and one CSV per object. */
function writePackage(dir: string): { accounts: Row[]; contacts: Row[]; opportunities: Row[] } {
  const parents = new Map(readCsv('account-parents.csv').map((r) => [r.Legacy_Id__c, r['Parent.Legacy_Id__c']]));
  // SFDMU's CSV layout: an Id column (any text unique in the file; the legacy id here) and each lookup as
  // that Id (AccountId, ParentId); Contacts and Opportunities also keep the parent's external id column
  // (Account.Legacy_Id__c). Account's parents come from account-parents.csv, as in the example's last step:
  // SFDMU inserts the Accounts, then sets ParentId in its second pass.
  const accounts = readCsv('accounts.csv').map((r) => {
    const parent = parents.get(r.Legacy_Id__c) ?? '';
    return { Id: r.Legacy_Id__c, ...r, ParentId: parent };
  });
  // the manifest's mappings: Notes is loaded into Description, Legacy_System and Sales_Rep are not sent
  const contacts = readCsv('contacts-001.csv').map((r) => ({
    ...without(r, 'Notes', 'Legacy_System'),
    Description: r.Notes,
    AccountId: r['Account.Legacy_Id__c'],
  }));
  const opportunities = readCsv('opportunities.csv').map((r) => ({
    ...without(r, 'Sales_Rep'),
    AccountId: r['Account.Legacy_Id__c'],
  }));
  const fields = (rows: Row[]): string =>
    Object.keys(rows[0])
      .filter((column) => column !== 'Id' && !column.includes('.'))
      .join(', ');
  const object = (name: string, rows: Row[], operation: string): object => ({
    query: `SELECT ${fields(rows)} FROM ${name}`,
    operation,
    externalId: 'Legacy_Id__c',
  });
  const exportJson = {
    objects: [
      object('Account', accounts, 'Upsert'),
      object('Contact', contacts, 'Upsert'),
      object('Opportunity', opportunities, 'Insert'),
    ],
  };
  writeFileSync(join(dir, 'export.json'), JSON.stringify(exportJson, null, 2));
  writeFileSync(join(dir, 'Account.csv'), stringify(accounts, { header: true }));
  writeFileSync(join(dir, 'Contact.csv'), stringify(contacts, { header: true }));
  writeFileSync(join(dir, 'Opportunity.csv'), stringify(opportunities, { header: true }));
  return { accounts, contacts, opportunities };
}

/** Every record of a REST SOQL query, page after page. */
async function query(org: LocalOrg, soql: string): Promise<QueryPage> {
  const get = async (path: string): Promise<QueryPage> => {
    const response = await fetch(`${org.instanceUrl}${path}`, {
      headers: { Authorization: `Bearer ${org.accessToken}` },
    });
    expect(response.status, `${soql}: ${response.status}`).to.equal(200);
    return (await response.json()) as QueryPage;
  };
  const first = await get(`/services/data/v62.0/query?q=${encodeURIComponent(soql)}`);
  const records = [...first.records];
  let page = first;
  while (page.nextRecordsUrl) {
    // eslint-disable-next-line no-await-in-loop
    page = await get(page.nextRecordsUrl);
    records.push(...page.records);
  }
  return { ...first, records };
}

const byKey = (records: Array<Record<string, unknown>>): Map<string, Record<string, unknown>> =>
  new Map(records.map((r) => [String(r.Legacy_Id__c), r]));
const parentKey = (record: Record<string, unknown>, relationship: string): string =>
  String((record[relationship] as Record<string, unknown> | null)?.Legacy_Id__c ?? '');

describe('SFDMU against the local org', () => {
  const nut = useNutSession('sfdmu', [{ alias: 'local', schemaDir: resolve('examples', 'legacy-crm', 'schema') }]);

  /** `sfdx sfdmu:run` of the package in `dir` from CSV files into the org `local`; its output, once it succeeded */
  const sfdmu = async (dir: string): Promise<string> => {
    const child = spawn(
      process.execPath,
      [SCRIPT, '--sourceusername', 'csvfile', '--targetusername', 'local', '--path', dir, '--noprompt'],
      { cwd: dir, env: nut.env(), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (piece: string) => (output += piece));
    child.stderr.setEncoding('utf8').on('data', (piece: string) => (output += piece));
    const status = await new Promise<number | null>((done) => child.on('close', done));
    expect(status, output).to.equal(0);
    return output;
  };

  it('loads the example migration with its default bulkThreshold: sObject Collections and Bulk 2.0', async () => {
    const source = writePackage(nut.testDir);
    expect(source.accounts.length).to.be.at.most(200); // so SFDMU writes them through sObject Collections
    expect(source.contacts.length).to.be.above(200); // and these through Bulk API 2.0
    const output = await sfdmu(nut.testDir);
    expect(output).to.match(/\{Account\} The Insert API operation has been started using REST API/);
    expect(output).to.match(/\{Contact\} The Insert API operation has been started using Bulk API V2\.0/);

    const routes = nut.org.stats().byRoute;
    expect(routes['POST composite/sobjects'], 'Accounts inserted over sObject Collections').to.be.above(0);
    expect(routes['PATCH composite/sobjects'], 'Account parents updated over sObject Collections').to.be.above(0);
    expect(routes['POST jobs/ingest'], 'Contacts and Opportunities loaded over Bulk API 2.0').to.be.above(0);
    expect(nut.org.stats().internalErrors).to.equal(0);

    const counted = await query(nut.org, 'SELECT COUNT(Id) CNT FROM Account');
    expect(counted.records[0].CNT).to.equal(source.accounts.length);

    const accounts = byKey(
      (await query(nut.org, 'SELECT Legacy_Id__c, Name, Parent.Legacy_Id__c FROM Account')).records,
    );
    expect(accounts.size).to.equal(source.accounts.length);
    for (const row of source.accounts) {
      const landed = accounts.get(row.Legacy_Id__c);
      expect(landed, row.Legacy_Id__c).to.not.equal(undefined);
      expect(landed!.Name).to.equal(row.Name);
      expect(parentKey(landed!, 'Parent'), row.Legacy_Id__c).to.equal(row.ParentId);
    }
    const contacts = byKey(
      (await query(nut.org, 'SELECT Legacy_Id__c, LastName, Email, Account.Legacy_Id__c FROM Contact')).records,
    );
    expect(contacts.size).to.equal(source.contacts.length);
    for (const row of source.contacts) {
      const landed = contacts.get(row.Legacy_Id__c);
      expect(landed, row.Legacy_Id__c).to.not.equal(undefined);
      expect([landed!.LastName, landed!.Email]).to.deep.equal([row.LastName, row.Email]);
      expect(parentKey(landed!, 'Account'), row.Legacy_Id__c).to.equal(row['Account.Legacy_Id__c']);
    }
    const opportunities = byKey(
      (await query(nut.org, 'SELECT Legacy_Id__c, Name, StageName, CloseDate, Account.Legacy_Id__c FROM Opportunity'))
        .records,
    );
    expect(opportunities.size).to.equal(source.opportunities.length);
    for (const row of source.opportunities) {
      const landed = opportunities.get(row.Legacy_Id__c);
      expect(landed, row.Legacy_Id__c).to.not.equal(undefined);
      expect([landed!.Name, landed!.StageName, landed!.CloseDate]).to.deep.equal([
        row.Name,
        row.StageName,
        row.CloseDate,
      ]);
      expect(parentKey(landed!, 'Account'), row.Legacy_Id__c).to.equal(row['Account.Legacy_Id__c']);
    }
  });

  it('then updates and deletes over sObject Collections', async () => {
    const renamed = ['ACC-0000001', 'ACC-0000002', 'ACC-0000003'];
    writeFileSync(
      join(nut.testDir, 'export.json'),
      JSON.stringify({
        objects: [
          { query: 'SELECT Legacy_Id__c, Name FROM Account', operation: 'Update', externalId: 'Legacy_Id__c' },
          {
            query: "SELECT Id FROM Opportunity WHERE StageName = 'Closed Lost'",
            operation: 'Delete',
            externalId: 'Legacy_Id__c',
          },
        ],
      }),
    );
    writeFileSync(
      join(nut.testDir, 'Account.csv'),
      stringify(
        renamed.map((key) => ({ Legacy_Id__c: key, Name: `${key} renamed` })),
        { header: true },
      ),
    );
    writeFileSync(join(nut.testDir, 'Opportunity.csv'), 'Legacy_Id__c\n');
    const before = nut.org.stats().byRoute;
    const lost = (await query(nut.org, "SELECT COUNT(Id) CNT FROM Opportunity WHERE StageName = 'Closed Lost'"))
      .records[0].CNT as number;
    const total = (await query(nut.org, 'SELECT COUNT() FROM Opportunity')).totalSize;
    expect(lost).to.be.within(1, 200); // deleted through sObject Collections

    const output = await sfdmu(nut.testDir);
    expect(output).to.match(/\{Account\} The Update API operation has been started using REST API/);
    expect(output).to.match(/\{Opportunity\} The Delete API operation has been started using REST API/);
    const after = nut.org.stats().byRoute;
    expect(after['PATCH composite/sobjects']).to.be.above(before['PATCH composite/sobjects'] ?? 0);
    expect(after['DELETE composite/sobjects']).to.be.above(0);

    const names = await query(nut.org, `SELECT Name FROM Account WHERE Legacy_Id__c IN ('${renamed.join("','")}')`);
    expect(names.records.map((r) => r.Name).sort()).to.deep.equal(renamed.map((key) => `${key} renamed`));
    expect((await query(nut.org, 'SELECT COUNT() FROM Opportunity')).totalSize).to.equal(total - lost);
    const left = await query(nut.org, "SELECT COUNT(Id) CNT FROM Opportunity WHERE StageName = 'Closed Lost'");
    expect(left.records[0].CNT).to.equal(0);
  });
});
