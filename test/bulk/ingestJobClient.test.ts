import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { expect } from 'chai';
import type { Connection } from '@salesforce/core';
import { IngestJobClient, type IngestJobClientOptions } from '../../src/bulk/ingestJobClient.js';
import { BulkApiError, isRetryable, UploadInterruptedError } from '../../src/bulk/errors.js';
import type { BulkRequestEvent, IngestJobInfo } from '../../src/bulk/types.js';
import { type FakeJob, FakeBulkOrg } from './fakeBulkOrg.js';

const CSV = 'Name,Legacy_Id__c\n"Acme, Inc.",A-1\n"Multi\nline",A-2\n';

/** A sleep that records what it was asked to wait and returns at once (still honouring the signal). */
function recordingSleep(): { delays: number[]; sleep: NonNullable<IngestJobClientOptions['sleep']> } {
  const delays: number[] = [];
  return {
    delays,
    sleep: async (ms, signal): Promise<void> => {
      delays.push(ms);
      if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('aborted');
      await new Promise((resolve) => setImmediate(resolve));
      if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('aborted');
    },
  };
}

/** A body produced piece by piece, never held whole: `size` bytes of CSV rows. */
function generatedCsv(size: number): { open: () => Readable; sha256: string } {
  const row = 'Row name with some padding,LEGACY-000000000\n';
  const header = 'Name,Legacy_Id__c\n';
  const make = function* (): Generator<Buffer> {
    yield Buffer.from(header);
    let left = size - header.length;
    const block = Buffer.from(row.repeat(1024));
    while (left > 0) {
      const piece = left >= block.length ? block : block.subarray(0, left);
      left -= piece.length;
      yield piece;
    }
  };
  const hash = createHash('sha256');
  for (const piece of make()) hash.update(piece);
  return { open: () => Readable.from(make()), sha256: hash.digest('hex') };
}

