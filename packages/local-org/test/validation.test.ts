/* eslint-disable camelcase -- Salesforce custom field names (Amount__c) */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { startLocalOrg, type LocalOrg } from '../src/index.js';

const V = '/services/data/v62.0';
const schemaDir = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'schema');

type JobInfo = {
  id: string;
  state: string;
  numberRecordsProcessed: number;
  numberRecordsFailed: number;
  errorMessage?: string;
};

/** A bare Bulk API 2.0 client: create, upload, close, wait, and the failed results as rows of [sf__Id, sf__Error]. */
class BareClient {
  public constructor(private readonly org: LocalOrg) {}

  public async request(
    method: string,
    path: string,
    body?: string,
    contentType = 'application/json',
  ): Promise<Response> {
    return fetch(`${this.org.instanceUrl}${V}${path}`, {
      method,
      body,
      headers: { Authorization: `Bearer ${this.org.accessToken}`, 'Content-Type': contentType },
    });
  }

  public async run(job: Record<string, unknown>, csv: string): Promise<JobInfo> {
    const created = (await (await this.request('POST', '/jobs/ingest', JSON.stringify(job))).json()) as JobInfo;
    expect((await this.request('PUT', `/jobs/ingest/${created.id}/batches`, csv, 'text/csv')).status).to.equal(201);
    await this.request('PATCH', `/jobs/ingest/${created.id}`, '{"state":"UploadComplete"}');
    for (;;) {
      // eslint-disable-next-line no-await-in-loop
      const info = (await (await this.request('GET', `/jobs/ingest/${created.id}`)).json()) as JobInfo;
      if (['JobComplete', 'Failed', 'Aborted'].includes(info.state)) return info;
      // eslint-disable-next-line no-await-in-loop
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  public async errors(job: Record<string, unknown>, csv: string): Promise<string[]> {
    const info = await this.run(job, csv);
    const text = await (await this.request('GET', `/jobs/ingest/${info.id}/failedResults`)).text();
    // every value is quoted: the second cell of each data line is sf__Error
    return text
      .split('\n')
      .slice(1)
      .filter(Boolean)
      .map((line) => /^"[^"]*","((?:[^"]|"")*)"/.exec(line)![1].replaceAll('""', '"'));
  }
}

describe('local org: row validation (sf__Error strings)', () => {
  let org: LocalOrg;
  let client: BareClient;
  before(async () => {
    org = await startLocalOrg({ schemaDir });
    client = new BareClient(org);
    await client.run(
      { object: 'Account', operation: 'insert' },
      'Name,Legacy_Id__c,Region_Code__c\nParent One,P1,EU\nParent Two,P2,EU\n',
    );
  });
  after(async () => org.stop());

  const insert = (object: string, csv: string): Promise<string[]> =>
    client.errors({ object, operation: 'insert' }, csv);

  it('required fields', async () => {
    expect(await insert('Account', 'Name,Phone\n,555\n')).to.deep.equal([
      'REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --',
    ]);
    expect(await insert('Opportunity', 'Name\nDeal\n')).to.deep.equal([
      'REQUIRED_FIELD_MISSING:Required fields are missing: [StageName, CloseDate]:StageName CloseDate --',
    ]);
  });

  it('type parsing: date, datetime, number, integer, boolean', async () => {
    expect(
      await insert('Opportunity', 'Name,StageName,CloseDate\nNoemi Miller,Prospecting,2003-04-98\n'),
    ).to.deep.equal([
      "INVALID_FIELD:Failed to deserialize field at col 2. Due to, '2003-04-98' is not a valid value for the type xsd:date:CloseDate --",
    ]);
    expect(await insert('Invoice__c', 'Name,Issued__c\nI1,2024-13-01T00:00:00Z\n')).to.deep.equal([
      "INVALID_FIELD:Failed to deserialize field at col 1. Due to, '2024-13-01T00:00:00Z' is not a valid value for the type xsd:dateTime:Issued__c --",
    ]);
    expect(await insert('Invoice__c', 'Name,Amount__c\nI2,12.5.0\n')).to.deep.equal([
      "INVALID_FIELD:Failed to deserialize field at col 1. Due to, '12.5.0' is not a valid value for the type xsd:double:Amount__c --",
    ]);
    expect(await insert('Account', 'Name,NumberOfEmployees\nA,1.5\n')).to.deep.equal([
      "INVALID_FIELD:Failed to deserialize field at col 1. Due to, '1.5' is not a valid value for the type xsd:int:NumberOfEmployees --",
    ]);
    expect(await insert('Invoice__c', 'Name,Paid__c\nI3,maybe\n')).to.deep.equal([
      "INVALID_FIELD:Failed to deserialize field at col 1. Due to, 'maybe' is not a valid value for the type xsd:boolean:Paid__c --",
    ]);
    // valid values of each type are stored typed
    expect(
      await insert('Invoice__c', 'Name,Amount__c,Issued__c,Paid__c\nI4,12.50,2024-02-29T10:00:00+02:00,TRUE\n'),
    ).to.deep.equal([]);
    expect(org.store.records('Invoice__c').find((r) => r.Name === 'I4')).to.include({
      Amount__c: 12.5,
      Issued__c: '2024-02-29T08:00:00.000+0000',
      Paid__c: true,
    });
  });

  it('string length and restricted picklists', async () => {
    expect(await insert('Account', `Name,AccountNumber\nA,${'9'.repeat(41)}\n`)).to.deep.equal([
      `STRING_TOO_LONG:Account Number: data value too large: ${'9'.repeat(41)} (max length=40):AccountNumber --`,
    ]);
    expect(await insert('Account', 'Name,Rating\nA,Lukewarm\n')).to.deep.equal([
      'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST:Account Rating: bad value for restricted picklist field: Lukewarm:Rating --',
    ]);
  });

  it('createable and updateable', async () => {
    expect(await insert('Lead', 'LastName,Company,IsConverted\nL,C,true\n')).to.deep.equal([
      'INVALID_FIELD_FOR_INSERT_UPDATE:Unable to create/update fields: IsConverted. Please check the security settings of this field and verify that it is read/write for your profile or permission set.:IsConverted --',
    ]);
    const campaign = await client.run({ object: 'Campaign', operation: 'insert' }, 'Name,Legacy_Id__c\nSpring,C1\n');
    expect(campaign.numberRecordsFailed).to.equal(0);
    await client.run({ object: 'Contact', operation: 'insert' }, 'LastName,Legacy_Id__c\nMember,M1\n');
    expect(
      await insert('CampaignMember', 'Campaign.Legacy_Id__c,Contact.Legacy_Id__c,Legacy_Id__c\nC1,M1,CM1\n'),
    ).to.deep.equal([]);
    const member = org.store.records('CampaignMember')[0];
    expect(
      await client.errors(
        { object: 'CampaignMember', operation: 'update' },
        `Id,Campaign.Legacy_Id__c\n${String(member.Id)},C1\n`,
      ),
    ).to.deep.equal([
      'INVALID_FIELD_FOR_INSERT_UPDATE:Unable to create/update fields: CampaignId. Please check the security settings of this field and verify that it is read/write for your profile or permission set.:CampaignId --',
    ]);
  });

  it('upsert: created vs updated, a key twice in one chunk, an ambiguous key, a missing key', async () => {
    const upsert = (field: string, csv: string): Promise<string[]> =>
      client.errors({ object: 'Account', operation: 'upsert', externalIdFieldName: field }, csv);
    // both rows sharing the key fail (processing/chunks.ts); failed rows come in no guaranteed order
    expect(await upsert('Legacy_Id__c', 'Legacy_Id__c,Name\nU1,First\nU1,Again\n,Nobody\n')).to.have.members([
      'DUPLICATE_VALUE:Duplicate external id specified: U1:--',
      'DUPLICATE_VALUE:Duplicate external id specified: U1:--',
      'MISSING_ARGUMENT:Legacy_Id__c not specified:--',
    ]);
    const parents = org.store
      .records('Account')
      .filter((r) => r.Region_Code__c === 'EU')
      .map((r) => String(r.Id));
    expect(await upsert('Region_Code__c', 'Region_Code__c,Name\nEU,Who\n')).to.deep.equal([
      `DUPLICATE_EXTERNAL_ID:Region_Code__c: more than one record found for external id field: [${parents.join(', ')}]:--`,
    ]);
  });

  it('unique fields on insert', async () => {
    const p1 = org.store.records('Account').find((r) => r.Legacy_Id__c === 'P1')!;
    expect(await insert('Account', 'Name,Legacy_Id__c\nClash,P1\n')).to.deep.equal([
      `DUPLICATE_VALUE:duplicate value found: Legacy_Id__c duplicates value on record with id: ${String(p1.Id)}:--`,
    ]);
  });

  it('relationship columns through the parent external id, and reference ids', async () => {
    expect(await insert('Contact', 'LastName,Account.Legacy_Id__c\nOrphan,NOPE\n')).to.deep.equal([
      'INVALID_FIELD:Foreign key external ID: NOPE not found for field Legacy_Id__c in entity Account:--',
    ]);
    expect(await insert('Invoice__c', 'Name,Account__r.Legacy_Id__c\nI5,P2\n')).to.deep.equal([]);
    const p2 = org.store.records('Account').find((r) => r.Legacy_Id__c === 'P2')!;
    expect(org.store.records('Invoice__c').find((r) => r.Name === 'I5')!.Account__c).to.equal(p2.Id);
    const contact = org.store.records('Contact')[0];
    expect(await insert('Contact', `LastName,AccountId\nWrong,${String(contact.Id)}\n`)).to.deep.equal([
      `FIELD_INTEGRITY_EXCEPTION:Account ID: id value of incorrect type: ${String(contact.Id)}:AccountId --`,
    ]);
    expect(await insert('Contact', 'LastName,AccountId\nGhost,001Lo0000zzzzzzAAA\n')).to.deep.equal([
      'INVALID_CROSS_REFERENCE_KEY:invalid cross reference id:--',
    ]);
  });

  it('Id existence for update and delete', async () => {
    const update = (csv: string): Promise<string[]> => client.errors({ object: 'Account', operation: 'update' }, csv);
    expect(await update('Id,Name\n001Lo0000zzzzzzAAA,X\n')).to.deep.equal([
      'INVALID_CROSS_REFERENCE_KEY:invalid cross reference id:--',
    ]);
    expect(await update('Id,Name\nnot-an-id,X\n')).to.deep.equal([
      'MALFORMED_ID:Account ID: id value of incorrect type: not-an-id:Id --',
    ]);
    expect(await update('Name\nX\n')).to.deep.equal(['MISSING_ARGUMENT:Id not specified in an update call:--']);
    const victim = await client.run({ object: 'Account', operation: 'insert' }, 'Name\nVictim\n');
    expect(victim.numberRecordsFailed).to.equal(0);
    const id = String(org.store.records('Account').find((r) => r.Name === 'Victim')!.Id);
    expect(await client.errors({ object: 'Account', operation: 'delete' }, `Id\n${id}\n`)).to.deep.equal([]);
    expect(await update(`Id,Name\n${id},Back\n`)).to.deep.equal(['ENTITY_IS_DELETED:entity is deleted:--']);
  });

  it('#N/A sets null, and fails on a required field', async () => {
    const p1 = org.store.records('Account').find((r) => r.Legacy_Id__c === 'P1')!;
    expect(
      await client.errors({ object: 'Account', operation: 'update' }, `Id,Region_Code__c\n${String(p1.Id)},#N/A\n`),
    ).to.deep.equal([]);
    expect(org.store.records('Account').find((r) => r.Id === p1.Id)!.Region_Code__c).to.equal(null);
    expect(
      await client.errors({ object: 'Account', operation: 'update' }, `Id,Name\n${String(p1.Id)},#N/A\n`),
    ).to.deep.equal(['REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --']);
  });

  it('extra values in a row fail that row only', async () => {
    const info = await client.run({ object: 'Account', operation: 'insert' }, 'Name\nFine\nToo,Many\n');
    expect(info).to.include({ state: 'JobComplete', numberRecordsProcessed: 2, numberRecordsFailed: 1 });
    const failed = await (await client.request('GET', `/jobs/ingest/${info.id}/failedResults`)).text();
    expect(failed).to.equal(
      '"sf__Id","sf__Error",Name\n' +
        '"","INVALID_FIELD:Too many values in this row: found 2, the header has 1 columns:--","Too"\n',
    );
  });

  it('a failed row with fewer values than the header is echoed at the header width', async () => {
    const info = await client.run({ object: 'Contact', operation: 'insert' }, 'FirstName,LastName,Email\nAnn\n');
    expect(info).to.include({ state: 'JobComplete', numberRecordsProcessed: 1, numberRecordsFailed: 1 });
    const failed = await (await client.request('GET', `/jobs/ingest/${info.id}/failedResults`)).text();
    expect(failed.split('\n')[1]).to.match(/^"","REQUIRED_FIELD_MISSING:[^"]*","Ann","",""$/);
  });

  describe('whole-job failures', () => {
    const failure = async (job: Record<string, unknown>, csv: string): Promise<JobInfo> => client.run(job, csv);

    it('unknown header field', async () => {
      const info = await failure({ object: 'Opportunity', operation: 'insert' }, 'Name,StageName_invalid\nA,B\n');
      expect(info).to.include({
        state: 'Failed',
        errorMessage: 'InvalidBatch : Field name not found : StageName_invalid',
        numberRecordsProcessed: 0,
      });
      // nothing was processed: every row comes back unprocessed, and no result file names a row otherwise
      expect(await (await client.request('GET', `/jobs/ingest/${info.id}/unprocessedrecords`)).text()).to.equal(
        'Name,StageName_invalid\n"A","B"\n',
      );
      expect(await (await client.request('GET', `/jobs/ingest/${info.id}/successfulResults`)).text()).to.equal(
        '"sf__Id","sf__Created",Name,StageName_invalid\n',
      );
    });

    it('a delete batch with more than ids', async () => {
      const info = await failure({ object: 'Account', operation: 'delete' }, 'Id,Name\n001Lo0000zzzzzzAAA,X\n');
      expect(info).to.include({
        state: 'Failed',
        errorMessage: "InvalidBatch : The 'delete' batch must contain only ids",
      });
    });

    it('an unknown relationship', async () => {
      const info = await failure({ object: 'Contact', operation: 'insert' }, 'LastName,Acount.Legacy_Id__c\nX,P1\n');
      expect(info).to.include({ state: 'Failed', errorMessage: 'InvalidBatch : Unable to find relationship: Acount' });
    });

    it('unparseable CSV: a BOM before a quoted header', async () => {
      const info = await failure({ object: 'Account', operation: 'insert' }, '\uFEFF"Name"\nA\n');
      expect(info).to.include({
        state: 'Failed',
        errorMessage: 'InvalidBatch : Failed to parse CSV. Found unescaped quote',
      });
    });

    // Real capture (reference §4) for a CRLF job given LF data; the LF-job and lone-CR cases are our
    // reading of the same rule (see lineEndingMessage in csv-records.ts).
    it('record terminators that differ from the job lineEnding: the whole job fails, nothing applied', async () => {
      const cases: Array<[string, string, string]> = [
        ['CRLF', 'Name\nLF one\nLF two\n', 'CRLF'],
        ['CRLF', 'Name\r\nCRLF one\nLF two\r\n', 'CRLF'],
        ['LF', 'Name\r\nCRLF one\r\n', 'LF'],
        ['LF', 'Name\nLF one\rCR two\n', 'LF'],
        ['CRLF', 'Name\r\nCRLF one\rCR two\r\n', 'CRLF'],
      ];
      for (const [lineEnding, csv, named] of cases) {
        const before = org.store.count('Account');
        // eslint-disable-next-line no-await-in-loop
        const info = await failure({ object: 'Account', operation: 'insert', lineEnding }, csv);
        expect(info, JSON.stringify(csv)).to.include({
          state: 'Failed',
          errorMessage: `ClientInputError : LineEnding is invalid on user data. Current LineEnding setting is ${named}`,
          numberRecordsProcessed: 0,
        });
        expect(org.store.count('Account')).to.equal(before);
      }
    });

    it('a job aborted before processing stays Aborted, whatever its line endings', async () => {
      const created = (await (
        await client.request('POST', '/jobs/ingest', JSON.stringify({ object: 'Account', operation: 'insert' }))
      ).json()) as JobInfo;
      await client.request('PUT', `/jobs/ingest/${created.id}/batches`, 'Name\r\nA\r\n', 'text/csv');
      await client.request('PATCH', `/jobs/ingest/${created.id}`, '{"state":"Aborted"}');
      // processing an aborted job lists its rows as unprocessed; once it did, the state must still be Aborted
      const unprocessed = async (): Promise<string> =>
        (await client.request('GET', `/jobs/ingest/${created.id}/unprocessedrecords`)).text();
      // eslint-disable-next-line no-await-in-loop -- polled until the processing shows
      while (!(await unprocessed()).includes('"A"')) await new Promise((resolve) => setTimeout(resolve, 20));
      const info = (await (await client.request('GET', `/jobs/ingest/${created.id}`)).json()) as JobInfo;
      expect(info.state).to.equal('Aborted');
    });

    it('line breaks inside quoted values do not count as record terminators', async () => {
      const crlf = await client.run(
        { object: 'Account', operation: 'insert', lineEnding: 'CRLF' },
        'Name,Description\r\n"Quoted","one\ntwo\rthree"\r\n',
      );
      expect(crlf).to.include({ state: 'JobComplete', numberRecordsProcessed: 1, numberRecordsFailed: 0 });
      const lf = await client.run(
        { object: 'Account', operation: 'insert', lineEnding: 'LF' },
        'Name,Description\n"Quoted LF","one\r\ntwo"\n',
      );
      expect(lf).to.include({ state: 'JobComplete', numberRecordsProcessed: 1, numberRecordsFailed: 0 });
    });
  });

  // The Bulk API 2.0 guide, "Valid CSV Record Rows": a space before or after a double quote is an error
  // of that row. No real org's sf__Error text for it is public: spaceAroundQuoteError's wording is ours.
  describe('a space before or after a quote', () => {
    it('fails that row only, the rest of the job loads, the failed row keeps the header width', async () => {
      const info = await client.run(
        { object: 'Account', operation: 'insert' },
        'Name,Legacy_Id__c\n"Before", "S1"\n"After" ,S2\n"Fine","S3"\nJohn, Smith\n',
      );
      expect(info).to.include({ state: 'JobComplete', numberRecordsProcessed: 4, numberRecordsFailed: 2 });
      const failed = await (await client.request('GET', `/jobs/ingest/${info.id}/failedResults`)).text();
      // result rows come in no guaranteed order (shuffled, as a real org may)
      const [header, ...rows] = failed.trimEnd().split('\n');
      expect(header).to.equal('"sf__Id","sf__Error",Name,Legacy_Id__c');
      expect(rows).to.have.members([
        '"","INVALID_FIELD:Invalid CSV: a space before or after a double quote in column 2:--","Before"," ""S1"""',
        '"","INVALID_FIELD:Invalid CSV: a space before or after a double quote in column 1:--","""After"" ","S2"',
      ]);
      // "John, Smith" is valid: the second value is " Smith" (values are not trimmed)
      expect(org.store.records('Account').find((r) => r.Name === 'John')?.Legacy_Id__c).to.equal(' Smith');
    });
  });

  describe('whole-job failures, continued', () => {
    const failure = async (job: Record<string, unknown>, csv: string): Promise<JobInfo> => client.run(job, csv);

    it('unparseable CSV deep in the file: nothing is applied', async () => {
      const before = org.store.count('Account');
      const info = await failure({ object: 'Account', operation: 'insert' }, 'Name\nGood\nAlso good\n"broken"quote\n');
      expect(info.state).to.equal('Failed');
      expect(org.store.count('Account')).to.equal(before);
    });
  });
});
