import { expect } from 'chai';
import { JsonText } from '../../src/manifest/jsonText.js';

describe('JsonText', () => {
  const text = '{\n  "a": [10, {"b/c": true}],\n  "d~e": null\n}';
  const { json, syntax } = JsonText.parse(text);

  it('parses valid JSON without syntax problems', () => {
    expect(syntax).to.deep.equal([]);
    expect(json.value()).to.deep.equal({ a: [10, { 'b/c': true }], 'd~e': null });
  });
  it('locates properties at their key and array items at their value', () => {
    expect(json.locate('/a')).to.deep.equal({ line: 2, column: 3 });
    expect(json.locate('/a/1')).to.deep.equal({ line: 2, column: 13 });
    expect(json.locate('/a/1/b~1c')).to.deep.equal({ line: 2, column: 14 });
    expect(json.locate('/d~0e')).to.deep.equal({ line: 3, column: 3 });
  });
  it('falls back to the nearest existing ancestor', () => {
    expect(json.locate('/a/1/missing')).to.deep.equal({ line: 2, column: 13 });
    expect(json.locate('')).to.deep.equal({ line: 1, column: 1 });
  });
  it('reports the first syntax error with its position', () => {
    const broken = JsonText.parse('{\n  "a": 1,\n  "b": tru\n}');
    expect(broken.syntax).to.have.length(1);
    expect(broken.syntax[0]).to.include({ line: 3, column: 8 });
  });
  it('rejects comments and trailing commas (strict JSON)', () => {
    expect(JsonText.parse('{ "a": 1, }').syntax).to.have.length(1);
    expect(JsonText.parse('{ // c\n "a": 1 }').syntax).to.have.length(1);
  });
  it('finds duplicate keys at any depth', () => {
    const dup = JsonText.parse('{"a": {"x": 1, "x": 2}, "a": 3}').json.duplicateKeys();
    expect(dup.map((d) => [d.pointer, d.column])).to.deep.equal([
      ['/a/x', 16],
      ['/a', 25],
    ]);
  });
});
