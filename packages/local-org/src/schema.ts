import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

// The object model of the local org, in the shape of a REST describe, so that a describe saved from a
// real org (`sf sobject describe --sobject X --json` or the raw REST answer) can be dropped into --schema.

export type PicklistValue = { active: boolean; defaultValue: boolean; label: string; validFor: null; value: string };

export type FieldDescribe = {
  [extra: string]: unknown;
  name: string;
  label: string;
  type: string;
  length: number;
  precision: number;
  scale: number;
  digits: number;
  nillable: boolean;
  createable: boolean;
  updateable: boolean;
  defaultedOnCreate: boolean;
  externalId: boolean;
  idLookup: boolean;
  unique: boolean;
  caseSensitive: boolean;
  custom: boolean;
  calculated: boolean;
  filterable: boolean;
  sortable: boolean;
  referenceTo: string[];
  relationshipName: string | null;
  picklistValues: PicklistValue[];
  restrictedPicklist: boolean;
};

export type ObjectDescribe = {
  [extra: string]: unknown;
  name: string;
  label: string;
  labelPlural: string;
  keyPrefix: string;
  custom: boolean;
  createable: boolean;
  updateable: boolean;
  deletable: boolean;
  queryable: boolean;
  /** false for objects Bulk API 2.0 refuses (INVALIDENTITY). */
  bulkIngestable: boolean;
  fields: FieldDescribe[];
};

type FieldOptions = Partial<FieldDescribe>;

// eslint-disable-next-line complexity -- a default for every describe property
function field(name: string, type: string, options: FieldOptions = {}): FieldDescribe {
  const isText = ['string', 'textarea', 'phone', 'url', 'email', 'picklist', 'multipicklist', 'combobox'].includes(
    type,
  );
  return {
    name,
    label: options.label ?? name.replace(/__c$/, '').replace(/_/g, ' ').replace(/Id$/, '').trim(),
    type,
    length: options.length ?? (isText ? 255 : type === 'id' || type === 'reference' ? 18 : 0),
    precision: options.precision ?? (['double', 'currency', 'percent'].includes(type) ? 18 : 0),
    scale: options.scale ?? (['double', 'currency', 'percent'].includes(type) ? 2 : 0),
    digits: options.digits ?? (type === 'int' ? 9 : 0),
    nillable: options.nillable ?? true,
    createable: options.createable ?? true,
    updateable: options.updateable ?? true,
    defaultedOnCreate: options.defaultedOnCreate ?? false,
    externalId: options.externalId ?? false,
    idLookup: options.idLookup ?? (type === 'id' || options.externalId === true),
    unique: options.unique ?? false,
    caseSensitive: options.caseSensitive ?? false,
    custom: name.endsWith('__c'),
    calculated: options.calculated ?? false,
    filterable: true,
    sortable: type !== 'textarea',
    referenceTo: options.referenceTo ?? [],
    relationshipName: options.relationshipName ?? null,
    picklistValues: options.picklistValues ?? [],
    restrictedPicklist: options.restrictedPicklist ?? false,
  };
}

function picklist(values: string[], defaultValue?: string): PicklistValue[] {
  return values.map((value) => ({
    active: true,
    defaultValue: value === defaultValue,
    label: value,
    validFor: null,
    value,
  }));
}

const system = (): FieldDescribe[] => [
  field('Id', 'id', {
    label: 'Record ID',
    nillable: false,
    createable: false,
    updateable: false,
    defaultedOnCreate: true,
  }),
  field('IsDeleted', 'boolean', {
    label: 'Deleted',
    nillable: false,
    createable: false,
    updateable: false,
    defaultedOnCreate: true,
  }),
  field('CreatedDate', 'datetime', {
    label: 'Created Date',
    nillable: false,
    createable: false,
    updateable: false,
    defaultedOnCreate: true,
  }),
  field('CreatedById', 'reference', {
    label: 'Created By ID',
    nillable: false,
    createable: false,
    updateable: false,
    defaultedOnCreate: true,
    referenceTo: ['User'],
    relationshipName: 'CreatedBy',
  }),
  field('LastModifiedDate', 'datetime', {
    label: 'Last Modified Date',
    nillable: false,
    createable: false,
    updateable: false,
    defaultedOnCreate: true,
  }),
  field('LastModifiedById', 'reference', {
    label: 'Last Modified By ID',
    nillable: false,
    createable: false,
    updateable: false,
    defaultedOnCreate: true,
    referenceTo: ['User'],
    relationshipName: 'LastModifiedBy',
  }),
  field('SystemModstamp', 'datetime', {
    label: 'System Modstamp',
    nillable: false,
    createable: false,
    updateable: false,
    defaultedOnCreate: true,
  }),
];

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

