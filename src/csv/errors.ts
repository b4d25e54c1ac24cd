import { Messages, SfError } from '@salesforce/core';

Messages.importMessagesDirectoryFromMetaUrl(import.meta.url);
const messages = Messages.loadMessages('@sf-migrate/plugin-migrate', 'csv');

/**
 * Errors about the content of a CSV file. Each carries a stable `code` (the message key without
 * `error.`) so callers such as `validate` can branch on it, and `data` naming the file.
 */
function csvError(
  code: string,
  tokens: Array<string | number>,
  data: Record<string, string | number | string[]>,
  actionTokens: Array<string | number> = [],
): SfError {
  const error = messages.createError(`error.${code}`, tokens.map(String), actionTokens.map(String));
  error.code = code;
  error.setData(data);
  return error;
}

export function emptyCsvError(file: string): SfError {
  return csvError('EmptyCsv', [file], { file });
}

export function malformedCsvHeaderError(file: string, reason: string): SfError {
  return csvError('MalformedCsvHeader', [file, reason], { file, reason });
}

export function unterminatedQuoteError(file: string, line: number): SfError {
  return csvError('UnterminatedQuote', [file, line], { file, line }, [line]);
}

export function recordTooLargeError(file: string, line: number, recordBytes: number, maxBytes: number): SfError {
  return csvError('RecordTooLarge', [line, file, recordBytes, maxBytes], { file, line, recordBytes, maxBytes }, [line]);
}

/**
 * A source file that no longer reads as the run saw it. `reason` is one of the `sourceChanged.*`
 * messages (see the functions below), `data` says where, for scripts.
 */
export function sourceChangedError(
  file: string,
  reason: { key: SourceChangeKind; tokens: Array<string | number> },
  data: Record<string, string | number> = {},
): SfError {
  const text = messages.getMessage(`sourceChanged.${reason.key}`, reason.tokens.map(String));
  return csvError('SourceChanged', [file, text], { file, change: reason.key, ...data });
}

export type SourceChangeKind = 'missing' | 'grew' | 'shrank' | 'content' | 'header' | 'modified' | 'short' | 'range';
