import { expect } from 'chai';
import { startLocalOrg, type LocalOrg } from '../src/index.js';
import { connectedOrg } from './connectedOrg.js';

const V = '/services/data/v62.0';

type JobInfo = {
  id: string;
  state: string;
  numberRecordsProcessed: number;
  numberRecordsFailed: number;
  errorMessage?: string;
};

type Client = {
  request(method: string, path: string, body?: string, contentType?: string): Promise<Response>;
  open(object: string, csv: string): Promise<string>;
  wait(id: string): Promise<JobInfo>;
  run(object: string, csv: string): Promise<JobInfo>;
};

function client(org: LocalOrg): Client {
  const request = (method: string, path: string, body?: string, contentType = 'application/json'): Promise<Response> =>
    fetch(`${org.instanceUrl}${path.startsWith('/services') ? path : V + path}`, {
      method,
      body,
      headers: { Authorization: `Bearer ${org.accessToken}`, 'Content-Type': contentType },
    });
  const open = async (object: string, csv: string): Promise<string> => {
    const job = (await (
      await request('POST', '/jobs/ingest', JSON.stringify({ object, operation: 'insert' }))
    ).json()) as JobInfo;
    expect((await request('PUT', `/jobs/ingest/${job.id}/batches`, csv, 'text/csv')).status).to.equal(201);
    await request('PATCH', `/jobs/ingest/${job.id}`, '{"state":"UploadComplete"}');
    return job.id;
  };
  const wait = async (id: string): Promise<JobInfo> => {
    for (;;) {
      // eslint-disable-next-line no-await-in-loop
      const info = (await (await request('GET', `/jobs/ingest/${id}`)).json()) as JobInfo;
      if (['JobComplete', 'Failed', 'Aborted'].includes(info.state)) return info;
      // eslint-disable-next-line no-await-in-loop
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  return {
    request,
    open,
    wait,
    run: async (object: string, csv: string): Promise<JobInfo> => wait(await open(object, csv)),
  };
}

const rows = (n: number, make: (i: number) => string): string =>
  Array.from({ length: n }, (_, i) => make(i) + '\n').join('');

describe('local org: fault injection', () => {
  let org: LocalOrg;
  let c: Client;
  beforeEach(async () => {
    org = await startLocalOrg();
    c = client(org);
  });
  afterEach(async () => org.stop());

  it('serverErrorRate answers 500/503 with real bodies, sparing the version list and the token endpoint, deterministically under a seed', async () => {
    org.faults.set({ seed: 42, serverErrorRate: 1 });
    const statuses = new Set<number>();
    for (let i = 0; i < 20; i++) {
      // eslint-disable-next-line no-await-in-loop
      const response = await c.request('GET', '/limits');
      statuses.add(response.status);
      // eslint-disable-next-line no-await-in-loop
      const [error] = (await response.json()) as Array<{ errorCode: string; message: string }>;
      expect(error.errorCode).to.equal(response.status === 500 ? 'UNKNOWN_EXCEPTION' : 'SERVER_UNAVAILABLE');
    }
    expect([...statuses].sort()).to.deep.equal([500, 503]);
    expect((await c.request('GET', '/services/data')).status).to.equal(200);
    const sequence = async (): Promise<number[]> => {
      org.faults.set({ seed: 7, serverErrorRate: 0.4 });
      const out: number[] = [];
      // eslint-disable-next-line no-await-in-loop
      for (let i = 0; i < 30; i++) out.push((await c.request('GET', '/limits')).status);
      return out;
    };
    const first = await sequence();
    expect(first).to.include(200);
    expect(first.some((s) => s >= 500)).to.equal(true);
    expect(await sequence()).to.deep.equal(first);
  });

  it('dropConnectionRate destroys sockets, before or after the request took effect', async () => {
    org.faults.set({ seed: 3, dropConnectionRate: 1 });
    let failures = 0;
    for (let i = 0; i < 20; i++) {
      try {
        // eslint-disable-next-line no-await-in-loop
        await c.request('POST', '/jobs/ingest', '{"object":"Account","operation":"insert"}');
      } catch {
        failures += 1;
      }
    }
    expect(failures).to.equal(20);
    org.faults.clear();
    const list = (await (await c.request('GET', '/jobs/ingest')).json()) as { records: unknown[] };
    // some creates happened with their answer lost (orphan Open jobs), some never happened
    expect(list.records.length).to.be.within(1, 19);
  });

  it('dropUploadRate cuts an upload part way; the job stays Open and takes the upload again', async () => {
    const job = (await (
      await c.request('POST', '/jobs/ingest', '{"object":"Account","operation":"insert"}')
    ).json()) as JobInfo;
    const body = 'Name\n' + rows(5000, (i) => `Dropped ${i}`);
    org.faults.set({ seed: 1, dropUploadRate: 1 });
    let dropped = false;
    try {
      await c.request('PUT', `/jobs/ingest/${job.id}/batches`, body, 'text/csv');
    } catch {
      dropped = true;
    }
    expect(dropped).to.equal(true);
    org.faults.clear();
    expect(((await (await c.request('GET', `/jobs/ingest/${job.id}`)).json()) as JobInfo).state).to.equal('Open');
    expect((await c.request('PUT', `/jobs/ingest/${job.id}/batches`, body, 'text/csv')).status).to.equal(201);
    await c.request('PATCH', `/jobs/ingest/${job.id}`, '{"state":"UploadComplete"}');
    expect(await c.wait(job.id)).to.include({ state: 'JobComplete', numberRecordsProcessed: 5000 });
  });

  it('latencyMs delays every response', async () => {
    org.faults.set({ latencyMs: 300 });
    const started = Date.now();
    await c.request('GET', '/limits');
    expect(Date.now() - started).to.be.at.least(250);
  });

  it('apiLimitExhausted answers 403 REQUEST_LIMIT_EXCEEDED', async () => {
    org.faults.set({ apiLimitExhausted: true });
    const response = await c.request('GET', '/limits');
    expect(response.status).to.equal(403);
    expect(await response.json()).to.deep.equal([
      { message: 'TotalRequests Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' },
    ]);
  });

  it('concurrentLimitRate refuses that share of API requests with ConcurrentPerOrgLongTxn, and no other', async () => {
    org.faults.set({ seed: 9, concurrentLimitRate: 0.5 });
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) {
      // eslint-disable-next-line no-await-in-loop
      const response = await c.request('GET', '/limits');
      statuses.push(response.status);
      // eslint-disable-next-line no-await-in-loop
      const body = await response.text();
      if (response.status === 403) {
        expect(JSON.parse(body)).to.deep.equal([
          { message: 'ConcurrentPerOrgLongTxn Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' },
        ]);
      }
    }
    expect(statuses.filter((s) => s === 403).length).to.be.within(1, 19);
    expect(statuses.filter((s) => s !== 403 && s !== 200)).to.deep.equal([]);
    expect(org.stats().byRoute['concurrent limit']).to.equal(statuses.filter((s) => s === 403).length);
  });

  it('lockRowRate fails rows with UNABLE_TO_LOCK_ROW', async () => {
    org.faults.set({ seed: 5, lockRowRate: 0.5 });
    const info = await c.run('Account', 'Name\n' + rows(200, (i) => `Locked ${i}`));
    expect(info.numberRecordsProcessed).to.equal(200);
    expect(info.numberRecordsFailed).to.be.within(50, 150);
    const failed = await (await c.request('GET', `/jobs/ingest/${info.id}/failedResults`)).text();
    expect(failed.split('\n')[1]).to.match(
      /^"","UNABLE_TO_LOCK_ROW:unable to obtain exclusive access to this record:--","Locked \d+"$/,
    );
    expect(org.store.count('Account')).to.equal(200 - info.numberRecordsFailed);
  });

  it('failJobAfterRecords turns a job Failed part way; the rest is unprocessed', async () => {
    org.faults.set({ failJobAfterRecords: 5 });
    const info = await c.run('Account', 'Name\n' + rows(12, (i) => `Partial ${i}`));
    expect(info).to.include({ state: 'Failed', numberRecordsProcessed: 5, numberRecordsFailed: 0 });
    expect(info.errorMessage).to.be.a('string');
    const success = await (await c.request('GET', `/jobs/ingest/${info.id}/successfulResults`)).text();
    const unprocessed = await (await c.request('GET', `/jobs/ingest/${info.id}/unprocessedrecords`)).text();
    expect(success.trim().split('\n')).to.have.length(6);
    // result rows come in no guaranteed order (the local org shuffles them by default)
    const [header, ...rest] = unprocessed.trim().split('\n');
    expect(header).to.equal('Name');
    expect(rest).to.have.members(
      rows(7, (i) => `"Partial ${i + 5}"`)
        .trim()
        .split('\n'),
    );
    expect(org.store.count('Account')).to.equal(5);
  });

  it('sessionExpiry: the real 401, and @salesforce/core refreshes the session by itself', async () => {
    const t = await connectedOrg({ faults: { sessionExpiry: { afterRequests: 3 } } });
    try {
      const job = t.conn.bulk2.createJob({ object: 'Account', operation: 'insert' });
      await job.open();
      await job.uploadData('Name\nRefreshed\n');
      await job.close();
      await job.poll(50, 20_000);
      expect(t.org.store.records('Account').map((r) => r.Name)).to.include('Refreshed');
      const stats = t.org.stats();
      expect(stats.byRoute.unauthorized).to.be.at.least(1);
      expect(stats.byRoute['POST oauth2/token']).to.be.at.least(2);
      // the org's first token has served no request yet: three more are fine, the fourth is refused
      const limits = (): Promise<Response> =>
        fetch(`${t.org.instanceUrl}${V}/limits`, { headers: { Authorization: `Bearer ${t.org.accessToken}` } });
      for (let i = 0; i < 3; i++) expect((await limits()).status).to.equal(200); // eslint-disable-line no-await-in-loop
      const stale = await limits();
      expect(stale.status).to.equal(401);
      expect(await stale.text()).to.equal(
        '[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]',
      );
    } finally {
      await t.close();
    }
  });

  it('sessionExpiry.afterSeconds: a token older than that gets the 401', async () => {
    org.faults.set({ sessionExpiry: { afterSeconds: 1 } });
    expect((await c.request('GET', '/limits')).status).to.equal(200);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect((await c.request('GET', '/limits')).status).to.equal(401);
    const fresh = (await (
      await fetch(`${org.instanceUrl}/services/oauth2/token`, {
        method: 'POST',
        // eslint-disable-next-line camelcase -- the OAuth form's own field names
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: org.refreshToken }),
      })
    ).json()) as { access_token: string }; // eslint-disable-line camelcase
    expect(
      (await fetch(`${org.instanceUrl}${V}/limits`, { headers: { Authorization: `Bearer ${fresh.access_token}` } }))
        .status,
    ).to.equal(200);
  });

  it('parentLockContention: concurrent jobs touching one parent contend for its lock', async () => {
    await org.stop();
    org = await startLocalOrg({ recordsPerSecond: 400 });
    c = client(org);
    await c.run('Account', 'Name,Legacy_Id__c\nShared Parent,SP\n');
    const contacts = (prefix: string): string =>
      'LastName,Account.Legacy_Id__c\n' + rows(40, (i) => `${prefix}${i},SP`);
    const run = async (): Promise<JobInfo[]> => {
      const ids = await Promise.all([c.open('Contact', contacts('A')), c.open('Contact', contacts('B'))]);
      return Promise.all(ids.map((id) => c.wait(id)));
    };
    const calm = await run();
    expect(calm.map((j) => j.numberRecordsFailed)).to.deep.equal([0, 0]);
    org.faults.set({ parentLockContention: true });
    const contended = await run();
    const failed = contended.reduce((sum, j) => sum + j.numberRecordsFailed, 0);
    expect(failed).to.be.greaterThan(0);
    const errors = await Promise.all(
      contended.map(async (j) => (await c.request('GET', `/jobs/ingest/${j.id}/failedResults`)).text()),
    );
    expect(errors.join('')).to.include('UNABLE_TO_LOCK_ROW:unable to obtain exclusive access to this record');
  });
});

