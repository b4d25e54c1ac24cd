import { expect } from 'chai';
import { KeyStore } from '../../src/scan/keyStore.js';

const add = (store: KeyStore, key: string, location: number): boolean => {
  const bytes = Buffer.from(`..${key}..`);
  return store.add(bytes, 2, bytes.length - 2, location);
};

describe('KeyStore', () => {
  it('counts repeats of keys across table growth, keeping the first locations in order', () => {
    const store = new KeyStore(3);
    for (let i = 0; i < 50_000; i++) add(store, `k${i % 20_000}`, i);
    add(store, 'é', 1);
    add(store, 'e\u0301', 2);
    expect(store.size).to.equal(20_002);
    const repeated: Array<[string, number[], number]> = [];
    store.forEachRepeated((key, locations, count) => repeated.push([key, locations, count]));
    expect(repeated).to.have.length(20_000);
    expect(repeated.find(([key]) => key === 'k5')).to.deep.equal(['k5', [5, 20_005, 40_005], 3]);
    expect(repeated.find(([key]) => key === 'k19999')).to.deep.equal(['k19999', [19_999, 39_999], 2]);
  });

  it('refuses a key that would take it past its bytes, and says what it holds', () => {
    const store = new KeyStore(Infinity, 200_000);
    let added = 0;
    while (add(store, `key-${added}`, added)) added++;
    expect(added).to.be.greaterThan(1000);
    expect(store.size).to.equal(added);
    expect(store.bytes).to.be.at.most(200_000);
    // the keys it took are all there, each with its location
    const seen: number[] = [];
    store.forEach((bytes, start, end, locations) => {
      if (bytes.toString('utf8', start, end) === 'key-0') seen.push(...locations);
    });
    expect(seen).to.deep.equal([0]);
  });
});
