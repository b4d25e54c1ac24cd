import { expect } from 'chai';
import { caseSafeSuffix, makeId, normaliseId } from '../src/ids.js';

describe('local org ids', () => {
  it('computes the case-safe suffix of real ids', () => {
    expect(caseSafeSuffix('0015000000VALDt')).to.equal('AAP');
    expect(caseSafeSuffix('001A0000006Vm9r')).to.equal('IAC');
    expect(caseSafeSuffix('000000000000000')).to.equal('AAA');
    expect(caseSafeSuffix('AAAAAAAAAAAAAAA')).to.equal('555');
  });

  it('makes 18-char ids with the key prefix that normalise to themselves', () => {
    const id = makeId('003', 'Lo0', 12_345);
    expect(id).to.have.length(18);
    expect(id.startsWith('003Lo0')).to.equal(true);
    expect(normaliseId(id)).to.equal(id);
    expect(normaliseId(id.slice(0, 15))).to.equal(id);
    expect(makeId('003', 'Lo0', 12_346)).to.not.equal(id);
  });

  it('rejects text that is not shaped like an id', () => {
    expect(normaliseId('001-bad')).to.equal(undefined);
    expect(normaliseId('')).to.equal(undefined);
    expect(normaliseId('0015000000VALDtaap')).to.equal(undefined);
  });
});
