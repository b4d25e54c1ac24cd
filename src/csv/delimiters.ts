import type { ColumnDelimiter } from '../manifest/types.js';

/** The byte Bulk API 2.0 means by each `columnDelimiter` name (all are single ASCII bytes). */
export const DELIMITER_BYTES: Readonly<Record<ColumnDelimiter, number>> = {
  BACKQUOTE: 0x60,
  CARET: 0x5e,
  COMMA: 0x2c,
  PIPE: 0x7c,
  SEMICOLON: 0x3b,
  TAB: 0x09,
};

export function delimiterCharacter(delimiter: ColumnDelimiter): string {
  return String.fromCharCode(DELIMITER_BYTES[delimiter]);
}

export const QUOTE = 0x22;
export const LF = 0x0a;
export const CR = 0x0d;
/** UTF-8 byte order mark; Salesforce exports often start with it, Bulk API uploads must not. */
export const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf]);
