import { field, type FieldDescribe, type ObjectDescribe } from './describe.js';
import { ObjectStore, type RecordStore } from './store.js';

// EntityDefinition: row-based metadata about the org's objects, queryable with SOQL over REST (Salesforce
// Object Reference and Tooling API guide, "EntityDefinition": available since API 32.0, query only; the
// fields below are a subset of the ones the Field Reference lists, with their types). Tools such as
// SFDMU list an org's objects with it (`SELECT QualifiedApiName, Label FROM EntityDefinition WHERE
// IsDeprecatedAndHidden = false ORDER BY QualifiedApiName`). The local org derives its rows from its own
// schema at query time, so a --schema folder's objects appear too; nothing is stored, and the object is
// not in the describe list (it cannot be written).
//
// Chosen without public evidence: Id and DurableId hold the API name (a real org gives custom objects a
// 01I… DurableId, and the Id is a constant placeholder); the capability flags follow the describe.

export const ENTITY_DEFINITION = 'EntityDefinition';

const readOnly = (name: string, type: string, options: Partial<FieldDescribe> = {}): FieldDescribe =>
  field(name, type, { createable: false, updateable: false, ...options });

function describe(): ObjectDescribe {
  const text = (name: string, length = 255): FieldDescribe => readOnly(name, 'string', { length });
  const flag = (name: string): FieldDescribe => readOnly(name, 'boolean', { nillable: false, defaultedOnCreate: true });
  return {
    name: ENTITY_DEFINITION,
    label: 'Entity Definition',
    labelPlural: 'Entity Definitions',
    keyPrefix: '000',
    custom: false,
    createable: false,
    updateable: false,
    deletable: false,
    queryable: true,
    bulkIngestable: false,
    fields: [
      readOnly('Id', 'id', { nillable: false }),
      text('DurableId'),
      text('QualifiedApiName', 250),
      text('DeveloperName', 40),
      text('NamespacePrefix', 15),
      text('Label', 40),
      text('MasterLabel', 255),
      text('PluralLabel', 255),
      text('KeyPrefix', 3),
      flag('IsCustomizable'),
      flag('IsCustomSetting'),
      flag('IsDeprecatedAndHidden'),
      flag('IsQueryable'),
      flag('IsRetrieveable'),
      flag('IsSearchable'),
      flag('IsTriggerable'),
      flag('IsApexTriggerable'),
      flag('IsLayoutable'),
      flag('IsEverCreatable'),
      flag('IsEverUpdatable'),
      flag('IsEverDeletable'),
      flag('IsIdEnabled'),
    ],
  };
}

/** A fresh, read-only store of one EntityDefinition row per object of the org. */
export function entityDefinitions(store: RecordStore): ObjectStore {
  const rows = new ObjectStore(describe(), 'Lo0');
  for (const object of store.all()) {
    const d = object.describe;
    const custom = d.name.endsWith('__c');
    rows.put({
      Id: d.name,
      DurableId: d.name,
      QualifiedApiName: d.name,
      DeveloperName: custom ? d.name.slice(0, -3) : d.name,
      NamespacePrefix: null,
      Label: d.label,
      MasterLabel: d.label,
      PluralLabel: d.labelPlural,
      KeyPrefix: d.keyPrefix,
      IsCustomizable: true,
      IsCustomSetting: false,
      IsDeprecatedAndHidden: false,
      IsQueryable: d.queryable,
      IsRetrieveable: d.queryable,
      IsSearchable: d.queryable,
      IsTriggerable: true,
      IsApexTriggerable: true,
      IsLayoutable: true,
      IsEverCreatable: d.createable,
      IsEverUpdatable: d.updateable,
      IsEverDeletable: d.deletable,
      IsIdEnabled: true,
    });
  }
  return rows;
}
