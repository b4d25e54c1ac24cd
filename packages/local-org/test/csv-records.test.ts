import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { csvRecordBatches, CsvSyntaxError, type CsvRecord } from '../src/csv-records.js';

describe('local org: upload record parser', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'csv-records-'));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  const parse = async (text: string, delimiter = ',', from = 0, lineEnding?: 'LF' | 'CRLF'): Promise<CsvRecord[]> => {
    const file = join(dir, 'in.csv');
    await writeFile(file, text);
    const out: CsvRecord[] = [];
    for await (const batch of csvRecordBatches(file, delimiter, from, lineEnding)) out.push(...batch);
    return out;
  };

  const failure = async (text: string, lineEnding?: 'LF' | 'CRLF'): Promise<CsvSyntaxError | undefined> => {
    try {
      await parse(text, ',', 0, lineEnding);
      return undefined;
    } catch (error) {
      if (error instanceof CsvSyntaxError) return error;
      throw error;
    }
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

  it('checks every record terminator outside quotes against the job line ending', async () => {
    expect(await parse('a\r\n"x\ny\rz"\r\n', ',', 0, 'CRLF')).to.deep.equal([['a'], ['x\ny\rz']]);
    expect(await parse('a\n"x\r\ny"\n', ',', 0, 'LF')).to.deep.equal([['a'], ['x\r\ny']]);
    expect(await parse('a\nb', ',', 0, 'LF')).to.deep.equal([['a'], ['b']]);
    const cases: Array<[string, 'LF' | 'CRLF', number]> = [
      ['a\nb\n', 'CRLF', 1],
      ['a\r\nb\nc\r\n', 'CRLF', 2],
      ['a\nb\r\n', 'LF', 2],
      ['a\nb\rc\n', 'LF', 2],
      ['a\r\nb\rc\r\n', 'CRLF', 2],
      ['a\r\n"q"\n', 'CRLF', 2],
    ];
    for (const [text, lineEnding, line] of cases) {
      // eslint-disable-next-line no-await-in-loop
      const error = await failure(text, lineEnding);
      expect(error?.kind, JSON.stringify(text)).to.equal('LINE_ENDING');
      expect(error?.line, JSON.stringify(text)).to.equal(line);
      expect(error?.message).to.equal(
        `LineEnding is invalid on user data. Current LineEnding setting is ${lineEnding}`,
      );
    }
    // without a line ending to hold them to, all three end records
    expect(await parse('a\nb\r\nc\rd')).to.deep.equal([['a'], ['b'], ['c'], ['d']]);
    // blank lines are no records (their line breaks are still held to the job's line ending)
    expect(await parse('a\n\nb\n\n', ',', 0, 'LF')).to.deep.equal([['a'], ['b']]);
    expect((await failure('a\r\n\nb\r\n', 'CRLF'))?.kind).to.equal('LINE_ENDING');
  });

  it('reads a CRLF split across two 1 MB chunks as one terminator', async () => {
    const first = 'A\r\n' + 'x'.repeat((1 << 20) - 4) + '\r'; // the CR is the last byte of the first chunk
    const records = await parse(first + '\nnext\r\n', ',', 0, 'CRLF');
    expect(records.map((r) => r[0].length)).to.deep.equal([1, (1 << 20) - 4, 4]);
    const error = await failure('A\n' + 'x'.repeat((1 << 20) - 3) + '\r' + '\nnext\n', 'LF');
    expect(error?.kind).to.equal('LINE_ENDING');
  });

  it('makes a space before or after a quote an error of that row, read on as written', async () => {
    const records = await parse('A,B\n"John", "Smith"\n"John" ,Smith\nJohn, Smith\n"a", "b, c"\n');
    expect(records.map((r) => [...r])).to.deep.equal([
      ['A', 'B'],
      ['John', ' "Smith"'],
      ['"John" ', 'Smith'],
      ['John', ' Smith'],
      // the quote after the space opens nothing (as the client's scanner reads it): the delimiter splits
      ['a', ' "b', ' c"'],
    ]);
    expect(records.map((r) => r.rowError)).to.deep.equal([
      undefined,
      'INVALID_FIELD:Invalid CSV: a space before or after a double quote in column 2:--',
      'INVALID_FIELD:Invalid CSV: a space before or after a double quote in column 1:--',
      undefined,
      'INVALID_FIELD:Invalid CSV: a space before or after a double quote in column 2:--',
    ]);
  });
});
