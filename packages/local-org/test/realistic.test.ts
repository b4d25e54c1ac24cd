/* eslint-disable no-await-in-loop -- a bare client polls one job at a time */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { startLocalOrg, type LocalOrg } from '../src/index.js';

// The realistic model end to end over HTTP. Time is compressed (timeScale) so the modelled minutes take
// milliseconds; the assertions are about outcomes (rows, states, counts), never about durations.

const V = '/services/data/v62.0';

type JobInfo = {
  id: string;
  state: string;
  numberRecordsProcessed: number;
  numberRecordsFailed: number;
  retries: number;
  errorMessage?: string;
};

// eslint-disable-next-line @typescript-eslint/explicit-function-return-type -- a test helper's inferred shape
function client(org: LocalOrg) {
  const call = (method: string, path: string, body?: string, type = 'application/json'): Promise<Response> =>
    fetch(`${org.instanceUrl}${V}${path}`, {
      method,
      body,
      headers: { Authorization: `Bearer ${org.accessToken}`, 'Content-Type': type },
    });
  return {
    call,
    async open(job: Record<string, unknown>, csv: string): Promise<string> {
      const { id } = (await (await call('POST', '/jobs/ingest', JSON.stringify(job))).json()) as JobInfo;
      expect((await call('PUT', `/jobs/ingest/${id}/batches`, csv, 'text/csv')).status).to.equal(201);
      return id;
    },
    async close(id: string): Promise<void> {
      await call('PATCH', `/jobs/ingest/${id}`, '{"state":"UploadComplete"}');
    },
    async finished(id: string): Promise<JobInfo> {
      for (;;) {
        const info = (await (await call('GET', `/jobs/ingest/${id}`)).json()) as JobInfo;
        if (['JobComplete', 'Failed', 'Aborted'].includes(info.state)) return info;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    async lines(id: string, resource: string): Promise<string[]> {
      return (await (await call('GET', `/jobs/ingest/${id}/${resource}`)).text()).split('\n').slice(1, -1);
    },
  };
}

describe('local org: the realistic processing model over HTTP', () => {
  let org: LocalOrg | undefined;
  afterEach(async () => org?.stop());

  it('processes a job batch by batch and answers every row', async () => {
    org = await startLocalOrg({
      model: 'realistic',
      modelSettings: { timeScale: 0.0001, batchRecords: 500, requestLatencyMs: 0 },
    });
    const c = client(org);
    const rows = Array.from({ length: 1234 }, (_, i) => `Acme ${i}`);
    const id = await c.open({ object: 'Account', operation: 'insert' }, `Name\n${rows.join('\n')}\n`);
    await c.close(id);
    const info = await c.finished(id);
    expect(info).to.include({ state: 'JobComplete', numberRecordsProcessed: 1234, numberRecordsFailed: 0 });
    expect(await c.lines(id, 'successfulResults')).to.have.length(1234);
    expect(org.store.count('Account')).to.equal(1234);
    const limits = (await (await c.call('GET', '/limits')).json()) as {
      DailyBulkApiBatches: { Max: number; Remaining: number };
    };
    expect(limits.DailyBulkApiBatches.Max - limits.DailyBulkApiBatches.Remaining).to.equal(3);
  });

  it('children of one parent in two batches processed at once: the later batch fails UNABLE_TO_LOCK_ROW', async () => {
    // one job, two batches of 200, two workers: both batches start together and both write children of
    // P1; the one that takes P1 first holds it for its whole run (200 s modelled), far past the lock wait
    org = await startLocalOrg({
      model: 'realistic',
      modelSettings: {
        timeScale: 0.001,
        workers: 2,
        batchRecords: 200,
        msPerRecord: 1000,
        lockWaitMs: 100,
        requestLatencyMs: 0,
      },
    });
    const c = client(org);
    const parent = await c.open({ object: 'Account', operation: 'insert' }, 'Name,Legacy_Id__c\nParent,P1\n');
    await c.close(parent);
    await c.finished(parent);
    const rows = Array.from({ length: 400 }, (_, i) => `C${i},P1`).join('\n');
    const id = await c.open({ object: 'Contact', operation: 'insert' }, `LastName,Account.Legacy_Id__c\n${rows}\n`);
    await c.close(id);
    const info = await c.finished(id);
    expect(info).to.include({ state: 'JobComplete', numberRecordsProcessed: 400, numberRecordsFailed: 200 });
    const failed = await c.lines(id, 'failedResults');
    expect(failed).to.have.length(200);
    const lockError = '"","UNABLE_TO_LOCK_ROW:unable to obtain exclusive access to this record:--"';
    expect(failed.every((line) => line.startsWith(lockError))).to.equal(true);
    expect(org.store.count('Contact')).to.equal(200);
  });

  it('a batch running past its time-out fails the job after its retries; the rest is unprocessed', async () => {
    org = await startLocalOrg({
      model: 'realistic',
      modelSettings: {
        timeScale: 0.0001,
        msPerRecord: 10,
        batchTimeoutMs: 2000,
        maxBatchRetries: 2,
        requestLatencyMs: 0,
      },
    });
    const c = client(org);
    // 2 s a chunk of 200, a 2 s time-out: each attempt writes one chunk; the first attempt and its two
    // retries write 600 of the 1,000 rows
    const rows = Array.from({ length: 1000 }, (_, i) => `Slow ${i}`);
    const id = await c.open({ object: 'Account', operation: 'insert' }, `Name\n${rows.join('\n')}\n`);
    await c.close(id);
    const info = await c.finished(id);
    expect(info).to.include({ state: 'Failed', numberRecordsProcessed: 600, retries: 2 });
    expect(info.errorMessage).to.match(/after 2 retries/);
    expect(await c.lines(id, 'unprocessedrecords')).to.have.length(400);
    expect(org.store.count('Account')).to.equal(600);
  });

  it('a realistic org that stops resumes the jobs it was processing, loading every row once', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'local-org-realistic-'));
    try {
      // one worker, batches of one row, 3,000 s modelled a row at real speed: the stop comes while the
      // second batch waits, after the first one wrote its row
      const slow = { workers: 1, batchRecords: 1, msPerRecord: 3000, requestLatencyMs: 0 };
      org = await startLocalOrg({ dataDir, model: 'realistic', modelSettings: slow });
      let c = client(org);
      const id = await c.open({ object: 'Account', operation: 'insert' }, 'Name\nA\nB\nC\n');
      await c.close(id);
      while (org.store.count('Account') === 0) await new Promise((resolve) => setTimeout(resolve, 10));
      await org.stop();
      expect(org.store.count('Account')).to.equal(1);
      org = await startLocalOrg({ dataDir, model: 'realistic', modelSettings: { requestLatencyMs: 0 } });
      c = client(org);
      const info = await c.finished(id);
      expect(info).to.include({ state: 'JobComplete', numberRecordsProcessed: 3, numberRecordsFailed: 0 });
      expect(
        org.store
          .records('Account')
          .map((a) => a.Name)
          .sort(),
      ).to.deep.equal(['A', 'B', 'C']);
      expect(await c.lines(id, 'successfulResults')).to.have.length(3);
    } finally {
      await org?.stop();
      org = undefined;
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('a realistic org cut off without a stop fails the jobs it was processing instead of loading rows twice', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'local-org-realistic-'));
    try {
      org = await startLocalOrg({ dataDir, model: 'realistic', modelSettings: { requestLatencyMs: 0 } });
      const c = client(org);
      const id = await c.open({ object: 'Account', operation: 'insert' }, 'Name\nA\n');
      await org.stop();
      // what a crash leaves: the job InProgress, no suspended batches
      const file = join(dataDir, 'jobs', id, 'job.json');
      const saved = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
      await writeFile(file, JSON.stringify({ ...saved, state: 'InProgress' }));
      org = await startLocalOrg({ dataDir, model: 'realistic' });
      const info = (await (await client(org).call('GET', `/jobs/ingest/${id}`)).json()) as JobInfo;
      expect(info.state).to.equal('Failed');
      expect(info.errorMessage).to.match(/restarted/);
      expect(org.store.count('Account')).to.equal(0);
    } finally {
      await org?.stop();
      org = undefined;
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
