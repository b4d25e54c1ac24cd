/* eslint-disable camelcase -- Salesforce custom field names (Legacy_Id__c) */
/* eslint-disable no-await-in-loop -- a bare client polls one job at a time */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { startLocalOrg, type LocalOrg, type LocalOrgOptions } from '../src/index.js';
import { duplicateKeyErrors } from '../src/processing/chunks.js';
import type { HeaderPlan } from '../src/header-plan.js';

const V = '/services/data/v62.0';
const schemaDir = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'schema');

type JobInfo = { id: string; state: string; numberRecordsProcessed: number; numberRecordsFailed: number };

async function api(
  org: LocalOrg,
  method: string,
  path: string,
  body?: string,
  type = 'application/json',
): Promise<Response> {
  return fetch(`${org.instanceUrl}${V}${path}`, {
    method,
    body,
    headers: { Authorization: `Bearer ${org.accessToken}`, 'Content-Type': type },
  });
}

/** Runs one job to its end; returns its info and the data lines of its three result files. */
async function runJob(
  org: LocalOrg,
  job: Record<string, unknown>,
  csv: string,
): Promise<{ info: JobInfo; success: string[]; failed: string[]; unprocessed: string[] }> {
  const created = (await (await api(org, 'POST', '/jobs/ingest', JSON.stringify(job))).json()) as JobInfo;
  expect((await api(org, 'PUT', `/jobs/ingest/${created.id}/batches`, csv, 'text/csv')).status).to.equal(201);
  await api(org, 'PATCH', `/jobs/ingest/${created.id}`, '{"state":"UploadComplete"}');
  let info: JobInfo;
  for (;;) {
    info = (await (await api(org, 'GET', `/jobs/ingest/${created.id}`)).json()) as JobInfo;
    if (['JobComplete', 'Failed', 'Aborted'].includes(info.state)) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const lines = async (resource: string): Promise<string[]> =>
    (await (await api(org, 'GET', `/jobs/ingest/${created.id}/${resource}`)).text()).split('\n').slice(1, -1);
  return {
    info,
    success: await lines('successfulResults'),
    failed: await lines('failedResults'),
    unprocessed: await lines('unprocessedrecords'),
  };
}

/** The sf__Error cells of failed result lines, keyed by the row's last cell. */
const errorsByLastCell = (failed: string[]): Map<string, string> =>
  new Map(failed.map((line) => [/"([^"]*)"$/.exec(line)![1], /^"[^"]*","((?:[^"]|"")*)"/.exec(line)![1]]));

/** `n` filler rows for an upsert on Legacy_Id__c, keys F<offset+i>. */
const filler = (n: number, offset: number): string[] =>
  Array.from({ length: n }, (_, i) => `F${offset + i},Filler ${offset + i}`);

