/*
 * Text from data (CSV cells, the org's sf__Error messages, job error messages, file names) reaches
 * the terminal inside warnings, errors, progress lines and the summary. A control character in it
 * could move the cursor, recolour or clear the screen, or rewrite a line with a carriage return so
 * that a failure reads like a success. Everything the ux layer prints goes through `printable`:
 * the one place where such characters are shown as escapes instead of being obeyed.
 */

/**
 * C0 controls except tab and line feed (our own messages are multi-line), DEL, C1 controls (0x9b
 * is a one-byte CSI on many terminals), and the bidirectional overrides and isolates that make
 * text display in another order than it is stored.
 */
// eslint-disable-next-line no-control-regex
const UNPRINTABLE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** `text` with every control character written as a \uXXXX escape, e.g. ESC as \u001b */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** printable() over every string of a plain value (table rows, lists of actions) */
export function printableDeep<T>(value: T): T {
  if (typeof value === 'string') return printable(value) as T;
  if (Array.isArray(value)) return value.map((item: unknown) => printableDeep(item)) as T;
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [printable(key), printableDeep(item)])) as T;
  }
  return value;
}
