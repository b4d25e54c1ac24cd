import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { startLocalOrg, type LocalOrg } from '../src/index.js';

const V = '/services/data/v62.0';
type JobInfo = { id: string; state: string; numberRecordsProcessed: number; numberRecordsFailed: number };

const api =
  (org: LocalOrg) =>
  async (method: string, path: string, body?: string, contentType = 'application/json'): Promise<Response> =>
    fetch(`${org.instanceUrl}${V}${path}`, {
      method,
      body,
      headers: { Authorization: `Bearer ${org.accessToken}`, 'Content-Type': contentType },
    });

async function until(org: LocalOrg, id: string, done: (info: JobInfo) => boolean): Promise<JobInfo> {
  for (;;) {
    // eslint-disable-next-line no-await-in-loop
    const info = (await (await api(org)('GET', `/jobs/ingest/${id}`)).json()) as JobInfo;
    if (done(info)) return info;
    // eslint-disable-next-line no-await-in-loop
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function openJob(org: LocalOrg, csv: string): Promise<string> {
  const call = api(org);
  const job = (await (
    await call('POST', '/jobs/ingest', '{"object":"Account","operation":"insert"}')
  ).json()) as JobInfo;
  expect((await call('PUT', `/jobs/ingest/${job.id}/batches`, csv, 'text/csv')).status).to.equal(201);
  return job.id;
}

describe('local org: --data-dir persistence', () => {
  let dataDir: string;
  let org: LocalOrg | undefined;
  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'local-org-data-'));
  });
  afterEach(async () => {
    await org?.stop();
    org = undefined;
    await rm(dataDir, { recursive: true, force: true });
  });

  it('keeps identity, records, deletions, jobs and their results across a restart', async () => {
    org = await startLocalOrg({ dataDir });
    const first = { orgId: org.orgId, username: org.username, refreshToken: org.refreshToken };
    const done = await openJob(org, 'Name,Legacy_Id__c\nKept,K1\nGone,K2\n');
    await api(org)('PATCH', `/jobs/ingest/${done}`, '{"state":"UploadComplete"}');
    await until(org, done, (i) => i.state === 'JobComplete');
    const gone = org.store.records('Account').find((r) => r.Name === 'Gone')!;
    const del = (await (
      await api(org)('POST', '/jobs/ingest', '{"object":"Account","operation":"delete"}')
    ).json()) as JobInfo;
    await api(org)('PUT', `/jobs/ingest/${del.id}/batches`, `Id\n${String(gone.Id)}\n`, 'text/csv');
    await api(org)('PATCH', `/jobs/ingest/${del.id}`, '{"state":"UploadComplete"}');
    await until(org, del.id, (i) => i.state === 'JobComplete');
    const open = await openJob(org, 'Name\nLater\n');
    const success = await (await api(org)('GET', `/jobs/ingest/${done}/successfulResults`)).text();
    await org.stop();

    org = await startLocalOrg({ dataDir });
    expect({ orgId: org.orgId, username: org.username, refreshToken: org.refreshToken }).to.deep.equal(first);
    expect(org.store.records('Account').map((r) => r.Name)).to.deep.equal(['Kept']);
    expect(await (await api(org)('GET', `/jobs/ingest/${done}/successfulResults`)).text()).to.equal(success);
    expect(((await (await api(org)('GET', `/jobs/ingest/${open}`)).json()) as JobInfo).state).to.equal('Open');
    await api(org)('PATCH', `/jobs/ingest/${open}`, '{"state":"UploadComplete"}');
    await until(org, open, (i) => i.state === 'JobComplete');
    const ids = org.store.records('Account').map((r) => String(r.Id));
    expect(ids).to.have.length(2);
    expect(ids).to.not.include(String(gone.Id)); // numbering goes on after the restart, no id is reused
    const newJob = (await (
      await api(org)('POST', '/jobs/ingest', '{"object":"Account","operation":"insert"}')
    ).json()) as JobInfo;
    expect([done, del.id, open]).to.not.include(newJob.id);
    const again = await (await api(org)('GET', `/jobs/ingest/${del.id}/successfulResults`)).text();
    expect(again).to.equal(`"sf__Id","sf__Created",Id\n"${String(gone.Id)}","false","${String(gone.Id)}"\n`);
  });

  it('resumes a job that was processing when the org stopped, without duplicating or losing a row', async () => {
    org = await startLocalOrg({ dataDir, recordsPerSecond: 200 });
    const rows = Array.from({ length: 120 }, (_, i) => `Resumed ${i}\n`).join('');
    const id = await openJob(org, `Name\n${rows}`);
    await api(org)('PATCH', `/jobs/ingest/${id}`, '{"state":"UploadComplete"}');
    const partial = await until(org, id, (i) => i.state === 'InProgress' && i.numberRecordsProcessed >= 10);
    expect(partial.numberRecordsProcessed).to.be.below(120);
    await org.stop();

    org = await startLocalOrg({ dataDir });
    const info = await until(org, id, (i) => i.state === 'JobComplete');
    expect(info).to.include({ numberRecordsProcessed: 120, numberRecordsFailed: 0 });
    const names = org.store
      .records('Account')
      .map((r) => String(r.Name))
      .sort();
    expect(names).to.have.length(120);
    expect(new Set(names).size).to.equal(120);
    const success = (await (await api(org)('GET', `/jobs/ingest/${id}/successfulResults`)).text()).trim().split('\n');
    expect(success).to.have.length(121);
  });
});
