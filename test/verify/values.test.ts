import { expect } from 'chai';
import { sameValue } from '../../src/verify/values.js';

describe('sameValue: uploaded values against the org, by field type', () => {
  it('compares numbers as numbers', () => {
    expect(sameValue('currency', '1000.50', '1000.5')).to.equal(true);
    expect(sameValue('double', '2e3', '2000')).to.equal(true);
    expect(sameValue('int', '007', '7')).to.equal(true);
    expect(sameValue('percent', '12.5', '12.50')).to.equal(true);
    expect(sameValue('currency', '1000.50', '999')).to.equal(false);
    expect(sameValue('int', 'seven', '7')).to.equal(false);
    // a number field is not compared as text: "1.0" and "1" agree only as numbers
    expect(sameValue('string', '1.0', '1')).to.equal(false);
  });

  it('compares booleans as booleans', () => {
    expect(sameValue('boolean', 'TRUE', 'true')).to.equal(true);
    expect(sameValue('boolean', '1', 'true')).to.equal(true);
    expect(sameValue('boolean', '0', 'false')).to.equal(true);
    expect(sameValue('boolean', 'true', 'false')).to.equal(false);
    expect(sameValue('boolean', 'yes', 'true')).to.equal(false);
  });

  it('compares dates as dates and date-times as instants', () => {
    expect(sameValue('date', '1980-01-02', '1980-01-02')).to.equal(true);
    expect(sameValue('date', '1980-01-02T00:00:00Z', '1980-01-02')).to.equal(true);
    expect(sameValue('date', '1980-01-02', '1980-01-03')).to.equal(false);
    expect(sameValue('datetime', '2024-05-01T10:00:00+02:00', '2024-05-01T08:00:00.000Z')).to.equal(true);
    expect(sameValue('datetime', '2024-05-01T10:00:00+0200', '2024-05-01T08:00:00.000+0000')).to.equal(true);
    expect(sameValue('datetime', '2024-05-01T10:00:00', '2024-05-01T10:00:00.000Z')).to.equal(true);
    expect(sameValue('datetime', '2024-05-01T10:00:00Z', '2024-05-01T10:00:01.000Z')).to.equal(false);
    expect(sameValue('time', '08:30', '08:30:00.000Z')).to.equal(true);
    expect(sameValue('time', '08:30', '08:31:00.000Z')).to.equal(false);
  });

  it('treats #N/A as an expected empty field, and an empty org value as different from a value', () => {
    expect(sameValue('string', '#N/A', '')).to.equal(true);
    expect(sameValue('string', '#N/A', 'x')).to.equal(false);
    expect(sameValue('double', '0', '')).to.equal(false);
    expect(sameValue('boolean', 'false', '')).to.equal(false);
  });

  it('compares text exactly, multi-select picklists as sets, and ids in either length', () => {
    expect(sameValue('string', 'Acme', 'Acme')).to.equal(true);
    expect(sameValue('string', 'Acme', 'acme')).to.equal(false);
    expect(sameValue('multipicklist', 'b;a', 'a;b')).to.equal(true);
    expect(sameValue('multipicklist', 'a;b', 'a')).to.equal(false);
    expect(sameValue('reference', '001000000000001', '001000000000001AAA')).to.equal(true);
    expect(sameValue('reference', '001000000000002', '001000000000001AAA')).to.equal(false);
  });
});
