/*
 * The client against the local org (the real wire protocol, faults by seeded rate), through a
 * @salesforce/core Connection built from a registered auth file, as `--target-org` gives it: every
 * operation's lifecycle, result files byte for byte, the API calls a job costs, and the org's
 * faults (5xx, dropped uploads, expiring sessions) without losing or duplicating a record.
 */
import http from 'node:http';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { expect } from 'chai';
import { AuthInfo, Connection, Lifecycle, StateAggregator } from '@salesforce/core';
import { registerLocalOrg, startLocalOrg, type FaultSettings, type LocalOrg } from '@sf-migrate/local-org';
import { IngestJobClient, type BulkRetryEvent } from '../../src/bulk/ingestJobClient.js';
import { BulkApiError, UploadInterruptedError } from '../../src/bulk/errors.js';
import type { BulkRequestEvent, CreateJobRequest, IngestJobInfo, ResultKind } from '../../src/bulk/types.js';

const API_VERSION = '62.0';
const POLL = { initialMs: 20, maxMs: 100 };

type Loaded = {
  info: IngestJobInfo;
  jobIds: string[];
  counts: Record<ResultKind, number>;
  files: Record<ResultKind, string>;
};

/** GETs a result file with a plain client, to compare with what saveResults wrote. */
async function fetchRaw(connection: Connection, path: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const request = http.get(
      new URL(path, connection.instanceUrl),
      { headers: { authorization: `Bearer ${connection.accessToken!}` } },
      (response) => {
        const parts: Buffer[] = [];
        response.on('data', (chunk: Buffer) => parts.push(chunk));
        response.on('end', () => resolve(Buffer.concat(parts)));
        response.on('error', reject);
      },
    );
    request.on('error', reject);
  });
}

function csvRows(header: string, rows: string[]): () => Readable {
  return () => Readable.from([Buffer.from(`${header}\n${rows.join('\n')}\n`)]);
}

