import { expect } from 'chai';
import { parseWait } from '../src/flags.js';

describe('--wait', () => {
  it('reads a bare number as minutes, so `--wait 1` still means one minute', () => {
    expect(parseWait('1').milliseconds).to.equal(60_000);
    expect(parseWait('90').minutes).to.equal(90);
  });

  it('takes seconds, minutes and hours named by a unit', () => {
    expect(parseWait('5s').milliseconds).to.equal(5000);
    expect(parseWait('10m').milliseconds).to.equal(600_000);
    expect(parseWait('2h').milliseconds).to.equal(7_200_000);
  });

  for (const input of ['0', '0s', '-1', '1.5', '1 m', '5ms', 's', '']) {
    it(`refuses ${JSON.stringify(input)} with InvalidWait`, () => {
      expect(() => parseWait(input))
        .to.throw()
        .with.property('name', 'InvalidWaitError');
    });
  }
});
