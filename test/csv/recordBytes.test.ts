import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { forEachRecord } from '../../src/csv/recordBytes.js';
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
