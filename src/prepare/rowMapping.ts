/*
 * A step's column mapping (rename, drop, constants) applied to one parsed row, the same way the
 * upload applies it to a chunk (src/csv/upload.ts): rows the row pass does not send are written
 * to the dead letters as they would have been uploaded, because `sf migrate retry` sends a dead
 * letter's columns as they are.
 */
import type { ColumnMapping } from '../manifest/types.js';

export type RowMapper = {
  /** the uploaded header */
  columns: string[];
  /** the uploaded values of a row of the input columns */
  map(row: readonly string[]): string[];
};

export function rowMapper(input: readonly string[], mapping: ColumnMapping): RowMapper {
  const dropped = new Set(mapping.drop ?? []);
  const rename = mapping.rename ?? {};
  const constants = Object.entries(mapping.constants ?? {});
  const constantValues = new Map(constants);
  const picks: Array<{ name: string; source: number } | { name: string; constant: string }> = [];
  input.forEach((column, index) => {
    if (dropped.has(column)) return;
    const name = Object.prototype.hasOwnProperty.call(rename, column) ? rename[column] : column;
    const constant = constantValues.get(name);
    picks.push(constant === undefined ? { name, source: index } : { name, constant });
  });
  for (const [name, constant] of constants) {
    if (!picks.some((pick) => pick.name === name)) picks.push({ name, constant });
  }
  return {
    columns: picks.map((pick) => pick.name),
    map: (row): string[] => picks.map((pick) => ('constant' in pick ? pick.constant : (row[pick.source] ?? ''))),
  };
}

/** the name a source column is uploaded under, or undefined when the mapping drops it */
export function uploadedName(column: string, mapping: ColumnMapping): string | undefined {
  if ((mapping.drop ?? []).includes(column)) return undefined;
  return Object.prototype.hasOwnProperty.call(mapping.rename ?? {}, column) ? mapping.rename![column] : column;
}
