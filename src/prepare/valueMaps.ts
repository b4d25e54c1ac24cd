/*
 * Value maps (issue 12.3) as row stages: one stage a mapped column, in the order the manifest
 * lists them, each replacing the column's value by its mapping. A value the map lacks is sent as it
 * is, replaced by the default, or rejects the row (`VALUE_NOT_MAPPED`), as the map's `onUnmapped`
 * says; an empty value is sent empty unless the map has an entry for "".
 */
import { Messages } from '@salesforce/core';
import type { ResolvedStep, ValueMap } from '../manifest/types.js';
import { readValueMapFile } from '../manifest/valueMaps.js';
import type { RowReject, RowStage } from './stage.js';

Messages.importMessagesDirectoryFromMetaUrl(import.meta.url);
const messages = Messages.loadMessages('@sf-migrate/plugin-migrate', 'prepare');

export const VALUE_NOT_MAPPED = 'VALUE_NOT_MAPPED';

async function entriesOf(step: ResolvedStep, column: string, map: ValueMap): Promise<Map<string, string>> {
  if (map.map) return new Map(Object.entries(map.map));
  try {
    return await readValueMapFile(map.file!, step.columnDelimiter);
  } catch (cause) {
    // `validate` reports the same file before a run; it changed since, or was never validated
    throw messages.createError('error.ValueMapUnreadable', [map.file!, column, step.id, (cause as Error).message]);
  }
}

export function valueMapStage(column: string, entries: Map<string, string>, map: ValueMap): RowStage {
  const onUnmapped = map.onUnmapped ?? 'fail';
  let index = -1;
  return {
    columns(input): string[] {
      index = input.indexOf(column);
      return [...input];
    },
    apply(row): string[] | RowReject {
      if (index < 0 || index >= row.length) return [...row];
      const value = row[index];
      let mapped = entries.get(value);
      if (mapped === undefined) {
        if (value === '' || onUnmapped === 'pass') return [...row];
        if (onUnmapped === 'fail') {
          return { code: VALUE_NOT_MAPPED, message: messages.getMessage('reject.valueNotMapped', [value, column]) };
        }
        mapped = map.default ?? '';
      }
      const out = [...row];
      out[index] = mapped;
      return out;
    },
  };
}

/** the step's value map stages (none without `valueMaps`) */
export async function valueMapStages(step: ResolvedStep): Promise<RowStage[]> {
  const stages: RowStage[] = [];
  for (const [column, map] of Object.entries(step.valueMaps ?? {})) {
    // eslint-disable-next-line no-await-in-loop -- a few small maps, in the manifest's order
    stages.push(valueMapStage(column, await entriesOf(step, column, map), map));
  }
  return stages;
}