describe('local org: faults at runtime from another process', () => {
  let org: LocalOrg;
  before(async () => {
    org = await startLocalOrg({ faults: { sessionExpiry: { afterRequests: 1 } } });
  });
  after(async () => org.stop());

  const control = (method: string, token: string, body?: unknown): Promise<Response> =>
    fetch(`${org.instanceUrl}/local-org/faults`, {
      method,
      body: body === undefined ? undefined : JSON.stringify(body),
      headers: { Authorization: `Bearer ${token}` },
    });

  it('reads and replaces the fault settings over HTTP with any token the org issued', async () => {
    // spend the token's one request: it has expired, yet it can still switch the faults off
    await fetch(`${org.instanceUrl}${V}/limits`, { headers: { Authorization: `Bearer ${org.accessToken}` } });
    expect(
      (await fetch(`${org.instanceUrl}${V}/limits`, { headers: { Authorization: `Bearer ${org.accessToken}` } }))
        .status,
    ).to.equal(401);
    expect(await (await control('GET', org.accessToken)).json()).to.deep.equal({ sessionExpiry: { afterRequests: 1 } });
    expect((await control('PUT', 'forged', {})).status).to.equal(401);
    const bad = await control('PUT', org.accessToken, { serverErrorRate: 2 });
    expect(bad.status).to.equal(400);
    expect(((await bad.json()) as Array<{ message: string }>)[0].message).to.include(
      '"serverErrorRate" must be between 0 and 1',
    );
    expect(await (await control('PUT', org.accessToken, { apiLimitExhausted: true })).json()).to.deep.equal({
      apiLimitExhausted: true,
    });
    expect(org.faults.current()).to.deep.equal({ apiLimitExhausted: true });
  });
});
