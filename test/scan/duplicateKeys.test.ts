import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import {
  DuplicateKeyFinder,
  packLocation,
  unpackLocation,
  type DuplicateReport,
} from '../../src/scan/duplicateKeys.js';
import { seededRandom } from '../csv/csvFixtures.js';

describe('DuplicateKeyFinder', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'dupkeys-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  /** 20,000 keys over 3 files, some repeated (one key on 300 rows), in a seeded order. */
  function rows(): Array<[string, number]> {
    const random = seededRandom(7);
    const out: Array<[string, number]> = [];
    for (let file = 0; file < 3; file++) {
      for (let line = 2; line < 6669; line++) {
        const r = random();
        const key =
          r < 0.01
            ? `DUP-${Math.floor(random() * 40)}`
            : r < 0.03
              ? 'HOT'
              : `K-${file}-${line}-${'x'.repeat(line % 13)}`;
        out.push([key, packLocation(file, line)]);
      }
    }
    return out;
  }

  let partitionsRead = 0;
  async function find(budgetBytes: number, limits = { maxKeys: 25, maxLocations: 7 }): Promise<DuplicateReport> {
    const finder = new DuplicateKeyFinder({ memoryBudgetBytes: budgetBytes, tempRoot: root, ...limits });
    try {
      for (const [key, location] of rows()) finder.add(key, location);
      const report = await finder.finish();
      partitionsRead = finder.partitionsRead;
      return report;
    } finally {
      finder.dispose();
    }
  }

  it('packs a file index and a line into one number and back', () => {
    expect(unpackLocation(packLocation(65_535, 2 ** 36 + 5))).to.deep.equal({ file: 65_535, line: 2 ** 36 + 5 });
  });

  it('reports the same duplicates in memory and through the disk, and leaves no temporary file', async () => {
    const inMemory = await find(1024 * 1024 * 1024);
    // a budget of a few keys: every key goes to disk, and partitions are split again (depth > 1)
    const onDisk = await find(16 * 1024);
    expect(inMemory.spilled).to.equal(false);
    expect(onDisk.spilled).to.equal(true);
    expect(partitionsRead).to.be.greaterThan(64);
    expect({ ...onDisk, spilled: false }).to.deep.equal(inMemory);
    expect(readdirSync(root)).to.deep.equal([]);

    // independently counted
    const counts = new Map<string, number[]>();
    for (const [key, location] of rows()) counts.set(key, [...(counts.get(key) ?? []), location]);
    const duplicated = [...counts.entries()].filter(([, locations]) => locations.length > 1);
    expect(inMemory.keys).to.equal(duplicated.length);
    expect(inMemory.rows).to.equal(duplicated.reduce((sum, [, locations]) => sum + locations.length, 0));
    const expected = duplicated
      .sort(([, a], [, b]) => a[0] - b[0])
      .slice(0, 25)
      .map(([key, locations]) => ({ key, occurrences: locations.length, locations: locations.slice(0, 7) }));
    expect(inMemory.shown).to.deep.equal(expected);
    expect(inMemory.shown.find((d) => d.key === 'HOT')?.occurrences).to.be.greaterThan(300);
  });

  it('spills in the middle of the input as well as from the start', async () => {
    const inMemory = await find(1024 * 1024 * 1024, { maxKeys: 1000, maxLocations: 1000 });
    const midway = await find(400_000, { maxKeys: 1000, maxLocations: 1000 });
    expect(midway.spilled).to.equal(true);
    expect({ ...midway, spilled: false }).to.deep.equal(inMemory);
  });

  it('keeps a key with characters of every width intact through the disk', async () => {
    const finder = new DuplicateKeyFinder({ memoryBudgetBytes: 1, maxKeys: 10, maxLocations: 10, tempRoot: root });
    const keys = ['é€😀', 'a\nb,"c"', 'x'.repeat(70_000)];
    try {
      for (const key of keys) {
        finder.add(key, packLocation(0, 2));
        finder.add(key, packLocation(1, 9));
      }
      const report = await finder.finish();
      expect(report.shown.map((d) => d.key).sort()).to.deep.equal([...keys].sort());
    } finally {
      finder.dispose();
    }
    expect(readdirSync(root)).to.deep.equal([]);
  });

  it('removes its temporary folder when disposed before finishing', () => {
    const finder = new DuplicateKeyFinder({ memoryBudgetBytes: 1, maxKeys: 10, maxLocations: 10, tempRoot: root });
    finder.add('a', packLocation(0, 2));
    finder.add('b', packLocation(0, 3));
    expect(readdirSync(root)).to.have.length(1);
    finder.dispose();
    expect(readdirSync(root)).to.deep.equal([]);
  });
});
