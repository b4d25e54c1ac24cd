import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import sinon from 'sinon';
import { builtInObjects } from '@sf-migrate/local-org';
import { loadManifestOrThrow } from '../../src/manifest/load.js';
import { preflight, type ObjectInfo, type PreflightConnection } from '../../src/manifest/preflight.js';
import type { Problem } from '../../src/manifest/problems.js';
import { validateManifest } from '../../src/manifest/validate.js';

type Limits = Record<string, { Max: number; Remaining: number }>;

const plenty: Limits = {
  DailyApiRequests: { Max: 100_000, Remaining: 99_000 },
  DailyBulkApiBatches: { Max: 15_000, Remaining: 15_000 },
};

const notFound = (object: string): Error =>
  Object.assign(new Error(`The requested resource does not exist: ${object}`), {
    name: 'NOT_FOUND',
    errorCode: 'NOT_FOUND',
  });

/** A stubbed org whose describes are the local org's built-in objects (plus overrides). */
function fakeOrg(
  limits: Limits = plenty,
  overrides: ObjectInfo[] = [],
): PreflightConnection & { describe: sinon.SinonStub; request: sinon.SinonStub } {
  const objects = [...overrides, ...(builtInObjects() as ObjectInfo[])];
  const describe = sinon.stub().callsFake((object: string) => {
    const found = objects.find((o) => o.name.toLowerCase() === object.toLowerCase());
    return found ? Promise.resolve(JSON.parse(JSON.stringify(found)) as ObjectInfo) : Promise.reject(notFound(object));
  });
  const request = sinon
    .stub()
    .callsFake((url: string) =>
      url === '/limits' ? Promise.resolve(limits) : Promise.reject(new Error(`unexpected request ${url}`)),
    );
  return {
    describe,
    request,
    getApiVersion: () => '62.0',
    getUsername: () => 'admin@example.com',
  };
}

