/*
 * QueryJobClient.queryToFile (before images, rollback, verify) against the local org: pages joined
 * into one file with the header once, a value with quotes, a comma and a line break kept whole,
 * keys quoted, calls counted, the job deleted; and the run user found by username (OrgDescribe).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { QueryJobClient } from '../../src/bulk/queryJobClient.js';
import { OrgDescribe } from '../../src/bulk/orgDescribe.js';
import { soqlLiteral } from '../../src/bulk/soql.js';
import type { BulkRequestEvent } from '../../src/bulk/types.js';
import { createScaffold, type Scaffold } from '../engine/runScaffold.js';

describe('queryToFile and OrgDescribe against the local org', function () {
  this.timeout(60_000);
  let scaffold: Scaffold;
  let dir: string;

  before(async () => {
    scaffold = await createScaffold();
    dir = await mkdtemp(join(tmpdir(), 'query-job-'));
    const records = Array.from({ length: 5 }, (_, i) => ({
      attributes: { type: 'Account' },
      Name: i === 2 ? 'Quote "and" comma, line\nbreak' : `Q${i}`,
      // eslint-disable-next-line camelcase -- a Salesforce field name
      Legacy_Id__c: `Q-${i}`,
    }));
    await scaffold.connection.request({
      method: 'POST',
      url: '/services/data/v62.0/composite/sobjects',
      body: JSON.stringify({ allOrNone: true, records }),
      headers: { 'content-type': 'application/json' },
    });
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
    await scaffold.cleanup();
  });

  it('joins every page into one file, the header once, and counts the records', async () => {
    const client = new QueryJobClient(scaffold.connection, { maxRecordsPerPage: 2 });
    const calls: string[] = [];
    client.on('request', (event: BulkRequestEvent) => calls.push(event.method));
    const keys = ['Q-0', 'Q-1', 'Q-2', 'Q-3', 'Q-4', "no'such"].map((key) => soqlLiteral(key));
    const file = join(dir, 'all.csv');
    const { records, pages } = await client.queryToFile(
      `SELECT Legacy_Id__c, Name FROM Account WHERE Legacy_Id__c IN (${keys.join(',')})`,
      file,
      { poll: { initialMs: 10, maxMs: 20 } },
    );
    expect(records).to.equal(5);
    expect(pages).to.equal(3);
    const text = await readFile(file, 'utf8');
    expect(text.match(/"Legacy_Id__c","Name"/g)).to.have.length(1);
    expect(text).to.include('"Quote ""and"" comma, line\nbreak"');
    for (const key of ['Q-0', 'Q-1', 'Q-3', 'Q-4']) expect(text).to.include(`"${key}"`);
    expect(calls.filter((method) => method === 'POST')).to.have.length(1);
    expect(calls.filter((method) => method === 'DELETE')).to.have.length(1);
    // create, at least one poll, three pages, delete
    expect(calls.length).to.be.at.least(6);
  });

  it('finds the run user by username', async () => {
    const client = new OrgDescribe(scaffold.connection);
    expect(await client.userId(scaffold.org.username)).to.equal(scaffold.org.userId);
    expect(await client.userId('nobody@example.com')).to.equal(undefined);
  });
});
