/*
 * Lookups end to end against the local org, without the engine: the snapshots fetched through real
 * Bulk API 2.0 query jobs (several result pages), journaled, indexed, and applied by the row stages.
 * Record types need the local org's RecordType object (not there yet): users, queues and an object
 * lookup on Account.Legacy_Id__c are what it can show today.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { AuthInfo, Connection, StateAggregator } from '@salesforce/core';
import { registerLocalOrg, startLocalOrg, type LocalOrg } from '@sf-migrate/local-org';
import { QueryJobClient } from '../../src/bulk/queryJobClient.js';
import { toStoredEvent } from '../../src/journal/eventCodec.js';
import type { JournalEventBody } from '../../src/journal/events.js';
import { applyEvent, emptyRunState } from '../../src/journal/state.js';
import type { Lookup } from '../../src/manifest/types.js';
import { ensureLookupSnapshots } from '../../src/lookup/snapshots.js';
import { lookupStages, openLookups } from '../../src/lookup/stages.js';

async function insert(connection: Connection, records: Array<Record<string, unknown>>): Promise<string[]> {
  const ids: string[] = [];
  for (let start = 0; start < records.length; start += 200) {
    // eslint-disable-next-line no-await-in-loop
    const results = await connection.request<Array<{ success: boolean; id?: string; errors: unknown[] }>>({
      method: 'POST',
      url: '/services/data/v62.0/composite/sobjects',
      body: JSON.stringify({ allOrNone: true, records: records.slice(start, start + 200) }),
      headers: { 'content-type': 'application/json' },
    });
    expect(
      results.every((r) => r.success),
      JSON.stringify(results.find((r) => !r.success)),
    ).to.equal(true);
    ids.push(...results.map((r) => r.id!));
  }
  return ids;
}

describe('lookups against the local org', function () {
  this.timeout(120_000);
  let home: string;
  let savedHome: string | undefined;
  let org: LocalOrg;
  let connection: Connection;
  let userIds: string[];
  let queueId: string;
  let accountIds: string[];

  before(async () => {
    savedHome = process.env.HOME;
    home = await mkdtemp(join(tmpdir(), 'lookups-local-org-'));
    process.env.HOME = home;
    org = await startLocalOrg();
    const { username } = await registerLocalOrg(org, { alias: 'lookups-local-org' });
    connection = await Connection.create({ authInfo: await AuthInfo.create({ username }) });
    connection.setApiVersion('62.0');
    userIds = await insert(
      connection,
      [0, 1, 2].map((n) => ({
        attributes: { type: 'User' },
        Username: `u${n}@acme.com.uat`,
        LastName: `User ${n}`,
        Email: `u${n}@acme.com`,
        Alias: `u${n}`,
        IsActive: n !== 2,
        TimeZoneSidKey: 'GMT',
      })),
    );
    [queueId] = await insert(connection, [
      { attributes: { type: 'Group' }, Name: 'Support', DeveloperName: 'Support_Queue', Type: 'Queue' },
      { attributes: { type: 'Group' }, Name: 'Support', DeveloperName: 'Support_Queue', Type: 'Regular' },
    ]);
    accountIds = await insert(
      connection,
      Array.from({ length: 450 }, (_, n) => ({
        attributes: { type: 'Account' },
        Name: `A${n}`,
        // eslint-disable-next-line camelcase -- a field API name
        Legacy_Id__c: `A-${n}`,
      })),
    );
  });

  after(async () => {
    await org?.stop();
    StateAggregator.clearInstance();
    process.env.HOME = savedHome;
    await rm(home, { recursive: true, force: true });
  });

  it('resolves owners by sandbox username, queues and accounts from snapshots fetched by query jobs', async () => {
    const dir = await mkdtemp(join(home, 'run-'));
    const state = emptyRunState();
    let seq = 0;
    const record = (body: JournalEventBody): Promise<void> => {
      applyEvent(state, toStoredEvent(body, ++seq, new Date().toISOString()));
      return Promise.resolve();
    };
    const lookups: Lookup[] = [
      { column: 'Login', user: 'Username', sandboxSuffix: '.uat', inactive: 'default', default: 'u0@acme.com' },
      { column: 'Queue', queue: 'DeveloperName', field: 'Queue__c' },
      { column: 'Code', object: 'Account', matchOn: 'Legacy_Id__c', field: 'AccountId' },
    ];
    const step = { id: 'cases', object: 'Case', lookups, poll: { initialMs: 5, maxMs: 20 } };
    const queries = new QueryJobClient(connection, { maxRecordsPerPage: 100 });
    const snapshots = await ensureLookupSnapshots({ step, state, folder: { dir }, record, queries });
    expect(seq).to.equal(3);
    expect([...snapshots.values()].map((s) => [s.object, s.records])).to.deep.equal([
      // the three inserted and the org's own admin user
      ['User', 4],
      ['Group', 1],
      ['Account', 450],
    ]);
    const opened = await openLookups(step, snapshots, { spillDir: dir, memoryBytes: 0 });
    try {
      const stages = lookupStages(opened);
      let columns = ['Subject', 'Login', 'Queue', 'Code'];
      for (const stage of stages) columns = stage.columns(columns);
      expect(columns).to.deep.equal(['Subject', 'OwnerId', 'Queue__c', 'AccountId']);
      const run = async (row: string[]): Promise<unknown> => {
        let current: unknown = row;
        for (const stage of stages) {
          if (!Array.isArray(current)) break;
          // eslint-disable-next-line no-await-in-loop
          current = await stage.apply(current as string[]);
        }
        return current;
      };
      expect(await run(['s', 'U1@acme.com', 'support_queue', 'A-449'])).to.deep.equal([
        's',
        userIds[1],
        queueId,
        accountIds[449],
      ]);
      // the inactive user gives way to the default owner
      expect(await run(['s', 'u2@acme.com', '', 'A-0'])).to.deep.equal(['s', userIds[0], '', accountIds[0]]);
      expect(await run(['s', 'u1@acme.com', '', 'A-999'])).to.deep.equal({
        code: 'LOOKUP_NOT_FOUND',
        message: 'no Account with Legacy_Id__c A-999 (column Code)',
      });
    } finally {
      await opened.close();
    }
  });
});
