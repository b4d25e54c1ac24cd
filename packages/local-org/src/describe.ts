// The object model of the local org, in the shape of a REST describe, so that a describe saved from a
// real org (`sf sobject describe --sobject X --json` or the raw REST answer) can be dropped into --schema:
// the describe types, and a field with the defaults a real org gives each describe property.

type PicklistValue = { active: boolean; defaultValue: boolean; label: string; validFor: null; value: string };

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
  /** the value a create without the field gives it (a real describe's defaultValue; booleans here) */
  defaultValue: unknown;
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

export type FieldOptions = Partial<FieldDescribe>;

// eslint-disable-next-line complexity -- a default for every describe property
export function field(name: string, type: string, options: FieldOptions = {}): FieldDescribe {
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
    defaultValue: options.defaultValue ?? null,
  };
}

export function picklist(values: string[], defaultValue?: string): PicklistValue[] {
  return values.map((value) => ({
    active: true,
    defaultValue: value === defaultValue,
    label: value,
    validFor: null,
    value,
  }));
}

/** the fields every object has */
export const system = (): FieldDescribe[] => [
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
