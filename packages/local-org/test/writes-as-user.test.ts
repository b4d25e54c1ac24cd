/* eslint-disable camelcase -- Salesforce field names (Legacy_Id__c) and OAuth form fields */
/*
 * Who wrote a record and when, for verify and rollback (issue 13): every write through Bulk API 2.0, the
 * single-record REST resources and sObject Collections sets LastModifiedDate, SystemModstamp and
 * LastModifiedById to the session's user (CreatedById and CreatedDate on create); a second user's session
 * (a JWT bearer login, or LocalOrg.sessionFor) writes as that user. Query jobs find written records by long
 * lists of Ids or external ids.
 */
import { expect } from 'chai';
import { startLocalOrg, type LocalOrg } from '../src/index.js';
import { user, Wire } from './wire.js';

type Stamped = { Id: string; LastModifiedDate: string; LastModifiedById: string; SystemModstamp: string };

describe('local org: writes as a user, and the queries that check them', () => {
  let org: LocalOrg;
  let admin: Wire;
  let other: Wire;
  let otherId: string;
  const record = (object: string, id: string): Record<string, unknown> =>
    org.store.records(object).find((r) => r.Id === id)!;
  const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 5));

  before(async () => {
    org = await startLocalOrg({
      seed: { User: [user('someone@example.com'), user('left@example.com', { IsActive: false })] },
    });
    admin = new Wire(org);
    other = admin.as(org.sessionFor('someone@example.com'));
    otherId = String(org.store.records('User').find((u) => u.Username === 'someone@example.com')!.Id);
  });
  after(() => org.stop());

  it('creates, updates, upserts and deletes one record through the REST sObject resources', async () => {
    const created = await admin.call('POST', '/sobjects/Account', { Name: 'One', Legacy_Id__c: 'R-1' });
    expect(created.status).to.equal(201);
    const { id, success, errors } = (await created.json()) as { id: string; success: boolean; errors: unknown[] };
    expect([success, errors]).to.deep.equal([true, []]);
    expect((await admin.call('PATCH', `/sobjects/Account/${id}`, { Name: 'Renamed' })).status).to.equal(204);
    expect(record('Account', id).Name).to.equal('Renamed');
    const updated = await admin.call('PATCH', '/sobjects/Account/Legacy_Id__c/R-1', { Name: 'Upserted' });
    expect([updated.status, await updated.json()]).to.deep.equal([
      200,
      { id, success: true, errors: [], created: false },
    ]);
    const inserted = await admin.call('PATCH', '/sobjects/Account/Legacy_Id__c/R-2', { Name: 'New' });
    expect(inserted.status).to.equal(201);
    const refused = await admin.call('POST', '/sobjects/Account', { Description: 'no name' });
    expect([refused.status, await refused.json()]).to.deep.equal([
      400,
      [{ message: 'Required fields are missing: [Name]', errorCode: 'REQUIRED_FIELD_MISSING', fields: ['Name'] }],
    ]);
    expect((await admin.call('DELETE', `/sobjects/Account/${id}`)).status).to.equal(204);
    expect((await admin.call('PATCH', `/sobjects/Account/${id}`, { Name: 'x' })).status).to.equal(404);
    expect((await admin.call('DELETE', '/sobjects/Account/001Lo0000009999AAA')).status).to.equal(404);
  });

  it('stamps every write with the time and the writing user; another user session writes as that user', async () => {
    const { id } = await admin.json<{ id: string }>('POST', '/sobjects/Account', { Name: 'Stamped' });
    const first = record('Account', id) as Stamped & { CreatedById: string; CreatedDate: string };
    expect(first.LastModifiedById).to.equal(org.userId);
    expect(first.CreatedById).to.equal(org.userId);
    expect(first.SystemModstamp).to.equal(first.LastModifiedDate);
    await tick();
    expect((await other.call('PATCH', `/sobjects/Account/${id}`, { Phone: '555' })).status).to.equal(204);
    const second = record('Account', id) as Stamped & { CreatedById: string; CreatedDate: string };
    expect(second.LastModifiedById).to.equal(otherId);
    expect(second.CreatedById).to.equal(org.userId);
    expect(second.CreatedDate).to.equal(first.CreatedDate);
    expect(Date.parse(second.LastModifiedDate.replace('+0000', 'Z'))).to.be.greaterThan(
      Date.parse(first.LastModifiedDate.replace('+0000', 'Z')),
    );
    expect(second.SystemModstamp).to.equal(second.LastModifiedDate);

    // a Bulk API 2.0 job runs as the user who created it; so do collections
    await tick();
    const job = await other.ingest({ object: 'Account', operation: 'update' }, `Id,Phone\n${id},556\n`);
    expect(job.info.createdById).to.equal(otherId);
    expect((record('Account', id) as Stamped).LastModifiedById).to.equal(otherId);
    await admin.json('PATCH', '/composite/sobjects', {
      records: [{ attributes: { type: 'Account' }, id, Phone: '557' }],
    });
    const third = record('Account', id) as Stamped;
    expect(third.LastModifiedById).to.equal(org.userId);
    expect(third.LastModifiedDate > second.LastModifiedDate).to.equal(true);
  });

  it('logs in another user with the JWT bearer grant, and refuses an inactive or unknown one', async () => {
    const assertion = (sub: string): string =>
      ['e30', Buffer.from(JSON.stringify({ sub })).toString('base64url'), 'c2ln'].join('.');
    const login = (sub: string): Promise<Response> =>
      fetch(`${org.instanceUrl}/services/oauth2/token`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
          assertion: assertion(sub),
        }).toString(),
      });
    const ok = (await (await login('someone@example.com')).json()) as { access_token: string; id: string };
    expect(ok.id.endsWith(`/${otherId}`)).to.equal(true);
    const info = (await (
      await fetch(`${org.instanceUrl}/services/oauth2/userinfo`, {
        headers: { Authorization: `Bearer ${ok.access_token}` },
      })
    ).json()) as { user_id: string; preferred_username: string };
    expect([info.user_id, info.preferred_username]).to.deep.equal([otherId, 'someone@example.com']);
    expect(((await (await login('left@example.com')).json()) as { error: string }).error).to.equal('invalid_grant');
    expect((await login('nobody@example.com')).status).to.equal(400);
    expect(() => org.sessionFor('left@example.com')).to.throw(/no active user/);
  });

  it('finds records by long lists of Ids and external ids in query jobs, with their dates', async () => {
    const rows = Array.from({ length: 2500 }, (_, i) => `Q-${i},Q${i}`).join('\n');
    const load = await admin.ingest({ object: 'Account', operation: 'insert' }, `Legacy_Id__c,Name\n${rows}\n`);
    expect(load.info.numberRecordsFailed).to.equal(0);
    const loaded = org.store.records('Account').filter((a) => String(a.Legacy_Id__c).startsWith('Q-'));
    const some = loaded.filter((_, i) => i % 2 === 0);
    const byId = await admin.bulkQuery(
      `SELECT Id, LastModifiedDate, CreatedDate, LastModifiedById FROM Account WHERE Id IN (${some
        .map((a) => `'${String(a.Id).slice(0, 15)}'`)
        .join(',')})`,
    );
    expect(byId[0]).to.deep.equal(['Id', 'LastModifiedDate', 'CreatedDate', 'LastModifiedById']);
    expect(byId.length - 1).to.equal(some.length);
    expect(new Set(byId.slice(1).map((r) => r[0]))).to.deep.equal(new Set(some.map((a) => a.Id)));
    expect(byId[1][1]).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$/);
    expect(byId[1][3]).to.equal(org.userId);
    const keys = ['Q-7', 'Q-2499', 'nope', 'q-8'];
    const byKey = await admin.bulkQuery(
      `SELECT Legacy_Id__c FROM Account WHERE Legacy_Id__c IN (${keys.map((k) => `'${k}'`).join(',')}) AND Name != 'Q7'`,
    );
    expect(
      byKey
        .slice(1)
        .map((r) => r[0])
        .sort(),
    ).to.deep.equal(['Q-2499', 'Q-8']);
  });

  it('compares LastModifiedDate as a time, whatever the zone or precision of the literal', async () => {
    const { id } = await admin.json<{ id: string }>('POST', '/sobjects/Account', { Name: 'Timed' });
    const stamp = String(record('Account', id).LastModifiedDate); // yyyy-MM-ddTHH:mm:ss.SSS+0000
    const at = new Date(stamp.replace('+0000', 'Z'));
    // the same instant one hour east of UTC, and with its milliseconds
    const east = new Date(at.getTime() + 3_600_000).toISOString().replace('Z', '+01:00');
    const found = async (where: string): Promise<string[]> =>
      (await admin.query<{ Id: string }>(`SELECT Id FROM Account WHERE Id = '${id}' AND ${where}`)).map((r) => r.Id);
    expect(await found(`LastModifiedDate >= ${east}`)).to.deep.equal([id]);
    expect(await found(`LastModifiedDate > ${east}`)).to.deep.equal([]);
    expect(await found(`LastModifiedDate = ${at.toISOString()}`)).to.deep.equal([id]);
    expect(await found(`CreatedDate < ${new Date(at.getTime() + 1).toISOString()}`)).to.deep.equal([id]);
  });

  it('refuses a query longer than 100,000 characters, as a real org does', async () => {
    const long = `SELECT Id FROM Account WHERE Name IN (${Array.from({ length: 9000 }, (_, i) => `'N${i}0000'`).join(',')})`;
    expect(long.length).to.be.greaterThan(100_000);
    const response = await admin.call('POST', '/jobs/query', { operation: 'query', query: long });
    expect(response.status).to.equal(400);
    const [error] = (await response.json()) as Array<{ message: string }>;
    expect(error.message).to.equal('SOQL statements can not be longer than 100000 character');
  });

  it('deletes and hard-deletes by Bulk jobs; queryAll sees the soft-deleted, not the hard-deleted', async () => {
    const [a, b] = await admin.json<Array<{ id: string }>>('POST', '/composite/sobjects', {
      records: [
        { attributes: { type: 'Account' }, Name: 'Soft' },
        { attributes: { type: 'Account' }, Name: 'Hard' },
      ],
    });
    expect(
      (await admin.ingest({ object: 'Account', operation: 'delete' }, `Id\n${a.id}\n`)).info.numberRecordsFailed,
    ).to.equal(0);
    expect(
      (await admin.ingest({ object: 'Account', operation: 'hardDelete' }, `Id\n${b.id}\n`)).info.numberRecordsFailed,
    ).to.equal(0);
    const all = await admin.json<{ records: Array<{ Id: string; IsDeleted: boolean }> }>(
      'GET',
      `/queryAll?q=${encodeURIComponent(`SELECT Id, IsDeleted FROM Account WHERE Id IN ('${a.id}','${b.id}')`)}`,
    );
    expect(all.records.map((r) => [r.Id, r.IsDeleted])).to.deep.equal([[a.id, true]]);
  });
});
