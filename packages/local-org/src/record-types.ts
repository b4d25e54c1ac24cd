import type { RecordStore } from './store.js';

// Record types: which one a record gets when a create names none.

/** The Master record type every object has; it is no RecordType row (object reference, RecordType). */
export const MASTER_RECORD_TYPE_ID = '012000000000000AAA';

/**
 * The record type a create without RecordTypeId gets: a real org gives the user's default record type of
 * the object (from the profile), or Master when the object has no record type the user may use. The local
 * org has no profiles: the default is the active record type of the object made first (lowest Id), and
 * undefined (Master: RecordTypeId stays empty) when the object has no active record type.
 */
export function defaultRecordType(store: RecordStore, objectName: string): string | undefined {
  const types = store.object('RecordType');
  if (!types) return undefined;
  let first: string | undefined;
  for (const id of types.findBy('SobjectType', objectName)) {
    if (types.records.get(id)?.IsActive === true && (first === undefined || id < first)) first = id;
  }
  return first;
}
