// The objects the local org has without a --schema folder: the standard objects a migration usually
// loads, each with a real org's key prefix and the fields a migration commonly touches.
import { field, picklist, type FieldDescribe, type ObjectDescribe } from './describe.js';
import { object } from './standard-object.js';
import { setupObjects, sobjectTypePicklists } from './built-in-setup-objects.js';

export { sobjectTypePicklists } from './built-in-setup-objects.js';

// A Lead's, a Case's or a Task's owner is a User or a queue (a Group): "When creating or updating a
// Case or Lead, a client application ... can set this field to any valid User in the organization or
// to any valid queue" (SOAP API guide, "Frequently-Occurring Fields", OwnerId). The object reference
// lists such an owner as "Refers To: Group, User" (e.g. AccountAccountRelation's OwnerId, "a polymorphic
// relationship field"), i.e. a describe with OwnerId `referenceTo: ["Group", "User"]`, which is what
// makes a Bulk API header write `User:Owner.Username`. For Task no Salesforce page was found here;
// CData's Salesforce driver documents Task OwnerId as "the user or queue" with a polymorphic type
// column (cdn.cdata.com/help/RFM/py/pg_table-task.htm). Account, Contact, Opportunity and Campaign
// owners are taken to be Users only (no queues for them), so `Owner.Username` is their column.
const owner = (referenceTo: string[] = ['User']): FieldDescribe =>
  field('OwnerId', 'reference', {
    label: 'Owner ID',
    nillable: false,
    defaultedOnCreate: true,
    referenceTo,
    relationshipName: 'Owner',
  });

// Every built-in object carries one custom external id, so upserts and relationship columns can be rehearsed
// without a --schema folder (a real migration target usually has such a field).
const legacyId = (): FieldDescribe =>
  field('Legacy_Id__c', 'string', { label: 'Legacy Id', length: 255, externalId: true, unique: true, idLookup: true });

// RecordTypeId on the objects that commonly have record types. Object reference (Account, Contact, ...):
// "RecordTypeId ... Type reference ... ID of the record type assigned to this object", relationship
// name RecordType, refers to RecordType (field reference guide, salesforce-field-reference-recordtype).
// A real org shows the field in describe only once the object has a record type; here it is always
// there (a simplification: a load that writes it to an object without record types fails either way,
// on the field here, on the value there).
const recordTypeId = (): FieldDescribe =>
  field('RecordTypeId', 'reference', {
    label: 'Record Type ID',
    referenceTo: ['RecordType'],
    relationshipName: 'RecordType',
  });

const address = (prefix: string): FieldDescribe[] => [
  field(`${prefix}Street`, 'textarea', { length: 255 }),
  field(`${prefix}City`, 'string', { length: 40 }),
  field(`${prefix}State`, 'string', { length: 80 }),
  field(`${prefix}PostalCode`, 'string', { length: 20 }),
  field(`${prefix}Country`, 'string', { length: 80 }),
];

export function builtInObjects(): ObjectDescribe[] {
  const objects = [...standardObjects(), ...setupObjects()];
  sobjectTypePicklists(objects);
  return objects;
}

