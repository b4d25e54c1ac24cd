/*
 * AtomicCsvWriter and CsvWriterSet: a discarded file leaves nothing behind, and discard ends
 * (it once waited for a file stream that destroying the stringifier never ended).
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
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