function object(
  name: string,
  keyPrefix: string,
  labelPlural: string,
  fields: FieldDescribe[],
  extra: Partial<ObjectDescribe> = {},
): ObjectDescribe {
  return {
    name,
    label: extra.label ?? name,
    labelPlural,
    keyPrefix,
    custom: false,
    createable: true,
    updateable: true,
    deletable: true,
    queryable: true,
    bulkIngestable: extra.bulkIngestable ?? true,
    fields: [...system(), ...fields],
  };
}

const address = (prefix: string): FieldDescribe[] => [
  field(`${prefix}Street`, 'textarea', { length: 255 }),
  field(`${prefix}City`, 'string', { length: 40 }),
  field(`${prefix}State`, 'string', { length: 80 }),
  field(`${prefix}PostalCode`, 'string', { length: 20 }),
  field(`${prefix}Country`, 'string', { length: 80 }),
];

export function builtInObjects(): ObjectDescribe[] {
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
      owner(['Group', 'User']),
      legacyId(),
    ]),
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
        field('IsActive', 'boolean', { label: 'Active', nillable: false, defaultedOnCreate: true }),
        field('TimeZoneSidKey', 'picklist', {
          label: 'Time Zone',
          nillable: false,
          picklistValues: picklist(['GMT', 'America/Los_Angeles', 'Europe/London']),
        }),
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

/** Completes a describe read from a file (a real org's describe has every key; a hand-written one may not). */
function normaliseField(raw: Record<string, unknown>): FieldDescribe {
  const name = String(raw.name);
  const type = String(raw.type ?? 'string');
  const base = field(name, type, raw as FieldOptions);
  return { ...raw, ...base, custom: typeof raw.custom === 'boolean' ? raw.custom : base.custom };
}

export class SchemaError extends Error {}

/**
 * Reads every *.json file of a folder as one object describe (a REST describe, or the `result` of
 * `sf sobject describe --json`) and merges it over the built-in objects: fields of a known object are
 * added or replaced by name, unknown objects are added as they are.
 */
export async function loadObjects(schemaDir?: string): Promise<ObjectDescribe[]> {
  const objects = builtInObjects();
  if (!schemaDir) return objects;
  const files = (await readdir(schemaDir)).filter((f) => f.endsWith('.json')).sort();
  const texts = await Promise.all(files.map((file) => readFile(join(schemaDir, file), 'utf8')));
  let customPrefixSerial = 0;
  for (const [index, file] of files.entries()) {
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(texts[index]) as Record<string, unknown>;
    } catch (error) {
      throw new SchemaError(`${file}: not valid JSON (${(error as Error).message})`);
    }
    const describe = (parsed.result && typeof parsed.result === 'object' ? parsed.result : parsed) as Record<
      string,
      unknown
    >;
    if (typeof describe.name !== 'string' || !Array.isArray(describe.fields)) {
      throw new SchemaError(`${file}: an object describe needs "name" and "fields"`);
    }
    const fields = (describe.fields as Array<Record<string, unknown>>).map(normaliseField);
    const existing = objects.find((o) => o.name.toLowerCase() === (describe.name as string).toLowerCase());
    if (existing) {
      for (const f of fields) {
        const at = existing.fields.findIndex((x) => x.name.toLowerCase() === f.name.toLowerCase());
        if (at >= 0) existing.fields[at] = f;
        else existing.fields.push(f);
      }
      continue;
    }
    const name = describe.name;
    const keyPrefix =
      typeof describe.keyPrefix === 'string'
        ? describe.keyPrefix
        : `a0${'ABCDEFGHIJKLMNOPQRSTUVWXYZ'[customPrefixSerial++ % 26]}`;
    const ownFields = fields.filter((f) => !system().some((s) => s.name === f.name));
    objects.push({
      ...describe,
      name,
      label: typeof describe.label === 'string' ? describe.label : name,
      labelPlural: typeof describe.labelPlural === 'string' ? describe.labelPlural : name,
      keyPrefix,
      custom: name.endsWith('__c'),
      createable: describe.createable !== false,
      updateable: describe.updateable !== false,
      deletable: describe.deletable !== false,
      queryable: describe.queryable !== false,
      bulkIngestable: true,
      fields: [...system(), ...ownFields],
    });
  }
  return objects;
}
