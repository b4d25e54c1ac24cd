import { expect } from 'chai';
import { connectedOrg, type ConnectedOrg } from './connectedOrg.js';

const V = '/services/data/v62.0';

async function text(response: Response): Promise<string> {
  return Buffer.from(await response.arrayBuffer()).toString('utf8');
}

/** Runs one job through jsforce's bulk2 client and returns the job id once it is JobComplete. */
async function runJob(
  t: ConnectedOrg,
  options: {
    object: string;
    operation: 'insert' | 'update' | 'upsert' | 'delete' | 'hardDelete';
    externalIdFieldName?: string;
  },
  csv: string,
): Promise<string> {
  const job = t.conn.bulk2.createJob(options);
  await job.open();
  await job.uploadData(csv);
  await job.close();
  await job.poll(50, 20_000);
  return job.id;
}

describe('local org: Bulk API 2.0 ingest through @salesforce/core Connection (jsforce bulk2)', () => {
  let t: ConnectedOrg;
  before(async () => {
    t = await connectedOrg();
  });
  after(async () => t.close());

  it('inserts, and serves the three result files byte for byte', async () => {
    const csv = 'Name,Industry,NumberOfEmployees,Legacy_Id__c\nAcme,Banking,10,A1\n"Big, ""Co""",Retail,x,A2\n';
    const id = await runJob(t, { object: 'Account', operation: 'insert' }, csv);
    const acme = t.org.store.records('Account').find((r) => r.Name === 'Acme')!;
    expect(acme.Id).to.match(/^001[A-Za-z0-9]{15}$/);
    expect(acme.NumberOfEmployees).to.equal(10);
    expect(await text(await t.raw('GET', `${V}/jobs/ingest/${id}/successfulResults`))).to.equal(
      `"sf__Id","sf__Created",Name,Industry,NumberOfEmployees,Legacy_Id__c\n"${String(acme.Id)}","true","Acme","Banking","10","A1"\n`,
    );
    expect(await text(await t.raw('GET', `${V}/jobs/ingest/${id}/failedResults`))).to.equal(
      '"sf__Id","sf__Error",Name,Industry,NumberOfEmployees,Legacy_Id__c\n' +
        '"","INVALID_FIELD:Failed to deserialize field at col 2. Due to, \'x\' is not a valid value for the type xsd:int:NumberOfEmployees --","Big, ""Co""","Retail","x","A2"\n',
    );
    expect(await text(await t.raw('GET', `${V}/jobs/ingest/${id}/unprocessedrecords`))).to.equal(
      'Name,Industry,NumberOfEmployees,Legacy_Id__c\n',
    );
    const info = (await (await t.raw('GET', `${V}/jobs/ingest/${id}`)).json()) as Record<string, unknown>;
    expect(Object.keys(info)).to.deep.equal([
      'id',
      'operation',
      'object',
      'createdById',
      'createdDate',
      'systemModstamp',
      'state',
      'concurrencyMode',
      'contentType',
      'apiVersion',
      'jobType',
      'lineEnding',
      'columnDelimiter',
      'numberRecordsProcessed',
      'numberRecordsFailed',
      'retries',
      'totalProcessingTime',
      'apiActiveProcessingTime',
      'apexProcessingTime',
    ]);
    expect(info).to.include({
      state: 'JobComplete',
      numberRecordsProcessed: 2,
      numberRecordsFailed: 1,
      // the Connection asks for the org's newest version (GET /services/data): Summer '26
      apiVersion: 67,
      jobType: 'V2Ingest',
    });
    expect(info.createdDate).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$/);
  });

  it('upserts on an external id: created vs updated', async () => {
    const id = await runJob(
      t,
      { object: 'Account', operation: 'upsert', externalIdFieldName: 'Legacy_Id__c' },
      'Legacy_Id__c,Name\nA1,Acme Renamed\nA9,Newco\n',
    );
    const body = await text(await t.raw('GET', `${V}/jobs/ingest/${id}/successfulResults`));
    const acme = t.org.store.records('Account').find((r) => r.Legacy_Id__c === 'A1')!;
    const newco = t.org.store.records('Account').find((r) => r.Legacy_Id__c === 'A9')!;
    expect(acme.Name).to.equal('Acme Renamed');
    expect(body).to.equal(
      `"sf__Id","sf__Created",Legacy_Id__c,Name\n"${String(acme.Id)}","false","A1","Acme Renamed"\n"${String(newco.Id)}","true","A9","Newco"\n`,
    );
    const info = (await (await t.raw('GET', `${V}/jobs/ingest/${id}`)).json()) as Record<string, unknown>;
    expect(Object.keys(info).indexOf('externalIdFieldName')).to.equal(Object.keys(info).indexOf('state') + 1);
  });

  it('updates by Id and resolves relationship columns through the parent external id', async () => {
    const acme = t.org.store.records('Account').find((r) => r.Legacy_Id__c === 'A1')!;
    const contacts = await runJob(
      t,
      { object: 'Contact', operation: 'insert' },
      'LastName,Account.Legacy_Id__c,Email\nDoe,A1,doe@example.com\n',
    );
    expect(contacts).to.match(/^750/);
    const contact = t.org.store.records('Contact').find((r) => r.LastName === 'Doe')!;
    expect(contact.AccountId).to.equal(acme.Id);
    await runJob(
      t,
      { object: 'Contact', operation: 'update' },
      `Id,FirstName,Email\n${String(contact.Id).slice(0, 15)},Jane,#N/A\n`,
    );
    const updated = t.org.store.records('Contact').find((r) => r.Id === contact.Id)!;
    expect(updated).to.include({ FirstName: 'Jane', Name: 'Jane Doe', Email: null });
  });

  it('deletes and hard-deletes by Id', async () => {
    const [a, b] = t.org.store.records('Account');
    const del = await runJob(t, { object: 'Account', operation: 'delete' }, `Id\n${String(a.Id)}\n`);
    const hard = await runJob(t, { object: 'Account', operation: 'hardDelete' }, `Id\n${String(b.Id)}\n`);
    expect(await text(await t.raw('GET', `${V}/jobs/ingest/${del}/successfulResults`))).to.equal(
      `"sf__Id","sf__Created",Id\n"${String(a.Id)}","false","${String(a.Id)}"\n`,
    );
    expect(await text(await t.raw('GET', `${V}/jobs/ingest/${hard}/successfulResults`))).to.equal(
      `"sf__Id","sf__Created",Id\n"${String(b.Id)}","false","${String(b.Id)}"\n`,
    );
    expect(t.org.store.records('Account').map((r) => r.Id)).to.not.include.members([a.Id, b.Id]);
    const again = await runJob(t, { object: 'Account', operation: 'delete' }, `Id\n${String(a.Id)}\n`);
    expect(await text(await t.raw('GET', `${V}/jobs/ingest/${again}/failedResults`))).to.equal(
      `"sf__Id","sf__Error",Id\n"${String(a.Id)}","ENTITY_IS_DELETED:entity is deleted:--","${String(a.Id)}"\n`,
    );
  });

  it('honours the column delimiter and line ending of the job in its result files', async () => {
    const job = t.conn.bulk2.createJob({
      object: 'Account',
      operation: 'insert',
      columnDelimiter: 'PIPE',
      lineEnding: 'CRLF',
    });
    await job.open();
    await job.uploadData('Name|Legacy_Id__c\r\nPiped, Inc|P1\r\n');
    await job.close();
    await job.poll(50, 20_000);
    const piped = t.org.store.records('Account').find((r) => r.Legacy_Id__c === 'P1')!;
    expect(piped.Name).to.equal('Piped, Inc');
    expect(await text(await t.raw('GET', `${V}/jobs/ingest/${job.id}/successfulResults`))).to.equal(
      `"sf__Id"|"sf__Created"|Name|Legacy_Id__c\r\n"${String(piped.Id)}"|"true"|"Piped, Inc"|"P1"\r\n`,
    );
  });

  it('tolerates a trailing slash and // in paths, as the sf CLI sends them', async () => {
    const response = await t.raw('GET', '//services/data/v62.0//jobs/ingest/');
    expect(response.status).to.equal(200);
    const list = (await response.json()) as { done: boolean; records: Array<{ id: string }> };
    expect(list.done).to.equal(true);
    expect(list.records).to.be.an('array');
    const created = (await (
      await t.raw('POST', '//services/data/v62.0/jobs/ingest/', '{"object":"Account","operation":"insert"}', {
        'Content-Type': 'application/json',
      })
    ).json()) as { id: string };
    expect((await t.raw('GET', `//services/data/v62.0/jobs/ingest/${created.id}/`)).status).to.equal(200);
  });
});

