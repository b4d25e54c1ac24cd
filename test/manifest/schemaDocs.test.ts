import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import type { SchemaNode } from '../../src/manifest/reference.js';

const schema = JSON.parse(readFileSync('schemas/manifest.schema.json', 'utf8')) as SchemaNode;
const resolveRef = (node: SchemaNode): SchemaNode =>
  node.$ref ? { ...schema.$defs![node.$ref.replace('#/$defs/', '')], ...node } : node;

describe('manifest schema documentation', () => {
  const objects: Array<[string, SchemaNode]> = [
    ['(root)', schema],
    ...Object.entries(schema.$defs!).filter(([, node]) => node.properties),
  ];
  for (const [owner, node] of objects) {
    for (const [name, property] of Object.entries(node.properties!)) {
      it(`${owner}.${name} has a description and an example`, () => {
        const resolved = resolveRef(property);
        expect(resolved.description, 'description').to.be.a('string').and.not.equal('');
        expect(resolved.examples, 'examples').to.be.an('array').with.length.above(0);
      });
    }
  }

  it('is a draft 2020-12 schema that closes every object', () => {
    expect(schema).to.have.property('$schema', 'https://json-schema.org/draft/2020-12/schema');
    for (const [, node] of objects) expect(node.additionalProperties).to.equal(false);
  });

  it('caps maxBytesPerJob at the 100 MB Bulk API 2.0 upload limit', () => {
    expect(schema.$defs!.MaxBytesPerJob.maximum).to.equal(100_000_000);
  });
});
