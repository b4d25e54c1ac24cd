import type { HeaderPlan } from '../header-plan.js';
import { normaliseId } from '../ids.js';
import { sfError, type Operation } from '../rows.js';

// How Salesforce cuts an ingest job: the upload's records, in upload order, become internal batches of
// 10,000 records (reference §4: "one internal batch per 10,000 records"), and each batch is processed in
// chunks of 200 rows, each chunk one transaction (reference §3; KB 000384876 shows the same per-batch
// rule for Data Loader's batches). Chunk boundaries are counted from the first data row of the upload,
// so a job resumed after a restart cuts its rows exactly as before.

export const BATCH_RECORDS = 10_000;
export const CHUNK_ROWS = 200;

/** The 0-based batch a 1-based data row belongs to. */
export const batchOfRow = (row: number): number => Math.floor((row - 1) / BATCH_RECORDS);

/** The 0-based chunk a 1-based data row belongs to. */
export const chunkOfRow = (row: number): number => Math.floor((row - 1) / CHUNK_ROWS);

export type KeyRule = { operation: Operation; externalIdFieldName?: string; plan: HeaderPlan; width: number };

/**
 * The key a row is matched on, as the duplicate check compares it: the external id of an upsert
 * (case-insensitive, as external ids are unless the field is case-sensitive), or the record id of an
 * upsert on `Id`, an update or a delete (15- and 18-character forms of one id are one key). A row
 * without a key (it fails or creates on its own) or wider than the header (a row error before any
 * lookup) has none.
 */
function keyOf(rule: KeyRule, values: string[]): { compare: string; text: string } | undefined {
  if (values.length > rule.width) return undefined;
  const { operation, plan } = rule;
  let column: number | undefined;
  let byId = true;
  if (operation === 'delete' || operation === 'hardDelete') column = 0;
  else if (operation === 'update') column = plan.idColumn;
  else if (operation === 'upsert') {
    column = plan.keyColumn;
    byId = (rule.externalIdFieldName ?? 'Id').toLowerCase() === 'id';
  } else return undefined;
  const text = column === undefined ? '' : (values[column] ?? '');
  if (text === '' || text === '#N/A') return undefined;
  return { compare: byId ? (normaliseId(text) ?? text) : text.toLowerCase(), text };
}

/**
 * The rows of one 200-row chunk that fail because their key appears more than once in the chunk, with
 * their `sf__Error`: every row sharing the key fails and none of them is written (reference §3).
 * Texts: upsert `Duplicate external id specified: X` (reference §3, simple-salesforce's Bulk notes);
 * update/delete `Duplicate id specified: X` (the example error in Salesforce KB 000384876). Whether a
 * real org sends DUPLICATE_VALUE for the id case, and the `:--` suffix of both, is unconfirmed: no public
 * capture of the whole string exists, so they follow the `STATUS:message:fields --` shape of §3.
 */
export function duplicateKeyErrors(rule: KeyRule, rows: string[][]): Map<number, string> {
  const keys = rows.map((values) => keyOf(rule, values));
  const seen = new Map<string, number>();
  for (const key of keys) if (key) seen.set(key.compare, (seen.get(key.compare) ?? 0) + 1);
  const errors = new Map<number, string>();
  const upsert = rule.operation === 'upsert';
  for (const [index, key] of keys.entries()) {
    if (!key || (seen.get(key.compare) ?? 0) < 2) continue;
    const message = upsert ? `Duplicate external id specified: ${key.text}` : `Duplicate id specified: ${key.text}`;
    errors.set(index, sfError('DUPLICATE_VALUE', message));
  }
  return errors;
}