describe('IngestJobClient', () => {
  let org: FakeBulkOrg;
  let connection: Connection;
  let client: IngestJobClient;
  let clock: ReturnType<typeof recordingSleep>;
  let events: BulkRequestEvent[];
  let folder: string;

  beforeEach(async () => {
    org = await FakeBulkOrg.start();
    connection = await org.connection();
    clock = recordingSleep();
    client = new IngestJobClient(connection, {
      sleep: clock.sleep,
      retry: { attempts: 4, baseDelayMs: 100, maxDelayMs: 1000 },
    });
    events = [];
    client.on('request', (event: BulkRequestEvent) => events.push(event));
    folder = await mkdtemp(join(tmpdir(), 'bulk-client-'));
  });

  afterEach(async () => {
    await org.stop();
    await rm(folder, { recursive: true, force: true });
  });

  async function openJob(): Promise<IngestJobInfo> {
    return client.create({ object: 'Account', operation: 'insert' });
  }

  describe('create', () => {
    it('sends every option of the manifest and returns the job', async () => {
      const info = await client.create({
        object: 'Account',
        operation: 'upsert',
        externalIdFieldName: 'Legacy_Id__c',
        columnDelimiter: 'SEMICOLON',
        lineEnding: 'CRLF',
        assignmentRuleId: '01Qfk0000000001AAA',
      });
      expect(info.state).to.equal('Open');
      expect(info.operation).to.equal('upsert');
      const job = org.jobs.get(info.id)!;
      expect(job.info).to.include({
        externalIdFieldName: 'Legacy_Id__c',
        columnDelimiter: 'SEMICOLON',
        lineEnding: 'CRLF',
        contentType: 'CSV',
        assignmentRuleId: '01Qfk0000000001AAA',
      });
      expect(events).to.deep.equal([
        { method: 'POST', path: '/services/data/v62.0/jobs/ingest', status: 200, ms: events[0].ms },
      ]);
    });

    it('retries a 503 and a dropped connection, then returns the job', async () => {
      org.fail('create', { kind: 'status', status: 503 });
      org.fail('create', { kind: 'drop' });
      const retries: unknown[] = [];
      client.on('retry', (event) => retries.push(event));
      const info = await openJob();
      expect(info.state).to.equal('Open');
      expect(org.count('create')).to.equal(3);
      expect(events.map((e) => e.status)).to.deep.equal([503, 0, 200]);
      expect(retries).to.have.length(2);
      expect(clock.delays).to.have.length(2);
    });

    it('retries REQUEST_LIMIT_EXCEEDED ConcurrentPerOrgLongTxn after a wait of seconds', async () => {
      const refusal = JSON.stringify([
        { message: 'ConcurrentPerOrgLongTxn Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' },
      ]);
      org.fail('create', { kind: 'status', status: 403, body: refusal }, 2);
      const info = await openJob();
      expect(info.state).to.equal('Open');
      expect(events.map((e) => e.status)).to.deep.equal([403, 403, 200]);
      // equal jitter over 5 s, then 10 s: the policy's 100 ms base is too short for this limit
      expect(clock.delays).to.have.length(2);
      expect(clock.delays[0]).to.be.within(2500, 5000);
      expect(clock.delays[1]).to.be.within(5000, 10_000);
    });

    it('reports ConcurrentPerOrgLongTxn on an upload as an interrupted upload, to go again in a new job', async () => {
      const job = await openJob();
      org.fail('upload', {
        kind: 'status',
        status: 403,
        body: JSON.stringify([
          { message: 'ConcurrentPerOrgLongTxn Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' },
        ]),
      });
      const error = (await client
        .upload(job.id, () => Readable.from([Buffer.from(CSV)]))
        .catch((e: unknown) => e)) as UploadInterruptedError;
      expect(error).to.be.instanceOf(UploadInterruptedError);
      expect(error.origin).to.equal('server');
      expect(isRetryable(error)).to.equal(true);
    });

    it('gives up on ConcurrentPerOrgLongTxn after the policy’s attempts, still retryable later', async () => {
      const refusal = JSON.stringify([
        { message: 'ConcurrentPerOrgLongTxn Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' },
      ]);
      org.fail('create', { kind: 'status', status: 403, body: refusal }, 4);
      const error = (await openJob().catch((e: unknown) => e)) as BulkApiError;
      expect(error).to.be.instanceOf(BulkApiError);
      expect(error.attempts).to.equal(4);
      expect(error.message).to.contain('too many long-running requests');
      expect(isRetryable(error)).to.equal(true);
    });

    it('does not retry REQUEST_LIMIT_EXCEEDED and says what to do', async () => {
      org.fail('create', {
        kind: 'status',
        status: 403,
        body: JSON.stringify([{ message: 'TotalRequests Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' }]),
      });
      const error = await openJob().then(
        () => expect.fail('should have thrown'),
        (e: unknown) => e,
      );
      expect(error).to.be.instanceOf(BulkApiError);
      const bulkError = error as BulkApiError;
      expect(bulkError.errorCode).to.equal('REQUEST_LIMIT_EXCEEDED');
      expect(bulkError.status).to.equal(403);
      expect(bulkError.method).to.equal('POST');
      expect(isRetryable(bulkError)).to.equal(false);
      expect(bulkError.actions?.join(' ')).to.match(/sf org list limits/);
      expect(org.count('create')).to.equal(1);
    });

    it('gives up after the configured attempts with the count in the error', async () => {
      org.fail(
        'create',
        { kind: 'status', status: 500, body: '<html><body>Server down</body></html>', contentType: 'text/html' },
        4,
      );
      const error = (await openJob().catch((e: unknown) => e)) as BulkApiError;
      expect(error).to.be.instanceOf(BulkApiError);
      expect(error.status).to.equal(500);
      expect(error.attempts).to.equal(4);
      expect(error.message).to.match(/after 4 attempts/);
      expect(isRetryable(error)).to.equal(true);
      expect(org.count('create')).to.equal(4);
    });

    it('maps INVALIDENTITY to a typed error that is not retried', async () => {
      org.fail('create', {
        kind: 'status',
        status: 400,
        body: JSON.stringify([
          { errorCode: 'INVALIDENTITY', message: "Entity 'CaseStatus' is not supported by the Bulk API." },
        ]),
      });
      const error = (await openJob().catch((e: unknown) => e)) as BulkApiError;
      expect(error.errorCode).to.equal('INVALIDENTITY');
      expect(error.message).to.contain('CaseStatus');
      expect(org.count('create')).to.equal(1);
    });
  });

  describe('upload', () => {
    it('streams the body as chunked transfer and the org receives it byte for byte', async () => {
      const job = await openJob();
      const result = await client.upload(job.id, () => Readable.from([Buffer.from(CSV)]));
      expect(result.bytes).to.equal(Buffer.byteLength(CSV));
      const upload = org.jobs.get(job.id)!.upload!;
      expect(upload.text).to.equal(CSV);
      expect(upload.chunked).to.equal(true);
      expect(events.at(-1)).to.include({ method: 'PUT', status: 201 });
    });

    it('streams a 24 MB body produced piece by piece, and the org receives every byte', async () => {
      const job = await openJob();
      const body = generatedCsv(24 * 1024 * 1024);
      const result = await client.upload(job.id, body.open);
      expect(result.bytes).to.equal(24 * 1024 * 1024);
      expect(org.jobs.get(job.id)!.upload!.sha256).to.equal(body.sha256);
    });

    it('on a 401, refreshes the session and sends the body again from the source', async () => {
      const job = await openJob();
      org.expireSession();
      let opened = 0;
      const result = await client.upload(job.id, () => {
        opened++;
        return Readable.from([Buffer.from(CSV)]);
      });
      expect(opened).to.equal(2);
      expect(org.refreshes).to.equal(1);
      expect(result.bytes).to.equal(Buffer.byteLength(CSV));
      expect(org.jobs.get(job.id)!.upload!.text).to.equal(CSV);
      expect(events.filter((e) => e.method === 'PUT').map((e) => e.status)).to.deep.equal([401, 201]);
    });

    it('throws UploadInterruptedError when the connection drops mid-body, and never PUTs again', async () => {
      const job = await openJob();
      org.fail('upload', { kind: 'dropUploadAfter', bytes: 64 * 1024 });
      const body = generatedCsv(4 * 1024 * 1024);
      let opened = 0;
      const error = await client
        .upload(job.id, () => {
          opened++;
          return body.open();
        })
        .catch((e: unknown) => e);
      expect(error).to.be.instanceOf(UploadInterruptedError);
      const interrupted = error as UploadInterruptedError;
      expect(interrupted.jobId).to.equal(job.id);
      expect(interrupted.origin).to.equal('network');
      expect(interrupted.bytesSent).to.be.greaterThan(0);
      expect(isRetryable(interrupted)).to.equal(true);
      expect(opened).to.equal(1);
      expect(org.count('upload')).to.equal(1);
    });

    it('throws UploadInterruptedError on a 5xx', async () => {
      const job = await openJob();
      org.fail('upload', { kind: 'status', status: 503 });
      const error = (await client
        .upload(job.id, () => Readable.from([Buffer.from(CSV)]))
        .catch((e: unknown) => e)) as UploadInterruptedError;
      expect(error).to.be.instanceOf(UploadInterruptedError);
      expect(error.status).to.equal(503);
      expect(error.origin).to.equal('server');
      expect(org.count('upload')).to.equal(1);
    });

    it('throws a non-retryable UploadInterruptedError when the source cannot be read', async () => {
      const job = await openJob();
      const failing = new Readable({
        read(): void {
          this.destroy(Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' }));
        },
      });
      const error = (await client.upload(job.id, () => failing).catch((e: unknown) => e)) as UploadInterruptedError;
      expect(error).to.be.instanceOf(UploadInterruptedError);
      expect(error.origin).to.equal('body');
      expect(isRetryable(error)).to.equal(false);
    });

    it('reads a refused second upload ("Found multipe contents") as interrupted: abort, never close', async () => {
      const job = await openJob();
      await client.upload(job.id, () => Readable.from([Buffer.from(CSV)]));
      const error = (await client
        .upload(job.id, () => Readable.from([Buffer.from(CSV)]))
        .catch((e: unknown) => e)) as UploadInterruptedError;
      expect(error).to.be.instanceOf(UploadInterruptedError);
      expect(error.status).to.equal(400);
      expect(error.origin).to.equal('server');
      expect(isRetryable(error)).to.equal(true);
      expect(error.message).to.contain('BULK_API_ERROR').and.contain('Found multipe contents');
    });

    it('after a 401 for an upload the org took anyway, the refused second PUT reads as interrupted', async () => {
      const job = await openJob();
      const expired = JSON.stringify([{ errorCode: 'INVALID_SESSION_ID', message: 'Session expired or invalid' }]);
      org.fail('upload', { kind: 'applyThenStatus', status: 401, body: expired });
      const error = (await client
        .upload(job.id, () => Readable.from([Buffer.from(CSV)]))
        .catch((e: unknown) => e)) as UploadInterruptedError;
      expect(events.filter((e) => e.method === 'PUT').map((e) => e.status)).to.deep.equal([401, 400]);
      expect(error).to.be.instanceOf(UploadInterruptedError);
      expect(isRetryable(error)).to.equal(true);
      // the job holds the first body: the engine aborts it (abandonJob) instead of closing it
      expect(org.jobs.get(job.id)!.upload!.text).to.equal(CSV);
    });
  });

  describe('close and abort', () => {
    it('closes a job', async () => {
      const job = await openJob();
      await client.upload(job.id, () => Readable.from([Buffer.from(CSV)]));
      const closed = await client.close(job.id);
      expect(closed.state).to.equal('UploadComplete');
      expect(org.jobs.get(job.id)!.info.state).to.equal('UploadComplete');
    });

    // issue 10.4: no real answer to an illegal transition is public, so after any failed PATCH the
    // client GETs the job and its state decides, whatever the error's code (or none at all)
    const refusal = (errorCode: string): string =>
      JSON.stringify([{ errorCode, message: `refused with ${errorCode}` }]);

    it('closes when the PATCH answer is lost but the job moved: one PATCH, then one GET', async () => {
      const job = await openJob();
      await client.upload(job.id, () => Readable.from([Buffer.from(CSV)]));
      org.fail('close', { kind: 'dropAfterApply' });
      const closed = await client.close(job.id);
      expect(['UploadComplete', 'InProgress', 'JobComplete']).to.include(closed.state);
      expect(org.count('close')).to.equal(1);
      expect(org.count('info')).to.equal(1);
    });

    it('closes when the PATCH errors with some other code but the job is past Open', async () => {
      const job = await openJob();
      await client.upload(job.id, () => Readable.from([Buffer.from(CSV)]));
      // an earlier close (of another try, or process) landed; this PATCH is refused with a code never seen
      org.jobs.get(job.id)!.info.state = 'UploadComplete';
      org.fail('close', { kind: 'status', status: 400, body: refusal('BULK_API_ERROR') });
      const closed = await client.close(job.id);
      expect(['UploadComplete', 'InProgress', 'JobComplete']).to.include(closed.state);
      expect(org.count('info')).to.equal(1);
    });

    it('tries a close again after a transient failure that left the job Open', async () => {
      const job = await openJob();
      await client.upload(job.id, () => Readable.from([Buffer.from(CSV)]));
      org.fail('close', { kind: 'drop' });
      const closed = await client.close(job.id);
      expect(closed.state).to.equal('UploadComplete');
      expect(org.count('close')).to.equal(2);
      expect(org.count('info')).to.equal(1);
      expect(clock.delays).to.have.length(1);
    });

    it('keeps the original error of a refused close when the job is still Open', async () => {
      const job = await openJob();
      org.fail('close', { kind: 'status', status: 400, body: refusal('SOMETHING_NEW') });
      const error = (await client.close(job.id).catch((e: unknown) => e)) as BulkApiError;
      expect(error).to.be.instanceOf(BulkApiError);
      expect(error.errorCode).to.equal('SOMETHING_NEW');
      expect(org.count('close')).to.equal(1);
      expect(org.jobs.get(job.id)!.info.state).to.equal('Open');
    });

    it('surfaces the PATCH error after its tries when the GET fails too', async () => {
      const job = await openJob();
      org.fail('close', { kind: 'status', status: 503 }, 4);
      org.fail('info', { kind: 'drop' }, 4);
      const error = (await client.close(job.id).catch((e: unknown) => e)) as BulkApiError;
      expect(error).to.be.instanceOf(BulkApiError);
      expect(error.status).to.equal(503);
      expect(error.errorCode).to.equal('SERVER_UNAVAILABLE');
      expect(error.attempts).to.equal(4);
      expect(org.count('close')).to.equal(4);
      expect(org.count('info')).to.equal(4);
      expect(clock.delays).to.have.length(3);
    });

    it('does not look a job up after a PATCH refused for TotalRequests: that GET would be refused too', async () => {
      const job = await openJob();
      await client.upload(job.id, () => Readable.from([Buffer.from(CSV)]));
      org.fail('close', {
        kind: 'status',
        status: 403,
        body: JSON.stringify([{ message: 'TotalRequests Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' }]),
      });
      const error = (await client.close(job.id).catch((e: unknown) => e)) as BulkApiError;
      expect(error).to.be.instanceOf(BulkApiError);
      expect(error.errorCode).to.equal('REQUEST_LIMIT_EXCEEDED');
      expect(error.attempts).to.equal(1);
      expect(org.count('close')).to.equal(1);
      expect(org.count('info')).to.equal(0);
      expect(org.jobs.get(job.id)!.info.state).to.equal('Open');
    });

    it('tries a PATCH refused for ConcurrentPerOrgLongTxn again without looking the job up', async () => {
      const job = await openJob();
      await client.upload(job.id, () => Readable.from([Buffer.from(CSV)]));
      org.fail('close', {
        kind: 'status',
        status: 403,
        body: JSON.stringify([
          { message: 'ConcurrentPerOrgLongTxn Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' },
        ]),
      });
      const closed = await client.close(job.id);
      expect(closed.state).to.equal('UploadComplete');
      expect(org.count('close')).to.equal(2);
      expect(org.count('info')).to.equal(0);
    });

    it('does not take an aborted job for a landed close: the job is handed back with the error', async () => {
      const job = await openJob();
      org.fail('close', { kind: 'status', status: 503 });
      org.jobs.get(job.id)!.info.state = 'Aborted';
      const change = await client.requestState(job.id, 'UploadComplete');
      expect(change.landed).to.equal(false);
      expect(change.info?.state).to.equal('Aborted');
      const error = (await client.close(job.id).catch((e: unknown) => e)) as BulkApiError;
      expect(error).to.be.instanceOf(BulkApiError);
      expect(error.status).to.equal(400);
    });

    it('aborts when the PATCH answer is lost but the job moved', async () => {
      const job = await openJob();
      org.fail('close', { kind: 'dropAfterApply' });
      const aborted = await client.abort(job.id);
      expect(aborted.state).to.equal('Aborted');
      expect(org.count('close')).to.equal(1);
      expect(org.count('info')).to.equal(1);
    });

    it('aborts when the PATCH errors with some other code but the job is Aborted', async () => {
      const job = await openJob();
      org.jobs.get(job.id)!.info.state = 'Aborted';
      org.fail('close', { kind: 'status', status: 400, body: refusal('BULK_API_ERROR') });
      expect((await client.abort(job.id)).state).to.equal('Aborted');
    });

    it('hands back a job that finished before the abort, and a job that is gone', async () => {
      const job = await openJob();
      await client.upload(job.id, () => Readable.from([Buffer.from(CSV)]));
      await client.close(job.id);
      org.jobs.get(job.id)!.info.state = 'JobComplete';
      const finished = await client.requestState(job.id, 'Aborted');
      expect(finished.landed).to.equal(false);
      expect(finished.info?.state).to.equal('JobComplete');

      const other = await openJob();
      org.jobs.delete(other.id);
      const gone = await client.requestState(other.id, 'Aborted');
      expect(gone).to.include({ landed: false, info: undefined });
    });
  });

  describe('delete, info and list', () => {
    it('deletes, and a retried delete answered NOT_FOUND is success', async () => {
      const job = await openJob();
      await client.abort(job.id);
      org.fail('delete', { kind: 'dropAfterApply' });
      await client.delete(job.id);
      expect(org.jobs.has(job.id)).to.equal(false);
      expect(org.count('delete')).to.equal(2);
    });

    it('gives up waiting for an answer that never comes, and tries again', async () => {
      const job = await openJob();
      const impatient = new IngestJobClient(connection, {
        sleep: clock.sleep,
        requestTimeoutMs: 300,
        idleTimeoutMs: 300,
      });
      const statuses: number[] = [];
      impatient.on('request', (event: BulkRequestEvent) => statuses.push(event.status));
      org.fail('info', { kind: 'hang' });
      expect((await impatient.info(job.id)).id).to.equal(job.id);
      org.fail('results', { kind: 'hang' });
      const saved = await impatient.saveResults(job.id, 'successful', join(folder, 'late.csv'));
      expect(saved.records).to.equal(1);
      expect(statuses).to.deep.equal([0, 200, 0, 200]);
    });

    it('reports an unknown job as NOT_FOUND', async () => {
      const error = (await client.info('750fk0000999999AAA').catch((e: unknown) => e)) as BulkApiError;
      expect(error.errorCode).to.equal('NOT_FOUND');
      expect(error.status).to.equal(404);
      expect(isRetryable(error)).to.equal(false);
    });

    it('lists every job across pages', async () => {
      const ids = [];
      // eslint-disable-next-line no-await-in-loop -- jobs are created in order on purpose
      for (let i = 0; i < 5; i++) ids.push((await openJob()).id);
      const listed: string[] = [];
      for await (const info of client.list()) listed.push(info.id);
      expect(listed).to.deep.equal(ids);
      expect(org.count('list')).to.equal(3);
    });

    it('refreshes the session for JSON calls too (through the Connection)', async () => {
      const job = await openJob();
      org.expireSession();
      const info = await client.info(job.id);
      expect(info.id).to.equal(job.id);
      expect(org.refreshes).to.equal(1);
      expect(events.slice(-2).map((e) => e.status)).to.deep.equal([401, 200]);
    });
  });

  describe('poll', () => {
    async function closedJob(afterClose: FakeJob['afterClose']): Promise<string> {
      const job = await openJob();
      await client.upload(job.id, () => Readable.from([Buffer.from(CSV)]));
      await client.close(job.id);
      org.jobs.get(job.id)!.afterClose = afterClose;
      events.length = 0;
      clock.delays.length = 0;
      return job.id;
    }

    it('makes one status call per poll and backs off by half up to the maximum', async () => {
      const jobId = await closedJob([
        'InProgress',
        'InProgress',
        'InProgress',
        'InProgress',
        'InProgress',
        'JobComplete',
      ]);
      const seen: string[] = [];
      const info = await client.poll(jobId, { initialMs: 1000, maxMs: 3000, onPoll: (i) => seen.push(i.state) });
      expect(info.state).to.equal('JobComplete');
      expect(seen).to.deep.equal(['InProgress', 'InProgress', 'InProgress', 'InProgress', 'InProgress', 'JobComplete']);
      expect(clock.delays).to.deep.equal([1000, 1500, 2250, 3000, 3000, 3000]);
      expect(events.filter((e) => e.method === 'GET')).to.have.length(6);
    });

    it("aims at the end the job's progress predicts once the org reports some", async () => {
      // the clock moves only by the waits the client asks for
      const predicting = new IngestJobClient(connection, {
        sleep: clock.sleep,
        now: (): number => clock.delays.reduce((sum, ms) => sum + ms, 0),
      });
      const jobId = await closedJob([
        { state: 'InProgress', processed: 20_000 },
        { state: 'InProgress', processed: 60_000 },
        'JobComplete',
      ]);
      const info = await predicting.poll(jobId, { initialMs: 5000, maxMs: 120_000, expectedRecords: 100_000 });
      expect(info.state).to.equal('JobComplete');
      // 20,000 in 5 s: at least 4,000/s, 80,000 left ≈ 20 s; look again halfway, but no later than the 5 s
      // watched; then 40,000 more in 5 s → 8,000/s, 40,000 left ≈ 5 s (+10%)
      // (back-off alone would have waited 5, 7.5, 11.25, 16.9 … s)
      expect(clock.delays).to.deep.equal([5000, 5000, 5500]);
    });

    it('cuts a long wait short when another job of the run ends', async () => {
      const listeners = new Set<() => void>();
      const wake = {
        subscribe: (listener: () => void): (() => void) => {
          listeners.add(listener);
          return () => listeners.delete(listener);
        },
      };
      const delays: number[] = [];
      // waits under 7 s return at once; a longer one lasts until something aborts it
      const waking = new IngestJobClient(connection, {
        sleep: (ms, signal): Promise<void> => {
          delays.push(ms);
          if (ms < 7000) return new Promise((resolve) => setImmediate(resolve));
          return new Promise((_, reject) =>
            signal?.addEventListener('abort', () => reject(signal.reason as Error), { once: true }),
          );
        },
        now: (): number => 0,
      });
      const jobId = await closedJob(['InProgress', 'JobComplete']);
      const polled = waking.poll(jobId, { initialMs: 5000, maxMs: 120_000, wake });
      // eslint-disable-next-line no-await-in-loop -- until the poll is in its second wait
      while (delays.length < 2) await new Promise((resolve) => setImmediate(resolve));
      // the second wait (7.5 s, backing off) has begun and listens for another job's end
      expect(delays).to.deep.equal([5000, 7500]);
      expect(listeners.size).to.equal(1);
      for (const listener of [...listeners]) listener();
      expect((await polled).state).to.equal('JobComplete');
      // what was left of the wait (all of it, on this clock) cut to initialMs; nothing left listening
      expect(delays).to.deep.equal([5000, 7500, 5000]);
      expect(listeners.size).to.equal(0);
    });

    it('resolves (does not throw) on Failed and Aborted', async () => {
      const failedId = await closedJob(['InProgress', 'Failed']);
      expect((await client.poll(failedId, { initialMs: 5, maxMs: 10 })).state).to.equal('Failed');
      const abortedId = await closedJob(['Aborted']);
      expect((await client.poll(abortedId, { initialMs: 5, maxMs: 10 })).state).to.equal('Aborted');
    });

    it('throws when the job is still Open', async () => {
      const job = await openJob();
      const error = (await client.poll(job.id, { initialMs: 5, maxMs: 10 }).catch((e: unknown) => e)) as Error;
      expect(error.message).to.match(/still Open/);
      expect(org.count('info')).to.equal(1);
    });

    it('keeps polling through transient failures', async () => {
      const jobId = await closedJob(['InProgress', 'JobComplete']);
      org.fail('info', { kind: 'status', status: 503 }, 2);
      org.fail('info', { kind: 'drop' });
      const info = await client.poll(jobId, { initialMs: 5, maxMs: 10 });
      expect(info.state).to.equal('JobComplete');
      expect(events.map((e) => e.status)).to.deep.equal([503, 503, 0, 200, 200]);
    });

    it('stops with an AbortError when the signal fires while a status call waits to be retried', async () => {
      const jobId = await closedJob(['InProgress', 'JobComplete']);
      org.fail('info', { kind: 'status', status: 503 }, 3);
      const controller = new AbortController();
      client.on('retry', () => controller.abort());
      const error = (await client
        .poll(jobId, { initialMs: 5, maxMs: 10, signal: controller.signal })
        .catch((e: unknown) => e)) as Error;
      expect(error.name).to.equal('AbortError');
      expect(org.count('info')).to.equal(1);
    });

    it('stops with an AbortError when the signal fires, without another status call', async () => {
      const jobId = await closedJob(['InProgress', 'InProgress', 'InProgress', 'JobComplete']);
      const controller = new AbortController();
      const error = (await client
        .poll(jobId, {
          initialMs: 5,
          maxMs: 10,
          signal: controller.signal,
          onPoll: () => controller.abort(),
        })
        .catch((e: unknown) => e)) as Error;
      expect(error.name).to.equal('AbortError');
      expect(error.message).to.contain(jobId);
      expect(org.count('info')).to.equal(1);
      expect(org.jobs.get(jobId)!.info.state).to.equal('InProgress');
    });
  });

  describe('saveResults', () => {
    async function finishedJob(
      results: Partial<{ successful: string; failed: string; unprocessed: string }>,
    ): Promise<string> {
      const job = await openJob();
      Object.assign(org.jobs.get(job.id)!.results, results);
      return job.id;
    }

    it('streams each result file to disk byte for byte and counts its records', async () => {
      const successful =
        '"sf__Id","sf__Created",Name\n"001fk0000000001AAA","true","Acme, Inc."\n"001fk0000000002AAA","false","Multi\nline"\n';
      const failed =
        '"sf__Id","sf__Error",Name\r\n"","REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --",""\r\n';
      const jobId = await finishedJob({ successful, failed, unprocessed: 'Name\n' });
      const target = join(folder, 'results', 'Account');
      const ok = await client.saveResults(jobId, 'successful', join(target, `${jobId}-success.csv`));
      const bad = await client.saveResults(jobId, 'failed', join(target, `${jobId}-failed.csv`));
      const none = await client.saveResults(jobId, 'unprocessed', join(target, `${jobId}-unprocessed.csv`));
      expect(ok).to.deep.equal({ records: 2, bytes: Buffer.byteLength(successful) });
      expect(bad).to.deep.equal({ records: 1, bytes: Buffer.byteLength(failed) });
      expect(none).to.deep.equal({ records: 0, bytes: 5 });
      expect(await readFile(join(target, `${jobId}-success.csv`), 'utf8')).to.equal(successful);
      expect(await readFile(join(target, `${jobId}-failed.csv`), 'utf8')).to.equal(failed);
      expect((await stat(target)).mode & 0o777).to.equal(0o700);
      expect((await stat(join(target, `${jobId}-success.csv`))).mode & 0o777).to.equal(0o600);
      expect((await readdir(target)).sort()).to.deep.equal(
        [`${jobId}-failed.csv`, `${jobId}-success.csv`, `${jobId}-unprocessed.csv`].sort(),
      );
      expect(events.slice(-3).map((e) => e.path.split('/').at(-1))).to.deep.equal([
        'successfulResults',
        'failedResults',
        'unprocessedrecords',
      ]);
    });

    it('starts a download again when it is cut short, and never leaves a half file', async () => {
      const successful = `"sf__Id","sf__Created",Name\n${'"001fk0000000001AAA","true","Acme"\n'.repeat(2000)}`;
      const jobId = await finishedJob({ successful });
      org.fail('results', { kind: 'truncateResults' });
      org.fail('results', { kind: 'status', status: 502 });
      const file = join(folder, 'r', 'success.csv');
      const saved = await client.saveResults(jobId, 'successful', file);
      expect(saved.records).to.equal(2000);
      expect(await readFile(file, 'utf8')).to.equal(successful);
      expect(org.count('results')).to.equal(3);
      expect(await readdir(join(folder, 'r'))).to.deep.equal(['success.csv']);
    });

    it('leaves nothing under the final name when every try fails', async () => {
      const jobId = await finishedJob({});
      org.fail('results', { kind: 'truncateResults' }, 4);
      const file = join(folder, 'r', 'success.csv');
      const error = (await client.saveResults(jobId, 'successful', file).catch((e: unknown) => e)) as BulkApiError;
      expect(error).to.be.instanceOf(BulkApiError);
      expect(error.status).to.equal(0);
      expect(await readdir(join(folder, 'r'))).to.deep.equal([]);
    });

    it('refreshes an expired session and downloads', async () => {
      const jobId = await finishedJob({});
      org.expireSession();
      const saved = await client.saveResults(jobId, 'successful', join(folder, 's.csv'));
      expect(saved.records).to.equal(1);
      expect(org.refreshes).to.equal(1);
    });
  });

  describe('secrets', () => {
    it('puts the token in no event and no error', async () => {
      const token = connection.accessToken!;
      org.fail('create', {
        kind: 'status',
        status: 400,
        body: JSON.stringify([{ errorCode: 'INVALIDJOB', message: 'bad' }]),
      });
      const error = (await openJob().catch((e: unknown) => e)) as BulkApiError;
      const job = await openJob();
      org.fail('upload', { kind: 'dropUploadAfter', bytes: 10 });
      const interrupted = (await client
        .upload(job.id, generatedCsv(1024 * 1024).open)
        .catch((e: unknown) => e)) as Error;
      const text = JSON.stringify({
        events,
        error: error.toObject(),
        message: error.message,
        interrupted: interrupted.message,
        stack: error.stack,
      });
      expect(text).not.to.contain(token);
      expect(text).not.to.contain(token.split('!')[1]);
    });
  });
});
