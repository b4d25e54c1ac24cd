import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import {
  compareKeys,
  escapeKey,
  mergeJoin,
  SortedKeySpill,
  unescapeKey,
  type KeyedEntry,
} from '../../src/verify/sortedKeys.js';
import { seededRandom } from '../../src/verify/sampling.js';

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}

// eslint-disable-next-line @typescript-eslint/require-await -- an async stream of a list, as the spills give
async function* listed(entries: KeyedEntry[]): AsyncGenerator<KeyedEntry> {
  for (const entry of [...entries].sort((a, b) => compareKeys(a.key, b.key))) yield entry;
}

describe('sorted key streams', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'verify-keys-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('escapes keys so tabs, line breaks and backslashes survive a line and the order holds', () => {
    for (const key of ['a\tb', 'x\ny', 'c:\\path', 'plain', '\u0001', '']) {
      expect(unescapeKey(escapeKey(key))).to.equal(key);
      expect(escapeKey(key)).not.to.match(/[\t\n\r]/);
    }
    // "a" sorts before "a\u0001" however the key is written on disk
    expect(compareKeys('a', 'a\u0001')).to.be.below(0);
  });

  it('sorts more keys than its budget holds by spilling runs to disk and merging them', async () => {
    const spill = new SortedKeySpill(join(dir, 'spill'), 500);
    const random = seededRandom(5);
    const keys = Array.from({ length: 2000 }, () => `001${Math.floor(random() * 1e9)}`);
    for (const key of keys) {
      // eslint-disable-next-line no-await-in-loop
      await spill.add({ key, value: `v${key}` });
    }
    // the budget forced runs onto disk
    expect((await readdir(join(dir, 'spill'))).length).to.be.greaterThan(10);
    const sorted = await collect(spill.sorted());
    expect(sorted.map((entry) => entry.key)).to.deep.equal([...keys].sort());
    expect(sorted.every((entry) => entry.value === `v${entry.key}`)).to.equal(true);
    await spill.dispose();
    expect(await readdir(join(dir, 'spill'))).to.deep.equal([]);
  });

  it('sorts in memory when everything fits, keys with tabs and line breaks included', async () => {
    const spill = new SortedKeySpill(join(dir, 'never'));
    for (const key of ['b', 'a\tz', 'a', 'c\nd']) {
      // eslint-disable-next-line no-await-in-loop
      await spill.add({ key, value: key.length.toString() });
    }
    expect((await collect(spill.sorted())).map((entry) => entry.key)).to.deep.equal(['a', 'a\tz', 'b', 'c\nd']);
  });

  it('joins two sorted streams: keys of one side only, of both sides, and repeated keys', async () => {
    const left = listed([
      { key: 'a', value: '1' },
      { key: 'c', value: '2' },
      { key: 'c', value: '3' },
      { key: 'e', value: '4' },
    ]);
    const right = listed([
      { key: 'b', value: 'x' },
      { key: 'c', value: 'y' },
      { key: 'e', value: 'z' },
      { key: 'e', value: 'w' },
      { key: 'f', value: 'v' },
    ]);
    const joined = await collect(mergeJoin(left, right));
    expect(joined).to.deep.equal([
      { key: 'a', left: ['1'], right: [] },
      { key: 'b', left: [], right: ['x'] },
      { key: 'c', left: ['2', '3'], right: ['y'] },
      { key: 'e', left: ['4'], right: ['z', 'w'] },
      { key: 'f', left: [], right: ['v'] },
    ]);
  });

  it('joins spilled streams the same way as in-memory ones', async () => {
    const left = new SortedKeySpill(join(dir, 'l'), 300);
    const right = new SortedKeySpill(join(dir, 'r'), 300);
    for (let i = 0; i < 300; i++) {
      // eslint-disable-next-line no-await-in-loop
      if (i % 3 !== 0) await left.add({ key: `k${i}`, value: 'run' });
      // eslint-disable-next-line no-await-in-loop
      if (i % 5 !== 0) await right.add({ key: `k${i}`, value: 'org' });
    }
    const onlyLeft = (await collect(mergeJoin(left.sorted(), right.sorted())))
      .filter((j) => j.right.length === 0)
      .map((j) => j.key);
    const expected = Array.from({ length: 300 }, (_, i) => i)
      .filter((i) => i % 3 !== 0 && i % 5 === 0)
      .map((i) => `k${i}`)
      .sort();
    expect(onlyLeft).to.deep.equal(expected);
  });
});
