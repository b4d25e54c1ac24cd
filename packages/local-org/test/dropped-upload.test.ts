import { once } from 'node:events';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import { startLocalOrg, type LocalOrg } from '../src/index.js';

const V = '/services/data/v62.0';

/*
 * An upload whose connection closes mid-body. No public capture shows what a real org does with the
 * half-received body of a PUT …/batches; an HTTP request whose body never completed is not a request,
 * so the local org keeps the job Open with no content, and a later PUT is accepted as its one upload.
 * (The plugin does not rely on that: after an interrupted upload it closes the job and opens a new one.)
 */
describe('local org: a dropped upload', () => {
  let org: LocalOrg | undefined;
  afterEach(async () => org?.stop());

  const call = (method: string, path: string, body?: string, contentType = 'application/json'): Promise<Response> =>
    fetch(`${org!.instanceUrl}${V}${path}`, {
      method,
      body,
      headers: { Authorization: `Bearer ${org!.accessToken}`, 'Content-Type': contentType },
    });

  /** Waits for something the org does asynchronously; the mocha timeout bounds the wait. */
  async function until(condition: () => boolean): Promise<void> {
    // eslint-disable-next-line no-await-in-loop
    while (!condition()) await sleep(5);
  }

  async function openJob(): Promise<string> {
    const created = await call('POST', '/jobs/ingest', JSON.stringify({ object: 'Account', operation: 'insert' }));
    return ((await created.json()) as { id: string }).id;
  }

  /** The org still answers, answered nothing with a 500 of its own, and the job is Open with no content. */
  async function expectJobOpenAndEmpty(jobId: string): Promise<void> {
    expect((await call('GET', '/limits')).status).to.equal(200);
    expect(org!.stats().internalErrors).to.equal(0);
    const info = (await (await call('GET', `/jobs/ingest/${jobId}`)).json()) as { state: string };
    expect(info.state).to.equal('Open');
    // The job takes an upload, and after it holds exactly that upload's rows: nothing of the dropped body.
    expect((await call('PUT', `/jobs/ingest/${jobId}/batches`, 'Name\nKept\n', 'text/csv')).status).to.equal(201);
    expect((await call('PATCH', `/jobs/ingest/${jobId}`, JSON.stringify({ state: 'UploadComplete' }))).status).to.equal(
      200
    );
    let state = '';
    while (state !== 'JobComplete' && state !== 'Failed') {
      // eslint-disable-next-line no-await-in-loop
      state = ((await (await call('GET', `/jobs/ingest/${jobId}`)).json()) as { state: string }).state;
    }
    expect(state).to.equal('JobComplete');
    expect(org!.store.records('Account').map((r) => r.Name)).to.deep.equal(['Kept']);
  }

  it('closed by the client mid-body', async () => {
    org = await startLocalOrg();
    const jobId = await openJob();
    const socket = connect(org.port, '127.0.0.1');
    await once(socket, 'connect');
    socket.write(
      `PUT ${V}/jobs/ingest/${jobId}/batches HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
        `Authorization: Bearer ${org.accessToken}\r\nContent-Type: text/csv\r\nContent-Length: 1000000\r\n\r\n` +
        'Name\nLost 1\nLost 2\n'
    );
    await until(() => org!.stats().byRoute['PUT jobs/ingest/:id/batches'] === 1);
    socket.destroy();
    await until(() => org!.stats().byRoute['aborted upload'] === 1);
    await expectJobOpenAndEmpty(jobId);
  });

  it('dropped by the org mid-body (dropUploadRate): the connection closes, with no answer', async () => {
    org = await startLocalOrg({ faults: { seed: 7, dropUploadRate: 1 } });
    const jobId = await openJob();
    // A megabyte arrives in many reads, so the drop lands while the body is still streaming in.
    const body = 'Name\n' + 'Lost\n'.repeat(200_000);
    const answer = await call('PUT', `/jobs/ingest/${jobId}/batches`, body, 'text/csv').then(
      (response) => `HTTP ${response.status}`,
      () => 'connection closed'
    );
    expect(answer).to.equal('connection closed');
    expect(org.stats().byRoute['dropped upload']).to.equal(1);
    org.faults.clear();
    await expectJobOpenAndEmpty(jobId);
  });

  it('a wrong org id in an identity URL is a 404, not an internal error', async () => {
    org = await startLocalOrg();
    const response = await fetch(`${org.instanceUrl}/id/00D000000000000AAA/${org.userId}`, {
      headers: { Authorization: `Bearer ${org.accessToken}` },
    });
    expect(response.status).to.equal(404);
    expect(await response.json()).to.deep.equal([
      { errorCode: 'NOT_FOUND', message: 'The requested resource does not exist' },
    ]);
    expect(org.stats().internalErrors).to.equal(0);
  });
});
