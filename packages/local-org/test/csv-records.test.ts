import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { csvRecordBatches, CsvSyntaxError } from '../src/csv-records.js';

describe('local org: upload record parser', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'csv-records-'));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  const parse = async (text: string, delimiter = ',', from = 0): Promise<string[][]> => {
    const file = join(dir, 'in.csv');
    await writeFile(file, text);
    const out: string[][] = [];
    for await (const batch of csvRecordBatches(file, delimiter, from)) out.push(...batch);
    return out;
  };

  it('parses quoting, escaped quotes, quoted delimiters and line breaks, LF and CRLF', async () => {
    expect(await parse('a,b\n"x, ""y""","multi\nline"\r\n,\n')).to.deep.equal([
      ['a', 'b'],
      ['x, "y"', 'multi\nline'],
      ['', ''],
    ]);
    expect(await parse('a|b\r\n1|2', '|')).to.deep.equal([
      ['a', 'b'],
      ['1', '2'],
    ]);
    expect(await parse('a\tb\n"1"\t2\n', '\t')).to.deep.equal([
      ['a', 'b'],
      ['1', '2'],
    ]);
    expect(await parse('')).to.deep.equal([]);
    expect(await parse('a,b\n1,2,3\n')).to.deep.equal([
      ['a', 'b'],
      ['1', '2', '3'],
    ]);
  });

  it('skips records already processed', async () => {
    expect(await parse('h\n1\n2\n3\n', ',', 2)).to.deep.equal([['2'], ['3']]);
  });

  it('handles records and multi-byte characters split across 1 MB chunks', async () => {
    const row = `"é, ""ü""",${'z'.repeat(97)}\n`;
    const rows = 30_000; // > 3 MB: many chunk boundaries fall inside records and characters
    const records = await parse('A,B\n' + row.repeat(rows));
    expect(records).to.have.length(rows + 1);
    expect(records.every((r, i) => i === 0 || (r[0] === 'é, "ü"' && r[1].length === 97))).to.equal(true);
  });

  it('rejects unescaped quotes, a BOM before a quoted header, and an unclosed quote', async () => {
    for (const text of ['\uFEFF"Name"\nA\n', 'A\n"x"y\n', 'A\nab"c\n', 'A\n"open\n']) {
      let error: unknown;
      try {
        await parse(text); // eslint-disable-line no-await-in-loop
      } catch (e) {
        error = e;
      }
      expect(error, text).to.be.instanceOf(CsvSyntaxError);
    }
  });
});
