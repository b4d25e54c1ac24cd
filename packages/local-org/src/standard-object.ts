// The shape every built-in object of the local org shares (built-in-objects.ts,
// built-in-setup-objects.ts): a standard object, createable, updateable, deletable and queryable,
// with the system fields first.
import { system, type FieldDescribe, type ObjectDescribe } from './describe.js';

export function object(
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
