import { createHash } from 'node:crypto';
import { appendFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { expect } from 'chai';
import { SfError } from '@salesforce/core';
import { planChunks, type ChunkOptions, type ChunkSpec } from '../../src/csv/chunks.js';
import { readCsvHeader } from '../../src/csv/header.js';
import { scratchFolder, seededRandom } from './csvFixtures.js';

const sha256 = (bytes: Buffer | string): string => createHash('sha256').update(bytes).digest('hex');

/** bytes of a chunk of unquoted content as an LF job's upload sends them (CRLF made LF) */
const sentAsLf = (content: string, chunk: ChunkSpec): number =>
  Buffer.from(content).subarray(chunk.byteStart, chunk.byteEnd).toString('latin1').replaceAll('\r\n', '\n').length;

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

  it('keeps blank lines inside the chunks without counting them as records', async () => {
    const chunks = await chunksOf('Id\nr1\n\nr2\n\n', { maxRecords: 1 });
    expect(ranges(chunks)).to.deep.equal([
      [3, 7, 1],
      [7, 11, 1],
    ]);
  });

  it('counts blank lines toward maxBytes, since they are sent', async () => {
    // header 3; "r1\n" 3 + three blank lines fit in 9; the fourth goes with r2
    const content = 'Id\nr1\n\n\n\n\nr2\n';
    expect(ranges(await chunksOf(content, { maxBytes: 9 }))).to.deep.equal([
      [3, 9, 1],
      [9, 13, 1],
    ]);
    // ten blank lines fit in no chunk: those that do not fit fall between two chunks; a CRLF blank
    // line is sent as LF in this LF job, so three of them fit after r2
    const blanks = `Id\nr1\n${'\n'.repeat(10)}r2\n${'\r\n'.repeat(5)}`;
    const chunks = await chunksOf(blanks, { maxBytes: 9 });
    expect(ranges(chunks)).to.deep.equal([
      [3, 9, 1],
      [16, 25, 1],
    ]);
    for (const chunk of chunks) expect(3 + sentAsLf(blanks, chunk)).to.be.at.most(9);
    // before the fix: [[3, 16, 1], [16, 29, 1]], uploads of 16 bytes under a 9-byte limit
  });

  it('never lets blank lines push an upload past maxBytes (random files)', async () => {
    for (let seed = 1; seed <= 40; seed++) {
      const random = seededRandom(seed);
      let content = 'Id,Note\n';
      for (let k = 0; k < 60; k++) {
        content += random() < 0.4 ? (random() < 0.5 ? '\n' : '\r\n').repeat(1 + Math.floor(random() * 8)) : '';
        content += `${k},${'v'.repeat(Math.floor(random() * 12))}\n`;
      }
      const maxBytes = 30 + Math.floor(random() * 40);
      // eslint-disable-next-line no-await-in-loop
      const chunks = await chunksOf(content, { maxBytes, hashChunks: true });
      expect(
        chunks.reduce((sum, chunk) => sum + chunk.records, 0),
        `seed ${seed}`,
      ).to.equal(60);
      for (const chunk of chunks) {
        expect(8 + sentAsLf(content, chunk), `seed ${seed}`).to.be.at.most(maxBytes);
        expect(chunk.sha256).to.equal(sha256(Buffer.from(content).subarray(chunk.byteStart, chunk.byteEnd)));
      }
    }
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
        }),
      );
      expect.fail('expected SourceChanged');
    } catch (error) {
      expect((error as SfError).code).to.equal('SourceChanged');
    }
  });

  describe('with hashChunks', () => {
    it('gives each chunk the SHA-256 of its bytes, records spanning read buffers included', async () => {
      // records of up to 700 KB (quoted line breaks), so chunks start inside, across and after 256 KB reads
      const random = seededRandom(7);
      const parts = ['Id,Note\r\n'];
      for (let k = 0; k < 40; k++) {
        const size = random() < 0.15 ? 200_000 + Math.floor(random() * 500_000) : Math.floor(random() * 300);
        parts.push(`${k},"${'ab\n'.repeat(size / 3)}"\r\n`);
        if (random() < 0.2) parts.push('\r\n');
      }
      const content = Buffer.from(parts.join(''));
      for (const maxRecords of [1, 2, 3, 7]) {
        // eslint-disable-next-line no-await-in-loop
        const chunks = await chunksOf(content.toString(), { maxRecords, hashChunks: true });
        expect(chunks.reduce((sum, chunk) => sum + chunk.records, 0)).to.equal(40);
        for (const chunk of chunks) {
          const bytes = content.subarray(chunk.byteStart, chunk.byteEnd);
          expect(chunk.sha256, `${maxRecords}: ${chunk.byteStart}`).to.equal(sha256(bytes));
        }
      }
    });
  });

  describe('with the fingerprint taken when the run began', () => {
    const original = 'Id,Name\n1,Acme\n2,Globex\n3,Initech\n';
    const fingerprint = { size: Buffer.byteLength(original), sha256: sha256(original) };

    async function plan(file: string, onVerified?: ChunkOptions['onVerified']): Promise<ChunkSpec[]> {
      const header = await readCsvHeader(file, 'COMMA');
      return drain(
        planChunks(file, {
          delimiter: 'COMMA',
          header,
          maxRecords: 1,
          maxBytes: 1e6,
          fingerprint,
          hashChunks: true,
          onVerified,
        }),
      );
    }

    async function planError(file: string, change: () => void): Promise<SfError> {
      const header = await readCsvHeader(file, 'COMMA');
      change();
      const seen: ChunkSpec[] = [];
      let verified = false;
      try {
        for await (const chunk of planChunks(file, {
          delimiter: 'COMMA',
          header,
          maxRecords: 1,
          maxBytes: 1e6,
          fingerprint,
          onVerified: () => (verified = true),
        })) {
          seen.push(chunk);
        }
      } catch (error) {
        // nothing of a changed file may be journaled
        expect(seen).to.deep.equal([]);
        expect(verified).to.equal(false);
        return error as SfError;
      }
      throw new Error('expected SourceChanged');
    }

    it('plans the file as usual when it is unchanged, and reports what it checked', async () => {
      const file = folder.write('same.csv', original);
      let stat: unknown;
      const chunks = await plan(file, (checked) => (stat = checked));
      expect(ranges(chunks)).to.deep.equal([
        [8, 15, 1],
        [15, 24, 1],
        [24, 34, 1],
      ]);
      expect(chunks.map((chunk) => chunk.sha256)).to.deep.equal(['1,Acme\n', '2,Globex\n', '3,Initech\n'].map(sha256));
      expect(stat).to.deep.equal({ size: statSync(file).size, mtimeMs: statSync(file).mtimeMs });
    });

    it('stops when rows were appended', async () => {
      const file = folder.write('appended.csv', original);
      const error = await planError(file, () => appendFileSync(file, '4,Umbrella\n'));
      expect(error.code).to.equal('SourceChanged');
      expect(error.data).to.deep.include({ file, change: 'grew' });
      expect(error.message).to.contain(file).and.contain('was 34 bytes when the run began');
      expect(error.actions?.join('\n')).to.contain('sf migrate resume').and.contain('--new');
    });

    it('stops when a last line is being written (a half line, no line ending yet)', async () => {
      const file = folder.write('half.csv', original);
      const error = await planError(file, () => appendFileSync(file, '4,Umb'));
      expect(error.data).to.deep.include({ file, change: 'grew' });
    });

    it('stops when the file was cut short', async () => {
      const file = folder.write('truncated.csv', original);
      const error = await planError(file, () => writeFileSync(file, original.slice(0, 20)));
      expect(error.data).to.deep.include({ file, change: 'shrank' });
    });

    it('stops naming the file when it is gone', async () => {
      const file = folder.write('gone.csv', original);
      const error = await planError(file, () => rmSync(file));
      expect(error.data).to.deep.include({ file, change: 'missing' });
      expect(error.message).to.contain(file);
    });

    it('stops when the file was replaced by one of the same size, even with its old mtime', async () => {
      const file = folder.write('replaced.csv', original);
      const { atime, mtime } = statSync(file);
      const error = await planError(file, () => {
        writeFileSync(file, original.replace('Globex', 'Hooli!'));
        utimesSync(file, atime, mtime);
      });
      expect(error.data).to.deep.include({ file, change: 'content' });
      expect(error.message).to.contain(fingerprint.sha256);
    });

    it('reports the change, not the broken line, when a changed file no longer scans', async () => {
      const file = folder.write('quote.csv', original);
      const error = await planError(file, () => writeFileSync(file, original.replace('Globex', '"lobex')));
      expect(error.data).to.deep.include({ file, change: 'content' });
      // an unchanged file with the same flaw is reported as it is
      const broken = 'Id,Name\n1,"Acme\n';
      const unchanged = folder.write('broken.csv', broken);
      const header = await readCsvHeader(unchanged, 'COMMA');
      const brokenPrint = { size: Buffer.byteLength(broken), sha256: sha256(broken) };
      try {
        const options = { delimiter: 'COMMA', header, maxRecords: 1, maxBytes: 1e6, fingerprint: brokenPrint } as const;
        await drain(planChunks(unchanged, options));
        expect.fail('expected UnterminatedQuote');
      } catch (caught) {
        expect((caught as SfError).code).to.equal('UnterminatedQuote');
      }
    });

    it('stops when the header changed after it was read, at the same length', async () => {
      const file = folder.write('header.csv', original);
      const header = await readCsvHeader(file, 'COMMA');
      writeFileSync(file, original.replace('Id,Name', 'Name,Id'));
      try {
        await drain(planChunks(file, { delimiter: 'COMMA', header, maxRecords: 1, maxBytes: 1e6 }));
        expect.fail('expected SourceChanged');
      } catch (error) {
        expect((error as SfError).data).to.deep.include({ file, change: 'header' });
      }
    });
  });
});
