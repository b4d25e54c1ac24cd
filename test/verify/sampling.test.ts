import { expect } from 'chai';
import { Reservoir, seededRandom, stepSeed } from '../../src/verify/sampling.js';

function draw(size: number, seed: number, n: number): number[] {
  const reservoir = new Reservoir<number>(size, seededRandom(seed));
  for (let i = 0; i < n; i++) reservoir.offer(i);
  return [...reservoir.sample];
}

describe('reservoir sampling', () => {
  it('draws the same rows for the same seed and other rows for another seed', () => {
    expect(draw(10, 7, 10_000)).to.deep.equal(draw(10, 7, 10_000));
    expect(draw(10, 7, 10_000)).not.to.deep.equal(draw(10, 8, 10_000));
  });

  it('keeps every row when there are fewer than the sample size, and none for size 0', () => {
    expect(draw(10, 1, 4)).to.deep.equal([0, 1, 2, 3]);
    expect(draw(0, 1, 100)).to.deep.equal([]);
  });

  it('draws distinct rows spread over the whole stream, not only its start', () => {
    const sample = draw(100, 3, 100_000);
    expect(new Set(sample).size).to.equal(100);
    // uniform: with 100 of 100,000 rows, all from the first half has odds of about 2^-100
    expect(sample.some((row) => row >= 50_000)).to.equal(true);
    expect(sample.some((row) => row < 50_000)).to.equal(true);
  });

  it('gives each step a seed of its own', () => {
    expect(stepSeed(1, 'accounts')).to.equal(stepSeed(1, 'accounts'));
    expect(stepSeed(1, 'accounts')).not.to.equal(stepSeed(1, 'contacts'));
    expect(stepSeed(1, 'accounts')).not.to.equal(stepSeed(2, 'accounts'));
  });

  it('generates floats in [0, 1)', () => {
    const random = seededRandom(99);
    for (let i = 0; i < 1000; i++) {
      const x = random();
      expect(x).to.be.at.least(0).and.below(1);
    }
  });
});
