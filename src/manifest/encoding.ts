/*
 * Whether a source is UTF-8 text, judged on its first bytes only (the header and the first
 * records), so validate stays as cheap as reading headers. Bulk API 2.0 reads every upload as UTF-8
 * (Bulk API 2.0 Developer Guide, "Prepare Data to Upload": data files must be UTF-8 encoded); a
 * UTF-16 export or a binary file would otherwise be loaded as mojibake or fail row by row.
 */
import { open } from 'node:fs/promises';

export type EncodingFault = {
  kind: 'utf16' | 'utf32' | 'nul' | 'invalidUtf8';
  /** 1-based line of the source the fault is on */
  line: number;
  /** 0-based byte offset of the fault in the file */
  byte: number;
};

/** How much of each source validate reads: a header and a few hundred typical records. */
const ENCODING_SCAN_BYTES = 64 * 1024;

export async function findEncodingFault(
  file: string,
  maxBytes = ENCODING_SCAN_BYTES,
): Promise<EncodingFault | undefined> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(maxBytes);
    let length = 0;
    while (length < maxBytes) {
      // eslint-disable-next-line no-await-in-loop
      const { bytesRead } = await handle.read(buffer, length, maxBytes - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    // A full buffer may end inside a character whose last bytes were not read: not a fault.
    return encodingFaultOf(buffer.subarray(0, length), length < maxBytes);
  } finally {
    await handle.close();
  }
}

/** The first encoding fault in bytes that are the start of a file; `complete` when they are all of it. */
export function encodingFaultOf(bytes: Uint8Array, complete: boolean): EncodingFault | undefined {
  const at = (kind: EncodingFault['kind'], byte: number): EncodingFault => ({ kind, byte, line: lineAt(bytes, byte) });
  const bom = foreignByteOrderMark(bytes);
  if (bom) return at(bom, 0);
  let i = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  while (i < bytes.length) {
    const b = bytes[i];
    if (b === 0) return at('nul', i);
    if (b < 0x80) {
      i++;
      continue;
    }
    const sequence = utf8Sequence(b);
    if (!sequence) return at('invalidUtf8', i);
    const [length, low, high] = sequence;
    if (i + length > bytes.length) return complete ? at('invalidUtf8', i) : undefined;
    // The second byte has the narrowed range (no overlong forms, no surrogates, nothing past U+10FFFF).
    if (bytes[i + 1] < low || bytes[i + 1] > high) return at('invalidUtf8', i);
    for (let k = 2; k < length; k++) {
      if (bytes[i + k] < 0x80 || bytes[i + k] > 0xbf) return at('invalidUtf8', i);
    }
    i += length;
  }
  return undefined;
}

function foreignByteOrderMark(bytes: Uint8Array): 'utf16' | 'utf32' | undefined {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return bytes[2] === 0 && bytes[3] === 0 ? 'utf32' : 'utf16';
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return 'utf16';
  if (bytes[0] === 0 && bytes[1] === 0 && bytes[2] === 0xfe && bytes[3] === 0xff) return 'utf32';
  return undefined;
}

/** [sequence length, lowest and highest second byte] for a UTF-8 lead byte (RFC 3629 §4). */
function utf8Sequence(lead: number): [number, number, number] | undefined {
  if (lead >= 0xc2 && lead <= 0xdf) return [2, 0x80, 0xbf];
  if (lead === 0xe0) return [3, 0xa0, 0xbf];
  if (lead === 0xed) return [3, 0x80, 0x9f];
  if (lead >= 0xe1 && lead <= 0xef) return [3, 0x80, 0xbf];
  if (lead === 0xf0) return [4, 0x90, 0xbf];
  if (lead >= 0xf1 && lead <= 0xf3) return [4, 0x80, 0xbf];
  if (lead === 0xf4) return [4, 0x80, 0x8f];
  return undefined;
}

function lineAt(bytes: Uint8Array, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset; i++) if (bytes[i] === 0x0a) line++;
  return line;
}
