/*
 * Relationship columns in a Bulk API 2.0 header (`Account.Legacy_Id__c`, `Parent__r.Ext__c`,
 * `Owner:User.Username`) name a parent record by an external id, so the parent must be loaded
 * first. Offline we have no describe, so the relationship name is mapped to an object by the
 * Salesforce naming rules and a table of common standard relationships.
 */

export type RelationshipColumn = {
  column: string;
  relationship: string;
  /** the parent object, or undefined when a polymorphic relationship lacks its `Type:` prefix */
  object?: string;
};

const self = Symbol('the object of the step itself');

/** Standard relationship names whose object differs from the name (or is the step's own object). */
const standardRelationships: Record<string, string | typeof self> = {
  Parent: self,
  MasterRecord: self,
  ReportsTo: 'Contact',
  Owner: 'User',
  CreatedBy: 'User',
  LastModifiedBy: 'User',
  Manager: 'User',
  DelegatedApprover: 'User',
  ConvertedAccount: 'Account',
  ConvertedContact: 'Contact',
  ConvertedOpportunity: 'Opportunity',
  PartnerAccount: 'Account',
};

/** Relationships that can point to several objects: the column must say which, `Who:Contact.Email`. */
const polymorphicRelationships = new Set(['Who', 'What', 'Related', 'RelatedTo']);

export function parseRelationshipColumn(column: string, stepObject: string): RelationshipColumn | undefined {
  const dot = column.indexOf('.');
  if (dot <= 0 || dot === column.length - 1) return undefined;
  const reference = column.slice(0, dot);
  const colon = reference.indexOf(':');
  if (colon >= 0) {
    const relationship = reference.slice(0, colon);
    const object = reference.slice(colon + 1);
    return object ? { column, relationship, object } : { column, relationship };
  }
  if (reference.endsWith('__r'))
    return {
      column,
      relationship: reference,
      object: reference.slice(0, -3) + '__c',
    };
  if (polymorphicRelationships.has(reference)) return { column, relationship: reference };
  const known = standardRelationships[reference];
  if (known === self) return { column, relationship: reference, object: stepObject };
  // Most standard lookups (AccountId → Account, CampaignId → Campaign) are named after their object.
  return { column, relationship: reference, object: known ?? reference };
}

export function relationshipColumns(columns: string[], stepObject: string): RelationshipColumn[] {
  return columns.flatMap((column) => parseRelationshipColumn(column, stepObject) ?? []);
}
