import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { builtInObjects, sobjectTypePicklists } from './built-in-objects.js';
import { field, system, type FieldDescribe, type FieldOptions, type ObjectDescribe } from './describe.js';

// The schema loader: describe JSON files of a --schema folder merged over the built-in objects.

/** Completes a describe read from a file (a real org's describe has every key; a hand-written one may not). */
function normaliseField(raw: Record<string, unknown>): FieldDescribe {
  const name = String(raw.name);
  const type = String(raw.type ?? 'string');
  const base = field(name, type, raw as FieldOptions);
  return { ...raw, ...base, custom: typeof raw.custom === 'boolean' ? raw.custom : base.custom };
}

class SchemaError extends Error {}

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
  sobjectTypePicklists(objects);
  return objects;
}
