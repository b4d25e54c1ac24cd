import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { forEachRecord, RecordCopier } from '../../src/csv/recordBytes.js';
import { lineAt } from '../../src/csv/scanner.js';

describe('forEachRecord', () => {
  it('numbers lines as lineAt does: LF, CRLF and a lone CR each end one, quoted ones included', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'record-bytes-'));
    try {
      const file = join(dir, 'mixed.csv');
      const text = 'H1,H2\rA,1\r\nB,"two\rlines"\nC,3\r\rD,"x\r\ny"\nE,5';
      await writeFile(file, text);
      const seen: Array<[string, number]> = [];
      await forEachRecord(
        file,
        'COMMA',
        (bytes, line) => seen.push([bytes.toString('utf8').slice(0, 1), line]),
        1 << 20,
      );
      expect(seen.filter(([first]) => first !== '\r')).to.deep.equal([
        ['H', 1],
        ['A', 2],
        ['B', 3],
        ['C', 5],
        ['D', 7],
        ['E', 9],
      ]);
      // and lineAt agrees for each record's first byte
      for (const [first, line] of seen.filter(([letter]) => letter !== '\r' && letter !== 'H')) {
        // eslint-disable-next-line no-await-in-loop
        expect(await lineAt(file, text.indexOf(`${first},`))).to.equal(line);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('RecordCopier', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'copy-records-'));
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  /** copies `file` in runs of `take` records from offset 0 on; each run's bytes, joined */
  async function inRuns(file: string, take: number, maxRecordBytes = 1 << 20): Promise<string[]> {
    const runs: string[] = [];
    let at = 0;
    const copier = new RecordCopier('COMMA', maxRecordBytes);
    for (;;) {
      const pieces: Buffer[] = [];
      let counted = 0;
      let accepted = 0;
      // eslint-disable-next-line no-await-in-loop
      const next = await copier.copy(
        file,
        at,
        () => accepted < take && ++accepted > 0,
        (bytes, records) => {
          pieces.push(Buffer.from(bytes));
          counted += records;
        },
      );
      expect(counted, 'records reported as written').to.equal(accepted);
      if (next === at) return runs;
      expect(next - at).to.equal(pieces.reduce((sum, piece) => sum + piece.length, 0));
      runs.push(Buffer.concat(pieces).toString('utf8'));
      at = next;
    }
  }

  it('copies whole records from an offset, quoted line breaks and every line ending kept', async () => {
    const records = ['A,1\n', 'B,"two\nlines"\r\n', 'C,"x\r\ny"\r', 'D,"""q""\r"\n', 'E,5\n', 'F,"end\n"'];
    const file = join(dir, 'small.csv');
    await writeFile(file, records.join(''));
    const pairs = [records[0] + records[1], records[2] + records[3], records[4] + records[5]];
    expect(await inRuns(file, 2)).to.deep.equal(pairs);
    expect(await inRuns(file, 1)).to.deep.equal(records);
  });

  it('reads a record again whole when it spans read buffers, and grows the buffer for one longer than it', async () => {
    // 300 kB of rows of about 100 bytes with quoted line breaks, then one record of 600 kB
    const rows = Array.from({ length: 3000 }, (_, k) => `row${k},"${'x'.repeat(k % 90)}\n${k}"\n`);
    rows.push(`big,"${'y\n'.repeat(300_000)}"\n`, 'last,1\n');
    const file = join(dir, 'large.csv');
    await writeFile(file, rows.join(''));
    const runs = await inRuns(file, 7);
    expect(runs.join('')).to.equal(rows.join(''));
    const expected: string[] = [];
    for (let k = 0; k < rows.length; k += 7) expected.push(rows.slice(k, k + 7).join(''));
    expect(runs).to.deep.equal(expected);
  });

  it('stops before a record it is refused, and fails on a record past maxRecordBytes', async () => {
    const file = join(dir, 'refuse.csv');
    await writeFile(file, `a,1\nbb,22\n${'c'.repeat(300_000)}\nd,4\n`);
    const lengths: number[] = [];
    const end = await new RecordCopier('COMMA', 1 << 20).copy(
      file,
      0,
      (length) => lengths.push(length) < 2,
      () => undefined,
    );
    expect(end).to.equal(4);
    expect(lengths).to.deep.equal([4, 6]);
    let error: unknown;
    try {
      await new RecordCopier('COMMA', 100_000).copy(
        file,
        10,
        () => true,
        () => undefined,
      );
    } catch (caught) {
      error = caught;
    }
    expect((error as { code?: string })?.code).to.equal('RecordTooLarge');
  });
});
