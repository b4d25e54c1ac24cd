/*
 * The query job client against the local org: several result pages joined into one file with the
 * header once, the locator followed to its `null`, a page that breaks fetched again without a
 * duplicate record, and the job deleted afterwards.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { AuthInfo, Connection, StateAggregator } from '@salesforce/core';
import { registerLocalOrg, startLocalOrg, type LocalOrg } from '@sf-migrate/local-org';
import { QueryJobClient } from '../../src/bulk/queryJobClient.js';
import { BulkApiError } from '../../src/bulk/errors.js';
import type { BulkRequestEvent } from '../../src/bulk/types.js';

const POLL = { initialMs: 5, maxMs: 20 };

async function insertAccounts(connection: Connection, count: number): Promise<void> {
  for (let start = 0; start < count; start += 200) {
    const records = [];
    for (let i = start; i < Math.min(count, start + 200); i++) {
      // a quote and a line feed inside one name: a page must not be cut or counted inside a value
      const name = i === 7 ? 'Seven "the" \nLucky' : `Account ${i}`;
      // eslint-disable-next-line camelcase -- a field API name
      records.push({ attributes: { type: 'Account' }, Name: name, Legacy_Id__c: `L-${i}` });
    }
    // eslint-disable-next-line no-await-in-loop
    const results = await connection.request<Array<{ success: boolean }>>({
      method: 'POST',
      url: `/services/data/v${connection.getApiVersion()}/composite/sobjects`,
      body: JSON.stringify({ allOrNone: true, records }),
      headers: { 'content-type': 'application/json' },
    });
    expect(results.every((r) => r.success)).to.equal(true);
  }
}

describe('QueryJobClient against the local org', function () {
  this.timeout(120_000);
  let home: string;
  let savedHome: string | undefined;
  let org: LocalOrg;
  let connection: Connection;

  before(async () => {
    savedHome = process.env.HOME;
    home = await mkdtemp(join(tmpdir(), 'query-local-org-'));
    process.env.HOME = home;
    org = await startLocalOrg();
    const { username } = await registerLocalOrg(org, { alias: 'query-client-test' });
    connection = await Connection.create({ authInfo: await AuthInfo.create({ username }) });
    connection.setApiVersion('62.0');
    await insertAccounts(connection, 1050);
  });

  after(async () => {
    await org?.stop();
    StateAggregator.clearInstance();
    process.env.HOME = savedHome;
    await rm(home, { recursive: true, force: true });
  });

  beforeEach(() => org.faults.clear());

  it('joins several pages into one file with the header once', async () => {
    const client = new QueryJobClient(connection, { maxRecordsPerPage: 100 });
    const events: BulkRequestEvent[] = [];
    client.on('request', (event: BulkRequestEvent) => events.push(event));
    const job = await client.create({ query: 'SELECT Id, Name, Legacy_Id__c FROM Account' });
    expect(job.state).to.equal('UploadComplete');
    const done = await client.poll(job.id, POLL);
    expect(done.state).to.equal('JobComplete');
    const file = join(home, 'out', 'accounts.csv');
    const saved = await client.saveResults(job.id, file);
    expect(saved).to.include({ records: 1050, pages: 11 });
    const text = await readFile(file, 'utf8');
    expect(text.startsWith('"Id","Name","Legacy_Id__c"\n')).to.equal(true);
    expect(text.split('"Id","Name"').length).to.equal(2);
    for (const key of ['L-0', 'L-7', 'L-99', 'L-100', 'L-1049']) expect(text).to.include(`"${key}"`);
    expect(text).to.include('"Seven ""the"" \nLucky"');
    expect(saved.bytes).to.equal(Buffer.byteLength(text));
    const results = events.filter((e) => e.path.endsWith('/results'));
    expect(results).to.have.length(11);
    await client.delete(job.id);
    try {
      await client.info(job.id);
      expect.fail('the job was deleted');
    } catch (error) {
      expect(error).to.be.instanceOf(BulkApiError);
      expect((error as BulkApiError).status).to.equal(404);
    }
  });

  it('fetches a page again after a 5xx or a dropped connection without duplicating or losing a record', async () => {
    const client = new QueryJobClient(connection, {
      maxRecordsPerPage: 300,
      retry: { attempts: 8, baseDelayMs: 1, maxDelayMs: 5 },
    });
    const job = await client.create({ query: 'SELECT Legacy_Id__c FROM Account' });
    await client.poll(job.id, POLL);
    org.faults.set({ serverErrorRate: 0.2, dropConnectionRate: 0.2, seed: 11 });
    const file = join(home, 'out', 'faulty.csv');
    const saved = await client.saveResults(job.id, file);
    org.faults.clear();
    expect(saved.records).to.equal(1050);
    const lines = (await readFile(file, 'utf8')).trimEnd().split('\n');
    expect(lines[0]).to.equal('"Legacy_Id__c"');
    expect(new Set(lines.slice(1)).size).to.equal(1050);
    expect(lines).to.have.length(1051);
  });

  it("throws the org's refusal of a bad query", async () => {
    const client = new QueryJobClient(connection);
    try {
      await client.create({ query: 'SELECT Nope__c FROM Account' });
      expect.fail('the query names an unknown field');
    } catch (error) {
      expect(error).to.be.instanceOf(BulkApiError);
      expect((error as BulkApiError).status).to.equal(400);
    }
  });
});
