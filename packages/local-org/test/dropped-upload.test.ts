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

  /**
   * Waits for something the org does asynchronously. Bounded in polls (well inside the mocha timeout) so that
   * a failing test ends with its reason instead of polling on after mocha gave up on it.
   */
  async function until(condition: () => boolean, what: string): Promise<void> {
    for (let poll = 0; !condition(); poll++) {
      if (poll === 5000) throw new Error(`the org never showed: ${what}`);
      // eslint-disable-next-line no-await-in-loop
      await sleep(5);
    }
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
      200,
    );
    let state = '';
    while (state !== 'JobComplete' && state !== 'Failed') {
      // eslint-disable-next-line no-await-in-loop
      state = ((await (await call('GET', `/jobs/ingest/${jobId}`)).json()) as { state: string }).state;
    }
    expect(state).to.equal('JobComplete');
    expect(org!.store.records('Account').map((r) => r.Name)).to.deep.equal(['Kept']);
  }

  /** Sends a request whose body stops short of its Content-Length; closes the connection once the org routed it. */
  async function cutOff(method: string, path: string, contentType: string, partialBody: string): Promise<void> {
    const socket = connect(org!.port, '127.0.0.1');
    await once(socket, 'connect');
    const routed = org!.stats().requests;
    socket.write(
      `${method} ${V}${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${org!.accessToken}\r\n` +
        `Content-Type: ${contentType}\r\nContent-Length: 1000000\r\n\r\n${partialBody}`,
    );
    await until(() => org!.stats().requests > routed, `${method} ${path} routed`);
    socket.destroy();
  }

  it('closed by the client mid-body', async () => {
    org = await startLocalOrg();
    const jobId = await openJob();
    await cutOff('PUT', `/jobs/ingest/${jobId}/batches`, 'text/csv', 'Name\nLost 1\nLost 2\n');
    await until(() => org!.stats().byRoute['aborted upload'] === 1, 'the upload counted as aborted');
    await expectJobOpenAndEmpty(jobId);
  });

  it('a JSON body closed by the client mid-body is no internal error, and creates no job', async () => {
    org = await startLocalOrg();
    await cutOff('POST', '/jobs/ingest', 'application/json', '{"object":"Account",');
    await until(() => org!.stats().byRoute['aborted request'] === 1, 'the request counted as aborted');
    expect((await call('GET', '/limits')).status).to.equal(200);
    expect(org.stats().internalErrors).to.equal(0);
    expect(((await (await call('GET', '/jobs/ingest')).json()) as { records: unknown[] }).records).to.deep.equal([]);
  });

  it('dropped by the org mid-body (dropUploadRate): the connection closes, with no answer', async () => {
    org = await startLocalOrg({ faults: { seed: 7, dropUploadRate: 1 } });
    const jobId = await openJob();
    // A megabyte arrives in many reads, so the drop lands while the body is still streaming in.
    const body = 'Name\n' + 'Lost\n'.repeat(200_000);
    const answer = await call('PUT', `/jobs/ingest/${jobId}/batches`, body, 'text/csv').then(
      (response) => `HTTP ${response.status}`,
      () => 'connection closed',
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
