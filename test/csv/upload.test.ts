import { appendFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { expect } from 'chai';
import { parse } from 'csv-parse/sync';
import { SfError } from '@salesforce/core';
import { planChunks, type ChunkOptions, type ChunkSpec, type SourceStat } from '../../src/csv/chunks.js';
import { delimiterCharacter } from '../../src/csv/delimiters.js';
import { readCsvHeader, type CsvHeader } from '../../src/csv/header.js';
import { isPureByteCopy, mappedColumns, openChunkStream, type UploadOptions } from '../../src/csv/upload.js';
import type { ColumnDelimiter, ColumnMapping, LineEnding } from '../../src/manifest/types.js';
import { ALL_DELIMITERS, randomCsv, scratchFolder, seededRandom } from './csvFixtures.js';

async function collectChunks(file: string, options: ChunkOptions): Promise<ChunkSpec[]> {
  const chunks: ChunkSpec[] = [];
  for await (const chunk of planChunks(file, options)) chunks.push(chunk);
  return chunks;
}

async function body(chunk: ChunkSpec, options: UploadOptions): Promise<Buffer> {
  const pieces: Buffer[] = [];
  for await (const piece of openChunkStream(chunk, options)) pieces.push(piece as Buffer);
  return Buffer.concat(pieces);
}

function parseUpload(upload: Buffer, delimiter: ColumnDelimiter): string[][] {
  return parse(upload, {
    delimiter: delimiterCharacter(delimiter),
    recordDelimiter: ['\r\n', '\n'],
    relaxColumnCount: true,
  });
}

describe('openChunkStream', () => {
  const folder = scratchFolder();
  after(() => folder.remove());

  const accounts =
    '\ufeffName,Legacy_Id__c,Description,Internal\r\n' +
    '"Acme, Inc.",A-1,"Founded 1901\r\nin ""Springfield""",x\r\n' +
    'Globex,A-2,plain,y\r\n' +
    'Initech,A-3,,z';

  async function setUp(): Promise<{ file: string; header: CsvHeader; chunks: ChunkSpec[] }> {
    const file = folder.write('accounts.csv', accounts);
    const header = await readCsvHeader(file, 'COMMA');
    const chunks = await collectChunks(file, { delimiter: 'COMMA', header, maxRecords: 2, maxBytes: 1e6 });
    return { file, header, chunks };
  }

  it('with no mapping sends the header (without BOM) and the chunk bytes as they are', async () => {
    const { header, chunks } = await setUp();
    expect(chunks.map((c) => c.records)).to.deep.equal([2, 1]);
    const options: UploadOptions = { header, delimiter: 'COMMA', lineEnding: 'CRLF', mapping: {} };
    expect((await body(chunks[0], options)).toString()).to.equal(
      'Name,Legacy_Id__c,Description,Internal\r\n' +
        '"Acme, Inc.",A-1,"Founded 1901\r\nin ""Springfield""",x\r\n' +
        'Globex,A-2,plain,y\r\n',
    );
    expect((await body(chunks[1], options)).toString()).to.equal(
      'Name,Legacy_Id__c,Description,Internal\r\nInitech,A-3,,z',
    );
  });

  it('re-reads the file on every call (a re-sent upload never comes from memory)', async () => {
    const { file, header, chunks } = await setUp();
    const options: UploadOptions = { header, delimiter: 'COMMA', lineEnding: 'CRLF', mapping: {} };
    const first = await body(chunks[1], options);
    // same length, different bytes: only a fresh read can see the change
    folder.write('accounts.csv', accounts.replace('Initech,A-3', 'Initrch,A-3'));
    const second = await body(chunks[1], options);
    expect(first.toString()).to.include('Initech');
    expect(second.toString()).to.include('Initrch');
    expect(file).to.equal(folder.path('accounts.csv'));
  });

  it('renames, drops and adds constants, quoting values that need it', async () => {
    const { header, chunks } = await setUp();
    const mapping: ColumnMapping = {
      rename: { Description: 'Description__c' },
      drop: ['Internal'],
      // eslint-disable-next-line camelcase -- Salesforce field names
      constants: { Source__c: 'legacy, "crm"', Rating: 'Hot' },
    };
    expect(mappedColumns(header, mapping)).to.deep.equal([
      'Name',
      'Legacy_Id__c',
      'Description__c',
      'Source__c',
      'Rating',
    ]);
    const options: UploadOptions = { header, delimiter: 'COMMA', lineEnding: 'LF', mapping };
    const first = (await body(chunks[0], options)).toString();
    expect(first).to.equal(
      'Name,Legacy_Id__c,Description__c,Source__c,Rating\n' +
        '"Acme, Inc.",A-1,"Founded 1901\r\nin ""Springfield""","legacy, ""crm""",Hot\n' +
        'Globex,A-2,plain,"legacy, ""crm""",Hot\n',
    );
    const second = parseUpload(await body(chunks[1], options), 'COMMA');
    expect(second).to.deep.equal([
      ['Name', 'Legacy_Id__c', 'Description__c', 'Source__c', 'Rating'],
      ['Initech', 'A-3', '', 'legacy, "crm"', 'Hot'],
    ]);
  });

  it('lets a constant replace the values of a column of the same name', async () => {
    const { header, chunks } = await setUp();
    const mapping: ColumnMapping = { rename: { Internal: 'Type' }, constants: { Type: 'Customer' } };
    expect(mappedColumns(header, mapping)).to.deep.equal(['Name', 'Legacy_Id__c', 'Description', 'Type']);
    const rows = parseUpload(
      await body(chunks[0], { header, delimiter: 'COMMA', lineEnding: 'CRLF', mapping }),
      'COMMA',
    );
    expect(rows.map((row) => row[3])).to.deep.equal(['Type', 'Customer', 'Customer']);
  });

  it('sends a byte stream with the line ending the job must declare', async () => {
    const { header, chunks } = await setUp();
    expect(
      openChunkStream(chunks[0], { header, delimiter: 'COMMA', lineEnding: 'CRLF', mapping: {} }).readableObjectMode,
    ).to.equal(false);
    expect(
      openChunkStream(chunks[0], { header, delimiter: 'COMMA', lineEnding: 'LF', mapping: { drop: ['Internal'] } })
        .readableObjectMode,
    ).to.equal(false);
  });

  it('copies the bytes but gives every record the job line ending when it differs from the file', async () => {
    const { header, chunks } = await setUp();
    expect(isPureByteCopy(header, {})).to.equal(true);
    expect(isPureByteCopy(header, { rename: { Name: 'Name' }, drop: ['NotThere'] })).to.equal(true);
    expect(isPureByteCopy(header, { drop: ['Internal'] })).to.equal(false);
    const upload = (await body(chunks[0], { header, delimiter: 'COMMA', lineEnding: 'LF', mapping: {} })).toString();
    expect(upload).to.equal(
      'Name,Legacy_Id__c,Description,Internal\n"Acme, Inc.",A-1,"Founded 1901\r\nin ""Springfield""",x\nGlobex,A-2,plain,y\n',
    );
  });

  it('fails with SourceChanged when the chunk no longer holds its records', async () => {
    const { header, chunks } = await setUp();
    folder.write('accounts.csv', accounts.slice(0, accounts.length - 10));
    for (const mapping of [{}, { drop: ['Internal'] }]) {
      try {
        // eslint-disable-next-line no-await-in-loop
        await body(chunks[1], { header, delimiter: 'COMMA', lineEnding: 'CRLF', mapping });
        expect.fail('expected SourceChanged');
      } catch (error) {
        expect((error as SfError).code, JSON.stringify(mapping)).to.equal('SourceChanged');
      }
    }
  });

  describe('sends only the bytes that were planned', () => {
    /** reads a body to its end or its error, keeping what came before the error */
    async function pull(stream: Readable): Promise<{ received: Buffer; error?: SfError }> {
      const pieces: Buffer[] = [];
      try {
        for await (const piece of stream) pieces.push(piece as Buffer);
        return { received: Buffer.concat(pieces) };
      } catch (error) {
        return { received: Buffer.concat(pieces), error: error as SfError };
      }
    }

    // about 1 MB in one chunk: the upload reads it in several pieces
    const rows = Array.from({ length: 4000 }, (_, k) => `${k},Name ${k},${'d'.repeat(240)}\n`);
    const big = `Id,Name,Description\n${rows.join('')}`;

    type Planned = { file: string; header: CsvHeader; chunk: ChunkSpec; stat: SourceStat };

    async function planned(name: string, content: string): Promise<Planned> {
      const file = folder.write(name, content);
      const header = await readCsvHeader(file, 'COMMA');
      let stat: SourceStat | undefined;
      const chunks = await collectChunks(file, {
        delimiter: 'COMMA',
        header,
        maxRecords: 1e6,
        maxBytes: 1e8,
        hashChunks: true,
        onVerified: (checked) => (stat = checked),
      });
      expect(chunks).to.have.length(1);
      return { file, header, chunk: chunks[0], stat: stat! };
    }

    const upload = (header: CsvHeader, mapping: ColumnMapping): UploadOptions => ({
      header,
      delimiter: 'COMMA',
      lineEnding: 'LF',
      mapping,
    });

    /** rewrites the file with `content` and gives it back (about) the mtime it had */
    function replaceKeepingMtime(file: string, content: string): void {
      const { atime, mtime } = statSync(file);
      writeFileSync(file, content);
      utimesSync(file, atime, mtime);
    }

    for (const mapping of [{}, { rename: { Name: 'LastName' } }] as ColumnMapping[]) {
      const how = Object.keys(mapping).length === 0 ? 'copied' : 're-serialised';

      it(`sends an unchanged chunk whole (${how})`, async () => {
        const { header, chunk, stat } = await planned('unchanged.csv', big);
        const { received, error } = await pull(openChunkStream(chunk, { ...upload(header, mapping), expect: stat }));
        expect(error).to.equal(undefined);
        expect(parseUpload(received, 'COMMA')).to.have.length(4001);
      });

      it(`never ends the body of a chunk whose bytes changed at the same size (${how})`, async () => {
        const { file, header, chunk } = await planned('edited.csv', big);
        // the last record edited: the change is only seen once every byte was read (no `expect`:
        // this is the check that holds when the size and mtime tell nothing)
        replaceKeepingMtime(file, big.replace('3999,Name 3999', '3999,Evil 3999'));
        const { received, error } = await pull(openChunkStream(chunk, upload(header, mapping)));
        expect(error?.code).to.equal('SourceChanged');
        const { byteStart, byteEnd } = chunk;
        expect(error?.data).to.deep.include({ file, change: 'range', byteStart, byteEnd });
        const text = received.toString();
        expect(text).to.not.contain('Evil');
        // the last piece was held back: the body stops short of the chunk's last records
        expect(text).to.not.contain('3999,');
        expect(parseUpload(received, 'COMMA').length).to.be.greaterThan(1);
      });

      it(`fails a chunk cut short before it sends its last piece (${how})`, async () => {
        const { file, header, chunk } = await planned('cut.csv', big);
        writeFileSync(file, big.slice(0, big.length - 100));
        const { received, error } = await pull(openChunkStream(chunk, upload(header, mapping)));
        expect(error?.data).to.deep.include({ file, change: 'short' });
        expect(received.toString()).to.not.contain('3998,');
      });

      it(`fails before reading a byte when the size or mtime moved since planning (${how})`, async () => {
        const { file, header, chunk, stat } = await planned('appended.csv', big);
        appendFileSync(file, '4000,Appended,x\n');
        const { received, error } = await pull(openChunkStream(chunk, { ...upload(header, mapping), expect: stat }));
        expect(error?.data).to.deep.include({ file, change: 'modified' });
        expect(error?.message).to.contain(file);
        expect(received.length).to.equal(0);
      });

      it(`fails naming the file when it is gone (${how})`, async () => {
        const { file, header, chunk } = await planned('gone.csv', big);
        rmSync(file);
        const { received, error } = await pull(openChunkStream(chunk, upload(header, mapping)));
        expect(error?.data).to.deep.include({ file, change: 'missing' });
        expect(error?.message).to.contain(file);
        expect(received.length).to.equal(0);
      });

      it(`fails when the header is no longer the one planned with (${how})`, async () => {
        const { file, header, chunk } = await planned('header.csv', big);
        replaceKeepingMtime(file, big.replace('Id,Name,Description', 'Name,Id,Description'));
        const { received, error } = await pull(openChunkStream(chunk, upload(header, mapping)));
        expect(error?.data).to.deep.include({ file, change: 'header' });
        expect(received.length).to.equal(0);
      });
    }
  });

  describe('on random CSVs (seeded): the chunks of a file give back exactly its records', () => {
    for (let seed = 100; seed < 160; seed++) {
      it(`seed ${seed}`, async () => {
        // every delimiter, ten files each
        const csv = randomCsv(seed, { delimiter: ALL_DELIMITERS[seed % ALL_DELIMITERS.length] });
        const random = seededRandom(seed * 7919);
        const file = folder.write(`random-${seed}.csv`, csv.content);
        const header = await readCsvHeader(file, csv.delimiter);
        expect(header.columns).to.deep.equal(csv.header);
        expect(header.bom).to.equal(csv.bom);

        const maxRecords = 1 + Math.floor(random() * 8);
        const maxBytes = 400 + Math.floor(random() * 800);
        const chunks = await collectChunks(file, { delimiter: csv.delimiter, header, maxRecords, maxBytes });

        // the chunks tile the data part of the file, in order, without gaps or overlaps
        let expectedStart = header.byteLength;
        for (const chunk of chunks) {
          expect(chunk.byteStart).to.equal(expectedStart);
          expect(chunk.records).to.be.within(1, maxRecords);
          expectedStart = chunk.byteEnd;
        }
        expect(expectedStart).to.equal(chunks.length > 0 ? csv.content.length : header.byteLength);

        const identity: UploadOptions = { header, delimiter: csv.delimiter, lineEnding: csv.lineEnding, mapping: {} };
        const records: string[][] = [];
        const dataBytes: Buffer[] = [];
        const headerBytes = header.byteLength - (header.bom ? 3 : 0);
        for (const chunk of chunks) {
          // eslint-disable-next-line no-await-in-loop
          const upload = await body(chunk, identity);
          expect(upload.length).to.be.at.most(maxBytes);
          expect(upload.subarray(0, 3).equals(Buffer.from([0xef, 0xbb, 0xbf]))).to.equal(false);
          dataBytes.push(upload.subarray(headerBytes));
          const [uploadedHeader, ...rows] = parseUpload(upload, csv.delimiter);
          expect(uploadedHeader).to.deep.equal(csv.header);
          expect(rows).to.have.length(chunk.records);
          records.push(...rows);
        }
        expect(records).to.deep.equal(csv.rows);
        expect(Buffer.concat(dataBytes).equals(csv.content.subarray(header.byteLength))).to.equal(true);

        // the same through a mapping: re-serialised, still every record, still within maxBytes
        const mapping: ColumnMapping = {
          rename: { [csv.header[0]]: 'Renamed__c' },
          drop: [csv.header[1]],
          // eslint-disable-next-line camelcase -- Salesforce field names
          constants: { Constant__c: 'a, "b"\nc' },
        };
        const lineEnding: LineEnding = random() < 0.5 ? 'LF' : 'CRLF';
        const mappedChunks = await collectChunks(file, {
          delimiter: csv.delimiter,
          header,
          maxRecords,
          maxBytes,
          mapping,
          lineEnding,
        });
        const mappedRecords: string[][] = [];
        for (const chunk of mappedChunks) {
          // eslint-disable-next-line no-await-in-loop
          const upload = await body(chunk, { header, delimiter: csv.delimiter, lineEnding, mapping });
          expect(upload.length).to.be.at.most(maxBytes);
          const [uploadedHeader, ...rows] = parseUpload(upload, csv.delimiter);
          expect(uploadedHeader).to.deep.equal(['Renamed__c', ...csv.header.slice(2), 'Constant__c']);
          mappedRecords.push(...rows);
        }
        expect(mappedRecords).to.deep.equal(csv.rows.map((row) => [row[0], ...row.slice(2), 'a, "b"\nc']));
      });
    }
  });

  describe('on random CSVs with mixed line endings (seeded): every record ends in the job line ending', () => {
    /** parsed with the job's line ending only: a record that ended otherwise would leave a CR or LF in a value */
    const strictParse = (upload: Buffer, delimiter: ColumnDelimiter, lineEnding: LineEnding): string[][] =>
      parse(upload, {
        delimiter: delimiterCharacter(delimiter),
        recordDelimiter: lineEnding === 'CRLF' ? '\r\n' : '\n',
      });

    for (let seed = 300; seed < 340; seed++) {
      it(`seed ${seed}`, async () => {
        const delimiter = ALL_DELIMITERS[seed % ALL_DELIMITERS.length];
        const csv = randomCsv(seed, { delimiter, mixedLineEndings: true });
        const random = seededRandom(seed * 31);
        const file = folder.write(`mixed-${seed}.csv`, csv.content);
        const header = await readCsvHeader(file, csv.delimiter);
        expect(header.columns).to.deep.equal(csv.header);
        const maxRecords = 1 + Math.floor(random() * 8);
        const maxBytes = 400 + Math.floor(random() * 800);
        const mappings: ColumnMapping[] = [{}, { rename: { [csv.header[0]]: 'Renamed__c' } }];
        for (const lineEnding of ['LF', 'CRLF'] as const) {
          for (const mapping of mappings) {
            const options = { delimiter: csv.delimiter, header, maxRecords, maxBytes, mapping, lineEnding };
            // eslint-disable-next-line no-await-in-loop
            const chunks = await collectChunks(file, options);
            const records: string[][] = [];
            for (const chunk of chunks) {
              // eslint-disable-next-line no-await-in-loop
              const upload = await body(chunk, { header, delimiter: csv.delimiter, lineEnding, mapping });
              expect(upload.length, `${lineEnding} ${JSON.stringify(mapping)}`).to.be.at.most(maxBytes);
              const [, ...rows] = strictParse(upload, csv.delimiter, lineEnding);
              expect(rows).to.have.length(chunk.records);
              records.push(...rows);
            }
            expect(records, `${lineEnding} ${JSON.stringify(mapping)}`).to.deep.equal(csv.rows);
          }
        }
      });
    }
  });

  it('holds maxBytes exactly for a CRLF job of an LF file: each record grows by one byte', async () => {
    const file = folder.write('lf-for-crlf.csv', 'Id\n1\n2\n3\n4\n');
    const header = await readCsvHeader(file, 'COMMA');
    // header "Id\r\n" 4 bytes + two records of 3 bytes each as sent = 10
    const plan = { delimiter: 'COMMA', header, maxRecords: 100 } as const;
    const chunks = await collectChunks(file, { ...plan, maxBytes: 10, lineEnding: 'CRLF' });
    expect(chunks.map((chunk) => chunk.records)).to.deep.equal([2, 2]);
    const options: UploadOptions = { header, delimiter: 'COMMA', lineEnding: 'CRLF', mapping: {} };
    expect((await body(chunks[0], options)).toString()).to.equal('Id\r\n1\r\n2\r\n');
    // the same file in an LF job: copied as it is, all four fit
    const lf = await collectChunks(file, { ...plan, maxBytes: 11, lineEnding: 'LF' });
    expect(lf.map((chunk) => chunk.records)).to.deep.equal([4]);
  });
});
