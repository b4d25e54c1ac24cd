/*
 * The `valueMaps` of a step (issue 12.3), as the loader sees them: their checks, located, and the
 * maps resolved with absolute file paths. The maps act in the pre-upload row pass
 * (src/prepare/valueMaps.ts); a value map file is read there again, in full, since a map is the
 * user's list of codes (hundreds of lines, not millions).
 */
import { createReadStream } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'csv-parse';
import { Messages } from '@salesforce/core';
import { readCsvHeader } from '../csv/header.js';
import { delimiterCharacter } from '../csv/delimiters.js';
import { pointerOf, type Problem } from './problems.js';
import type { ColumnDelimiter, ValueMap } from './types.js';

Messages.importMessagesDirectoryFromMetaUrl(import.meta.url);
const messages = Messages.loadMessages('@sf-migrate/plugin-migrate', 'manifest');

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** the value maps of a raw step whose shape the schema accepts, by column */
function valueMapsOf(step: Record<string, unknown>): Array<[string, ValueMap]> {
  if (!isObject(step.valueMaps)) return [];
  return Object.entries(step.valueMaps).flatMap(([column, map]) =>
    isObject(map) ? [[column, map as ValueMap] as [string, ValueMap]] : [],
  );
}

/** the maps as the engine gets them: every `file` absolute */
export function resolveValueMaps(step: Record<string, unknown>, dir: string): Record<string, ValueMap> | undefined {
  const maps = valueMapsOf(step);
  if (maps.length === 0) return undefined;
  return Object.fromEntries(
    maps.map(([column, map]) => [
      column,
      typeof map.file === 'string' ? { ...map, file: resolve(dir, map.file) } : map,
    ]),
  );
}

/**
 * Reads a two-column value map file: header, then source value and value sent per record.
 *
 * @throws Error whose message says what is wrong with the file (a record not of two columns, a
 * source value twice), for the caller to wrap.
 */
export async function readValueMapFile(file: string, delimiter: ColumnDelimiter): Promise<Map<string, string>> {
  const map = new Map<string, string>();
  const lines = new Map<string, number>();
  const input = createReadStream(file);
  const parser = input.pipe(
    parse({ delimiter: delimiterCharacter(delimiter), bom: true, relaxColumnCount: true, fromLine: 2 }),
  );
  // a file that cannot be read fails the loop below, not the process
  input.on('error', (failure) => parser.destroy(failure));
  let record = 1;
  for await (const row of parser as AsyncIterable<string[]>) {
    record++;
    if (row.length !== 2) throw new Error(messages.getMessage('valueMap.notTwoColumns', [record, row.length]));
    const first = lines.get(row[0]);
    if (first !== undefined) throw new Error(messages.getMessage('valueMap.twice', [row[0], first, record]));
    lines.set(row[0], record);
    map.set(row[0], row[1]);
  }
  return map;
}

/**
 * The checks of one step's value maps a schema cannot make: one source of values each, a default
 * exactly when one is used, a readable map file, and a column every source header has.
 */
export async function checkValueMaps(
  step: Record<string, unknown>,
  index: number,
  context: { id: string; dir: string; delimiter: ColumnDelimiter; files: string[] },
): Promise<Problem[]> {
  const problems: Problem[] = [];
  const maps = valueMapsOf(step);
  if (maps.length === 0) return problems;
  const at = (column: string, ...rest: string[]): string => pointerOf('steps', index, 'valueMaps', column, ...rest);
  for (const [column, map] of maps) {
    const hasMap = map.map !== undefined;
    const hasFile = typeof map.file === 'string';
    if (hasMap === hasFile) {
      problems.push(error('ValueMapSource', at(column), [column, context.id]));
    }
    if (map.onUnmapped === 'default' && map.default === undefined) {
      const detail = messages.getMessage('valueMap.defaultMissing');
      problems.push(error('ValueMapDefault', at(column, 'onUnmapped'), [column, context.id, detail]));
    } else if (map.onUnmapped !== 'default' && map.default !== undefined) {
      const detail = messages.getMessage('valueMap.defaultUnused');
      problems.push(error('ValueMapDefault', at(column, 'default'), [column, context.id, detail]));
    }
    if (hasFile && !hasMap) {
      const file = resolve(context.dir, map.file!);
      try {
        // eslint-disable-next-line no-await-in-loop -- a few small files, one after another
        await readValueMapFile(file, context.delimiter);
      } catch (cause) {
        const reason = (cause as Error).message;
        const tokens = [file, column, context.id, reason];
        problems.push({ ...error('ValueMapFileUnreadable', at(column, 'file'), tokens), file });
      }
    }
  }
  for (const file of context.files) {
    let columns: string[];
    try {
      // eslint-disable-next-line no-await-in-loop -- headers only; an unreadable source is reported elsewhere
      columns = (await readCsvHeader(file, context.delimiter)).columns;
    } catch {
      continue;
    }
    for (const [column] of maps) {
      if (!columns.includes(column)) {
        problems.push({ ...error('ValueMapColumnMissing', at(column), [context.id, column, file]), file });
      }
    }
  }
  return problems;
}

function error(code: Problem['code'], pointer: string, tokens: Array<string | number>): Problem {
  return { severity: 'error', code, pointer, message: messages.getMessage(`problem.${code}`, tokens.map(String)) };
}