describe('local org: ingest job state machine and errors', () => {
  let t: ConnectedOrg;
  before(async () => {
    t = await connectedOrg({ hardDeleteEnabled: false });
  });
  after(async () => t.close());

  const create = async (body: Record<string, unknown>): Promise<Response> =>
    t.raw('POST', `${V}/jobs/ingest`, JSON.stringify(body), { 'Content-Type': 'application/json; charset=utf-8' });

  it('answers create with the recorded field order, contentUrl only while Open', async () => {
    const response = await create({ object: 'account', operation: 'upsert', externalIdFieldName: 'legacy_id__c' });
    const job = (await response.json()) as Record<string, unknown>;
    expect(Object.keys(job)).to.deep.equal([
      'id',
      'operation',
      'object',
      'createdById',
      'createdDate',
      'systemModstamp',
      'state',
      'externalIdFieldName',
      'concurrencyMode',
      'contentType',
      'apiVersion',
      'contentUrl',
      'lineEnding',
      'columnDelimiter',
    ]);
    expect(job).to.include({
      object: 'Account',
      externalIdFieldName: 'Legacy_Id__c',
      state: 'Open',
      contentUrl: `services/data/v62.0/jobs/ingest/${String(job.id)}/batches`,
    });
    expect(job.id).to.match(/^750[A-Za-z0-9]{15}$/);
    const aborted = (await (
      await t.raw('PATCH', `${V}/jobs/ingest/${String(job.id)}`, '{"state":"Aborted"}', {
        'Content-Type': 'application/json',
      })
    ).json()) as Record<string, unknown>;
    expect(aborted.state).to.equal('Aborted');
    expect(aborted).to.not.have.property('contentUrl');
  });

  it('answers the real errors: NOT_FOUND, INVALIDENTITY, FEATURENOTENABLED, INVALIDJOBSTATE, a second upload', async () => {
    const missing = await t.raw('GET', `${V}/jobs/ingest/750000000000000AAA`);
    expect(missing.status).to.equal(404);
    expect(await missing.text()).to.equal(
      '[{"errorCode":"NOT_FOUND","message":"The requested resource does not exist"}]',
    );

    // an object the org has but Bulk API does not take (the wording of the real CaseStatus answer)
    const entity = await create({ object: 'Organization', operation: 'insert' });
    expect(entity.status).to.equal(400);
    expect(await entity.json()).to.deep.equal([
      { errorCode: 'INVALIDENTITY', message: "Entity 'Organization' is not supported by the Bulk API." },
    ]);

    // an object the org does not have at all (real capture, reference §1)
    const unknown = await create({ object: 'Nope__c', operation: 'insert' });
    expect(unknown.status).to.equal(400);
    expect(await unknown.json()).to.deep.equal([
      { errorCode: 'INVALIDJOB', message: 'InvalidJob : Unable to find object: Nope__c' },
    ]);

    const hard = await create({ object: 'Account', operation: 'hardDelete' });
    expect(hard.status).to.equal(400);
    expect(((await hard.json()) as Array<{ errorCode: string }>)[0].errorCode).to.equal('FEATURENOTENABLED');

    const job = (await (await create({ object: 'Account', operation: 'insert' })).json()) as { id: string };
    const put = (): Promise<Response> =>
      t.raw('PUT', `${V}/jobs/ingest/${job.id}/batches`, 'Name\nX\n', { 'Content-Type': 'text/csv' });
    expect((await put()).status).to.equal(201);
    const second = await put();
    expect(second.status).to.equal(400);
    // a real org's answer (v47 capture, reference §1): its typo, and the id cut to 15 characters
    expect(await second.json()).to.deep.equal([
      {
        errorCode: 'BULK_API_ERROR',
        message:
          `Found multipe contents for job: <${job.id.slice(0, 15)}>, please 'Close' / 'Abort' / 'Delete' the ` +
          "current Job then create a new Job and make sure you only do 'PUT' once on a given Job.",
      },
    ]);

    const deleteOpen = await t.raw('DELETE', `${V}/jobs/ingest/${job.id}`);
    expect(deleteOpen.status).to.equal(400);
    await t.raw('PATCH', `${V}/jobs/ingest/${job.id}`, '{"state":"UploadComplete"}', {
      'Content-Type': 'application/json',
    });
    const job2 = t.conn.bulk2.job('ingest', { id: job.id });
    await job2.poll(50, 20_000);
    const illegal = await t.raw('PATCH', `${V}/jobs/ingest/${job.id}`, '{"state":"UploadComplete"}', {
      'Content-Type': 'application/json',
    });
    expect(illegal.status).to.equal(400);
    expect(((await illegal.json()) as Array<{ errorCode: string }>)[0].errorCode).to.equal('INVALIDJOBSTATE');
    const deleted = await t.raw('DELETE', `${V}/jobs/ingest/${job.id}`);
    expect(deleted.status).to.equal(204);
    expect((await t.raw('GET', `${V}/jobs/ingest/${job.id}`)).status).to.equal(404);
  });

  it('completes a job whose upload is empty with nothing processed', async () => {
    const job = (await (await create({ object: 'Account', operation: 'insert' })).json()) as { id: string };
    expect(
      (await t.raw('PUT', `${V}/jobs/ingest/${job.id}/batches`, '', { 'Content-Type': 'text/csv' })).status,
    ).to.equal(201);
    await t.raw('PATCH', `${V}/jobs/ingest/${job.id}`, '{"state":"UploadComplete"}', {
      'Content-Type': 'application/json',
    });
    await t.conn.bulk2.job('ingest', { id: job.id }).poll(50, 20_000);
    const info = (await (await t.raw('GET', `${V}/jobs/ingest/${job.id}`)).json()) as Record<string, unknown>;
    expect(info).to.include({ state: 'JobComplete', numberRecordsProcessed: 0 });
  });

  it('accepts a chunked upload (no Content-Length) streamed in pieces', async () => {
    const job = (await (await create({ object: 'Account', operation: 'insert' })).json()) as { id: string };
    const rows = Array.from({ length: 2000 }, (_, i) => `Chunked ${i},C${i}\n`);
    const body = new ReadableStream<Uint8Array>({
      start(controller): void {
        controller.enqueue(Buffer.from('Name,Legacy_Id__c\n'));
        for (let i = 0; i < rows.length; i += 100) controller.enqueue(Buffer.from(rows.slice(i, i + 100).join('')));
        controller.close();
      },
    });
    const response = await fetch(`${t.org.instanceUrl}${V}/jobs/ingest/${job.id}/batches`, {
      method: 'PUT',
      body,
      duplex: 'half',
      headers: { Authorization: `Bearer ${t.conn.accessToken!}`, 'Content-Type': 'text/csv' },
    } as RequestInit);
    expect(response.status).to.equal(201);
    await t.raw('PATCH', `${V}/jobs/ingest/${job.id}`, '{"state":"UploadComplete"}', {
      'Content-Type': 'application/json',
    });
    await t.conn.bulk2.job('ingest', { id: job.id }).poll(50, 20_000);
    expect(t.org.store.records('Account').filter((r) => String(r.Name).startsWith('Chunked '))).to.have.length(2000);
  });

  it('refuses an upload over the size limit', async () => {
    const small = await connectedOrgLimit();
    try {
      const job = (await (
        await small.raw('POST', `${V}/jobs/ingest`, '{"object":"Account","operation":"insert"}', {
          'Content-Type': 'application/json',
        })
      ).json()) as { id: string };
      const response = await small.raw('PUT', `${V}/jobs/ingest/${job.id}/batches`, `Name\n${'x'.repeat(2000)}\n`, {
        'Content-Type': 'text/csv',
      });
      expect(response.status).to.equal(400);
      expect(((await response.json()) as Array<{ errorCode: string }>)[0].errorCode).to.equal('EXCEEDED_QUOTA');
      // the job stays Open and takes a smaller upload
      expect(
        (await small.raw('PUT', `${V}/jobs/ingest/${job.id}/batches`, 'Name\nok\n', { 'Content-Type': 'text/csv' }))
          .status,
      ).to.equal(201);
    } finally {
      await small.close();
    }
  });

  it('pages the job list 1000 at a time with nextRecordsUrl', async () => {
    const many = await connectedOrg();
    try {
      await Promise.all(
        Array.from({ length: 1005 }, () =>
          many.raw('POST', `${V}/jobs/ingest`, '{"object":"Account","operation":"insert"}', {
            'Content-Type': 'application/json',
          }),
        ),
      );
      const first = (await (await many.raw('GET', `${V}/jobs/ingest`)).json()) as {
        done: boolean;
        records: unknown[];
        nextRecordsUrl: string;
      };
      expect(first.done).to.equal(false);
      expect(first.records).to.have.length(1000);
      expect(first.nextRecordsUrl).to.match(/^\/services\/data\/v62\.0\/jobs\/ingest\?queryLocator=/);
      const second = (await (await many.raw('GET', first.nextRecordsUrl)).json()) as {
        done: boolean;
        records: unknown[];
        nextRecordsUrl: string | null;
      };
      expect(second).to.include({ done: true, nextRecordsUrl: null });
      expect(second.records).to.have.length(5);
    } finally {
      await many.close();
    }
  });

  async function connectedOrgLimit(): Promise<ConnectedOrg> {
    return connectedOrg({ maxUploadBytes: 1000 });
  }
});

