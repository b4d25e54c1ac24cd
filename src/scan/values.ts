/*
 * The values a real org refuses row by row, judged from a field's describe: text longer than the
 * field's `length`, and dates and datetimes outside the forms Bulk API 2.0 reads.
 *
 * Forms (docs/reference: Bulk API 2.0 Developer Guide, "Valid Date Format in Records"; our
 * salesforce-api.md §4): date `yyyy-MM-dd`; dateTime `yyyy-MM-ddTHH:mm:ss[.SSS](Z|±HH:mm)`. The
 * developer guide writes the offset as `+/-HHmm` too, and Salesforce's own exports use `+0000`;
 * both offset spellings are accepted here, as the local org does. A calendar date that does not
 * exist (2003-04-98, 2023-02-29) is refused: the org answers `INVALID_FIELD:Failed to deserialize
 * field … is not a valid value for the type xsd:date` (§3).
 */

/** A field as the scan needs it from an object describe. */
export type ScannedField = { name: string; type?: string; length?: number };

/** Types whose `length` bounds the text (STRING_TOO_LONG past it); the local org checks the same set. */
const TEXT_TYPES = new Set([
  'string',
  'textarea',
  'phone',
  'url',
  'email',
  'picklist',
  'multipicklist',
  'combobox',
  'encryptedstring',
]);

export type ValueCheck = { kind: 'length'; max: number } | { kind: 'date' } | { kind: 'datetime' };

/** The check a field's values get, if any. */
export function checkOf(field: ScannedField): ValueCheck | undefined {
  const type = (field.type ?? '').toLowerCase();
  if (type === 'date') return { kind: 'date' };
  if (type === 'datetime') return { kind: 'datetime' };
  if (TEXT_TYPES.has(type) && typeof field.length === 'number' && field.length > 0)
    return { kind: 'length', max: field.length };
  return undefined;
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATETIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,3})?(?:Z|[+-](\d{2}):?(\d{2}))$/;

function calendarDate(year: string, month: string, day: string): boolean {
  const y = Number(year);
  const m = Number(month);
  const d = Number(day);
  if (m < 1 || m > 12 || d < 1) return false;
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1];
  return d <= days;
}

export function isValidDate(text: string): boolean {
  const m = DATE.exec(text);
  return m !== null && calendarDate(m[1], m[2], m[3]);
}

export function isValidDateTime(text: string): boolean {
  const m = DATETIME.exec(text);
  if (!m || !calendarDate(m[1], m[2], m[3])) return false;
  if (Number(m[4]) > 23 || Number(m[5]) > 59 || Number(m[6]) > 59) return false;
  return m[7] === undefined || (Number(m[7]) <= 14 && Number(m[8]) <= 59);
}

/**
 * Whether the org refuses `text` for the check. Empty values and `#N/A` (set to null) are never
 * refused here. Length counts UTF-16 code units, as Java's String#length does; no public evidence
 * says how a real org counts characters outside the Basic Multilingual Plane.
 */
export function refuses(check: ValueCheck, text: string): boolean {
  if (text === '' || text === '#N/A') return false;
  if (check.kind === 'length') return text.length > check.max;
  return check.kind === 'date' ? !isValidDate(text) : !isValidDateTime(text);
}
