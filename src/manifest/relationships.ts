/*
 * Relationship columns in a Bulk API 2.0 header (`Account.Legacy_Id__c`, `Parent__r.Ext__c`, and
 * the polymorphic `User:Owner.Username`, `Lead:Who.Email`) name a parent record by an indexed field,
 * so the parent must be loaded first. A polymorphic column is `ObjectType:RelationshipName.Field`:
 * the type comes first (Bulk API 2.0 developer guide, "Relationship Fields in a Header Row"). A real
 * org fails the whole job on a type prefix for a lookup that is not polymorphic (`InvalidBatch : type
 * is not needed for non polymorphic foreign key references: Parent`, a captured answer) and on a
 * relationship it cannot find, which is what the reversed order meets (`Parent:Account.X` →
 * `InvalidBatch : Unable to find relationship: Account`). Offline we have no describe, so the relationship name is
 * mapped to an object by the Salesforce naming rules and a table of common standard relationships;
 * the preflight (`validate --target-org`) decides from the org's describe.
 */

export type RelationshipColumn = {
  column: string;
  /** the relationship name (the part after the type prefix, before the dot) */
  relationship: string;
  /** the parent object, or undefined when a polymorphic relationship lacks its `Type:` prefix */
  object?: string;
  /** the `Type:` prefix as written, when there is one */
  type?: string;
  /** the column is known to need a `Type:` prefix (a polymorphic lookup) and has none */
  needsType?: true;
  /** the column is in the reversed order `Relationship:Type.Field`: this is the column as it should be */
  reversedFix?: string;
  /** the column has a `Type:` prefix on a lookup known to point to one object only */
  typeNotNeeded?: true;
};

export type RelationshipOptions = {
  /** objects the manifest loads: a prefix or suffix naming one of them is an object, not a relationship */
  stepObjects?: readonly string[];
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

/** Relationships that point to several objects on every object that has them: `Lead:Who.Email`. */
const polymorphicRelationships = new Set(['Who', 'What', 'RelatedTo']);

/**
 * Objects whose Owner is polymorphic (a User or a queue, which is a Group) in every org. The SOAP API
 * guide's "Frequently-Occurring Fields" (OwnerId): "When creating or updating a Case or Lead, a client
 * application ... can set this field to any valid User in the organization or to any valid queue";
 * its Name object: "the owner of a case can be either a user or a group (queue)". Other objects'
 * owners depend on the org (queues can be enabled for custom objects): the preflight decides.
 */
const polymorphicOwnerObjects = new Set(['lead', 'case']);

/**
 * Lookups that point to one object only, on any object that has them: a type prefix on them fails
 * the job. Custom lookups (`__r`) are never polymorphic. Owner is single-target on these objects.
 */
const singleTargetRelationships = new Set(['createdby', 'lastmodifiedby', 'reportsto', 'masterrecord']);
const singleTargetOwnerObjects = new Set(['account', 'contact', 'opportunity']);

/** Standard objects a polymorphic prefix commonly names. */
const standardObjects = new Set(
  [
    'Account',
    'Asset',
    'Campaign',
    'Case',
    'Contact',
    'Contract',
    'Event',
    'Group',
    'Lead',
    'Opportunity',
    'Order',
    'Product2',
    'Solution',
    'Task',
    'User',
  ].map((o) => o.toLowerCase()),
);

const lower = (name: string): string => name.toLowerCase();

function looksLikeRelationship(name: string): boolean {
  return (
    name.endsWith('__r') ||
    Object.keys(standardRelationships).some((r) => lower(r) === lower(name)) ||
    polymorphicRelationships.has(name)
  );
}

function looksLikeObject(name: string, options: RelationshipOptions): boolean {
  return (
    name.endsWith('__c') ||
    standardObjects.has(lower(name)) ||
    (options.stepObjects ?? []).some((o) => lower(o) === lower(name))
  );
}

/** The object a relationship name points to offline; undefined when it is polymorphic. */
function objectOfRelationship(reference: string, stepObject: string): string | undefined {
  if (reference.endsWith('__r')) return reference.slice(0, -3) + '__c';
  if (polymorphicRelationships.has(reference)) return undefined;
  if (lower(reference) === 'owner' && polymorphicOwnerObjects.has(lower(stepObject))) return undefined;
  const known = standardRelationships[reference];
  if (known === self) return stepObject;
  // Most standard lookups (AccountId → Account, CampaignId → Campaign) are named after their object.
  return known ?? reference;
}

function singleTarget(relationship: string, stepObject: string): boolean {
  if (relationship.endsWith('__r')) return true;
  if (singleTargetRelationships.has(lower(relationship))) return true;
  return lower(relationship) === 'owner' && singleTargetOwnerObjects.has(lower(stepObject));
}

export function parseRelationshipColumn(
  column: string,
  stepObject: string,
  options: RelationshipOptions = {},
): RelationshipColumn | undefined {
  const dot = column.indexOf('.');
  if (dot <= 0 || dot === column.length - 1) return undefined;
  const reference = column.slice(0, dot);
  const field = column.slice(dot + 1);
  const colon = reference.indexOf(':');
  if (colon < 0) {
    const object = objectOfRelationship(reference, stepObject);
    return object ? { column, relationship: reference, object } : { column, relationship: reference, needsType: true };
  }
  const [type, relationship] = [reference.slice(0, colon), reference.slice(colon + 1)];
  // The order of an earlier version of the reference (`Owner:User.Username`): the prefix is a
  // relationship name and the part after it an object (or at least not a relationship).
  const prefixIsRelationship = looksLikeRelationship(type) && !looksLikeObject(type, options);
  const suffixIsRelationship = looksLikeRelationship(relationship) && !looksLikeObject(relationship, options);
  if (prefixIsRelationship && !suffixIsRelationship && relationship) {
    // On a lookup known to point to one object, the fix drops the type rather than moving it.
    const fix = singleTarget(type, stepObject) ? `${type}.${field}` : `${relationship}:${type}.${field}`;
    return { column, relationship: type, object: relationship, reversedFix: fix };
  }
  if (!type || !relationship) return { column, relationship: relationship || type };
  return {
    column,
    relationship,
    object: type,
    type,
    ...(singleTarget(relationship, stepObject) ? { typeNotNeeded: true as const } : {}),
  };
}

export function relationshipColumns(
  columns: string[],
  stepObject: string,
  options: RelationshipOptions = {},
): RelationshipColumn[] {
  return columns.flatMap((column) => parseRelationshipColumn(column, stepObject, options) ?? []);
}
