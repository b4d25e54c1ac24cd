/*
 * AtomicCsvWriter and CsvWriterSet: a discarded file leaves nothing behind, and discard ends
 * (it once waited for a file stream that destroying the stringifier never ended); the bytes are
 * those csv-stringify's stream wrote before the writer serialised rows itself, over many pieces;
 * a file that cannot be written fails the writes and the commit.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { stringify } from 'csv-stringify';
import { AtomicCsvWriter, CsvWriterSet } from '../../src/engine/resultFiles.js';

describe('AtomicCsvWriter', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'atomic-csv-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('commits the header and rows under the final name', async () => {
    const writer = await AtomicCsvWriter.create(join(dir, 'out', 'a.csv'), ['Id', 'Name'], 'COMMA', 'LF');
    await writer.write(['001A', 'Quote "and" comma, here']);
    await writer.commit();
    expect(await readFile(join(dir, 'out', 'a.csv'), 'utf8')).to.equal('Id,Name\n001A,"Quote ""and"" comma, here"\n');
    expect(await readdir(join(dir, 'out'))).to.deep.equal(['a.csv']);
  });

  it("writes csv-stringify's stream's bytes, over many pieces, for any delimiter and line ending", async () => {
    const values = [
      '',
      'plain',
      'Quote "and" comma, here',
      'line\nbreak',
      'cr\r\nlf',
      'tab\there',
      'Ökö €',
      ' lead',
      '#N/A',
    ];
    const rows = Array.from({ length: 20_000 }, (_, i) => [String(i), values[i % values.length], values[(i * 7) % 9]]);
    for (const [delimiter, character, lineEnding] of [
      ['COMMA', ',', 'LF'],
      ['TAB', '\t', 'CRLF'],
    ] as const) {
      const file = join(dir, `${delimiter}.csv`);
      // eslint-disable-next-line no-await-in-loop
      const writer = await AtomicCsvWriter.create(file, ['Id', 'A', 'B'], delimiter, lineEnding);
      // eslint-disable-next-line no-await-in-loop
      for (const row of rows) await writer.write(row);
      // eslint-disable-next-line no-await-in-loop
      await writer.commit();
      // eslint-disable-next-line camelcase
      const stream = stringify({ delimiter: character, record_delimiter: lineEnding === 'CRLF' ? 'windows' : 'unix' });
      const pieces: string[] = [];
      stream.on('data', (piece: Buffer | string) => pieces.push(piece.toString()));
      for (const row of [['Id', 'A', 'B'], ...rows]) stream.write(row);
      stream.end();
      // eslint-disable-next-line no-await-in-loop
      await new Promise((resolve) => stream.on('end', resolve));
      // eslint-disable-next-line no-await-in-loop
      expect(await readFile(file, 'utf8'), delimiter).to.equal(pieces.join(''));
    }
  });

  it('fails the write and the commit when its file cannot be opened, and discards cleanly', async () => {
    // made without create(), in a folder that does not exist: the temporary file cannot be opened
    const file = join(dir, 'missing', 'a.csv');
    const writer = new AtomicCsvWriter(file, ['Id'], 'COMMA', 'LF');
    const rows = Array.from({ length: 20_000 }, (_, i) => [`row ${i}`]);
    let failed: unknown;
    try {
      for (const row of rows) {
        // eslint-disable-next-line no-await-in-loop
        await writer.write(row);
      }
      await writer.commit();
    } catch (error) {
      failed = error;
    }
    expect(failed, 'an error').to.be.instanceOf(Error);
    expect((failed as NodeJS.ErrnoException).code).to.equal('ENOENT');
    await writer.discard();
  });

  it('discards: resolves, and leaves neither the file nor its temporary', async () => {
    const writer = await AtomicCsvWriter.create(join(dir, 'out', 'a.csv'), ['Id'], 'COMMA', 'LF');
    await writer.write(['001A']);
    await writer.discard();
    expect(await readdir(join(dir, 'out'))).to.deep.equal([]);
  });

  it('discards a set of writers, one per header', async () => {
    const set = new CsvWriterSet((n) => join(dir, 'set', `${n}.csv`), ['sf__Error'], 'COMMA');
    await set.write(['Id'], ['001A']);
    await set.write(['Id', 'Name'], ['001B', 'B']);
    await set.discard();
    expect(await readdir(join(dir, 'set'))).to.deep.equal([]);
  });
});
