import { expect } from 'chai';
import { DELIMITER_BYTES } from '../../src/csv/delimiters.js';
import { RecordFields } from '../../src/csv/fields.js';
import { ALL_DELIMITERS } from './csvFixtures.js';

const valuesOf = (record: string, fields = new RecordFields(DELIMITER_BYTES.COMMA)): string[] => {
  fields.split(Buffer.from(record));
  return Array.from({ length: fields.count }, (_, k) => fields.value(k));
};

describe('RecordFields', () => {
  it('splits a record by the scanner quoting rules', () => {
    expect(valuesOf('a,b,c\n')).to.deep.equal(['a', 'b', 'c']);
    expect(valuesOf('a,b,c\r\n')).to.deep.equal(['a', 'b', 'c']);
    expect(valuesOf('a,b,c')).to.deep.equal(['a', 'b', 'c']);
    expect(valuesOf(',,\n')).to.deep.equal(['', '', '']);
    expect(valuesOf('\n')).to.deep.equal(['']);
    expect(valuesOf('"a,b","say ""hi""","two\nlines",""\n')).to.deep.equal(['a,b', 'say "hi"', 'two\nlines', '']);
    // a quote inside an unquoted value is data; text after a closing quote is kept
    expect(valuesOf('ab"c,"x"y,z\n')).to.deep.equal(['ab"c', 'xy', 'z']);
    expect(valuesOf('"a\r\nb",é€\r\n')).to.deep.equal(['a\r\nb', 'é€']);
  });

  it('tells empty values apart and grows past 64 values', () => {
    const fields = new RecordFields(DELIMITER_BYTES.COMMA);
    fields.split(Buffer.from(',"",x\n'));
    expect([0, 1, 2].map((k) => fields.isEmpty(k))).to.deep.equal([true, true, false]);
    const wide = Array.from({ length: 200 }, (_, k) => `v${k}`);
    expect(valuesOf(wide.join(',') + '\n', fields)).to.deep.equal(wide);
  });

  it('splits on every delimiter Bulk API 2.0 names', () => {
    for (const delimiter of ALL_DELIMITERS) {
      const d = String.fromCharCode(DELIMITER_BYTES[delimiter]);
      const fields = new RecordFields(DELIMITER_BYTES[delimiter]);
      expect(valuesOf(`a${d}"b${d}c"${d}\n`, fields), delimiter).to.deep.equal(['a', `b${d}c`, '']);
    }
  });
});
