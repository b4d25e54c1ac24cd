import { expect } from 'chai';
import { SfError } from '@salesforce/core';
import { countRecords } from '../../src/csv/records.js';
import { RecordScanner, type RecordBoundary } from '../../src/csv/scanner.js';
import { delimiterCharacter } from '../../src/csv/delimiters.js';
import { ALL_DELIMITERS, randomCsv, scratchFolder } from './csvFixtures.js';

describe('countRecords', () => {
  const folder = scratchFolder();
  after(() => folder.remove());

  async function count(content: string, delimiter: Parameters<typeof countRecords>[1] = 'COMMA'): Promise<number> {
    const file = folder.write('count.csv', content);
    return (await countRecords(file, delimiter)).records;
  }

  it('counts data records, not the header', async () => {
    expect(await count('Name\nA\nB\nC\n')).to.equal(3);
  });

  it('keeps quoted LF and CRLF inside their record', async () => {
    expect(await count('Name,Description\nA,"line 1\nline 2"\nB,"x\r\ny\r\nz"\nC,plain\n')).to.equal(3);
  });

  it('counts CRLF files', async () => {
    expect(await count('Name,Id\r\nA,1\r\nB,2\r\n')).to.equal(2);
  });

  it('is not confused by a BOM, even before a quoted header column holding a line break', async () => {
    expect(await count('\ufeffName\r\n"A"\r\n')).to.equal(1);
    expect(await count('\ufeff"Na\nme",Id\r\n"A",1\r\n')).to.equal(1);
  });

  it('counts a last record without a trailing line ending', async () => {
    expect(await count('Name\nA\nB')).to.equal(2);
    expect(await count('Name\nA\n"B\nstill B"')).to.equal(2);
  });

  it('treats "" as an escaped quote, not the end of the value', async () => {
    expect(await count('Name,Note\nA,"she said ""hi,\nthere"""\nB,x\n')).to.equal(2);
  });

  it('reads a quote inside an unquoted value as data', async () => {
    expect(await count('Name,Size\nA,12" pipe\nB,3\n')).to.equal(2);
  });

  it('gives 0 for an empty or header-only file', async () => {
    expect(await count('')).to.equal(0);
    expect(await count('Name')).to.equal(0);
    expect(await count('Name\r\n')).to.equal(0);
  });

  it('does not count blank lines', async () => {
    expect(await count('Name,Id\nA,1\n\nB,2\n\r\n')).to.equal(2);
  });

  it('reports the bytes read', async () => {
    const file = folder.write('bytes.csv', '\ufeffA\nb\n');
    expect(await countRecords(file, 'COMMA')).to.deep.equal({ records: 1, bytes: 7 });
  });

  for (const delimiter of ALL_DELIMITERS) {
    it(`counts with ${delimiter}: a quoted delimiter and a quoted newline stay in one record`, async () => {
      const d = delimiterCharacter(delimiter);
      expect(await count(`A${d}B\n"x${d}y"${d}"1\n2"\nz${d}3\n`, delimiter)).to.equal(2);
    });
  }

  it('fails on an unterminated quote, naming the file and the line it opens on', async () => {
    const file = folder.write('open.csv', 'Name,Note\nA,ok\nB,"never\nclosed\n');
    try {
      await countRecords(file, 'COMMA');
      expect.fail('expected UnterminatedQuote');
    } catch (error) {
      expect((error as SfError).code).to.equal('UnterminatedQuote');
      expect((error as SfError).data).to.deep.equal({ file, line: 3 });
    }
  });

  it('agrees with the generator on random CSVs (seeded)', async () => {
    for (let seed = 1; seed <= 40; seed++) {
      const csv = randomCsv(seed);
      const file = folder.write(`random-${seed}.csv`, csv.content);
      // eslint-disable-next-line no-await-in-loop
      const counted = await countRecords(file, csv.delimiter);
      expect(counted, `seed ${seed}`).to.deep.equal({ records: csv.rows.length, bytes: csv.content.length });
    }
  });
});

describe('RecordScanner', () => {
  it('finds the same boundaries however the bytes are split', () => {
    const bytes = Buffer.from('\ufeff"Name",Note\r\n"A","x\r\n""y"""\r\n\r\nB,2\r\nC,"3"', 'utf8');
    const scanAll = (pieceSize: number): RecordBoundary[] => {
      const scanner = new RecordScanner('COMMA');
      const found: RecordBoundary[] = [];
      for (let i = 0; i < bytes.length; i += pieceSize)
        scanner.push(bytes.subarray(i, i + pieceSize), (start, end, blank) => void found.push({ start, end, blank }));
      const last = scanner.end().last;
      if (last) found.push(last);
      return found;
    };
    const whole = scanAll(bytes.length);
    expect(whole.map((r) => [r.start, r.end, r.blank])).to.deep.equal([
      [0, 16, false],
      [16, 32, false],
      [32, 34, true],
      [34, 39, false],
      [39, 44, false],
    ]);
    for (const size of [1, 2, 3, 5, 7]) expect(scanAll(size), `pieces of ${size}`).to.deep.equal(whole);
  });
});