describe('preflight against an org describe', () => {
  let dir: string;
  const write = (name: string, content: string): string => {
    const file = join(dir, name);
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(file, content);
    return file;
  };
  const manifest = (steps: unknown[], defaults: unknown = {}): string =>
    write('migration.json', JSON.stringify({ name: 'm', defaults, steps }, null, 2));
  const run = async (
    path: string,
    org = fakeOrg(),
  ): Promise<{
    problems: Problem[];
    org: ReturnType<typeof fakeOrg>;
    result: Awaited<ReturnType<typeof preflight>>;
  }> => {
    const result = await preflight(await loadManifestOrThrow(path), org);
    return { problems: result.problems, org, result };
  };
  const summary = (problems: Problem[]): Array<[string, string, string]> =>
    problems.map((p) => [p.severity, p.code, p.pointer]);

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'preflight-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
    sinon.restore();
  });

  it('passes a manifest the org can take, describing each object once', async () => {
    write('accounts.csv', 'Legacy_Id__c,Name,Parent.Legacy_Id__c\nA1,Acme,\nA3,Globex,A1\n');
    write('parents.csv', 'legacy_id__c,parent.Legacy_Id__c\nA1,A2\n');
    write('contacts.csv', 'Legacy_Id__c,LastName,Account.Legacy_Id__c,ReportsTo.Email\nC1,Smith,A1,\n');
    const path = manifest(
      [
        { id: 'accounts', object: 'Account', source: 'accounts.csv' },
        { id: 'contacts', object: 'Contact', source: 'contacts.csv' },
        { id: 'parents', object: 'account', source: 'parents.csv', dependsOn: ['contacts'] },
      ],
      { operation: 'upsert', externalIdField: 'Legacy_Id__c' },
    );
    const { problems, org, result } = await run(path);
    // the parents step creates no Account without a Name: an upsert may create, so it warns
    expect(summary(problems)).to.deep.equal([['warning', 'MissingRequiredField', '/steps/2']]);
    expect(org.describe.callCount).to.equal(2);
    expect(org.request.calledOnceWith('/limits')).to.equal(true);
    expect(result.org).to.deep.include({
      username: 'admin@example.com',
      apiVersion: '62.0',
      checked: true,
      objects: ['Account', 'Contact'],
    });
    expect(result.org.limits?.dailyApiRequests).to.include({ max: 100_000, remaining: 99_000 });
    // accounts.csv references accounts of its own (A3's parent A1): its second pass (accounts.self) is
    // one more job; without a row that sets a parent it would send nothing and make none
    expect(result.org.limits?.dailyBulkApiBatches).to.deep.equal({ max: 15_000, remaining: 15_000, estimated: 4 });
  });

  it('UnknownObject: an object the org does not have, or one the operation cannot load', async () => {
    write('a.csv', 'Legacy_Id__c,Name\nA1,Acme\n');
    write('u.csv', 'Username,LastName,Email,Alias,TimeZoneSidKey\nu@x,U,u@x,u,GMT\n');
    const path = manifest(
      [
        { id: 'a', object: 'Acount', source: 'a.csv' },
        { id: 'u', object: 'User', operation: 'insert', source: 'u.csv' },
      ],
      { operation: 'upsert', externalIdField: 'Legacy_Id__c' },
    );
    const { problems } = await run(path);
    expect(summary(problems)).to.deep.equal([
      ['error', 'UnknownObject', '/steps/0/object'],
      ['error', 'UnknownObject', '/steps/1/object'],
    ]);
    expect(problems[0].message).to.contain('"Acount"');
    expect(problems[0].line).to.be.a('number');
    expect(problems[1].message).to.contain('insert');
  });

  it('UnknownObject: describe errors other than NOT_FOUND stop the check', async () => {
    write('a.csv', 'Name\nAcme\n');
    const path = manifest([{ object: 'Account', operation: 'insert', source: 'a.csv' }]);
    const org = fakeOrg();
    org.describe.rejects(Object.assign(new Error('no'), { errorCode: 'INSUFFICIENT_ACCESS' }));
    const loaded = await loadManifestOrThrow(path);
    const error = await preflight(loaded, org).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.message).to.equal('no');
  });

  it('UnknownField: header columns, renames and constants, case-insensitively', async () => {
    write('a.csv', 'legacy_id__c,NAME,Nmae,Notes\nA1,Acme,x,y\n');
    const path = manifest([
      {
        object: 'Account',
        operation: 'upsert',
        externalIdField: 'Legacy_Id__c',
        source: 'a.csv',
        mapping: { rename: { Notes: 'Descriptoin' }, constants: { Ratng: 'Hot', Type: 'Other' } },
      },
    ]);
    const { problems } = await run(path);
    expect(summary(problems)).to.deep.equal([
      ['error', 'UnknownField', '/steps/0'],
      ['error', 'UnknownField', '/steps/0/mapping/rename/Notes'],
      ['error', 'UnknownField', '/steps/0/mapping/constants/Ratng'],
    ]);
    expect(problems[0].file).to.equal(join(dir, 'a.csv'));
    expect(problems[0].message).to.contain('"Nmae"');
    expect(problems[1].message).to.contain('"Descriptoin"');
    expect(problems[2].file).to.equal(undefined);
  });

  it('UnknownRelationship and NotAnExternalId: relationship columns, polymorphic ones too', async () => {
    write('c.csv', 'Legacy_Id__c,LastName,Acount.Legacy_Id__c,Account.Phone,ReportsTo.Email\nC1,S,A1,1,e\n');
    write('t.csv', 'Legacy_Id__c,Account:What.Legacy_Id__c,Account:What.Phone,Contact:Who.Legacy_Id__c\nT1,A1,u,C1\n');
    const path = manifest(
      [
        { id: 'contacts', object: 'Contact', source: 'c.csv' },
        { id: 'tasks', object: 'Task', source: 't.csv' },
      ],
      { operation: 'upsert', externalIdField: 'Legacy_Id__c' },
    );
    const { problems } = await run(path);
    expect(problems.map((p) => [p.code, p.pointer, p.message.match(/column "([^"]+)"/)?.[1]])).to.deep.equal([
      ['UnknownRelationship', '/steps/0', 'Acount.Legacy_Id__c'],
      ['NotAnExternalId', '/steps/0', 'Account.Phone'],
      ['NotAnExternalId', '/steps/1', 'Account:What.Phone'],
    ]);
  });

  it('decides polymorphic or not from referenceTo: the type is required on one, an error on the other', async () => {
    // Each column passes the offline checks (their tables do not know Task's or Campaign's owner);
    // the describe decides.
    write('lead.csv', 'Legacy_Id__c,LastName,Company,User:Owner.Username,Account:Owner.Name\nL1,S,Acme,u,x\n');
    write('task.csv', 'Legacy_Id__c,Lead:Who.Legacy_Id__c,Owner.Username\nT1,L1,u\n');
    write('campaign.csv', 'Legacy_Id__c,Name,User:Owner.Username\nC1,Spring,u\n');
    write('account.csv', 'Legacy_Id__c,Name,Owner.Username\nA1,Acme,u\n');
    write('link.csv', 'Legacy_Id__c,LinkedEntity:Account.Legacy_Id__c,Sponsor:Account.Legacy_Id__c\nK1,A1,A2\n');
    const link: ObjectInfo = {
      name: 'DocumentLink__c',
      fields: [
        {
          name: 'Legacy_Id__c',
          createable: true,
          updateable: true,
          nillable: true,
          defaultedOnCreate: false,
          externalId: true,
        },
        {
          name: 'LinkedEntityId',
          createable: true,
          updateable: true,
          nillable: true,
          defaultedOnCreate: false,
          referenceTo: ['Account', 'User'],
          relationshipName: 'LinkedEntity',
        },
        {
          name: 'SponsorId',
          createable: true,
          updateable: true,
          nillable: true,
          defaultedOnCreate: false,
          referenceTo: ['Account'],
          relationshipName: 'Sponsor',
        },
      ],
    };
    const path = manifest(
      [
        { id: 'leads', object: 'Lead', source: 'lead.csv' },
        { id: 'tasks', object: 'Task', source: 'task.csv' },
        { id: 'campaigns', object: 'Campaign', source: 'campaign.csv' },
        { id: 'accounts', object: 'Account', source: 'account.csv' },
        { id: 'links', object: 'DocumentLink__c', source: 'link.csv' },
      ],
      { operation: 'upsert', externalIdField: 'Legacy_Id__c' },
    );
    const { problems } = await run(path, fakeOrg(plenty, [link]));
    expect(problems.map((p) => [p.code, p.pointer, p.message.match(/column "([^"]+)"/)?.[1]])).to.deep.equal([
      ['PolymorphicTypeNotAllowed', '/steps/0', 'Account:Owner.Name'],
      ['PolymorphicWithoutType', '/steps/1', 'Owner.Username'],
      ['TypeOnNonPolymorphic', '/steps/2', 'User:Owner.Username'],
      ['PolymorphicOrderReversed', '/steps/4', 'LinkedEntity:Account.Legacy_Id__c'],
      ['PolymorphicOrderReversed', '/steps/4', 'Sponsor:Account.Legacy_Id__c'],
    ]);
    expect(problems[0].message).to.contain('can point only to Group, User');
    expect(problems[1].message).to.contain('such as User:Owner.Username');
    expect(problems[2].message).to.contain('Rename the column to Owner.Username');
    expect(problems[3].message).to.contain('Rename the column to Account:LinkedEntity.Legacy_Id__c');
    // Sponsor points to Accounts only: the fix drops the type.
    expect(problems[4].message).to.contain('Rename the column to Sponsor.Legacy_Id__c');
  });

  it('FieldNotWritable: per operation; Id is fine for update and delete', async () => {
    write('ins.csv', 'LastName,Name,Id\nS,x,003\n');
    write('upd.csv', 'Id,LastName,CreatedDate\n003,S,2020-01-01\n');
    write('ups.csv', 'Legacy_Id__c,LastName,IsDeleted\nC1,S,false\n');
    write('del.csv', 'Id\n003\n');
    const path = manifest([
      { id: 'ins', object: 'Contact', operation: 'insert', source: 'ins.csv' },
      { id: 'upd', object: 'Contact', operation: 'update', source: 'upd.csv' },
      { id: 'ups', object: 'Contact', operation: 'upsert', externalIdField: 'Legacy_Id__c', source: 'ups.csv' },
      { id: 'del', object: 'Contact', operation: 'delete', source: 'del.csv' },
    ]);
    const { problems } = await run(path);
    expect(problems.map((p) => [p.code, p.pointer, p.message.match(/column "([^"]+)"/)?.[1]])).to.deep.equal([
      ['FieldNotWritable', '/steps/0', 'Name'],
      ['FieldNotWritable', '/steps/0', 'Id'],
      ['FieldNotWritable', '/steps/1', 'CreatedDate'],
      ['FieldNotWritable', '/steps/2', 'IsDeleted'],
    ]);
  });

  it('ExternalIdFieldInvalid: the upsert key must be an external id or id lookup field', async () => {
    write('a.csv', 'Phone,Name\n1,Acme\n');
    write('b.csv', 'Nope__c,Name\n1,Acme\n');
    write('c.csv', 'Name\nAcme\n');
    const path = manifest(
      [
        { id: 'a', object: 'Account', externalIdField: 'Phone', source: 'a.csv' },
        { id: 'b', object: 'Account', source: 'b.csv' },
        { id: 'c', object: 'Account', externalIdField: 'Name', source: 'c.csv' },
      ],
      { operation: 'upsert', externalIdField: 'Nope__c' },
    );
    const { problems } = await run(path);
    expect(summary(problems)).to.deep.equal([
      ['error', 'ExternalIdFieldInvalid', '/steps/0/externalIdField'],
      ['error', 'ExternalIdFieldInvalid', '/steps/1'],
    ]);
    expect(problems[1].message).to.contain('"Nope__c"');
  });

  it('MissingRequiredField: a required createable field that no column or constant provides', async () => {
    write('c.csv', 'FirstName,Email\nA,a@x\n');
    write('o.csv', 'Name,Account.Legacy_Id__c\nDeal,A1\n');
    const path = manifest([
      { id: 'contacts', object: 'Contact', operation: 'insert', source: 'c.csv' },
      {
        id: 'opps',
        object: 'Opportunity',
        operation: 'insert',
        source: 'o.csv',
        mapping: { constants: { StageName: 'Prospecting' } },
      },
    ]);
    const { problems } = await run(path);
    expect(
      problems.map((p) => [p.severity, p.code, p.pointer, p.message.match(/requires "([^"]+)"/)?.[1]]),
    ).to.deep.equal([
      ['warning', 'MissingRequiredField', '/steps/0', 'LastName'],
      ['warning', 'MissingRequiredField', '/steps/1', 'CloseDate'],
    ]);
    expect(problems[0].file).to.equal(join(dir, 'c.csv'));
  });

  it('ApiBudget: a warning when the estimate takes most of what remains, an error when it clearly cannot fit', async () => {
    write('a.csv', 'Name\n' + Array.from({ length: 30 }, (_, i) => `A${i}`).join('\n') + '\n');
    const path = manifest([{ object: 'Account', operation: 'insert', source: 'a.csv', maxRecordsPerJob: 10 }]);
    // 3 jobs: 15 calls besides polls (5 for a job that loads cleanly), plus at least one poll each
    const tight = await run(path, fakeOrg({ ...plenty, DailyApiRequests: { Max: 100, Remaining: 30 } }));
    expect(summary(tight.problems)).to.deep.equal([['warning', 'ApiBudget', '']]);
    expect(tight.problems[0].line).to.equal(1);

    const over = await run(path, fakeOrg({ ...plenty, DailyApiRequests: { Max: 100, Remaining: 10 } }));
    expect(summary(over.problems)).to.deep.equal([['error', 'ApiBudget', '']]);
    expect(over.problems[0].message).to.contain('DailyApiRequests');

    const batches = await run(path, fakeOrg({ ...plenty, DailyBulkApiBatches: { Max: 15_000, Remaining: 2 } }));
    expect(summary(batches.problems)).to.deep.equal([['error', 'ApiBudget', '']]);
    expect(batches.problems[0].message).to.contain('DailyBulkApiBatches');
    expect(batches.result.org.limits?.dailyBulkApiBatches).to.deep.equal({ max: 15_000, remaining: 2, estimated: 3 });

    expect((await run(path)).problems).to.deep.equal([]);

    // an org that refuses GET /limits is still checked, without a budget
    const refusing = fakeOrg();
    refusing.request.rejects(Object.assign(new Error('no'), { errorCode: 'INSUFFICIENT_ACCESS' }));
    const unbudgeted = await run(path, refusing);
    expect(unbudgeted.problems).to.deep.equal([]);
    expect(unbudgeted.result.org.limits).to.equal(undefined);
    expect(unbudgeted.result.org.objects).to.deep.equal(['Account']);
  });

  it('validateManifest: joins the org problems to the offline ones, and skips the org when offline errors remain', async () => {
    write('a.csv', 'Name,Nmae\nAcme,x\n');
    const good = manifest([{ object: 'Account', operation: 'insert', source: 'a.csv' }]);
    const org = fakeOrg();
    const result = await validateManifest(good, { connection: org });
    expect(result.valid).to.equal(false);
    expect(result.errors.map((p) => p.code)).to.deep.equal(['UnknownField']);
    expect(result.org?.checked).to.equal(true);

    const bad = manifest([{ object: 'Account', operation: 'upsert', source: 'a.csv' }]);
    const skipped = fakeOrg();
    const offline = await validateManifest(bad, { connection: skipped });
    expect(offline.errors.map((p) => p.code)).to.deep.equal(['UpsertWithoutExternalId']);
    expect(offline.org).to.deep.equal({
      username: 'admin@example.com',
      apiVersion: '62.0',
      checked: false,
      objects: [],
    });
    expect(skipped.describe.called).to.equal(false);
    expect(skipped.request.called).to.equal(false);

    expect((await validateManifest(good)).org).to.equal(undefined);
  });
});
