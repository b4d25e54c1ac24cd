import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { expect } from 'chai';
import { parse } from 'csv-parse/sync';
import { CsvRecordCounter } from '../../src/bulk/csvRecordCounter.js';

/** Feeds `text` in pieces of `size` bytes (so quotes and line ends fall across chunk edges). */
async function count(text: string, size = 3): Promise<{ records: number; bytes: number; out: string }> {
  const data = Buffer.from(text);
  const pieces: Buffer[] = [];
  for (let i = 0; i < data.length; i += size) pieces.push(data.subarray(i, i + size));
  const counter = new CsvRecordCounter();
  const out: Buffer[] = [];
  await pipeline(
    Readable.from(pieces),
    counter,
    new Writable({
      write(chunk: Buffer, _encoding, callback): void {
        out.push(chunk);
        callback();
      },
    }),
  );
  return { records: counter.records, bytes: counter.bytes, out: Buffer.concat(out).toString() };
}

describe('CsvRecordCounter', () => {
  it('counts data records after the header and passes bytes through unchanged', async () => {
    const text = '"sf__Id","sf__Created",Name\n"001A","true","Acme"\n"001B","false","Globex"\n';
    expect(await count(text)).to.deep.equal({ records: 2, bytes: Buffer.byteLength(text), out: text });
  });

  it('does not end a record at a line feed inside quotes, whatever the chunking', async () => {
    const text =
      '"sf__Id","sf__Error",Description\n"","X:y --","line one\nline two\r\nline ""three""\n"\n"","X:y --","ok"\n';
    for (const size of [1, 2, 3, 7, 64]) {
      // eslint-disable-next-line no-await-in-loop
      expect((await count(text, size)).records, `chunk size ${size}`).to.equal(2);
    }
  });

  it('handles CRLF, a missing final line end, and blank lines', async () => {
    expect((await count('Name\r\n"a"\r\n"b"\r\n')).records).to.equal(2);
    expect((await count('Name\n"a"\n"b"')).records).to.equal(2);
    expect((await count('Name\n\n"a"\n\r\n"b"\n\n')).records).to.equal(2);
  });

  it('counts nothing for an empty file or a header alone', async () => {
    expect((await count('')).records).to.equal(0);
    expect((await count('Name\n')).records).to.equal(0);
    expect((await count('"sf__Id","sf__Created",Name')).records).to.equal(0);
  });

  it('counts a quoted empty value as a record', async () => {
    expect((await count('Name\n""\n')).records).to.equal(1);
  });

  it('agrees with csv-parse on random result-shaped files cut at random places', async () => {
    let seed = 42;
    const random = (): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed / 2_147_483_648;
    };
    const pieces = ['a', 'b,c', '\n', '\r\n', '""', ',', ' ', 'é'];
    for (let round = 0; round < 40; round++) {
      const lineEnd = random() < 0.5 ? '\n' : '\r\n';
      const records: string[] = ['"sf__Id","sf__Error",Name'];
      const howMany = Math.floor(random() * 30);
      for (let r = 0; r < howMany; r++) {
        const values = Array.from({ length: 3 }, () => {
          let value = '';
          const length = Math.floor(random() * 6);
          for (let k = 0; k < length; k++) value += pieces[Math.floor(random() * pieces.length)];
          return `"${value}"`;
        });
        records.push(values.join(','));
      }
      const text = records.join(lineEnd) + (random() < 0.8 ? lineEnd : '');
      const expected = (parse(text, { skipEmptyLines: true, relaxColumnCount: true }) as unknown[]).length - 1;
      // eslint-disable-next-line no-await-in-loop
      const counted = await count(text, 1 + Math.floor(random() * 40));
      expect(counted.records, text).to.equal(Math.max(0, expected));
    }
  });
});