function standardObjects(): ObjectDescribe[] {
  return [
    object('Account', '001', 'Accounts', [
      field('Name', 'string', { label: 'Account Name', nillable: false, idLookup: true }),
      field('AccountNumber', 'string', { label: 'Account Number', length: 40 }),
      field('Type', 'picklist', {
        label: 'Account Type',
        length: 255,
        picklistValues: picklist(['Prospect', 'Customer - Direct', 'Customer - Channel', 'Partner', 'Other']),
      }),
      field('Industry', 'picklist', {
        picklistValues: picklist([
          'Agriculture',
          'Banking',
          'Chemicals',
          'Communications',
          'Construction',
          'Education',
          'Electronics',
          'Energy',
          'Finance',
          'Healthcare',
          'Manufacturing',
          'Retail',
          'Technology',
          'Other',
        ]),
      }),
      field('Rating', 'picklist', {
        label: 'Account Rating',
        picklistValues: picklist(['Hot', 'Warm', 'Cold']),
        restrictedPicklist: true,
      }),
      field('AnnualRevenue', 'currency', { label: 'Annual Revenue' }),
      field('NumberOfEmployees', 'int', { label: 'Employees', digits: 8 }),
      field('Phone', 'phone', { label: 'Account Phone', length: 40 }),
      field('Website', 'url'),
      field('Description', 'textarea', { label: 'Account Description', length: 32_000 }),
      field('ParentId', 'reference', {
        label: 'Parent Account ID',
        referenceTo: ['Account'],
        relationshipName: 'Parent',
      }),
      ...address('Billing'),
      ...address('Shipping'),
      recordTypeId(),
      owner(),
      legacyId(),
    ]),
    object('Contact', '003', 'Contacts', [
      field('FirstName', 'string', { label: 'First Name', length: 40 }),
      field('LastName', 'string', { label: 'Last Name', length: 80, nillable: false }),
      field('Name', 'string', {
        label: 'Full Name',
        length: 121,
        createable: false,
        updateable: false,
        idLookup: true,
      }),
      field('Salutation', 'picklist', { picklistValues: picklist(['Mr.', 'Ms.', 'Mrs.', 'Dr.', 'Prof.']) }),
      field('Title', 'string', { length: 128 }),
      field('Email', 'email', { length: 80, idLookup: true }),
      field('Phone', 'phone', { label: 'Business Phone', length: 40 }),
      field('Birthdate', 'date'),
      field('HasOptedOutOfEmail', 'boolean', { label: 'Email Opt Out', nillable: false, defaultedOnCreate: true }),
      field('AccountId', 'reference', { label: 'Account ID', referenceTo: ['Account'], relationshipName: 'Account' }),
      field('ReportsToId', 'reference', {
        label: 'Reports To ID',
        referenceTo: ['Contact'],
        relationshipName: 'ReportsTo',
      }),
      ...address('Mailing'),
      field('Description', 'textarea', { label: 'Contact Description', length: 32_000 }),
      recordTypeId(),
      owner(),
      legacyId(),
    ]),
    object('Lead', '00Q', 'Leads', [
      field('FirstName', 'string', { label: 'First Name', length: 40 }),
      field('LastName', 'string', { label: 'Last Name', length: 80, nillable: false }),
      field('Name', 'string', { label: 'Full Name', length: 121, createable: false, updateable: false }),
      field('Company', 'string', { nillable: false }),
      field('Email', 'email', { length: 80, idLookup: true }),
      field('Phone', 'phone', { length: 40 }),
      field('Status', 'picklist', {
        label: 'Lead Status',
        nillable: false,
        defaultedOnCreate: true,
        restrictedPicklist: true,
        picklistValues: picklist(
          ['Open - Not Contacted', 'Working - Contacted', 'Closed - Converted', 'Closed - Not Converted'],
          'Open - Not Contacted',
        ),
      }),
      field('LeadSource', 'picklist', {
        label: 'Lead Source',
        picklistValues: picklist(['Web', 'Phone Inquiry', 'Partner Referral', 'Purchased List', 'Other']),
      }),
      field('AnnualRevenue', 'currency', { label: 'Annual Revenue' }),
      field('NumberOfEmployees', 'int', { label: 'Employees', digits: 8 }),
      field('IsConverted', 'boolean', {
        label: 'Converted',
        nillable: false,
        createable: false,
        updateable: false,
        defaultedOnCreate: true,
      }),
      field('ConvertedAccountId', 'reference', {
        label: 'Converted Account ID',
        createable: false,
        updateable: false,
        referenceTo: ['Account'],
        relationshipName: 'ConvertedAccount',
      }),
      recordTypeId(),
      owner(['Group', 'User']),
      legacyId(),
    ]),
    object('Opportunity', '006', 'Opportunities', [
      field('Name', 'string', { nillable: false, length: 120 }),
      field('AccountId', 'reference', { label: 'Account ID', referenceTo: ['Account'], relationshipName: 'Account' }),
      field('StageName', 'picklist', {
        label: 'Stage',
        nillable: false,
        restrictedPicklist: true,
        picklistValues: picklist([
          'Prospecting',
          'Qualification',
          'Needs Analysis',
          'Proposal/Price Quote',
          'Negotiation/Review',
          'Closed Won',
          'Closed Lost',
        ]),
      }),
      field('CloseDate', 'date', { label: 'Close Date', nillable: false }),
      field('Amount', 'currency'),
      field('Probability', 'percent', { label: 'Probability (%)', precision: 3, scale: 0 }),
      field('IsWon', 'boolean', {
        label: 'Won',
        nillable: false,
        createable: false,
        updateable: false,
        defaultedOnCreate: true,
      }),
      field('CampaignId', 'reference', {
        label: 'Campaign ID',
        referenceTo: ['Campaign'],
        relationshipName: 'Campaign',
      }),
      field('Description', 'textarea', { length: 32_000 }),
      recordTypeId(),
      owner(),
      legacyId(),
    ]),
    object('Case', '500', 'Cases', [
      field('CaseNumber', 'string', {
        label: 'Case Number',
        length: 30,
        nillable: false,
        createable: false,
        updateable: false,
        defaultedOnCreate: true,
        idLookup: true,
      }),
      field('Subject', 'string'),
      field('Description', 'textarea', { length: 32_000 }),
      field('Status', 'picklist', {
        nillable: false,
        defaultedOnCreate: true,
        restrictedPicklist: true,
        picklistValues: picklist(['New', 'Working', 'Escalated', 'Closed'], 'New'),
      }),
      field('Priority', 'picklist', {
        defaultedOnCreate: true,
        picklistValues: picklist(['High', 'Medium', 'Low'], 'Medium'),
      }),
      field('Origin', 'picklist', { label: 'Case Origin', picklistValues: picklist(['Phone', 'Email', 'Web']) }),
      field('AccountId', 'reference', { label: 'Account ID', referenceTo: ['Account'], relationshipName: 'Account' }),
      field('ContactId', 'reference', { label: 'Contact ID', referenceTo: ['Contact'], relationshipName: 'Contact' }),
      field('ParentId', 'reference', { label: 'Parent Case ID', referenceTo: ['Case'], relationshipName: 'Parent' }),
      recordTypeId(),
      owner(['Group', 'User']),
      legacyId(),
    ]),
    object('Campaign', '701', 'Campaigns', [
      field('Name', 'string', { nillable: false, length: 80, idLookup: true }),
      field('Type', 'picklist', {
        picklistValues: picklist(['Conference', 'Webinar', 'Email', 'Advertisement', 'Other']),
      }),
      field('Status', 'picklist', { picklistValues: picklist(['Planned', 'In Progress', 'Completed', 'Aborted']) }),
      field('StartDate', 'date', { label: 'Start Date' }),
      field('EndDate', 'date', { label: 'End Date' }),
      field('IsActive', 'boolean', { label: 'Active', nillable: false, defaultedOnCreate: true }),
      field('BudgetedCost', 'currency', { label: 'Budgeted Cost in Campaign' }),
      field('ParentId', 'reference', {
        label: 'Parent Campaign ID',
        referenceTo: ['Campaign'],
        relationshipName: 'Parent',
      }),
      recordTypeId(),
      owner(),
      legacyId(),
    ]),
    object('CampaignMember', '00v', 'Campaign Members', [
      field('CampaignId', 'reference', {
        label: 'Campaign ID',
        nillable: false,
        updateable: false,
        referenceTo: ['Campaign'],
        relationshipName: 'Campaign',
      }),
      field('LeadId', 'reference', {
        label: 'Lead ID',
        updateable: false,
        referenceTo: ['Lead'],
        relationshipName: 'Lead',
      }),
      field('ContactId', 'reference', {
        label: 'Contact ID',
        updateable: false,
        referenceTo: ['Contact'],
        relationshipName: 'Contact',
      }),
      field('Status', 'picklist', { defaultedOnCreate: true, picklistValues: picklist(['Sent', 'Responded'], 'Sent') }),
      field('HasResponded', 'boolean', {
        label: 'Responded',
        nillable: false,
        createable: false,
        updateable: false,
        defaultedOnCreate: true,
      }),
      legacyId(),
    ]),
    object('Task', '00T', 'Tasks', [
      field('Subject', 'combobox'),
      field('ActivityDate', 'date', { label: 'Due Date Only' }),
      field('Status', 'picklist', {
        nillable: false,
        defaultedOnCreate: true,
        restrictedPicklist: true,
        picklistValues: picklist(
          ['Not Started', 'In Progress', 'Completed', 'Waiting on someone else', 'Deferred'],
          'Not Started',
        ),
      }),
      field('Priority', 'picklist', {
        nillable: false,
        defaultedOnCreate: true,
        picklistValues: picklist(['High', 'Normal', 'Low'], 'Normal'),
      }),
      field('WhoId', 'reference', { label: 'Name ID', referenceTo: ['Contact', 'Lead'], relationshipName: 'Who' }),
      field('WhatId', 'reference', {
        label: 'Related To ID',
        referenceTo: ['Account', 'Opportunity', 'Case', 'Campaign'],
        relationshipName: 'What',
      }),
      field('Description', 'textarea', { length: 32_000 }),
      recordTypeId(),
      owner(['Group', 'User']),
      legacyId(),
    ]),
  ];
}
