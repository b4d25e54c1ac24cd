/* eslint-disable camelcase -- OAuth documents and forms are snake_case on the wire */
import { expect } from 'chai';
import { startLocalOrg, type LocalOrg } from '../src/index.js';
import { connectedOrg, type ConnectedOrg } from './connectedOrg.js';

const V = '/services/data/v62.0';

describe('local org: auth surface', () => {
  let org: LocalOrg;
  before(async () => {
    org = await startLocalOrg({ username: 'rehearsal@example.com' });
  });
  after(async () => org.stop());
  const get = (path: string, token = org.accessToken): Promise<Response> =>
    fetch(`${org.instanceUrl}${path}`, { headers: { Authorization: `Bearer ${token}` } });
  const token = (form: Record<string, string>): Promise<Response> =>
    fetch(`${org.instanceUrl}/services/oauth2/token`, {
      method: 'POST',
      body: new URLSearchParams(form),
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });

  it('looks like a real org: ids, token shape, versions without auth', async () => {
    expect(org.orgId).to.match(/^00D[A-Za-z0-9]{15}$/);
    expect(org.userId).to.match(/^005[A-Za-z0-9]{15}$/);
    expect(org.accessToken.startsWith(`${org.orgId.slice(0, 15)}!`)).to.equal(true);
    const versions = (await (await fetch(`${org.instanceUrl}/services/data`)).json()) as Array<{
      label: string;
      url: string;
      version: string;
    }>;
    // three releases a year: up to Summer '26, v67.0 (reference §4)
    expect(versions.at(-1)).to.deep.equal({ label: "Summer '26", url: '/services/data/v67.0', version: '67.0' });
    expect(versions.find((v) => v.version === '62.0')?.label).to.equal("Winter '25");
    expect(versions.find((v) => v.version === '61.0')?.label).to.equal("Summer '24");
    expect(versions.find((v) => v.version === '66.0')?.label).to.equal("Spring '26");
    expect(versions.every((v) => /^\d\d\.0$/.test(v.version))).to.equal(true);
    const resources = (await (await get(V)).json()) as Record<string, string>;
    expect(resources).to.include({
      sobjects: `${V}/sobjects`,
      query: `${V}/query`,
      limits: `${V}/limits`,
      jobs: `${V}/jobs`,
    });
  });

  it('serves every route at every listed version, up to 67.0', async () => {
    for (const version of ['v20.0', 'v62.0', 'v66.0', 'v67.0']) {
      const base = `/services/data/${version}`;
      for (const path of [base, `${base}/sobjects`, `${base}/sobjects/Account/describe`, `${base}/limits`]) {
        // eslint-disable-next-line no-await-in-loop
        expect((await get(path)).status, path).to.equal(200);
      }
      // eslint-disable-next-line no-await-in-loop
      expect((await get(`${base}/query?q=${encodeURIComponent('SELECT Id FROM Account')}`)).status).to.equal(200);
      // eslint-disable-next-line no-await-in-loop
      expect((await get(`${base}/jobs/ingest`)).status).to.equal(200);
      // eslint-disable-next-line no-await-in-loop
      expect((await get(`${base}/jobs/query`)).status).to.equal(200);
    }
    expect((await get('/services/data/v19.0/sobjects')).status).to.equal(404);
  });

  it('answers userinfo, the identity URL, and the User and Organization lookups of a login', async () => {
    const info = (await (await get('/services/oauth2/userinfo')).json()) as Record<string, unknown>;
    expect(info).to.include({
      user_id: org.userId,
      organization_id: org.orgId,
      preferred_username: 'rehearsal@example.com',
    });
    const identity = (await (await get(`/id/${org.orgId}/${org.userId}`)).json()) as Record<string, unknown>;
    expect(identity).to.include({ user_id: org.userId, organization_id: org.orgId, username: 'rehearsal@example.com' });
    const user = (await (await get(`/services/data/v51.0/sobjects/User/${org.userId}`)).json()) as Record<
      string,
      unknown
    >;
    expect(user).to.include({ Id: org.userId, Username: 'rehearsal@example.com' });
    const probe = await get(
      `/services/data/v51.0/query?q=${encodeURIComponent('SELECT Id FROM ScratchOrgInfo limit 1')}`,
    );
    expect(probe.status).to.equal(400);
    const [error] = (await probe.json()) as Array<{ errorCode: string; message: string }>;
    expect(error.errorCode).to.equal('INVALID_TYPE');
    expect(error.message).to.include("sObject type 'ScratchOrgInfo' is not supported.");
    expect(error.message).to.include('ERROR at Row:1:Column:16');
    const orgQuery =
      'SELECT Name, InstanceName, IsSandbox, TrialExpirationDate, NamespacePrefix, OrganizationType FROM Organization';
    const orgs = (await (await get(`//services/data/v62.0/query?q=${encodeURIComponent(orgQuery)}`)).json()) as {
      records: Array<Record<string, unknown>>;
    };
    expect(orgs.records[0]).to.include({ IsSandbox: false, TrialExpirationDate: null, NamespacePrefix: null });
  });

  it('grants tokens for refresh_token, JWT bearer and client_credentials, and refuses bad grants', async () => {
    const refreshed = (await (
      await token({ grant_type: 'refresh_token', refresh_token: org.refreshToken, client_id: org.clientId })
    ).json()) as Record<string, string>;
    expect(refreshed).to.include({
      instance_url: org.instanceUrl,
      id: `${org.instanceUrl}/id/${org.orgId}/${org.userId}`,
      token_type: 'Bearer',
    });
    expect(refreshed.access_token).to.match(/^00D[A-Za-z0-9]{12}!/);
    expect((await get(`${V}/limits`, refreshed.access_token)).status).to.equal(200);

    const payload = Buffer.from(
      JSON.stringify({
        iss: org.clientId,
        sub: 'rehearsal@example.com',
        aud: org.instanceUrl,
        exp: Date.now() + 60_000,
      }),
    ).toString('base64url');
    const jwt = await token({
      grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
      assertion: `e30.${payload}.sig`,
    });
    expect(jwt.status).to.equal(200);
    expect(
      (await token({ grant_type: 'client_credentials', client_id: org.clientId, client_secret: 'x' })).status,
    ).to.equal(200);

    const bad = await token({ grant_type: 'refresh_token', refresh_token: 'nope' });
    expect(bad.status).to.equal(400);
    expect(await bad.json()).to.deep.equal({
      error: 'invalid_grant',
      error_description: 'expired access/refresh token',
    });
  });

  it('answers requests without a valid token with the real 401', async () => {
    const response = await get(`${V}/limits`, `${org.orgId.slice(0, 15)}!forged`);
    expect(response.status).to.equal(401);
    expect(await response.json()).to.deep.equal([
      { message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' },
    ]);
  });
});

describe('local org: REST reads', () => {
  let t: ConnectedOrg;
  before(async () => {
    t = await connectedOrg();
    const job = t.conn.bulk2.createJob({ object: 'Account', operation: 'insert' });
    await job.open();
    const rows = Array.from(
      { length: 2500 },
      (_, i) => `Account ${String(i).padStart(4, '0')},${i % 3 === 0 ? 'Banking' : 'Retail'},${i},L${i}`,
    );
    await job.uploadData(`Name,Industry,NumberOfEmployees,Legacy_Id__c\n${rows.join('\n')}\n`);
    await job.close();
    await job.poll(50, 30_000);
    const contacts = t.conn.bulk2.createJob({ object: 'Contact', operation: 'insert' });
    await contacts.open();
    await contacts.uploadData('LastName,Account.Legacy_Id__c\nSmith,L1\nJones,\n');
    await contacts.close();
    await contacts.poll(50, 30_000);
  });
  after(async () => t.close());

  it('describes globally and per object; an unknown object is NOT_FOUND', async () => {
    const global = await t.conn.describeGlobal();
    expect(global.sobjects.map((s) => s.name)).to.include.members([
      'Account',
      'Contact',
      'Lead',
      'Opportunity',
      'Case',
      'Campaign',
      'CampaignMember',
      'Task',
    ]);
    const contact = await t.conn.describe('Contact');
    expect(contact.keyPrefix).to.equal('003');
    const accountId = contact.fields.find((f) => f.name === 'AccountId')!;
    expect(accountId).to.include({ type: 'reference', relationshipName: 'Account' });
    expect(accountId.referenceTo).to.deep.equal(['Account']);
    const missing = await t.raw('GET', `${V}/sobjects/Nope__c/describe`);
    expect(missing.status).to.equal(404);
    expect(((await missing.json()) as Array<{ errorCode: string }>)[0].errorCode).to.equal('NOT_FOUND');
  });

  it('counts real usage in /limits and Sforce-Limit-Info', async () => {
    const first = await t.raw('GET', `${V}/limits`);
    const header = first.headers.get('sforce-limit-info')!;
    expect(header).to.match(/^api-usage=\d+\/100000$/);
    const used = Number(/=(\d+)/.exec(header)![1]);
    const limits = (await first.json()) as Record<string, { Max: number; Remaining: number }>;
    expect(limits.DailyApiRequests).to.deep.equal({ Max: 100_000, Remaining: 100_000 - used });
    expect(limits.DailyBulkApiBatches.Remaining).to.be.below(15_000);
    const again = (await (await t.raw('GET', `${V}/limits`)).json()) as Record<string, { Remaining: number }>;
    expect(again.DailyApiRequests.Remaining).to.equal(100_000 - used - 1);
  });

  it('runs the SOQL subset: filters, parent fields, ORDER BY, LIMIT, COUNT()', async () => {
    const q = async (soql: string): Promise<{ totalSize: number; records: Array<Record<string, unknown>> }> =>
      t.conn.query(soql);
    expect((await q("SELECT COUNT() FROM Account WHERE Industry = 'banking'")).totalSize).to.equal(834);
    const some = await q(
      "SELECT Id, Name FROM Account WHERE (Name LIKE 'Account 000%' AND NumberOfEmployees > 3) OR Legacy_Id__c IN ('L2000') ORDER BY Name DESC LIMIT 3",
    );
    expect(some.records.map((r) => r.Name)).to.deep.equal(['Account 2000', 'Account 0009', 'Account 0008']);
    expect(
      (await q('SELECT Id FROM Account WHERE NumberOfEmployees != 0 AND NumberOfEmployees <= 2')).totalSize,
    ).to.equal(2);
    const smith = await q('SELECT LastName, Account.Name, Account.Owner.Username FROM Contact WHERE AccountId != null');
    expect(smith.records).to.have.length(1);
    expect((smith.records[0].Account as Record<string, unknown>).Name).to.equal('Account 0001');
    expect(((smith.records[0].Account as Record<string, unknown>).Owner as Record<string, unknown>).Username).to.equal(
      t.org.username,
    );
    const jones = await q('SELECT LastName, Account.Name FROM Contact WHERE AccountId = null');
    expect(jones.records[0]).to.include({ LastName: 'Jones', Account: null });
  });

  it('pages with nextRecordsUrl, 2000 records a page', async () => {
    const first = (await (
      await t.raw('GET', `${V}/query?q=${encodeURIComponent('SELECT Id FROM Account')}`)
    ).json()) as { totalSize: number; done: boolean; nextRecordsUrl: string; records: unknown[] };
    expect(first).to.include({ totalSize: 2500, done: false });
    expect(first.records).to.have.length(2000);
    expect(first.nextRecordsUrl).to.match(/^\/services\/data\/v62\.0\/query\/01g[A-Za-z0-9]{15}-2000$/);
    const second = (await (await t.raw('GET', first.nextRecordsUrl)).json()) as { done: boolean; records: unknown[] };
    expect(second.done).to.equal(true);
    expect(second.records).to.have.length(500);
    const all = await t.conn.query('SELECT Id FROM Account', { autoFetch: true, maxFetch: 10_000 });
    expect(all.records).to.have.length(2500);
  });

  it('answers malformed queries and unknown fields with the real codes', async () => {
    const bad = await t.raw('GET', `${V}/query?q=${encodeURIComponent('SELECT Nope__c FROM Account')}`);
    expect(bad.status).to.equal(400);
    expect(((await bad.json()) as Array<{ errorCode: string; message: string }>)[0]).to.include({
      errorCode: 'INVALID_FIELD',
    });
    const malformed = await t.raw('GET', `${V}/query?q=${encodeURIComponent('SELECT FROM Account')}`);
    expect(((await malformed.json()) as Array<{ errorCode: string }>)[0].errorCode).to.equal('MALFORMED_QUERY');
  });

  it('queryAll sees deleted records', async () => {
    const victim = t.org.store.records('Account').find((r) => r.Legacy_Id__c === 'L2499')!;
    const job = t.conn.bulk2.createJob({ object: 'Account', operation: 'delete' });
    await job.open();
    await job.uploadData(`Id\n${String(victim.Id)}\n`);
    await job.close();
    await job.poll(50, 20_000);
    expect((await t.conn.query("SELECT Id FROM Account WHERE Legacy_Id__c = 'L2499'")).totalSize).to.equal(0);
    const all = await t.conn.query("SELECT Id, IsDeleted FROM Account WHERE Legacy_Id__c = 'L2499'", { scanAll: true });
    expect(all.records[0]).to.include({ Id: victim.Id, IsDeleted: true });
  });

  it('runs Bulk API 2.0 query jobs with Sforce-Locator paging', async () => {
    const created = (await (
      await t.raw(
        'POST',
        `${V}/jobs/query`,
        JSON.stringify({ operation: 'query', query: 'SELECT Id, Name, Account.Name FROM Contact ORDER BY LastName' }),
        { 'Content-Type': 'application/json' },
      )
    ).json()) as Record<string, unknown>;
    expect(created).to.include({ state: 'UploadComplete', operation: 'query', object: 'Contact' });
    await t.conn.bulk2.job('query', { id: String(created.id) }).poll(50, 20_000);
    const info = (await (await t.raw('GET', `${V}/jobs/query/${String(created.id)}`)).json()) as Record<
      string,
      unknown
    >;
    expect(info).to.include({ state: 'JobComplete', jobType: 'V2Query', numberRecordsProcessed: 2 });
    const page1 = await t.raw('GET', `${V}/jobs/query/${String(created.id)}/results?maxRecords=1`);
    expect(page1.headers.get('sforce-numberofrecords')).to.equal('1');
    const locator = page1.headers.get('sforce-locator')!;
    expect(locator).to.not.equal('null');
    const smith = t.org.store.records('Contact').find((r) => r.LastName === 'Smith')!;
    const jones = t.org.store.records('Contact').find((r) => r.LastName === 'Jones')!;
    expect(await page1.text()).to.equal(`"Id","Name","Account.Name"\n"${String(jones.Id)}","Jones",""\n`);
    const page2 = await t.raw('GET', `${V}/jobs/query/${String(created.id)}/results?maxRecords=1&locator=${locator}`);
    expect(page2.headers.get('sforce-locator')).to.equal('null');
    expect(await page2.text()).to.equal(`"Id","Name","Account.Name"\n"${String(smith.Id)}","Smith","Account 0001"\n`);
    const records = await t.conn.bulk2.query("SELECT Id FROM Account WHERE Industry = 'Banking'");
    let count = 0;
    for await (const record of records) {
      expect(record).to.have.property('Id');
      count += 1;
    }
    expect(count).to.equal(833); // 834 Banking accounts, one deleted by the queryAll test
    const limits = (await (await t.raw('GET', `${V}/limits`)).json()) as Record<string, { Remaining: number }>;
    expect(limits.DailyBulkV2QueryJobs.Remaining).to.equal(10_000 - 2);
  });
});
