// The setup objects of the local org: the users and queues that own records, the objects a queue may
// own, record types and the organization. Beside built-in-objects.ts (the data objects a migration
// loads), which lists them after its own.
import { field, picklist, type FieldDescribe, type ObjectDescribe } from './describe.js';
import { object } from './standard-object.js';

export function setupObjects(): ObjectDescribe[] {
  return [
    // User: the fields a lookup of owners matches on. Object reference, User: Username (unique,
    // idLookup), Email, FederationIdentifier ("the value used to identify the user for SAML
    // single sign-on", idLookup), IsActive (default true for a new user). The REST API creates users
    // (sobjects/User, POST); a real org also requires ProfileId, LocaleSidKey, EmailEncodingKey and
    // LanguageLocaleKey, which the local org does not model (no profiles).
    object(
      'User',
      '005',
      'Users',
      [
        field('Username', 'string', { length: 80, nillable: false, unique: true, idLookup: true }),
        field('FirstName', 'string', { label: 'First Name', length: 40 }),
        field('LastName', 'string', { label: 'Last Name', length: 80, nillable: false }),
        field('Name', 'string', { label: 'Full Name', length: 121, createable: false, updateable: false }),
        field('Email', 'email', { length: 128, nillable: false }),
        field('Alias', 'string', { length: 8, nillable: false }),
        field('FederationIdentifier', 'string', { label: 'SAML Federation ID', length: 512, idLookup: true }),
        field('EmployeeNumber', 'string', { label: 'Employee Number', length: 20 }),
        field('IsActive', 'boolean', { label: 'Active', nillable: false, defaultedOnCreate: true, defaultValue: true }),
        field('TimeZoneSidKey', 'picklist', {
          label: 'Time Zone',
          nillable: false,
          picklistValues: picklist(['GMT', 'America/Los_Angeles', 'Europe/London']),
        }),
      ],
      { bulkIngestable: false },
    ),
    // Queues (Type Queue) own Leads, Cases and Tasks: the other object a polymorphic Owner points to.
    // Object reference, Group: Type (Regular, Queue, Role, ...), DeveloperName ("the unique name of
    // the object in the API"); a queue names the objects it may own in QueueSobject.
    object(
      'Group',
      '00G',
      'Groups',
      [
        field('Name', 'string', { length: 40, nillable: false }),
        field('DeveloperName', 'string', { label: 'Developer Name', length: 80 }),
        field('Type', 'picklist', {
          nillable: false,
          restrictedPicklist: true,
          picklistValues: picklist(['Regular', 'Queue']),
        }),
        field('Email', 'email', { length: 255 }),
        field('DoesSendEmailToMembers', 'boolean', {
          label: 'Send Email to Members',
          nillable: false,
          defaultedOnCreate: true,
        }),
      ],
      { bulkIngestable: false },
    ),
    // QueueSobject: "Represents the mapping between a queue Group and the types associated with the queue"
    // (object reference, QueueSobject): QueueId (refers to Group, relationship Queue) and SobjectType
    // (restricted picklist), create() and delete() but no update(). Only a queue with a row here for an
    // object may own records of it (rows.ts, checkOwner).
    object(
      'QueueSobject',
      '03g',
      'Queue Sobjects',
      [
        field('QueueId', 'reference', {
          label: 'Group ID',
          nillable: false,
          updateable: false,
          referenceTo: ['Group'],
          relationshipName: 'Queue',
        }),
        field('SobjectType', 'picklist', {
          label: 'sObject Type',
          length: 40,
          nillable: false,
          updateable: false,
          restrictedPicklist: true,
          picklistValues: [], // sobjectTypePicklists fills it
        }),
      ],
      { bulkIngestable: false },
    ),
    // RecordType: field reference guide, salesforce-field-reference-recordtype: Name and DeveloperName
    // (string 80), SobjectType (picklist 40), IsActive, NamespacePrefix (string 15), Description (255).
    // The Tooling API's RecordType lists create() and update(); whether Bulk API 2.0 takes RecordType is
    // not documented, so it is refused here as for User and Group.
    object(
      'RecordType',
      '012',
      'Record Types',
      [
        field('Name', 'string', { label: 'Record Type Label', length: 80, nillable: false }),
        field('DeveloperName', 'string', { label: 'Record Type Name', length: 80, nillable: false }),
        field('SobjectType', 'picklist', {
          label: 'SObject Type Name',
          length: 40,
          nillable: false,
          updateable: false,
          restrictedPicklist: true,
          picklistValues: [], // sobjectTypePicklists fills it
        }),
        field('IsActive', 'boolean', { label: 'Active', nillable: false, defaultedOnCreate: true }),
        field('NamespacePrefix', 'string', {
          label: 'Namespace Prefix',
          length: 15,
          createable: false,
          updateable: false,
        }),
        field('Description', 'string', { length: 255 }),
      ],
      { bulkIngestable: false },
    ),
    object(
      'Organization',
      '00D',
      'Organizations',
      [
        field('Name', 'string', { nillable: false, updateable: false, createable: false }),
        field('InstanceName', 'string', { length: 5, createable: false, updateable: false }),
        field('IsSandbox', 'boolean', { nillable: false, createable: false, updateable: false }),
        field('TrialExpirationDate', 'datetime', { createable: false, updateable: false }),
        field('NamespacePrefix', 'string', { length: 15, createable: false, updateable: false }),
        field('OrganizationType', 'picklist', {
          label: 'Edition',
          createable: false,
          updateable: false,
          picklistValues: picklist(['Developer Edition', 'Enterprise Edition']),
        }),
      ],
      { bulkIngestable: false },
    ),
  ];
}

/**
 * Fills the SobjectType picklists of RecordType and QueueSobject from the objects the org has (the
 * built-in ones and those of a --schema folder): a record type for each object with a RecordTypeId, a
 * queue for each object whose OwnerId may refer to a Group. A real org derives these lists the same
 * way (a queue's "Supported Objects" are the objects that allow queues).
 */
export function sobjectTypePicklists(objects: ObjectDescribe[]): void {
  const names = (test: (o: ObjectDescribe) => boolean): string[] =>
    objects
      .filter(test)
      .map((o) => o.name)
      .sort();
  const has = (o: ObjectDescribe, name: string): FieldDescribe | undefined => o.fields.find((f) => f.name === name);
  const lists: Record<string, string[]> = {
    RecordType: names((o) => has(o, 'RecordTypeId') !== undefined),
    QueueSobject: names((o) => has(o, 'OwnerId')?.referenceTo.includes('Group') === true),
  };
  for (const [objectName, values] of Object.entries(lists)) {
    const sobjectType = objects.find((o) => o.name === objectName)?.fields.find((f) => f.name === 'SobjectType');
    if (sobjectType) sobjectType.picklistValues = picklist(values);
  }
}
