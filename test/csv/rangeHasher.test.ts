import { createHash } from 'node:crypto';
import { expect } from 'chai';
import { RangeHasher } from '../../src/csv/rangeHasher.js';
import { RecordBatch, RecordScanner } from '../../src/csv/scanner.js';
import { randomCsv, seededRandom } from './csvFixtures.js';

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

/**
 * Drives a RangeHasher the way planChunks does, over `content` read in pieces of `pieceBytes`, cutting
 * before each line whose index `cutBefore` picks. Returns the ranges cut and their hashes.
 */
function hashRanges(
  content: Buffer,
  pieceBytes: number,
  dataStart: number,
  cutBefore: (line: number) => boolean,
): Array<{ start: number; end: number; sha256: string }> {
  const scanner = new RecordScanner('COMMA');
  const hasher = new RangeHasher(dataStart);
  const batch = new RecordBatch();
  const ranges: Array<{ start: number; end: number; sha256: string }> = [];
  let rangeStart = dataStart;
  let line = 0;
  const take = (bytes: Buffer, offset: number, pendingStart: number): void => {
    hasher.beginBuffer(bytes, offset);
    for (let k = 0; k < batch.length; k++) {
      const start = batch.starts[k];
      if (start >= dataStart && start > rangeStart && cutBefore(line)) {
        ranges.push({ start: rangeStart, end: start, sha256: hasher.cut(start).toString('hex') });
        rangeStart = start;
      }
      if (start >= dataStart) hasher.settle();
      line++;
    }
    hasher.endBuffer(pendingStart);
  };
  for (let offset = 0; offset < content.length; offset += pieceBytes) {
    const bytes = content.subarray(offset, offset + pieceBytes);
    batch.clear();
    scanner.push(bytes, batch.add);
    take(bytes, offset, scanner.pendingRecordStart);
  }
  const end = scanner.end();
  batch.clear();
  if (end.last) batch.add(end.last.start, end.last.end, end.last.blank);
  take(Buffer.alloc(0), content.length, content.length);
  if (content.length > rangeStart) {
    ranges.push({ start: rangeStart, end: content.length, sha256: hasher.finish().toString('hex') });
  }
  return ranges;
}

describe('RangeHasher', () => {
  it('hashes each range exactly, whatever the buffers cut records into', () => {
    for (let seed = 1; seed <= 60; seed++) {
      const random = seededRandom(seed);
      const { content } = randomCsv(seed, { delimiter: 'COMMA', rows: 5 + Math.floor(random() * 40) });
      const headerEnd = content.indexOf(0x0a) + 1;
      // pieces from 1 byte (every record spans buffers) to larger than most records
      const pieceBytes = 1 + Math.floor(random() * 40);
      const every = 1 + Math.floor(random() * 4);
      const ranges = hashRanges(content, pieceBytes, headerEnd, (line) => line % every === 0);
      expect(ranges.length, `seed ${seed}`).to.be.greaterThan(0);
      let expected = headerEnd;
      for (const range of ranges) {
        expect(range.start, `seed ${seed}`).to.equal(expected);
        expect(range.sha256, `seed ${seed} range ${range.start}-${range.end}`).to.equal(
          sha256(content.subarray(range.start, range.end)),
        );
        expected = range.end;
      }
      expect(expected).to.equal(content.length);
    }
  });

  it('cuts before a record that spans three buffers and after one', () => {
    const content = Buffer.from('Id,Note\n1,"' + 'x'.repeat(50) + '"\n2,short\n3,"' + 'y\n'.repeat(30) + '"\n4,z');
    for (const pieceBytes of [1, 7, 16, 64]) {
      const ranges = hashRanges(content, pieceBytes, 8, () => true);
      expect(ranges.map((range) => content.subarray(range.start, range.end).toString())).to.deep.equal([
        '1,"' + 'x'.repeat(50) + '"\n',
        '2,short\n',
        '3,"' + 'y\n'.repeat(30) + '"\n',
        '4,z',
      ]);
      for (const range of ranges) expect(range.sha256).to.equal(sha256(content.subarray(range.start, range.end)));
    }
  });
});
