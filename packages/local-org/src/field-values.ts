// The text of a CSV cell as a field's stored value, with the row errors a real org answers for a bad
// one, in the `sf__Error` form of rows.ts (`<STATUS_CODE>:<message>:<fields> --`). Beside rows.ts,
// which applies whole rows.
import type { FieldDescribe } from './describe.js';

export const sfError = (code: string, message: string, fields: string[] = []): string =>
  `${code}:${message}:${fields.length ? `${fields.join(' ')} --` : '--'}`;

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATETIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,3})?(Z|[+-]\d{2}:?\d{2})$/;
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
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

function validDate(y: string, m: string, d: string): boolean {
  const date = new Date(Date.UTC(Number(y), Number(m) - 1, Number(d)));
  return date.getUTCFullYear() === Number(y) && date.getUTCMonth() === Number(m) - 1 && date.getUTCDate() === Number(d);
}

/** Salesforce's wire form of a datetime: yyyy-MM-ddTHH:mm:ss.SSS+0000. */
export function formatDateTime(date: Date): string {
  return date.toISOString().replace('Z', '+0000');
}

type Parsed = { value: unknown } | { error: string };

/** Turns the text of a CSV cell into the stored value of a field, or the row error. */
// eslint-disable-next-line complexity -- one case per field type, flat on purpose
export function parseValue(field: FieldDescribe, text: string, column: number): Parsed {
  const deserialise = (xsd: string): Parsed => ({
    error: sfError(
      'INVALID_FIELD',
      `Failed to deserialize field at col ${column}. Due to, '${text}' is not a valid value for the type xsd:${xsd}`,
      [field.name],
    ),
  });
  switch (field.type) {
    case 'date': {
      const m = DATE.exec(text);
      return m && validDate(m[1], m[2], m[3]) ? { value: text } : deserialise('date');
    }
    case 'datetime': {
      const m = DATETIME.exec(text);
      if (!m || !validDate(m[1], m[2], m[3])) return deserialise('dateTime');
      const zone = m[8] === 'Z' ? 'Z' : `${m[8].slice(0, 3)}:${m[8].slice(-2)}`;
      const parsed = new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${m[7] ?? ''}${zone}`);
      return Number.isNaN(parsed.getTime()) ? deserialise('dateTime') : { value: formatDateTime(parsed) };
    }
    case 'int':
      return /^[+-]?\d+$/.test(text) && Math.abs(Number(text)) <= 2_147_483_647
        ? { value: Number(text) }
        : deserialise('int');
    case 'double':
    case 'currency':
    case 'percent':
      return NUMBER.test(text) ? { value: Number(text) } : deserialise('double');
    case 'boolean': {
      const lower = text.toLowerCase();
      if (lower === 'true' || lower === '1') return { value: true };
      if (lower === 'false' || lower === '0') return { value: false };
      return deserialise('boolean');
    }
    default:
      break;
  }
  if (TEXT_TYPES.has(field.type) && field.length > 0 && text.length > field.length) {
    return {
      error: sfError('STRING_TOO_LONG', `${field.label}: data value too large: ${text} (max length=${field.length})`, [
        field.name,
      ]),
    };
  }
  if (field.type === 'email' && !EMAIL.test(text)) {
    return { error: sfError('INVALID_EMAIL_ADDRESS', `${field.label}: invalid email address: ${text}`, [field.name]) };
  }
  if (
    field.type === 'picklist' &&
    field.restrictedPicklist &&
    !field.picklistValues.some((p) => p.active && p.value === text)
  ) {
    return {
      error: sfError(
        'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST',
        `${field.label}: bad value for restricted picklist field: ${text}`,
        [field.name],
      ),
    };
  }
  return { value: text };
}
