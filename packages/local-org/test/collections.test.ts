/* eslint-disable camelcase -- Salesforce field names (Legacy_Id__c) are the wire format */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { startLocalOrg, type LocalOrg } from '../src/index.js';
import { saveError } from '../src/collections.js';

// sObject Collections, aggregate aliases and EntityDefinition: what SFDMU and other REST clients use. The
// real-org shapes are cited in src/collections.ts, src/soql-parser.ts and src/entity-definition.ts.

const V = '/services/data/v62.0';
type SaveResult = {
  id?: string;
  success: boolean;
  created?: boolean;
  errors: Array<{ statusCode: string; message: string; fields: string[] }>;
};
type QueryPage = { totalSize: number; done: boolean; records: Array<Record<string, unknown>> };

describe('local org: sObject Collections', () => {
  let org: LocalOrg;
  beforeEach(async () => {
    org = await startLocalOrg();
  });
  afterEach(async () => org.stop());

  const call = async (method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> => {
    const response = await fetch(`${org.instanceUrl}${V}${path}`, {
      method,
      headers: { Authorization: `Bearer ${org.accessToken}`, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, json: await response.json() };
  };
  const save = async (method: string, body: unknown, path = '/composite/sobjects'): Promise<SaveResult[]> => {
    const { status, json } = await call(method, path, body);
    expect(status, JSON.stringify(json)).to.equal(200);
    return json as SaveResult[];
  };
  const account = (fields: Record<string, unknown>): Record<string, unknown> => ({
    attributes: { type: 'Account' },
    ...fields,
  });
  const names = (): string[] =>
    org.store
      .records('Account')
      .map((r) => String(r.Name))
      .sort();

  it('creates in request order; a failed record has the error of a Bulk row, the others are kept', async () => {
    const results = await save('POST', {
      allOrNone: false,
      records: [
        account({ Name: 'Alpha', NumberOfEmployees: 12, AnnualRevenue: 1.5e6 }),
        account({ Name: null, Industry: 'Energy' }),
        { attributes: { type: 'Contact' }, LastName: 'Smith', Email: 'smith@example.com' },
      ],
    });
    expect(results[0])
      .to.include({ success: true })
      .and.to.have.property('id')
      .that.matches(/^001\w{15}$/);
    expect(results[0].errors).to.deep.equal([]);
    // the Bulk API's sf__Error for the same row, asserted against a real org (reference §3):
    // REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --
    expect(results[1]).to.deep.equal({
      success: false,
      errors: [
        { statusCode: 'REQUIRED_FIELD_MISSING', message: 'Required fields are missing: [Name]', fields: ['Name'] },
      ],
    });
    expect(results[2]).to.include({ success: true }).and.to.have.property('id').that.matches(/^003/);
    expect(names()).to.deep.equal(['Alpha']);
    const stored = org.store.records('Account')[0];
    expect(stored).to.include({ Id: results[0].id, NumberOfEmployees: 12, AnnualRevenue: 1_500_000, IsDeleted: false });
    expect(org.store.records('Contact')[0]).to.include({ Name: 'Smith', Email: 'smith@example.com' });
  });

  it('allOrNone rolls back every change when a record fails; the others say they were rolled back', async () => {
    const created = await save('POST', { records: [account({ Name: 'Keep', Legacy_Id__c: 'K1' })] });
    const results = await save('POST', {
      allOrNone: true,
      records: [account({ Name: 'Beta' }), account({ Name: 'Gamma', NumberOfEmployees: 'many' })],
    });
    expect(results[0]).to.deep.equal({
      id: results[0].id,
      success: false,
      errors: [
        {
          statusCode: 'ALL_OR_NONE_OPERATION_ROLLED_BACK',
          message: 'Record rolled back because not all records were valid and the request was using AllOrNone header',
          fields: [],
        },
      ],
    });
    expect(results[1].errors[0]).to.include({ statusCode: 'INVALID_FIELD' });
    expect(results[1].errors[0].message).to.include("'many' is not a valid value for the type xsd:int");
    expect(names()).to.deep.equal(['Keep']);
    // a rolled-back insert leaves nothing behind, not even a deleted record
    const all = (await call('GET', `/queryAll?q=${encodeURIComponent('SELECT Id FROM Account')}`)).json as QueryPage;
    expect(all.totalSize).to.equal(1);

    // updates roll back to the values before the call
    const update = await save('PATCH', {
      allOrNone: true,
      records: [
        account({ id: created[0].id, Name: 'Changed' }),
        account({ id: created[0].id, Legacy_Id__c: 'x'.repeat(300) }),
      ],
    });
    expect(update.map((r) => r.errors[0].statusCode)).to.deep.equal([
      'ALL_OR_NONE_OPERATION_ROLLED_BACK',
      'STRING_TOO_LONG',
    ]);
    expect(org.store.records('Account')[0]).to.include({ Name: 'Keep', Legacy_Id__c: 'K1' });
  });

  it('updates records by id (PATCH); a missing, malformed or unknown id fails that record only', async () => {
    const [a, b] = await save('POST', { records: [account({ Name: 'A' }), account({ Name: 'B' })] });
    const results = await save('PATCH', {
      allOrNone: false,
      records: [
        account({ id: a.id, Name: 'A2', Industry: 'Banking' }),
        account({ Name: 'no id' }),
        account({ id: '001Lo0000009999IAA', Name: 'unknown' }),
        account({ id: b.id, Name: '' }),
      ],
    });
    expect(results[0]).to.deep.equal({ id: a.id, success: true, errors: [] });
    expect(results[1].errors[0]).to.include({ statusCode: 'MISSING_ARGUMENT' });
    expect(results[2].errors[0]).to.include({ statusCode: 'INVALID_CROSS_REFERENCE_KEY' });
    // "" sets a field to null, so a required field fails as in a real org
    expect(results[3]).to.deep.include({ id: b.id, success: false });
    expect(results[3].errors[0]).to.include({ statusCode: 'REQUIRED_FIELD_MISSING' });
    expect(names()).to.deep.equal(['A2', 'B']);
  });

  it('upserts by external id (PATCH …/{Object}/{Field}) and reports created', async () => {
    await save('POST', { records: [account({ Name: 'Old', Legacy_Id__c: 'L1' })] });
    const results = await save(
      'PATCH',
      {
        records: [account({ Name: 'Updated', Legacy_Id__c: 'L1' }), account({ Name: 'New', Legacy_Id__c: 'L2' })],
      },
      '/composite/sobjects/Account/Legacy_Id__c',
    );
    expect(results.map((r) => [r.success, r.created])).to.deep.equal([
      [true, false],
      [true, true],
    ]);
    expect(names()).to.deep.equal(['New', 'Updated']);
    const bad = await call('PATCH', '/composite/sobjects/Account/Name__c', { records: [] });
    expect(bad.status).to.equal(404);
  });

  it('links a parent named by its external id, as a Bulk relationship column does', async () => {
    const [parent] = await save('POST', { records: [account({ Name: 'Parent', Legacy_Id__c: 'P1' })] });
    const contact = (fields: Record<string, unknown>): Record<string, unknown> => ({
      attributes: { type: 'Contact' },
      LastName: 'Child',
      ...fields,
    });
    const results = await save('POST', {
      records: [
        contact({ Account: { Legacy_Id__c: 'P1' } }),
        contact({ Account: { Legacy_Id__c: 'P9' } }),
        contact({ Account: { attributes: { type: 'Account' }, Legacy_Id__c: 'P1' } }),
      ],
    });
    expect(results[0].success).to.equal(true);
    expect(org.store.records('Contact')[0]).to.include({ AccountId: parent.id });
    expect(results[1].errors[0].statusCode).to.equal('INVALID_FIELD');
    expect(results[1].errors[0].message).to.include('Foreign key external ID: P9 not found');
    expect(results[2].errors[0].message).to.include('without attributes');
    expect(org.store.count('Contact')).to.equal(1);
  });

  it('deletes by ids (DELETE ?ids=), and allOrNone=true keeps every record when one id is bad', async () => {
    const [a, b, c] = await save('POST', {
      records: [account({ Name: 'A' }), account({ Name: 'B' }), account({ Name: 'C' })],
    });
    const kept = (await call('DELETE', `/composite/sobjects?ids=${a.id},nope&allOrNone=true`)).json as SaveResult[];
    expect(kept[0].errors[0].statusCode).to.equal('ALL_OR_NONE_OPERATION_ROLLED_BACK');
    expect(kept[1]).to.deep.equal({
      success: false,
      errors: [{ statusCode: 'MALFORMED_ID', message: 'malformed id nope', fields: [] }],
    });
    expect(names()).to.deep.equal(['A', 'B', 'C']);
    const gone = (await call('DELETE', `/composite/sobjects?ids=${a.id},${b.id}`)).json as SaveResult[];
    expect(gone).to.deep.equal([
      { id: a.id, success: true, errors: [] },
      { id: b.id, success: true, errors: [] },
    ]);
    expect(names()).to.deep.equal(['C']);
    const again = (await call('DELETE', `/composite/sobjects?ids=${a.id},${c.id}`)).json as SaveResult[];
    expect(again[0].errors[0].statusCode).to.equal('ENTITY_IS_DELETED');
    expect(again[1].success).to.equal(true);
  });

  it('refuses more than 200 records, an unknown field, and an id on create', async () => {
    const many = Array.from({ length: 201 }, (_, i) => account({ Name: `N${i}` }));
    const tooMany = await call('POST', '/composite/sobjects', { records: many });
    expect(tooMany.status).to.equal(400);
    expect(tooMany.json).to.deep.equal([
      {
        errorCode: 'EXCEEDED_ID_LIMIT',
        message: 'record limit reached. cannot submit more than 200 records into this call',
      },
    ]);
    expect((await save('POST', { records: many.slice(0, 200) })).every((r) => r.success)).to.equal(true);
    expect(org.store.count('Account')).to.equal(200);

    const unknown = await call('POST', '/composite/sobjects', { records: [account({ Name: 'X', Nope__c: 1 })] });
    expect(unknown.status).to.equal(400);
    expect(unknown.json).to.deep.equal([
      { errorCode: 'INVALID_FIELD', message: "No such column 'Nope__c' on sobject of type Account" },
    ]);
    const withId = await save('POST', { records: [account({ id: '001Lo0000000001IAA', Name: 'X' })] });
    expect(withId[0].errors[0]).to.include({ statusCode: 'INVALID_FIELD' });
    expect(org.store.count('Account')).to.equal(200);
  });

  it('fails records with UNABLE_TO_LOCK_ROW under the lockRowRate fault, as ingest rows do', async () => {
    org.faults.set({ seed: 7, lockRowRate: 1 });
    const results = await save('POST', { records: [account({ Name: 'A' }), account({ Name: 'B' })] });
    expect(results.map((r) => r.errors[0])).to.deep.equal(
      Array(2).fill({
        statusCode: 'UNABLE_TO_LOCK_ROW',
        message: 'unable to obtain exclusive access to this record',
        fields: [],
      }),
    );
    expect(org.store.count('Account')).to.equal(0);
    org.faults.clear();
    expect((await save('POST', { records: [account({ Name: 'A' })] }))[0].success).to.equal(true);
  });

  it('reads the sf__Error text of a row as the REST error object', () => {
    expect(saveError('REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --')).to.deep.equal({
      statusCode: 'REQUIRED_FIELD_MISSING',
      message: 'Required fields are missing: [Name]',
      fields: ['Name'],
    });
    expect(
      saveError('INVALID_FIELD:Foreign key external ID: X not found for field F in entity Account:--'),
    ).to.deep.equal({
      statusCode: 'INVALID_FIELD',
      message: 'Foreign key external ID: X not found for field F in entity Account',
      fields: [],
    });
    expect(saveError('DUPLICATE_VALUE:Duplicate external id specified: X')).to.deep.equal({
      statusCode: 'DUPLICATE_VALUE',
      message: 'Duplicate external id specified: X',
      fields: [],
    });
  });
});

describe('local org: sObject Collections with --data-dir', () => {
  it('keeps a rolled-back delete alive across a restart', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'local-org-data-'));
    const post = async (org: LocalOrg, method: string, path: string, body?: unknown): Promise<unknown> =>
      (
        await fetch(`${org.instanceUrl}${V}${path}`, {
          method,
          headers: { Authorization: `Bearer ${org.accessToken}`, 'Content-Type': 'application/json' },
          body: body === undefined ? undefined : JSON.stringify(body),
        })
      ).json();
    let org = await startLocalOrg({ dataDir });
    try {
      const [kept] = (await post(org, 'POST', '/composite/sobjects', {
        records: [{ attributes: { type: 'Account' }, Name: 'Kept' }],
      })) as SaveResult[];
      const ids = `${kept.id!},bad`;
      const rolledBack = (await post(org, 'DELETE', `/composite/sobjects?ids=${ids}&allOrNone=true`)) as SaveResult[];
      expect(rolledBack[0].success).to.equal(false);
      await org.stop();
      org = await startLocalOrg({ dataDir });
      const soql = encodeURIComponent('SELECT Id, Name FROM Account');
      const all = (await post(org, 'GET', `/queryAll?q=${soql}`)) as QueryPage;
      expect(all.records.map((r) => r.Name)).to.deep.equal(['Kept']);
    } finally {
      await org.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('local org: aggregate aliases and EntityDefinition', () => {
  let org: LocalOrg;
  let schemaDir: string;
  before(async () => {
    schemaDir = await mkdtemp(join(tmpdir(), 'local-org-schema-'));
    await writeFile(
      join(schemaDir, 'Widget__c.json'),
      JSON.stringify({ name: 'Widget__c', label: 'Widget', labelPlural: 'Widgets', fields: [{ name: 'Size__c' }] }),
    );
    org = await startLocalOrg({ schemaDir });
    const records = [
      { attributes: { type: 'Account' }, Name: 'A', Industry: 'Banking' },
      { attributes: { type: 'Account' }, Name: 'B', Industry: 'Banking' },
      { attributes: { type: 'Account' }, Name: 'C' },
    ];
    const response = await fetch(`${org.instanceUrl}${V}/composite/sobjects`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${org.accessToken}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ records }),
    });
    expect(response.status).to.equal(200);
  });
  after(async () => {
    await org.stop();
    await rm(schemaDir, { recursive: true, force: true });
  });
  const query = async (soql: string, extra = ''): Promise<{ status: number; json: unknown }> => {
    const response = await fetch(`${org.instanceUrl}${V}/query?${extra}q=${encodeURIComponent(soql)}`, {
      headers: { Authorization: `Bearer ${org.accessToken}` },
    });
    return { status: response.status, json: await response.json() };
  };

  it('names aggregates by their alias, or expr0, expr1 … in order; COUNT() answers totalSize alone', async () => {
    const aggregate = { type: 'AggregateResult' };
    expect((await query('SELECT COUNT(Id) CNT FROM Account')).json).to.deep.equal({
      totalSize: 1,
      done: true,
      records: [{ attributes: aggregate, CNT: 3 }],
    });
    expect((await query("SELECT COUNT(Id) CNT FROM Account WHERE Industry = 'Banking'")).json).to.deep.include({
      records: [{ attributes: aggregate, CNT: 2 }],
    });
    expect((await query('SELECT COUNT(Id) CNT FROM Account LIMIT 1')).json).to.deep.include({
      records: [{ attributes: aggregate, CNT: 3 }],
    });
    expect((await query('SELECT COUNT(Id) FROM Account')).json).to.deep.include({
      records: [{ attributes: aggregate, expr0: 3 }],
    });
    expect((await query('SELECT COUNT(Industry), COUNT(Id) total, COUNT(Name) FROM Account')).json).to.deep.include({
      records: [{ attributes: aggregate, expr0: 2, total: 3, expr1: 3 }],
    });
    expect((await query('SELECT COUNT() FROM Account')).json).to.deep.equal({ totalSize: 3, done: true, records: [] });
    const columns = (await query('SELECT COUNT(Id) CNT FROM Account', 'columns=true&')).json as {
      columnMetadata: Array<Record<string, unknown>>;
    };
    expect(columns.columnMetadata[0]).to.include({ columnName: 'CNT', aggregate: true });
  });

  it('refuses a plain field beside an aggregate (no GROUP BY in this subset)', async () => {
    const mixed = await query('SELECT Name, COUNT(Id) FROM Account');
    expect(mixed.status).to.equal(400);
    const [error] = mixed.json as Array<{ errorCode: string; message: string }>;
    expect(error.errorCode).to.equal('MALFORMED_QUERY');
    expect(error.message).to.include('Field must be grouped or aggregated: Name');
  });

  it("answers SFDMU's EntityDefinition query from the org's schema, custom objects included", async () => {
    const { status, json } = await query(
      'SELECT  QualifiedApiName, Label \n FROM EntityDefinition \n WHERE IsDeprecatedAndHidden = false \n' +
        ' ORDER BY QualifiedApiName',
    );
    expect(status).to.equal(200);
    const page = json as QueryPage;
    const apiNames = page.records.map((r) => r.QualifiedApiName);
    expect(apiNames).to.include.members(['Account', 'Contact', 'Opportunity', 'Widget__c']);
    expect(apiNames).to.deep.equal([...apiNames].sort((a, b) => String(a).localeCompare(String(b))));
    expect(page.records.find((r) => r.QualifiedApiName === 'Account')).to.deep.include({
      attributes: { type: 'EntityDefinition', url: `${V}/sobjects/EntityDefinition/Account` },
      Label: 'Account',
    });
    const widget = (
      await query(
        'SELECT QualifiedApiName, DeveloperName, IsCustomizable, KeyPrefix FROM EntityDefinition' +
          " WHERE QualifiedApiName = 'Widget__c'",
      )
    ).json as QueryPage;
    expect(widget.records).to.have.length(1);
    expect(widget.records[0]).to.include({ DeveloperName: 'Widget', IsCustomizable: true });
    expect(widget.records[0].KeyPrefix).to.match(/^a0/);
    // read-only: not an object a client can describe or write
    const describe = await fetch(`${org.instanceUrl}${V}/sobjects/EntityDefinition/describe`, {
      headers: { Authorization: `Bearer ${org.accessToken}` },
    });
    expect(describe.status).to.equal(404);
  });
});
