import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ColumnDelimiter, LineEnding } from '../../src/manifest/types.js';
import { delimiterCharacter } from '../../src/csv/delimiters.js';
import { seededRandom } from '../../scripts/generate-example-data.js';

export const ALL_DELIMITERS: ColumnDelimiter[] = ['BACKQUOTE', 'CARET', 'COMMA', 'PIPE', 'SEMICOLON', 'TAB'];

/** A folder for one test file's CSVs, removed by `remove()`. */
export type ScratchFolder = {
  path: (name: string) => string;
  write: (name: string, content: string | Buffer) => string;
  remove: () => void;
};

export function scratchFolder(): ScratchFolder {
  const dir = mkdtempSync(join(tmpdir(), 'sf-migrate-csv-'));
  return {
    path: (name): string => join(dir, name),
    write: (name, content): string => {
      const file = join(dir, name);
      writeFileSync(file, content);
      return file;
    },
    remove: (): void => rmSync(dir, { recursive: true, force: true }),
  };
}

/** every "random" CSV can be reproduced from its seed: the example generator's mulberry32 */
export { seededRandom } from '../../scripts/generate-example-data.js';

export type RandomCsv = {
  content: Buffer;
  header: string[];
  rows: string[][];
  delimiter: ColumnDelimiter;
  lineEnding: LineEnding;
  bom: boolean;
};

/**
 * A CSV whose values use every awkward case: the delimiter, quotes, CR, LF and CRLF inside values,
 * multi-byte characters, empty values, and needless quotes around plain values.
 */
export function randomCsv(
  seed: number,
  options: { rows?: number; delimiter?: ColumnDelimiter; mixedLineEndings?: boolean } = {},
): RandomCsv {
  const random = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  const delimiter = options.delimiter ?? pick(ALL_DELIMITERS);
  const separator = delimiterCharacter(delimiter);
  const lineEnding: LineEnding = random() < 0.5 ? 'LF' : 'CRLF';
  const newline = lineEnding === 'CRLF' ? '\r\n' : '\n';
  const bom = random() < 0.3;
  const trailingNewline = random() < 0.7;
  const columnCount = 2 + Math.floor(random() * 5);
  const rowCount = options.rows ?? Math.floor(random() * 60);
  const pieces = ['a', 'Zürich', 'Ærø', '北京', ' ', '1', 'x y', separator, '"', '\n', '\r\n', '\r', ',', '😀'];

  const value = (): string => {
    const length = Math.floor(random() * 6);
    let text = '';
    for (let i = 0; i < length; i++) text += random() < 0.75 ? pick(['Acme', 'Legacy', '42', 'é', '-']) : pick(pieces);
    return text;
  };
  const encode = (text: string): string => {
    const needsQuotes = /["\r\n]/.test(text) || text.includes(separator);
    return needsQuotes || random() < 0.1 ? `"${text.replace(/"/g, '""')}"` : text;
  };

  const header = Array.from({ length: columnCount }, (_, i) => `Field_${i}__c`);
  const rows = Array.from({ length: rowCount }, () => Array.from({ length: columnCount }, value));
  const lines = [header, ...rows].map((row) => row.map(encode).join(separator));
  // mixed: each record ends in LF, CRLF or a lone CR, drawn only then so other files stay as they were
  const ending = (): string => (options.mixedLineEndings ? pick(['\n', '\r\n', '\r']) : newline);
  const body = lines.reduce((text, line, k) => (k === 0 ? line : text + ending() + line), '');
  const text = (bom ? '\ufeff' : '') + body + (trailingNewline ? ending() : '');
  return { content: Buffer.from(text, 'utf8'), header, rows, delimiter, lineEnding, bom };
}
