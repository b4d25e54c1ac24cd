import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Collections } from './collections.js';
import type { RecordStore } from './store.js';

// Seeding: the users, queues, record types (and any other records) a rehearsal, a test or a demo needs
// before its first load. A real org gets them from its admins (Setup, or API inserts: User, Group,
// QueueSobject and RecordType are createable through the API, see built-in-setup-objects.ts); the local org takes
// them as JSON at start-up and inserts them through the same writer as sObject Collections, so a seed
// record the org would refuse over the API fails the start.

/**
 * Records by object name, inserted object by object in the order of the keys, records in list order.
 * A value `{"Field": "value"}` under a relationship name (`"Queue": {"DeveloperName": "Support"}`,
 * `"Owner": {"Username": "a@b.c"}`) names a parent already in the org (seeded earlier or built in) by any
 * of its fields, and becomes that parent's Id: a convenience of the seed only (the API's nested form takes
 * external id fields only).
 */
export type SeedData = Record<string, Array<Record<string, unknown>>>;

/** A seed the org cannot take; its name lets a host tell it from other start-up failures. */
export class SeedError extends Error {
  public override readonly name = 'LocalOrgSeedError';
}

/** A seed given as data, as the path of a JSON file, or as a folder of JSON files (applied in name order). */
export async function readSeed(source: string | SeedData): Promise<SeedData[]> {
  if (typeof source !== 'string') return [source];
  const files = (await stat(source)).isDirectory()
    ? (await readdir(source))
        .filter((f) => f.endsWith('.json'))
        .sort()
        .map((f) => join(source, f))
    : [source];
  const seeds: SeedData[] = [];
  for (const file of files) {
    let parsed: unknown;
    try {
      // eslint-disable-next-line no-await-in-loop -- files in order, each small
      parsed = JSON.parse(await readFile(file, 'utf8'));
    } catch (error) {
      throw new SeedError(`${file}: not valid JSON (${(error as Error).message})`);
    }
    const problem = seedProblem(parsed);
    if (problem) throw new SeedError(`${file}: ${problem}`);
    seeds.push(parsed as SeedData);
  }
  return seeds;
}

function seedProblem(value: unknown): string | undefined {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return 'a seed is an object of record lists';
  for (const [object, records] of Object.entries(value)) {
    if (!Array.isArray(records)) return `${object}: a list of records is expected`;
    if (records.some((r) => !r || typeof r !== 'object' || Array.isArray(r)))
      return `${object}: every record is an object`;
  }
  return undefined;
}

/** Inserts the seed's records as the org's admin user; throws on the first record the org refuses. */
export function applySeed(store: RecordStore, collections: Collections, seeds: SeedData[]): void {
  for (const seed of seeds) {
    for (const [objectName, records] of Object.entries(seed)) {
      const object = store.object(objectName);
      if (!object) throw new SeedError(`seed: the org has no object ${objectName}`);
      for (const [index, raw] of records.entries()) {
        const record = resolveParents(store, objectName, raw, index);
        let result;
        try {
          [result] = collections.save({
            operation: 'insert',
            records: [{ ...record, attributes: { type: object.describe.name } }],
            allOrNone: true,
          });
        } catch (error) {
          // a call-level refusal, such as a field the object does not have
          throw new SeedError(`seed: ${objectName} record ${index + 1} was refused: ${(error as Error).message}`);
        }
        if (!result.success) {
          const why = result.errors.map((e) => `${e.statusCode}: ${e.message}`).join('; ');
          throw new SeedError(`seed: ${objectName} record ${index + 1} was refused: ${why}`);
        }
      }
    }
  }
}

/** The record with each `{"Field": value}` under a relationship name replaced by the parent's Id. */
function resolveParents(
  store: RecordStore,
  objectName: string,
  raw: Record<string, unknown>,
  index: number,
): Record<string, unknown> {
  const object = store.object(objectName)!;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (!value || typeof value !== 'object' || Array.isArray(value) || key === 'attributes') {
      out[key] = value;
      continue;
    }
    const where = `seed: ${objectName} record ${index + 1}, ${key}`;
    const field = object.describe.fields.find((f) => f.relationshipName?.toLowerCase() === key.toLowerCase());
    const match = Object.entries(value as Record<string, unknown>);
    if (!field || match.length !== 1) throw new SeedError(`${where}: a relationship name and one {field: value}`);
    const [matchField, matchValue] = match[0];
    const ids = field.referenceTo.flatMap((parentName) => {
      const parent = store.object(parentName);
      const parentField = parent?.field(matchField);
      return parent && parentField ? parent.findBy(parentField.name, String(matchValue)) : [];
    });
    if (ids.length !== 1) {
      const count = ids.length === 0 ? 'no record' : 'more than one record';
      throw new SeedError(`${where}: ${count} with ${matchField} ${String(matchValue)}`);
    }
    out[field.name] = ids[0];
  }
  return out;
}