describe('IngestJobClient against the local org', function () {
  this.timeout(120_000);
  let home: string;
  let savedHome: string | undefined;
  let org: LocalOrg;
  let connection: Connection;
  let client: IngestJobClient;
  let events: BulkRequestEvent[];

  before(async () => {
    savedHome = process.env.HOME;
    home = await mkdtemp(join(tmpdir(), 'bulk-local-org-'));
    process.env.HOME = home;
    org = await startLocalOrg();
    const { username } = await registerLocalOrg(org, { alias: 'bulk-client-test' });
    connection = await Connection.create({ authInfo: await AuthInfo.create({ username }) });
    connection.setApiVersion(API_VERSION);
  });

  after(async () => {
    await org?.stop();
    StateAggregator.clearInstance();
    process.env.HOME = savedHome;
    await rm(home, { recursive: true, force: true });
  });

  beforeEach(() => {
    org.faults.clear();
    client = new IngestJobClient(connection, { retry: { attempts: 6, baseDelayMs: 5, maxDelayMs: 50 } });
    events = [];
    client.on('request', (event: BulkRequestEvent) => events.push(event));
  });

  /**
   * One chunk the way the engine drives it: an interrupted upload aborts its job and starts the
   * chunk again in a new one (never closing a partial upload).
   */
  async function load(request: CreateJobRequest, openBody: () => Readable, folder: string): Promise<Loaded> {
    const jobIds: string[] = [];
    let info: IngestJobInfo | undefined;
    for (let attempt = 0; attempt < 10 && !info; attempt++) {
      // eslint-disable-next-line no-await-in-loop
      const job = await client.create(request);
      jobIds.push(job.id);
      try {
        // eslint-disable-next-line no-await-in-loop
        await client.upload(job.id, openBody);
      } catch (error) {
        if (!(error instanceof UploadInterruptedError)) throw error;
        // eslint-disable-next-line no-await-in-loop
        await client.abort(job.id);
        continue;
      }
      // eslint-disable-next-line no-await-in-loop
      await client.close(job.id);
      // eslint-disable-next-line no-await-in-loop
      info = await client.poll(job.id, POLL);
    }
    if (!info) throw new Error('the chunk never loaded');
    const files = {
      successful: join(folder, `${info.id}-success.csv`),
      failed: join(folder, `${info.id}-failed.csv`),
      unprocessed: join(folder, `${info.id}-unprocessed.csv`),
    };
    const counts = {
      successful: (await client.saveResults(info.id, 'successful', files.successful)).records,
      failed: (await client.saveResults(info.id, 'failed', files.failed)).records,
      unprocessed: (await client.saveResults(info.id, 'unprocessed', files.unprocessed)).records,
    };
    await client.delete(info.id);
    return { info, jobIds, counts, files };
  }

  it('runs every operation through its lifecycle, in 7 API calls per job plus polls', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'bulk-results-'));
    try {
      const before = org.store.count('Account');

      // insert: two good rows, one without the required Name
      const insert = await load(
        { object: 'Account', operation: 'insert' },
        csvRows('Name,Legacy_Id__c', ['"Acme, Inc.",L-1', '"Globex\nEast",L-2', ',L-3']),
        folder,
      );
      expect(insert.info.state).to.equal('JobComplete');
      expect(insert.counts).to.deep.equal({ successful: 2, failed: 1, unprocessed: 0 });
      expect(insert.info.numberRecordsProcessed).to.equal(3);
      expect(insert.info.numberRecordsFailed).to.equal(1);
      expect(org.store.count('Account')).to.equal(before + 2);
      const failedText = await readFile(insert.files.failed, 'utf8');
      expect(failedText).to.match(/^"sf__Id","sf__Error",Name,Legacy_Id__c\n/);
      expect(failedText).to.contain('REQUIRED_FIELD_MISSING');

      // 7 calls: create, upload, close, polls, 3 results, delete
      const methods = events.map(
        (e) =>
          `${e.method} ${e.path
            .split('/')
            .slice(6)
            .map((p, i) => (i === 0 ? ':id' : p))
            .join('/')}`,
      );
      const pollCount = methods.filter((m) => m === 'GET :id').length;
      expect(pollCount).to.be.greaterThan(0);
      expect(events).to.have.length(7 + pollCount);
      expect(methods.filter((m) => m !== 'GET :id')).to.deep.equal([
        'POST ',
        'PUT :id/batches',
        'PATCH :id',
        'GET :id/successfulResults',
        'GET :id/failedResults',
        'GET :id/unprocessedrecords',
        'DELETE :id',
      ]);
      expect(events.every((e) => e.status >= 200 && e.status < 300)).to.equal(true);

      // a record may span lines (a quoted line feed), so ids are matched where records start
      const ids = [...(await readFile(insert.files.successful, 'utf8')).matchAll(/^"(001\w{15})"/gm)].map((m) => m[1]);
      expect(ids).to.have.length(2);

      // update by Id
      const update = await load(
        { object: 'Account', operation: 'update' },
        csvRows(
          'Id,Description',
          ids.map((id) => `${id},updated`),
        ),
        folder,
      );
      expect(update.counts).to.deep.equal({ successful: 2, failed: 0, unprocessed: 0 });
      expect(org.store.records('Account').filter((r) => r.Description === 'updated')).to.have.length(2);

      // upsert on the external id: one existing, one new
      const upsert = await load(
        {
          object: 'Account',
          operation: 'upsert',
          externalIdFieldName: 'Legacy_Id__c',
          columnDelimiter: 'SEMICOLON',
          lineEnding: 'CRLF',
        },
        () => Readable.from([Buffer.from('Name;Legacy_Id__c\r\nAcme Renamed;L-1\r\nInitech;L-9\r\n')]),
        folder,
      );
      expect(upsert.counts).to.deep.equal({ successful: 2, failed: 0, unprocessed: 0 });
      const upserted = await readFile(upsert.files.successful, 'utf8');
      expect(upserted).to.contain('"true"');
      expect(upserted).to.contain('"false"');
      expect(org.store.count('Account')).to.equal(before + 3);

      // delete, then hardDelete
      const deleted = await load({ object: 'Account', operation: 'delete' }, csvRows('Id', [ids[0]]), folder);
      expect(deleted.counts.successful).to.equal(1);
      const hardDeleted = await load({ object: 'Account', operation: 'hardDelete' }, csvRows('Id', [ids[1]]), folder);
      expect(hardDeleted.counts.successful).to.equal(1);
      expect(org.store.count('Account')).to.equal(before + 1);
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  it('saves result files byte for byte as the org sends them', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'bulk-results-'));
    try {
      const job = await client.create({ object: 'Contact', operation: 'insert' });
      await client.upload(
        job.id,
        csvRows('LastName,Description', ['Smith,"two\nlines"', '"Jones ""JJ""",plain', ',no name']),
      );
      await client.close(job.id);
      await client.poll(job.id, POLL);
      for (const [kind, segment] of [
        ['successful', 'successfulResults'],
        ['failed', 'failedResults'],
        ['unprocessed', 'unprocessedrecords'],
      ] as const) {
        const file = join(folder, `${kind}.csv`);
        // eslint-disable-next-line no-await-in-loop
        const saved = await client.saveResults(job.id, kind, file);
        // eslint-disable-next-line no-await-in-loop
        const raw = await fetchRaw(connection, `/services/data/v${API_VERSION}/jobs/ingest/${job.id}/${segment}`);
        // eslint-disable-next-line no-await-in-loop
        expect((await readFile(file)).equals(raw), kind).to.equal(true);
        expect(saved.bytes).to.equal(raw.length);
      }
      expect((await client.saveResults(job.id, 'successful', join(folder, 'again.csv'))).records).to.equal(2);
      expect((await client.saveResults(job.id, 'failed', join(folder, 'again-failed.csv'))).records).to.equal(1);
      await client.delete(job.id);
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  async function loadManyUnder(
    faults: FaultSettings,
    chunks: number,
    rowsPerChunk: number,
  ): Promise<{ jobs: number; before: number }> {
    const folder = await mkdtemp(join(tmpdir(), 'bulk-faults-'));
    const before = org.store.count('Lead');
    org.faults.set(faults);
    let jobs = 0;
    try {
      for (let chunk = 0; chunk < chunks; chunk++) {
        const rows = Array.from(
          { length: rowsPerChunk },
          (_, i) => `Lead ${chunk}-${i},Company ${chunk},F-${faults.seed ?? 0}-${chunk}-${i}`,
        );
        // eslint-disable-next-line no-await-in-loop
        const loaded = await load(
          { object: 'Lead', operation: 'insert' },
          csvRows('LastName,Company,Legacy_Id__c', rows),
          folder,
        );
        jobs += loaded.jobIds.length;
        expect(loaded.info.state).to.equal('JobComplete');
        expect(loaded.counts.successful).to.equal(rowsPerChunk);
      }
    } finally {
      org.faults.clear();
      await rm(folder, { recursive: true, force: true });
    }
    return { jobs, before };
  }

  it('survives 20% of requests failing with 500/503 without losing or duplicating a record', async () => {
    const { before } = await loadManyUnder({ seed: 7, serverErrorRate: 0.2 }, 6, 40);
    expect(org.store.count('Lead')).to.equal(before + 6 * 40);
    expect(events.filter((e) => e.status >= 500).length).to.be.greaterThan(0);
  });

  it('backs off and retries requests refused for ConcurrentPerOrgLongTxn, and warns once', async () => {
    // Waits for this limit are seconds long: recorded here, not slept.
    const retries: BulkRetryEvent[] = [];
    client = new IngestJobClient(connection, {
      retry: { attempts: 8, baseDelayMs: 5, maxDelayMs: 50 },
      sleep: async (): Promise<void> => new Promise((resolve) => setImmediate(resolve)),
    });
    client.on('request', (event: BulkRequestEvent) => events.push(event));
    client.on('retry', (event: BulkRetryEvent) => retries.push(event));
    const warnings: string[] = [];
    const lifecycle = Lifecycle.getInstance();
    const listenersBefore = lifecycle.getListeners('warning');
    lifecycle.onWarning((warning) => {
      warnings.push(warning);
      return Promise.resolve();
    });
    try {
      const { before } = await loadManyUnder({ seed: 11, concurrentLimitRate: 0.25 }, 4, 20);
      expect(org.store.count('Lead')).to.equal(before + 4 * 20);
    } finally {
      lifecycle.removeAllListeners('warning');
      for (const listener of listenersBefore) lifecycle.onWarning(listener as (warning: string) => Promise<void>);
    }
    expect(org.stats().byRoute['concurrent limit']).to.be.greaterThan(0);
    const limitRetries = retries.filter((r) => r.reason === '403 REQUEST_LIMIT_EXCEEDED');
    expect(limitRetries.length).to.be.greaterThan(0);
    // at least half of the 5 s first step, whatever the policy's base (5 ms here)
    expect(Math.min(...limitRetries.map((r) => r.delayMs))).to.be.at.least(2500);
    expect(warnings).to.have.length(1);
    expect(warnings[0]).to.contain('ConcurrentPerOrgLongTxn Limit exceeded.');
  });

  it('stops at once, without retrying, when the org answers TotalRequests Limit exceeded', async () => {
    const retries: BulkRetryEvent[] = [];
    client.on('retry', (event: BulkRetryEvent) => retries.push(event));
    org.faults.set({ apiLimitExhausted: true });
    let error: unknown;
    try {
      error = await client.create({ object: 'Lead', operation: 'insert' }).catch((e: unknown) => e);
    } finally {
      org.faults.clear();
    }
    expect(error).to.be.instanceOf(BulkApiError);
    expect((error as BulkApiError).errorCode).to.equal('REQUEST_LIMIT_EXCEEDED');
    expect((error as BulkApiError).actions?.join(' ')).to.contain('sf org list limits');
    expect(retries).to.deep.equal([]);
    expect(events.map((e) => e.status)).to.deep.equal([403]);
  });

  it('survives dropped connections and dropped uploads: a cut upload aborts its job and the chunk goes again', async () => {
    const interrupted: string[] = [];
    const { jobs, before } = await loadManyUnder({ seed: 3, dropUploadRate: 0.4, dropConnectionRate: 0.05 }, 6, 30);
    interrupted.push(...events.filter((e) => e.method === 'PUT' && e.status === 0).map((e) => e.path));
    expect(interrupted.length).to.be.greaterThan(0);
    expect(jobs).to.be.greaterThan(6);
    expect(org.store.count('Lead')).to.equal(before + 6 * 30);
  });

  it('refreshes an expiring session through @salesforce/core', async () => {
    const refreshes: unknown[] = [];
    client.on('refresh', (event) => refreshes.push(event));
    const tokenRequestsBefore = org.stats().byRoute['POST oauth2/token'] ?? 0;
    const { before } = await loadManyUnder({ sessionExpiry: { afterRequests: 4 } }, 3, 10);
    expect(org.store.count('Lead')).to.equal(before + 30);
    expect((org.stats().byRoute['POST oauth2/token'] ?? 0) - tokenRequestsBefore).to.be.greaterThan(0);
    expect(events.some((e) => e.status === 401)).to.equal(true);
    expect(refreshes.length).to.be.greaterThan(0);
  });

  it('sends an upload refused with 401 again from the source after core refreshed the session', async () => {
    const job = await client.create({ object: 'Account', operation: 'insert' });
    // the current token has served more than three requests already: the next one is refused; a
    // refresh costs the new token one request (core's ScratchOrgInfo probe), the GET another
    org.faults.set({ sessionExpiry: { afterRequests: 3 } });
    let opened = 0;
    const body = csvRows('Name', ['Refreshed One', 'Refreshed Two']);
    try {
      const { bytes } = await client.upload(job.id, () => {
        opened++;
        return body();
      });
      expect(bytes).to.equal(Buffer.byteLength('Name\nRefreshed One\nRefreshed Two\n'));
    } finally {
      org.faults.clear();
    }
    expect(opened).to.equal(2);
    expect(events.filter((e) => e.method === 'PUT').map((e) => e.status)).to.deep.equal([401, 201]);
    await client.close(job.id);
    const info = await client.poll(job.id, POLL);
    expect(info.numberRecordsProcessed).to.equal(2);
    expect(org.store.records('Account').filter((r) => String(r.Name).startsWith('Refreshed '))).to.have.length(2);
  });

  it('fails with INVALID_SESSION_ID, instead of refreshing forever, when the org keeps refusing fresh sessions', async () => {
    const job = await client.create({ object: 'Account', operation: 'insert' });
    org.faults.set({ sessionExpiry: { afterRequests: 1 } });
    try {
      const error = (await client.upload(job.id, csvRows('Name', ['Never'])).catch((e: unknown) => e)) as BulkApiError;
      expect(error).to.be.instanceOf(BulkApiError);
      expect(error.errorCode).to.equal('INVALID_SESSION_ID');
      expect(error.actions?.join(' ')).to.contain('sf org login');
      const jsonError = (await client.info(job.id).catch((e: unknown) => e)) as BulkApiError;
      expect(jsonError.errorCode).to.equal('INVALID_SESSION_ID');
    } finally {
      org.faults.clear();
    }
    await client.abort(job.id);
  });

  it('lists the jobs of the org, and aborts and deletes them', async () => {
    const created = [
      await client.create({ object: 'Account', operation: 'insert' }),
      await client.create({ object: 'Contact', operation: 'upsert', externalIdFieldName: 'Legacy_Id__c' }),
    ];
    const listed = new Map<string, IngestJobInfo>();
    for await (const info of client.list()) listed.set(info.id, info);
    for (const job of created) {
      expect(listed.get(job.id)?.state).to.equal('Open');
      // eslint-disable-next-line no-await-in-loop
      expect((await client.abort(job.id)).state).to.equal('Aborted');
      // eslint-disable-next-line no-await-in-loop
      await client.delete(job.id);
      // eslint-disable-next-line no-await-in-loop
      const gone = (await client.info(job.id).catch((e: unknown) => e)) as BulkApiError;
      expect(gone.errorCode).to.equal('NOT_FOUND');
    }
  });

  it("reads the org's answer to a second PUT as an interrupted upload, and the job can still be aborted", async () => {
    const job = await client.create({ object: 'Account', operation: 'insert' });
    await client.upload(job.id, csvRows('Name', ['Once']));
    const error = (await client.upload(job.id, csvRows('Name', ['Twice'])).catch((e: unknown) => e)) as Error;
    expect(error).to.be.instanceOf(UploadInterruptedError);
    expect(error.message).to.contain(`Found multipe contents for job: <${job.id.slice(0, 15)}>`);
    // what the engine then does (chunkLifecycle's abandonJob): abort, never close
    expect((await client.abort(job.id)).state).to.equal('Aborted');
    expect((await client.info(job.id)).numberRecordsProcessed).to.equal(0);
  });

  it('names an unknown object as such, with the commands to check the manifest', async () => {
    const error = (await client
      .create({ object: 'Nope__c', operation: 'insert' })
      .catch((e: unknown) => e)) as BulkApiError;
    expect(error).to.be.instanceOf(BulkApiError);
    expect(error).to.include({ errorCode: 'INVALIDJOB', status: 400, attempts: 1 });
    expect(error.message).to.contain('InvalidJob : Unable to find object: Nope__c');
    expect(error.actions?.join('\n')).to.contain('sf migrate validate');
  });

  it('polls with one status call per poll on a slow job, backing off to the maximum', async () => {
    const slow = await startLocalOrg({ recordsPerSecond: 4000 });
    try {
      const authInfo = await AuthInfo.create({
        accessTokenOptions: {
          accessToken: slow.accessToken,
          instanceUrl: slow.instanceUrl,
          loginUrl: slow.instanceUrl,
          username: slow.username,
          orgId: slow.orgId,
          isDevHub: false,
          namespacePrefix: '',
        },
      });
      const slowConnection = await Connection.create({ authInfo });
      const delays: number[] = [];
      const slowClient = new IngestJobClient(slowConnection, {
        apiVersion: API_VERSION,
        sleep: async (ms): Promise<void> => {
          delays.push(ms);
          await new Promise((resolve) => setTimeout(resolve, ms));
        },
      });
      const gets: BulkRequestEvent[] = [];
      slowClient.on('request', (e: BulkRequestEvent) => e.method === 'GET' && gets.push(e));
      const job = await slowClient.create({ object: 'Account', operation: 'insert' });
      const rows = Array.from({ length: 3000 }, (_, i) => `Slow ${i}`);
      await slowClient.upload(job.id, csvRows('Name', rows));
      await slowClient.close(job.id);
      const states: string[] = [];
      const info = await slowClient.poll(job.id, { initialMs: 50, maxMs: 200, onPoll: (i) => states.push(i.state) });
      expect(info.state).to.equal('JobComplete');
      expect(info.numberRecordsProcessed).to.equal(3000);
      expect(gets).to.have.length(states.length);
      expect(delays).to.have.length(states.length);
      const growing = [50, 75, 113, 170];
      expect(delays.slice(0, growing.length)).to.deep.equal(growing.slice(0, delays.length));
      expect(delays.slice(growing.length).every((ms) => ms === 200)).to.equal(true);
      expect(states.length).to.be.greaterThan(1);
      expect(states.slice(0, -1).every((s) => s === 'UploadComplete' || s === 'InProgress')).to.equal(true);
    } finally {
      await slow.stop();
    }
  });
});