describe('local org: an upload in flight', () => {
  let t: ConnectedOrg;
  before(async () => {
    t = await connectedOrg();
  });
  after(async () => t.close());

  it('cannot be closed, nor uploaded twice, until its body has arrived', async () => {
    const job = (await (
      await t.raw('POST', `${V}/jobs/ingest`, '{"object":"Account","operation":"insert"}', {
        'Content-Type': 'application/json',
      })
    ).json()) as { id: string };
    let push!: (chunk: string | null) => void;
    const body = new ReadableStream<Uint8Array>({
      start(controller): void {
        push = (chunk): void => (chunk === null ? controller.close() : controller.enqueue(Buffer.from(chunk)));
      },
    });
    const upload = fetch(`${t.org.instanceUrl}${V}/jobs/ingest/${job.id}/batches`, {
      method: 'PUT',
      body,
      duplex: 'half',
      headers: { Authorization: `Bearer ${t.conn.accessToken!}`, 'Content-Type': 'text/csv' },
    } as RequestInit);
    push('Name\nFirst half\n');
    await new Promise((resolve) => setTimeout(resolve, 100));
    const close = await t.raw('PATCH', `${V}/jobs/ingest/${job.id}`, '{"state":"UploadComplete"}', {
      'Content-Type': 'application/json',
    });
    expect(close.status).to.equal(400);
    expect(((await close.json()) as Array<{ errorCode: string }>)[0].errorCode).to.equal('INVALIDJOBSTATE');
    const second = await t.raw('PUT', `${V}/jobs/ingest/${job.id}/batches`, 'Name\nX\n', {
      'Content-Type': 'text/csv',
    });
    expect(second.status).to.equal(400);
    push('Second half\n');
    push(null);
    expect((await upload).status).to.equal(201);
    await t.raw('PATCH', `${V}/jobs/ingest/${job.id}`, '{"state":"UploadComplete"}', {
      'Content-Type': 'application/json',
    });
    await t.conn.bulk2.job('ingest', { id: job.id }).poll(50, 20_000);
    expect(t.org.store.records('Account').map((r) => r.Name)).to.have.members(['First half', 'Second half']);
  });
});

