/*
 * Record types, users and queues as a real org has them, and what it refuses in the lookups to them
 * (the sources are cited in built-in-objects.ts and rows.ts, checkReference and checkOwner): a record type
 * of another object or an inactive one (INVALID_CROSS_REFERENCE_KEY), an inactive owner
 * (INACTIVE_OWNER_OR_USER), a group that is no queue of the object (FIELD_INTEGRITY_EXCEPTION), an Id of
 * the wrong object (FIELD_INTEGRITY_EXCEPTION), through ingest jobs and sObject Collections alike.
 */
import { expect } from 'chai';
import { startLocalOrg, type LocalOrg } from '../src/index.js';
import { user, Wire } from './wire.js';

type Describe = {
  fields: Array<{ name: string; type: string; referenceTo: string[]; relationshipName: string | null }>;
  recordTypeInfos: Array<{ developerName: string; master: boolean; active: boolean; recordTypeId: string }>;
  defaultRecordTypeMapping?: never;
};

describe('local org: record types, users and queues', () => {
  let org: LocalOrg;
  let wire: Wire;
  const idOf = (object: string, field: string, value: string): string =>
    String(org.store.records(object).find((r) => r[field] === value)!.Id);

  before(async () => {
    org = await startLocalOrg({
      seed: {
        User: [
          user('ann@example.com', { FederationIdentifier: 'FED-ANN' }),
          user('gone@example.com', { IsActive: false }),
        ],
        Group: [
          { Name: 'Support', DeveloperName: 'Support', Type: 'Queue' },
          { Name: 'Sales', DeveloperName: 'Sales_Queue', Type: 'Queue' },
          { Name: 'Everyone', DeveloperName: 'Everyone', Type: 'Regular' },
        ],
        QueueSobject: [
          { Queue: { DeveloperName: 'Support' }, SobjectType: 'Case' },
          { Queue: { DeveloperName: 'Support' }, SobjectType: 'Lead' },
          { Queue: { DeveloperName: 'Sales_Queue' }, SobjectType: 'Case' },
        ],
        RecordType: [
          { Name: 'Partner', DeveloperName: 'Partner', SobjectType: 'Account', IsActive: true },
          { Name: 'Old', DeveloperName: 'Old', SobjectType: 'Account', IsActive: false },
          { Name: 'Partner Contact', DeveloperName: 'Partner', SobjectType: 'Contact', IsActive: true },
        ],
      },
    });
    wire = new Wire(org);
  });
  after(() => org.stop());

  it('describes RecordTypeId on the objects that have record types, and their recordTypeInfos', async () => {
    for (const object of ['Account', 'Contact', 'Opportunity', 'Case', 'Lead']) {
      // eslint-disable-next-line no-await-in-loop
      const describe = await wire.json<Describe>('GET', `/sobjects/${object}/describe`);
      const recordTypeId = describe.fields.find((f) => f.name === 'RecordTypeId');
      expect(recordTypeId, object).to.include({ type: 'reference', relationshipName: 'RecordType' });
      expect(recordTypeId?.referenceTo, object).to.deep.equal(['RecordType']);
    }
    const account = await wire.json<Describe>('GET', '/sobjects/Account/describe');
    expect(account.recordTypeInfos.map((r) => [r.developerName, r.active, r.master])).to.deep.equal([
      ['Partner', true, false],
      ['Old', false, false],
      ['Master', true, true],
    ]);
    expect(account.recordTypeInfos[2].recordTypeId).to.equal('012000000000000AAA');
    const sobjectType = (await wire.json<Describe>('GET', '/sobjects/RecordType/describe')).fields.find(
      (f) => f.name === 'SobjectType',
    ) as unknown as { picklistValues: Array<{ value: string }> };
    expect(sobjectType.picklistValues.map((p) => p.value)).to.include.members(['Account', 'Case', 'Lead']);
  });

  it('answers SOQL and query jobs over RecordType, User (inactive included) and queues', async () => {
    const types = await wire.query<{ Id: string; DeveloperName: string; SobjectType: string; IsActive: boolean }>(
      "SELECT Id, DeveloperName, SobjectType, IsActive, NamespacePrefix FROM RecordType WHERE SobjectType = 'Account'",
    );
    expect(types.map((t) => [t.DeveloperName, t.IsActive])).to.deep.equal([
      ['Partner', true],
      ['Old', false],
    ]);
    expect(types[0].Id.startsWith('012')).to.equal(true);
    const users = await wire.bulkQuery(
      "SELECT Username, Email, FederationIdentifier, IsActive FROM User WHERE Username LIKE '%@example.com'",
    );
    expect(users).to.deep.equal([
      ['Username', 'Email', 'FederationIdentifier', 'IsActive'],
      ['ann@example.com', 'ann@example.com', 'FED-ANN', 'true'],
      ['gone@example.com', 'gone@example.com', '', 'false'],
    ]);
    const queues = await wire.query<{ DeveloperName: string }>(
      "SELECT DeveloperName FROM Group WHERE Type = 'Queue' ORDER BY DeveloperName",
    );
    expect(queues.map((q) => q.DeveloperName)).to.deep.equal(['Sales_Queue', 'Support']);
    const links = await wire.query<{ SobjectType: string; Queue: { DeveloperName: string } }>(
      'SELECT Queue.DeveloperName, SobjectType FROM QueueSobject',
    );
    expect(links.map((l) => `${l.Queue.DeveloperName}:${l.SobjectType}`)).to.deep.equal([
      'Support:Case',
      'Support:Lead',
      'Sales_Queue:Case',
    ]);
  });

  it('takes a record type of the object, refuses one of another object or an inactive one', async () => {
    const partner = idOf('RecordType', 'Name', 'Partner');
    const old = idOf('RecordType', 'Name', 'Old');
    const contactType = idOf('RecordType', 'Name', 'Partner Contact');
    const csv = `Name,RecordTypeId\nGood,${partner}\nOther,${contactType}\nInactive,${old}\n`;
    const { info, errors } = await wire.ingest({ object: 'Account', operation: 'insert' }, csv);
    expect(info.numberRecordsFailed).to.equal(2);
    expect(errors.sort()).to.deep.equal(
      [
        `INVALID_CROSS_REFERENCE_KEY:Record Type ID: this ID value isn't valid for the user: ${contactType}:RecordTypeId --`,
        `INVALID_CROSS_REFERENCE_KEY:Record Type ID: this ID value isn't valid for the user: ${old}:RecordTypeId --`,
      ].sort(),
    );
    expect(org.store.records('Account').find((a) => a.Name === 'Good')?.RecordTypeId).to.equal(partner);
    const rest = await wire.json<Array<{ success: boolean; errors: Array<{ statusCode: string; fields: string[] }> }>>(
      'POST',
      '/composite/sobjects',
      { records: [{ attributes: { type: 'Account' }, Name: 'Via REST', RecordTypeId: contactType }] },
    );
    expect(rest[0].errors).to.deep.equal([
      {
        statusCode: 'INVALID_CROSS_REFERENCE_KEY',
        message: `Record Type ID: this ID value isn't valid for the user: ${contactType}`,
        fields: ['RecordTypeId'],
      },
    ]);
  });

  it('gives a record created without a record type the default one, and Master where there is none', async () => {
    await wire.ingest({ object: 'Account', operation: 'insert' }, 'Name\nDefaulted\n');
    await wire.ingest(
      { object: 'Opportunity', operation: 'insert' },
      'Name,StageName,CloseDate\nO,Prospecting,2026-01-01\n',
    );
    expect(org.store.records('Account').find((a) => a.Name === 'Defaulted')?.RecordTypeId).to.equal(
      idOf('RecordType', 'Name', 'Partner'),
    );
    expect(org.store.records('Opportunity').find((a) => a.Name === 'O')?.RecordTypeId).to.equal(null);
  });

  it('refuses an inactive owner, by Id or through Owner.Username, in jobs and in collections', async () => {
    const gone = idOf('User', 'Username', 'gone@example.com');
    const ann = idOf('User', 'Username', 'ann@example.com');
    const byId = await wire.ingest(
      { object: 'Contact', operation: 'insert' },
      `LastName,OwnerId\nA,${ann}\nB,${gone}\n`,
    );
    expect(byId.errors).to.deep.equal(['INACTIVE_OWNER_OR_USER:operation performed with inactive user:--']);
    const byName = await wire.ingest(
      { object: 'Contact', operation: 'insert' },
      'LastName,Owner.Username\nC,ann@example.com\nD,gone@example.com\n',
    );
    expect(byName.info.numberRecordsFailed).to.equal(1);
    expect(byName.errors).to.deep.equal(['INACTIVE_OWNER_OR_USER:operation performed with inactive user:--']);
    expect(org.store.records('Contact').find((c) => c.LastName === 'C')?.OwnerId).to.equal(ann);
    const rest = await wire.json<Array<{ success: boolean; errors: Array<{ statusCode: string }> }>>(
      'POST',
      '/composite/sobjects',
      { records: [{ attributes: { type: 'Account' }, Name: 'Owned', OwnerId: gone }] },
    );
    expect(rest[0].errors[0].statusCode).to.equal('INACTIVE_OWNER_OR_USER');
  });

  it('lets a queue own only the objects it lists in QueueSobject; never a group that is no queue', async () => {
    const support = idOf('Group', 'DeveloperName', 'Support');
    const sales = idOf('Group', 'DeveloperName', 'Sales_Queue');
    const everyone = idOf('Group', 'DeveloperName', 'Everyone');
    const { info, errors } = await wire.ingest(
      { object: 'Lead', operation: 'insert' },
      `LastName,Company,OwnerId\nQ,Acme,${support}\nS,Acme,${sales}\nE,Acme,${everyone}\n`,
    );
    expect(info.numberRecordsFailed).to.equal(2);
    expect(errors.sort()).to.deep.equal(
      [
        `FIELD_INTEGRITY_EXCEPTION:Owner ID: id value of incorrect type: ${sales}:OwnerId --`,
        `FIELD_INTEGRITY_EXCEPTION:Owner ID: id value of incorrect type: ${everyone}:OwnerId --`,
      ].sort(),
    );
    const cases = await wire.ingest({ object: 'Case', operation: 'insert' }, `Subject,OwnerId\nC1,${sales}\n`);
    expect(cases.info.numberRecordsFailed).to.equal(0);
  });

  it('refuses an Id of the wrong object in a lookup, in jobs and in collections', async () => {
    const contact = org.store.records('Contact')[0];
    const queue = idOf('Group', 'DeveloperName', 'Support');
    const { errors } = await wire.ingest(
      { object: 'Account', operation: 'insert' },
      `Name,ParentId,OwnerId\nP,${String(contact.Id)},\nO,,${queue}\n`,
    );
    expect(errors.sort()).to.deep.equal(
      [
        `FIELD_INTEGRITY_EXCEPTION:Parent Account ID: id value of incorrect type: ${String(contact.Id)}:ParentId --`,
        `FIELD_INTEGRITY_EXCEPTION:Owner ID: id value of incorrect type: ${queue}:OwnerId --`,
      ].sort(),
    );
    const rest = await wire.json<Array<{ errors: Array<{ statusCode: string; message: string; fields: string[] }> }>>(
      'POST',
      '/composite/sobjects',
      { records: [{ attributes: { type: 'Account' }, Name: 'P2', ParentId: contact.Id }] },
    );
    expect(rest[0].errors).to.deep.equal([
      {
        statusCode: 'FIELD_INTEGRITY_EXCEPTION',
        message: `Parent Account ID: id value of incorrect type: ${String(contact.Id)}`,
        fields: ['ParentId'],
      },
    ]);
  });

  it('creates users, queues and record types through the REST API, a new user active by default', async () => {
    const created = await wire.call('POST', '/sobjects/User', user('new@example.com'));
    expect(created.status).to.equal(201);
    const { id } = (await created.json()) as { id: string };
    expect(id.startsWith('005')).to.equal(true);
    expect(org.store.records('User').find((u) => u.Id === id)?.IsActive).to.equal(true);
    const results = await wire.json<Array<{ success: boolean; id: string }>>('POST', '/composite/sobjects', {
      records: [
        { attributes: { type: 'Group' }, Name: 'Billing', DeveloperName: 'Billing', Type: 'Queue' },
        { attributes: { type: 'RecordType' }, Name: 'Big', DeveloperName: 'Big', SobjectType: 'Case', IsActive: true },
      ],
    });
    expect(results.map((r) => r.success)).to.deep.equal([true, true]);
    const link = await wire.call('POST', '/sobjects/QueueSobject', { QueueId: results[0].id, SobjectType: 'Case' });
    expect(link.status).to.equal(201);
    const bad = await wire.call('POST', '/sobjects/QueueSobject', { QueueId: results[0].id, SobjectType: 'Account' });
    expect(bad.status).to.equal(400);
    expect(((await bad.json()) as Array<{ errorCode: string }>)[0].errorCode).to.equal(
      'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST',
    );
  });
});
