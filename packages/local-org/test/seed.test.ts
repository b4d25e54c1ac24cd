/* eslint-disable camelcase -- Salesforce field names (Legacy_Id__c) and OAuth form fields */
/*
 * Seeding (LocalOrgOptions.seed, README "Seeding"): records inserted at start-up through the same writer
 * as sObject Collections, from data, a JSON file or a folder of JSON files; parents named by a field;
 * once per data dir; a record the org refuses fails the start.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { startLocalOrg } from '../src/index.js';
import { user } from './wire.js';

describe('local org: seeding', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'local-org-seed-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('reads a folder of JSON files in name order, resolving parents seeded by an earlier file', async () => {
    await writeFile(join(dir, '1-users.json'), JSON.stringify({ User: [user('owner@example.com')] }));
    await writeFile(
      join(dir, '2-accounts.json'),
      JSON.stringify({
        Account: [
          { Name: 'Parent', Legacy_Id__c: 'P' },
          { Name: 'Child', Parent: { Legacy_Id__c: 'P' }, Owner: { Username: 'owner@example.com' } },
        ],
      }),
    );
    await writeFile(join(dir, 'notes.txt'), 'not a seed');
    const org = await startLocalOrg({ seed: dir });
    try {
      const accounts = org.store.records('Account');
      const owner = org.store.records('User').find((u) => u.Username === 'owner@example.com')!;
      const parent = accounts.find((a) => a.Name === 'Parent')!;
      expect(accounts.find((a) => a.Name === 'Child')).to.include({ ParentId: parent.Id, OwnerId: owner.Id });
      expect(owner).to.include({ IsActive: true, CreatedById: org.userId, Name: 'owner' });
      // the org's own user keeps its Id: a seeded user is numbered after it
      expect(owner.Id).to.not.equal(org.userId);
      expect(org.store.records('User').find((u) => u.Id === org.userId)?.Username).to.equal(org.username);
    } finally {
      await org.stop();
    }
  });

  it('seeds a data dir on its first start only', async () => {
    const seed = join(dir, 'seed.json');
    await writeFile(seed, JSON.stringify({ Group: [{ Name: 'Q', DeveloperName: 'Q', Type: 'Queue' }] }));
    const dataDir = join(dir, 'data');
    const first = await startLocalOrg({ seed, dataDir });
    await first.stop();
    const second = await startLocalOrg({ seed, dataDir });
    try {
      expect(second.store.count('Group')).to.equal(1);
    } finally {
      await second.stop();
    }
  });

  it('fails the start on a record the org refuses, on an unknown parent or object, and on a bad file', async () => {
    const refused = (seed: unknown): Promise<string> =>
      startLocalOrg({ seed: seed as Record<string, Array<Record<string, unknown>>> }).then(
        async (org) => {
          await org.stop();
          return 'started';
        },
        (error: Error) => error.message,
      );
    expect(await refused({ User: [{ Username: 'x@example.com' }] })).to.match(
      /^seed: User record 1 was refused: REQUIRED_FIELD_MISSING: Required fields are missing: \[/,
    );
    expect(await refused({ Account: [{ Name: 'A', Parent: { Legacy_Id__c: 'missing' } }] })).to.equal(
      'seed: Account record 1, Parent: no record with Legacy_Id__c missing',
    );
    expect(await refused({ Nope__c: [{}] })).to.equal('seed: the org has no object Nope__c');
    expect(await refused({ Account: [{ Name: 'A', Nope__c: 1 }] })).to.match(/No such column 'Nope__c'/);
    await writeFile(join(dir, 'bad.json'), '{"Account": {}}');
    expect(await refused(join(dir, 'bad.json'))).to.equal(
      `${join(dir, 'bad.json')}: Account: a list of records is expected`,
    );
  });
});
