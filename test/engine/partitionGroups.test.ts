/*
 * The partition pass's group table: rows grouped by the hash of their key in typed arrays, in order
 * of first appearance, each group's rows in file order, rows without a parent groups of their own;
 * grown and rehashed past its first size and reused from one spill file to the next.
 */
import { expect } from 'chai';
import { GroupTable } from '../../src/engine/partitionGroups.js';
import { RowChains } from '../../src/engine/partitionPacking.js';

/** rows `r<i>:<key>\n` of one buffer, with their ranges; key undefined: the row has no parent */
function source(keys: Array<number | undefined>): { buffer: Buffer; ranges: Array<[number, number]> } {
  const ranges: Array<[number, number]> = [];
  let text = '';
  keys.forEach((key, i) => {
    const row = `r${i}:${key ?? ''}\n`;
    ranges.push([Buffer.byteLength(text), Buffer.byteLength(text) + Buffer.byteLength(row)]);
    text += row;
  });
  return { buffer: Buffer.from(text), ranges };
}

function rowsOf(table: GroupTable, g: number): string[] {
  const rows: string[] = [];
  expect(table.write(g, (row) => rows.push(row.toString().trim()))).to.equal(undefined);
  return rows;
}

function fill(table: GroupTable, keys: Array<number | undefined>): void {
  const { buffer, ranges } = source(keys);
  table.chains.reset(buffer);
  table.reset();
  keys.forEach((key, i) => table.add(key, ranges[i][0], ranges[i][1]));
}

describe('GroupTable', () => {
  it('groups rows by hash in order of first appearance, rows without a parent last, one group each', () => {
    const table = new GroupTable(new RowChains());
    // hashes with the high bit set are stored as negative integers and must still match
    const high = 0xff_ff_ff_f0;
    fill(table, [7, high, undefined, 7, 3, high, undefined, 7]);
    expect(table.count).to.equal(5);
    expect(table.keyed).to.equal(3);
    expect([0, 1, 2, 3, 4].map((g) => rowsOf(table, g))).to.deep.equal([
      ['r0:7', 'r3:7', 'r7:7'],
      [`r1:${high}`, `r5:${high}`],
      ['r4:3'],
      ['r2:'],
      ['r6:'],
    ]);
    expect([0, 1, 2, 3, 4].map((g) => table.records(g))).to.deep.equal([3, 2, 1, 1, 1]);
    expect(table.bytes(0)).to.equal(Buffer.byteLength('r0:7\nr3:7\nr7:7\n'));
    expect(table.bytes(3)).to.equal(Buffer.byteLength('r2:\n'));
    const group = table.group(1);
    expect({ records: group.records, bytes: group.bytes }).to.deep.equal({ records: 2, bytes: table.bytes(1) });
  });

  it('keeps every row exactly once in its group past growth and rehashing, and when reused', () => {
    const table = new GroupTable(new RowChains());
    for (const parents of [5000, 3]) {
      // parents' rows interleaved, hashes spread over the whole 32-bit range and some sharing low bits
      const keys: Array<number | undefined> = [];
      for (let round = 0; round < 3; round++) {
        for (let p = 0; p < parents; p++) keys.push((Math.imul(p, 0x01_00_00) + (p % 7)) >>> 0);
        keys.push(undefined);
      }
      fill(table, keys);
      expect(table.keyed).to.equal(parents);
      expect(table.count).to.equal(parents + 3);
      const seen: string[] = [];
      for (let g = 0; g < table.count; g++) {
        const rows = rowsOf(table, g);
        expect(rows).to.have.lengthOf(table.records(g));
        // one key a group, its rows in file order
        expect(new Set(rows.map((row) => row.split(':')[1])).size).to.equal(1);
        const order = rows.map((row) => Number(row.slice(1, row.indexOf(':'))));
        expect(order).to.deep.equal([...order].sort((a, b) => a - b));
        seen.push(...rows);
      }
      expect(seen.sort()).to.deep.equal(
        keys.map((key, i) => `r${i}:${key ?? ''}`).sort(),
        `every row once, ${parents} parents`,
      );
    }
  });
});
