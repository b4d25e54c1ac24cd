/*
 * Salesforce record ids: 15 case-sensitive characters, or 18 with a suffix that encodes the case
 * of the first 15 (so the 18-character form survives tools that ignore case).
 */
import { Messages } from '@salesforce/core';

Messages.importMessagesDirectoryFromMetaUrl(import.meta.url);
const messages = Messages.loadMessages('@sf-migrate/plugin-migrate', 'journal');

const SUFFIX_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345';
const ID15 = /^[A-Za-z0-9]{15}$/;
const ID18 = /^[A-Za-z0-9]{18}$/;

function invalidId(id: string): Error {
  const error = messages.createError('error.InvalidSalesforceId', [id]);
  error.setData({ id });
  return error;
}

/**
 * The 18-character form of a 15-character id: for each block of 5 characters, a 5-bit number whose
 * bit i is set when character i of the block is an uppercase letter, written as one character of
 * A–Z0–5.
 *
 * @throws SfError `InvalidSalesforceIdError` unless `id15` is 15 letters and digits.
 */
export function toEighteen(id15: string): string {
  if (!ID15.test(id15)) throw invalidId(id15);
  let suffix = '';
  for (let block = 0; block < 3; block++) {
    let bits = 0;
    for (let i = 0; i < 5; i++) {
      const code = id15.charCodeAt(block * 5 + i);
      if (code >= 65 && code <= 90) bits |= 1 << i;
    }
    suffix += SUFFIX_ALPHABET[bits];
  }
  return id15 + suffix;
}

/**
 * The canonical 18-character form of a 15- or 18-character id. An 18-character id whose case was
 * lost (pasted through a case-insensitive tool) gets its case back from its suffix.
 *
 * @throws SfError `InvalidSalesforceIdError` for anything else, or an 18-character id whose suffix
 * does not fit its first 15 characters.
 */
export function normalizeSalesforceId(id: string): string {
  if (ID15.test(id)) return toEighteen(id);
  if (!ID18.test(id)) throw invalidId(id);
  const asGiven = toEighteen(id.slice(0, 15));
  if (asGiven === id) return id;
  const suffix = id.slice(15).toUpperCase();
  let id15 = '';
  for (let block = 0; block < 3; block++) {
    const bits = SUFFIX_ALPHABET.indexOf(suffix[block]);
    if (bits === -1) throw invalidId(id);
    for (let i = 0; i < 5; i++) {
      const char = id[block * 5 + i];
      id15 += bits & (1 << i) ? char.toUpperCase() : char.toLowerCase();
    }
  }
  const recovered = toEighteen(id15);
  // a suffix bit set over a digit cannot come from a real id
  if (recovered.slice(15) !== suffix) throw invalidId(id);
  return recovered;
}