describe('local org: aborting a job while it processes', () => {
  let t: ConnectedOrg;
  before(async () => {
    t = await connectedOrg({ recordsPerSecond: 200 });
  });
  after(async () => t.close());

  it('stops applying rows; the rest of the upload is answered as unprocessed', async () => {
    const json = { 'Content-Type': 'application/json' };
    const job = (await (
      await t.raw('POST', `${V}/jobs/ingest`, '{"object":"Account","operation":"insert"}', json)
    ).json()) as { id: string };
    const rows = Array.from({ length: 100 }, (_, i) => `Slow ${i}\n`).join('');
    await t.raw('PUT', `${V}/jobs/ingest/${job.id}/batches`, `Name\n${rows}`, { 'Content-Type': 'text/csv' });
    await t.raw('PATCH', `${V}/jobs/ingest/${job.id}`, '{"state":"UploadComplete"}', json);
    let info: { state: string; numberRecordsProcessed: number };
    do {
      // eslint-disable-next-line no-await-in-loop
      info = (await (await t.raw('GET', `${V}/jobs/ingest/${job.id}`)).json()) as typeof info;
    } while (info.numberRecordsProcessed < 5);
    expect(info.state).to.equal('InProgress');
    const aborted = await t.raw('PATCH', `${V}/jobs/ingest/${job.id}`, '{"state":"Aborted"}', json);
    expect(((await aborted.json()) as { state: string }).state).to.equal('Aborted');
    // the job finishes its bookkeeping: processed + unprocessed = the upload
    let unprocessed: string[] = [];
    let processed = 0;
    for (let attempt = 0; attempt < 100; attempt++) {
      processed = // eslint-disable-next-line no-await-in-loop
        ((await (await t.raw('GET', `${V}/jobs/ingest/${job.id}`)).json()) as { numberRecordsProcessed: number })
          .numberRecordsProcessed;
      // eslint-disable-next-line no-await-in-loop
      unprocessed = (await (await t.raw('GET', `${V}/jobs/ingest/${job.id}/unprocessedrecords`)).text())
        .trim()
        .split('\n')
        .slice(1);
      if (processed + unprocessed.length === 100) break;
      // eslint-disable-next-line no-await-in-loop
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(processed).to.be.below(100);
    expect(processed + unprocessed.length).to.equal(100);
    expect(t.org.store.count('Account')).to.equal(processed);
    expect(unprocessed).to.include('"Slow 99"'); // (result rows come in no guaranteed order)
    const again = await t.raw('PATCH', `${V}/jobs/ingest/${job.id}`, '{"state":"Aborted"}', json);
    expect(again.status).to.equal(400);
  });
});
