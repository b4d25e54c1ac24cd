import { expect } from 'chai';
import { SfError } from '@salesforce/core';
import { planChunks, type ChunkOptions, type ChunkSpec } from '../../src/csv/chunks.js';
import { readCsvHeader } from '../../src/csv/header.js';
import { scratchFolder } from './csvFixtures.js';

async function drain(chunks: AsyncGenerator<ChunkSpec>): Promise<ChunkSpec[]> {
  const all: ChunkSpec[] = [];
  for await (const chunk of chunks) all.push(chunk);
  return all;
}

describe('planChunks', () => {
  const folder = scratchFolder();
  after(() => folder.remove());

  async function chunksOf(content: string, limits: Partial<ChunkOptions>): Promise<ChunkSpec[]> {
    const file = folder.write('chunks.csv', content);
    const header = await readCsvHeader(file, 'COMMA');
    const chunks: ChunkSpec[] = [];
    for await (const chunk of planChunks(file, {
      delimiter: 'COMMA',
      header,
      maxRecords: 1000,
      maxBytes: 1e8,
      ...limits,
    })) {
      chunks.push(chunk);
    }
    return chunks;
  }
  const ranges = (chunks: ChunkSpec[]): number[][] => chunks.map((c) => [c.byteStart, c.byteEnd, c.records]);

  // header "Id\n" is 3 bytes; every record "rN\n" is 3 bytes
  const sixRecords = 'Id\nr1\nr2\nr3\nr4\nr5\nr6\n';

  it('makes one chunk when the limits allow', async () => {
    expect(ranges(await chunksOf(sixRecords, {}))).to.deep.equal([[3, 21, 6]]);
  });

  it('cuts exactly at maxRecords', async () => {
    expect(ranges(await chunksOf(sixRecords, { maxRecords: 3 }))).to.deep.equal([
      [3, 12, 3],
      [12, 21, 3],
    ]);
    expect(ranges(await chunksOf(sixRecords, { maxRecords: 4 }))).to.deep.equal([
      [3, 15, 4],
      [15, 21, 2],
    ]);
    expect(ranges(await chunksOf(sixRecords, { maxRecords: 1 }))).to.have.length(6);
  });

  it('cuts exactly at maxBytes, counting the header re-sent with every job', async () => {
    // header 3 + two records 6 = 9 bytes fit in 9, a third would make 12
    expect(ranges(await chunksOf(sixRecords, { maxBytes: 9 }))).to.deep.equal([
      [3, 9, 2],
      [9, 15, 2],
      [15, 21, 2],
    ]);
    expect(ranges(await chunksOf(sixRecords, { maxBytes: 11 }))).to.deep.equal([
      [3, 9, 2],
      [9, 15, 2],
      [15, 21, 2],
    ]);
    expect(ranges(await chunksOf(sixRecords, { maxBytes: 12 }))).to.deep.equal([
      [3, 12, 3],
      [12, 21, 3],
    ]);
  });

  it('does not count the BOM against the upload, since it is never sent', async () => {
    const chunks = await chunksOf(`\ufeff${sixRecords}`, { maxBytes: 9 });
    expect(ranges(chunks)).to.deep.equal([
      [6, 12, 2],
      [12, 18, 2],
      [18, 24, 2],
    ]);
  });

  it('never cuts inside a quoted line break', async () => {
    const content = 'Id,Note\n1,"a\nb"\n2,"c\r\nd"\n3,e\n';
    const chunks = await chunksOf(content, { maxRecords: 1 });
    expect(chunks.map((c) => content.slice(c.byteStart, c.byteEnd))).to.deep.equal([
      '1,"a\nb"\n',
      '2,"c\r\nd"\n',
      '3,e\n',
    ]);
  });

  it('ends the last chunk at the end of a file without a trailing newline', async () => {
    expect(ranges(await chunksOf('Id\nr1\nr2', { maxRecords: 1 }))).to.deep.equal([
      [3, 6, 1],
      [6, 8, 1],
    ]);
  });

  it('makes no chunk for a header-only or empty file', async () => {
    expect(await chunksOf('Id\n', {})).to.deep.equal([]);
    const file = folder.write('empty.csv', '');
    const chunks: ChunkSpec[] = [];
    for await (const chunk of planChunks(file, {
      delimiter: 'COMMA',
      header: { columns: [], bom: false, lineEnding: 'LF', byteLength: 0 },
      maxRecords: 10,
      maxBytes: 100,
    })) {
      chunks.push(chunk);
    }
    expect(chunks).to.deep.equal([]);
  });

  it('keeps blank lines inside the chunks without counting them', async () => {
    const chunks = await chunksOf('Id\nr1\n\nr2\n\n', { maxRecords: 1 });
    expect(ranges(chunks)).to.deep.equal([
      [3, 7, 1],
      [7, 11, 1],
    ]);
  });

  it('rejects a record that cannot fit in one job, naming the file and line', async () => {
    const file = folder.write('big.csv', 'Id,Note\n1,short\n2,"a much\nlonger record"\n');
    const header = await readCsvHeader(file, 'COMMA');
    try {
      await drain(planChunks(file, { delimiter: 'COMMA', header, maxRecords: 10, maxBytes: 20 }));
      expect.fail('expected RecordTooLarge');
    } catch (error) {
      expect((error as SfError).code).to.equal('RecordTooLarge');
      expect((error as SfError).data).to.deep.include({ file, line: 3, maxBytes: 20 });
    }
  });

  it('leaves room for constants added by a mapping', async () => {
    // mapped header "Id,K\n" is 5 bytes; a record is bounded by 3 source bytes + ",k" + a line ending = 6
    const mapping = { constants: { K: 'k' } };
    expect(ranges(await chunksOf(sixRecords, { maxBytes: 16, mapping }))).to.have.length(6);
    expect(ranges(await chunksOf(sixRecords, { maxBytes: 17, mapping }))).to.deep.equal([
      [3, 9, 2],
      [9, 15, 2],
      [15, 21, 2],
    ]);
  });

  it('rejects a file whose header is not the one given (the file changed)', async () => {
    const file = folder.write('changed.csv', 'Id,Name\n1,a\n');
    try {
      await drain(
        planChunks(file, {
          delimiter: 'COMMA',
          header: { columns: ['Id'], bom: false, lineEnding: 'LF', byteLength: 3 },
          maxRecords: 10,
          maxBytes: 100,
        })
      );
      expect.fail('expected SourceChanged');
    } catch (error) {
      expect((error as SfError).code).to.equal('SourceChanged');
    }
  });
});