describe('local org: internal batches of 10,000 and chunks of 200', () => {
  let org: LocalOrg;
  const start = async (options: LocalOrgOptions = {}): Promise<void> => {
    org = await startLocalOrg({ schemaDir, ...options });
  };
  afterEach(async () => org?.stop());

  it('upsert: a key twice in one chunk fails every row that shares it, none written', async () => {
    await start();
    // rows 1..200 are chunk 1: K twice (once in another case: external ids compare case-insensitively)
    const rows = ['K,First', 'k,Second', ...filler(198, 0), ...filler(5, 1000)];
    const { info, failed, success } = await runJob(
      org,
      { object: 'Account', operation: 'upsert', externalIdFieldName: 'Legacy_Id__c' },
      `Legacy_Id__c,Name\n${rows.join('\n')}\n`,
    );
    expect(info).to.include({ state: 'JobComplete', numberRecordsProcessed: 205, numberRecordsFailed: 2 });
    expect(success).to.have.length(203);
    const errors = errorsByLastCell(failed);
    expect(errors.get('First')).to.equal('DUPLICATE_VALUE:Duplicate external id specified: K:--');
    expect(errors.get('Second')).to.equal('DUPLICATE_VALUE:Duplicate external id specified: k:--');
    expect(org.store.records('Account').filter((r) => String(r.Legacy_Id__c).toLowerCase() === 'k')).to.deep.equal([]);
  });

  it('upsert: the same key in two chunks: both succeed, the later row wins', async () => {
    await start();
    // row 200 ends chunk 1, row 201 starts chunk 2
    const rows = [...filler(199, 0), 'B,Earlier', 'B,Later', ...filler(10, 500)];
    const { info, failed } = await runJob(
      org,
      { object: 'Account', operation: 'upsert', externalIdFieldName: 'Legacy_Id__c' },
      `Legacy_Id__c,Name\n${rows.join('\n')}\n`,
    );
    expect(info).to.include({ state: 'JobComplete', numberRecordsProcessed: 211, numberRecordsFailed: 0 });
    expect(failed).to.deep.equal([]);
    const b = org.store.records('Account').filter((r) => r.Legacy_Id__c === 'B');
    expect(b.map((r) => r.Name)).to.deep.equal(['Later']);
  });

  it('upsert on Id and update: one id twice in a chunk (15- and 18-character forms) fails both rows', async () => {
    await start();
    await runJob(org, { object: 'Account', operation: 'insert' }, 'Name\nOne\nTwo\n');
    const idOf = (name: string): string => String(org.store.records('Account').find((r) => r.Name === name)!.Id);
    const [one, two] = [idOf('One'), idOf('Two')];
    const update = await runJob(
      org,
      { object: 'Account', operation: 'update' },
      `Id,Name\n${one},Renamed\n${one.slice(0, 15)},Again\n${two},Two updated\n`,
    );
    expect(update.info).to.include({ numberRecordsProcessed: 3, numberRecordsFailed: 2 });
    const errors = errorsByLastCell(update.failed);
    expect(errors.get('Renamed')).to.equal(`DUPLICATE_VALUE:Duplicate id specified: ${one}:--`);
    expect(errors.get('Again')).to.equal(`DUPLICATE_VALUE:Duplicate id specified: ${one.slice(0, 15)}:--`);
    expect(org.store.records('Account').map((r) => r.Name)).to.have.members(['One', 'Two updated']);

    const upsert = await runJob(
      org,
      { object: 'Account', operation: 'upsert', externalIdFieldName: 'Id' },
      `Id,Name\n${two},X\n${two},Y\n,Created\n,Created too\n`,
    );
    // rows without an Id create records: they share no key
    expect(upsert.info).to.include({ numberRecordsProcessed: 4, numberRecordsFailed: 2 });
    expect([...errorsByLastCell(upsert.failed).values()]).to.deep.equal([
      `DUPLICATE_VALUE:Duplicate external id specified: ${two}:--`,
      `DUPLICATE_VALUE:Duplicate external id specified: ${two}:--`,
    ]);
  });

  it('update across chunks: both rows succeed and the later wins', async () => {
    await start();
    await runJob(org, { object: 'Account', operation: 'insert' }, 'Name\nTarget\n');
    const id = String(org.store.records('Account')[0].Id);
    const others = Array.from({ length: 250 }, (_, i) => `Other ${i}`);
    await runJob(org, { object: 'Account', operation: 'insert' }, `Name\n${others.join('\n')}\n`);
    const ids = org.store
      .records('Account')
      .filter((r) => r.Name !== 'Target')
      .map((r) => `${String(r.Id)},${String(r.Name)}`);
    const rows = [`${id},First`, ...ids.slice(0, 199), `${id},Second`, ...ids.slice(199)];
    const { info } = await runJob(org, { object: 'Account', operation: 'update' }, `Id,Name\n${rows.join('\n')}\n`);
    expect(info).to.include({ numberRecordsProcessed: 252, numberRecordsFailed: 0 });
    expect(org.store.records('Account').find((r) => r.Id === id)!.Name).to.equal('Second');
  });

  it('delete: one id twice in a chunk fails both rows and deletes nothing', async () => {
    await start();
    await runJob(org, { object: 'Account', operation: 'insert' }, 'Name\nKeep\n');
    const id = String(org.store.records('Account')[0].Id);
    const { info, failed } = await runJob(org, { object: 'Account', operation: 'delete' }, `Id\n${id}\n${id}\n`);
    expect(info).to.include({ numberRecordsProcessed: 2, numberRecordsFailed: 2 });
    expect(failed).to.deep.equal([
      `"${id}","DUPLICATE_VALUE:Duplicate id specified: ${id}:--","${id}"`,
      `"${id}","DUPLICATE_VALUE:Duplicate id specified: ${id}:--","${id}"`,
    ]);
    expect(org.store.count('Account')).to.equal(1);
  });

  it('cuts a job into internal batches of 10,000 records (the DailyBulkApiBatches count)', async () => {
    await start();
    const limits = async (): Promise<number> =>
      ((await (await api(org, 'GET', '/limits')).json()) as { DailyBulkApiBatches: { Remaining: number } })
        .DailyBulkApiBatches.Remaining;
    const before = await limits();
    const rows = Array.from({ length: 20_001 }, (_, i) => `N${i}`);
    const { info } = await runJob(org, { object: 'Account', operation: 'insert' }, `Name\n${rows.join('\n')}\n`);
    expect(info.numberRecordsProcessed).to.equal(20_001);
    expect(before - (await limits())).to.equal(3);
  });
});

describe('duplicateKeyErrors: the key a row is matched on', () => {
  const plan = (keyColumn?: number, idColumn?: number): HeaderPlan => ({
    columns: [{}, {}] as HeaderPlan['columns'],
    keyColumn,
    idColumn,
  });

  it('ignores rows without a key, rows wider than the header and #N/A', () => {
    const rule = { operation: 'upsert' as const, externalIdFieldName: 'Ext__c', plan: plan(0), width: 2 };
    expect(duplicateKeyErrors(rule, [[''], [''], ['#N/A'], ['#N/A'], ['A', 'x', 'extra'], ['A']]).size).to.equal(0);
  });

  it('flags every row of a repeated key, in its own spelling', () => {
    const rule = { operation: 'upsert' as const, externalIdFieldName: 'Ext__c', plan: plan(0), width: 2 };
    const errors = duplicateKeyErrors(rule, [['a'], ['b'], ['A'], ['c']]);
    expect([...errors.keys()]).to.deep.equal([0, 2]);
    expect(errors.get(2)).to.equal('DUPLICATE_VALUE:Duplicate external id specified: A:--');
  });

  it('insert has no key', () => {
    expect(duplicateKeyErrors({ operation: 'insert', plan: plan(), width: 2 }, [['a'], ['a']]).size).to.equal(0);
  });
});
