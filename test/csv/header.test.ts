import { createHash } from 'node:crypto';
import { expect } from 'chai';
import { SfError } from '@salesforce/core';
import { readCsvHeader } from '../../src/csv/header.js';
import { delimiterCharacter } from '../../src/csv/delimiters.js';
import { ALL_DELIMITERS, scratchFolder } from './csvFixtures.js';

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

describe('readCsvHeader', () => {
  const folder = scratchFolder();
  after(() => folder.remove());

  async function rejection(promise: Promise<unknown>): Promise<SfError> {
    try {
      await promise;
    } catch (error) {
      return error as SfError;
    }
    throw new Error('expected a rejection');
  }

  it('reads the columns, line ending and data offset of an LF file', async () => {
    const file = folder.write('lf.csv', 'Name,Legacy_Id__c\nAcme,A1\n');
    expect(await readCsvHeader(file, 'COMMA')).to.deep.equal({
      columns: ['Name', 'Legacy_Id__c'],
      bom: false,
      lineEnding: 'LF',
      terminatorBytes: 1,
      byteLength: 18,
      sha256: sha256('Name,Legacy_Id__c\n'),
    });
  });

  it('detects CRLF and counts the BOM in byteLength but not in the columns', async () => {
    const file = folder.write('bom.csv', '\ufeffName,Legacy_Id__c\r\nAcme,A1\r\n');
    const header = await readCsvHeader(file, 'COMMA');
    expect(header).to.deep.equal({
      columns: ['Name', 'Legacy_Id__c'],
      bom: true,
      lineEnding: 'CRLF',
      terminatorBytes: 2,
      byteLength: 3 + 17 + 2,
      sha256: sha256('\ufeffName,Legacy_Id__c\r\n'),
    });
  });

  it('unquotes column names, including "" escapes and quoted delimiters and line breaks', async () => {
    const file = folder.write('quoted.csv', '"Name","Odd ""x"", y","two\nlines"\nA,B,C\n');
    const header = await readCsvHeader(file, 'COMMA');
    expect(header.columns).to.deep.equal(['Name', 'Odd "x", y', 'two\nlines']);
    expect(header.byteLength).to.equal(Buffer.byteLength('"Name","Odd ""x"", y","two\nlines"\n'));
  });

  it('reads a header-only file without a trailing line ending', async () => {
    const file = folder.write('only.csv', 'Id');
    expect(await readCsvHeader(file, 'COMMA')).to.deep.equal({
      columns: ['Id'],
      bom: false,
      lineEnding: 'LF',
      terminatorBytes: 0,
      byteLength: 2,
      sha256: sha256('Id'),
    });
  });

  for (const delimiter of ALL_DELIMITERS) {
    it(`splits on ${delimiter}`, async () => {
      const d = delimiterCharacter(delimiter);
      const file = folder.write(`d-${delimiter}.csv`, `Name${d}"a${d}b"${d}Phone\n1${d}2${d}3\n`);
      expect((await readCsvHeader(file, delimiter)).columns).to.deep.equal(['Name', `a${d}b`, 'Phone']);
    });
  }

  it('reads only the header record, whatever the data holds', async () => {
    // a data record with an unterminated quote would make a whole-file parse fail
    const file = folder.write('stop.csv', 'Name,Id\n"never closed,1\n');
    expect((await readCsvHeader(file, 'COMMA')).columns).to.deep.equal(['Name', 'Id']);
  });

  it('rejects an empty file with EmptyCsv naming the file', async () => {
    const file = folder.write('empty.csv', '');
    const error = await rejection(readCsvHeader(file, 'COMMA'));
    expect(error.code).to.equal('EmptyCsv');
    expect(error.message).to.include(file);
    expect(error.data).to.deep.equal({ file });
  });

  it('rejects a BOM-only file and a blank first line with EmptyCsv', async () => {
    for (const [name, content] of [
      ['bom-only.csv', '\ufeff'],
      ['blank.csv', '\r\nName\r\n'],
    ]) {
      const file = folder.write(name, content);
      // eslint-disable-next-line no-await-in-loop
      expect((await rejection(readCsvHeader(file, 'COMMA'))).code, name).to.equal('EmptyCsv');
    }
  });

  it('rejects an unterminated quote in the header with MalformedCsvHeader', async () => {
    const file = folder.write('open-quote.csv', 'Name,"Id\nA,1\n');
    const error = await rejection(readCsvHeader(file, 'COMMA'));
    expect(error.code).to.equal('MalformedCsvHeader');
    expect(error.message).to.include(file);
  });
});
