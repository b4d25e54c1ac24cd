// The CSV dialect of Bulk API 2.0 jobs: six column delimiters, two line endings, and result files
// whose every value is double-quoted.

export type ColumnDelimiter = 'BACKQUOTE' | 'CARET' | 'COMMA' | 'PIPE' | 'SEMICOLON' | 'TAB';
export type LineEnding = 'LF' | 'CRLF';

export const DELIMITERS: Record<ColumnDelimiter, string> = {
  BACKQUOTE: '`',
  CARET: '^',
  COMMA: ',',
  PIPE: '|',
  SEMICOLON: ';',
  TAB: '\t',
};

export const LINE_ENDINGS: Record<LineEnding, string> = { LF: '\n', CRLF: '\r\n' };

export const quote = (value: string): string => `"${value.includes('"') ? value.replaceAll('"', '""') : value}"`;

export const quotedRow = (values: string[], delimiter: string): string => values.map(quote).join(delimiter);

/**
 * The first record of a CSV text exactly as written (quotes kept), without its line ending; undefined
 * when the text holds no complete first record yet.
 */
export function firstRecordText(text: string, atEnd: boolean): string | undefined {
  let inQuotes = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') inQuotes = !inQuotes;
    else if (!inQuotes && (c === '\n' || c === '\r')) return text.slice(0, i);
  }
  return atEnd ? text : undefined;
}
