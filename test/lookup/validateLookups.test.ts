/*
 * `validate` and lookups: the offline checks located at the lookup they are about, and, against the
 * local org, the describe checks, the uniqueness warning and the resolution sample.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { AuthInfo, Connection, StateAggregator } from '@salesforce/core';
import { registerLocalOrg, startLocalOrg, type LocalOrg } from '@sf-migrate/local-org';
import { connectionPreflight } from '../../src/manifest/preflight.js';
import { validateManifest } from '../../src/manifest/validate.js';
import { lookupCheckLines } from '../../src/lookup/orgChecks.js';

describe('validate: lookups', function () {
  this.timeout(120_000);
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'validate-lookups-'));
    await writeFile(
      join(dir, 'contacts.csv'),
      'LastName,OwnerEmail,Kind\nNg,ann@acme.com,Partner\nOh,ANN@acme.com ,Partner\nLi,nobody@acme.com,Partner\nXu,twin@acme.com,\n',
    );
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  async function manifest(lookups: unknown[], extra: Record<string, unknown> = {}): Promise<string> {
    const file = join(dir, 'm.json');
    const text = JSON.stringify(
      { name: 'lookups', steps: [{ object: 'Contact', source: 'contacts.csv', lookups, ...extra }] },
      null,
      2,
    );
    await writeFile(file, text);
    return file;
  }

  it('accepts the one-line forms', async () => {
    const result = await validateManifest(
      await manifest([
        { column: 'OwnerEmail', user: 'Email', default: 'owner@acme.com', inactive: 'default' },
        { column: 'Kind', recordType: 'DeveloperName' },
      ]),
    );
    expect(result.errors).to.deep.equal([]);
  });

  it('locates each problem at the lookup it is about', async () => {
    const result = await validateManifest(
      await manifest([
        { column: 'OwnerEmail', user: 'Email', queue: 'DeveloperName' },
        { column: 'Kind', recordType: 'DeveloperName', sandboxSuffix: '.uat' },
        { column: 'Nope', field: 'AccountId', object: 'Account', matchOn: 'Legacy_Id__c', onMissing: 'default' },
        { column: 'LastName', user: 'Emial' },
      ]),
    );
    const found = result.errors.map((e) => [e.code, e.pointer]);
    expect(found).to.deep.include.members([
      ['InvalidLookup', '/steps/0/lookups/0'],
      ['InvalidLookup', '/steps/0/lookups/1/sandboxSuffix'],
      ['InvalidLookup', '/steps/0/lookups/2/onMissing'],
      ['LookupColumnMissing', '/steps/0/lookups/2/column'],
      ['SchemaViolation', '/steps/0/lookups/3/user'],
    ]);
    for (const error of result.errors) expect(error.line, error.message).to.be.a('number');
    const missing = result.errors.find((e) => e.code === 'LookupColumnMissing')!;
    expect(missing.message).to.include('"Nope"');
  });

  it('passes a file that holds the Id and not the key (a retried dead letter), and refuses one with both', async () => {
    await writeFile(join(dir, 'resolved.csv'), 'LastName,OwnerId\nNg,005000000000001AAA\n');
    await writeFile(join(dir, 'both.csv'), 'LastName,OwnerEmail,OwnerId\nNg,ann@acme.com,005000000000001AAA\n');
    const lookups = [{ column: 'OwnerEmail', user: 'Email' }];
    const resolved = await validateManifest(await manifest(lookups, { source: ['contacts.csv', 'resolved.csv'] }));
    expect(resolved.errors).to.deep.equal([]);
    const both = await validateManifest(await manifest(lookups, { source: 'both.csv' }));
    expect(both.errors.map((e) => [e.code, e.pointer])).to.deep.equal([['LookupFieldInSource', '/steps/0/lookups/0']]);
  });

  it('refuses a key column count that does not match the fields', async () => {
    const result = await validateManifest(
      await manifest([{ column: 'OwnerEmail', field: 'X__c', object: 'T__c', matchOn: ['A__c', 'B__c'] }]),
    );
    expect(result.errors.map((e) => [e.code, e.pointer])).to.deep.include([
      'InvalidLookup',
      '/steps/0/lookups/0/column',
    ]);
  });

  describe('against the local org', () => {
    let home: string;
    let savedHome: string | undefined;
    let org: LocalOrg;
    let connection: Connection;

    before(async () => {
      savedHome = process.env.HOME;
      home = await mkdtemp(join(tmpdir(), 'validate-lookups-org-'));
      process.env.HOME = home;
      org = await startLocalOrg();
      const { username } = await registerLocalOrg(org, { alias: 'validate-lookups' });
      connection = await Connection.create({ authInfo: await AuthInfo.create({ username }) });
      connection.setApiVersion('62.0');
      const user = (n: number, email: string, active: boolean): Record<string, unknown> => ({
        attributes: { type: 'User' },
        Username: `u${n}@acme.com.uat`,
        LastName: `User ${n}`,
        Email: email,
        Alias: `u${n}`,
        IsActive: active,
        TimeZoneSidKey: 'GMT',
      });
      const results = await connection.request<Array<{ success: boolean; errors: unknown[] }>>({
        method: 'POST',
        url: '/services/data/v62.0/composite/sobjects',
        body: JSON.stringify({
          allOrNone: true,
          records: [user(1, 'ann@acme.com', true), user(2, 'twin@acme.com', true), user(3, 'twin@acme.com', false)],
        }),
        headers: { 'content-type': 'application/json' },
      });
      expect(
        results.every((r) => r.success),
        JSON.stringify(results),
      ).to.equal(true);
    });

    after(async () => {
      await org?.stop();
      StateAggregator.clearInstance();
      process.env.HOME = savedHome;
      await rm(home, { recursive: true, force: true });
    });

    it('samples how many distinct keys resolve, and warns about a match field that is not unique', async () => {
      const result = await validateManifest(
        await manifest([{ column: 'OwnerEmail', user: 'Email' }], { mapping: { drop: ['Kind'] } }),
        { connection: connectionPreflight(connection) },
      );
      expect(result.errors).to.deep.equal([]);
      expect(result.lookups).to.deep.equal([
        {
          step: 'Contact',
          lookup: 0,
          object: 'User',
          matchOn: ['Email'],
          exists: true,
          sample: { keys: 3, resolved: 1, ambiguous: 1, missing: 1, inactive: 0 },
        },
      ]);
      expect(result.warnings.map((w) => [w.code, w.pointer])).to.deep.include([
        'LookupFieldNotUnique',
        '/steps/0/lookups/0',
      ]);
      expect(lookupCheckLines(result.lookups)[0]).to.match(/1 of 3 distinct source keys resolve .*first 1000/);
    });

    it('checks the field a lookup writes against the step object, at the lookup, instead of its key column', async () => {
      const result = await validateManifest(
        await manifest([{ column: 'OwnerEmail', user: 'Email', field: 'Nope__c' }], { mapping: { drop: ['Kind'] } }),
        { connection: connectionPreflight(connection) },
      );
      const unknown = result.errors.filter((e) => e.code === 'UnknownField');
      expect(unknown.map((e) => e.pointer)).to.deep.equal(['/steps/0/lookups/0']);
      expect(unknown[0].message).to.include('Nope__c');
    });

    it('reports an unknown lookup object and an unknown match field', async () => {
      const result = await validateManifest(
        await manifest([
          { column: 'OwnerEmail', field: 'OwnerId', object: 'Nope__c', matchOn: 'Code__c' },
          { column: 'Kind', field: 'AccountId', object: 'Account', matchOn: 'Nope__c' },
        ]),
        { connection: connectionPreflight(connection) },
      );
      expect(result.errors.map((e) => [e.code, e.pointer])).to.deep.include.members([
        ['LookupUnknownObject', '/steps/0/lookups/0'],
        ['LookupUnknownField', '/steps/0/lookups/1'],
      ]);
    });
  });
});
