/*
 * One uploaded value against the value the org holds, compared as the field's type reads them
 * (describe `type`), not as strings: `1` and `1.0` are the same number, `TRUE` and `true` the same
 * boolean, `2024-05-01T10:00:00+02:00` and `2024-05-01T08:00:00.000Z` the same instant. A query job
 * writes every value as text (null as an empty string; salesforce-api.md §2), so both sides are text.
 */

/** the Bulk API's "set this field to null" value in an upload (salesforce-api.md §4) */
export const NULL_VALUE = '#N/A';

const NUMBER_TYPES = new Set(['double', 'currency', 'percent', 'int', 'long']);

/**
 * true, false, or undefined for other text (compared as text then). Which spellings a real org's
 * Bulk API takes for a boolean was not checked against public evidence here: true/false in any case
 * and 1/0 are read, anything else must match exactly.
 */
function booleanOf(text: string): boolean | undefined {
  const t = text.trim().toLowerCase();
  if (t === 'true' || t === '1') return true;
  if (t === 'false' || t === '0') return false;
  return undefined;
}

function numberOf(text: string): number | undefined {
  const t = text.trim();
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) return undefined;
  return Number(t);
}

/** `yyyy-MM-dd` (a date field also takes a dateTime's date part, as the Bulk API does) */
function dateOf(text: string): string | undefined {
  const match = /^(\d{4}-\d{2}-\d{2})(T.*)?$/.exec(text.trim());
  return match ? match[1] : undefined;
}

/**
 * milliseconds since the epoch. A value without a zone is taken as UTC: salesforce-api.md §4 gives
 * the format with a zone; how a real org reads one without it was not checked here.
 */
function instantOf(text: string): number | undefined {
  const match = /^(\d{4}-\d{2}-\d{2})(?:T(\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?)(Z|[+-]\d{2}:?\d{2})?)?$/.exec(
    text.trim(),
  );
  if (!match) return undefined;
  const zone = match[3] === undefined || match[3] === 'Z' ? 'Z' : match[3].replace(/^([+-]\d{2})(\d{2})$/, '$1:$2');
  const ms = Date.parse(`${match[1]}T${match[2] ?? '00:00:00'}${zone}`);
  return Number.isNaN(ms) ? undefined : ms;
}

function timeOf(text: string): number | undefined {
  const match = /^(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?Z?$/.exec(text.trim());
  if (!match) return undefined;
  const [, h, m, s, ms] = match;
  return ((Number(h) * 60 + Number(m)) * 60 + Number(s ?? 0)) * 1000 + Number((ms ?? '0').padEnd(3, '0'));
}

/** multi-select picklists: the same values in any order */
function valueSet(text: string): string {
  return text
    .split(';')
    .map((v) => v.trim())
    .filter((v) => v.length > 0)
    .sort()
    .join(';');
}

/**
 * Whether `actual` (from the org) is the value `expected` (as uploaded) sets a field of `type` to.
 * `#N/A` expects an empty field. Text that does not read as the type is compared as text, so a
 * value the org changed is never taken for equal.
 */
export function sameValue(type: string, expected: string, actual: string): boolean {
  if (expected === NULL_VALUE) return actual === '';
  if (expected === actual) return true;
  if (actual === '' || expected === '') return false;
  const compare = <T>(read: (text: string) => T | undefined): boolean => {
    const x = read(expected);
    const y = read(actual);
    return x !== undefined && y !== undefined && x === y;
  };
  if (type === 'boolean') return compare(booleanOf);
  if (NUMBER_TYPES.has(type)) return compare(numberOf);
  if (type === 'date') return compare(dateOf);
  if (type === 'datetime') return compare(instantOf);
  if (type === 'time') return compare(timeOf);
  if (type === 'multipicklist') return valueSet(expected) === valueSet(actual);
  // Ids: a 15-character id names the same record as its 18-character form
  if (type === 'reference' || type === 'id') {
    return expected.length === 15 && actual.length === 18 && actual.startsWith(expected);
  }
  return false;
}
