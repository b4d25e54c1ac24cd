// Salesforce record ids: 15 case-sensitive characters (3-char key prefix, 12 base-62 characters),
// plus a 3-character suffix that encodes the case of the first 15 so the 18-char form is case-safe.
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const SUFFIX_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345';

export function caseSafeSuffix(id15: string): string {
  let suffix = '';
  for (let block = 0; block < 3; block++) {
    let flags = 0;
    for (let i = 0; i < 5; i++) {
      const c = id15.charCodeAt(block * 5 + i);
      if (c >= 65 && c <= 90) flags |= 1 << i;
    }
    suffix += SUFFIX_ALPHABET[flags];
  }
  return suffix;
}

export function toBase62(value: number, width: number): string {
  let out = '';
  let n = value;
  while (n > 0) {
    out = BASE62[n % 62] + out;
    n = Math.floor(n / 62);
  }
  return out.padStart(width, '0');
}

/** An 18-char id: key prefix, a 3-char pod/instance part, a 9-char base-62 serial, the case-safe suffix. */
export function makeId(keyPrefix: string, pod: string, serial: number): string {
  const id15 = `${keyPrefix}${pod}${toBase62(serial, 9)}`;
  return id15 + caseSafeSuffix(id15);
}

const ID_SHAPE = /^[a-zA-Z0-9]{15}(?:[A-Z0-5]{3})?$/;

/** Normalises a 15- or 18-char id to its 18-char form; undefined when the text is not shaped like an id. */
export function normaliseId(text: string): string | undefined {
  if (!ID_SHAPE.test(text)) return undefined;
  const id15 = text.slice(0, 15);
  return id15 + caseSafeSuffix(id15);
}

/** The serial encoded in an id made by makeId (used to continue numbering after a restart). */
export function serialOf(id: string): number {
  let n = 0;
  for (const c of id.slice(6, 15)) n = n * 62 + BASE62.indexOf(c);
  return n;
}
