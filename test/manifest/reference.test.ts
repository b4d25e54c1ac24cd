import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { renderManifestReference, type SchemaNode } from '../../src/manifest/reference.js';

const load = (): SchemaNode => JSON.parse(readFileSync('schemas/manifest.schema.json', 'utf8')) as SchemaNode;

describe('docs/manifest.md', () => {
  it('is what scripts/gen-manifest-reference.ts renders from the schema (run it when this fails)', () => {
    expect(readFileSync('docs/manifest.md', 'utf8')).to.equal(renderManifestReference(load()));
  });

  it('documents every property of every object in the schema', () => {
    const schema = load();
    const text = renderManifestReference(schema);
    const objects = [schema, ...Object.values(schema.$defs!)].filter((node) => node.properties);
    for (const node of objects) {
      for (const name of Object.keys(node.properties!)) expect(text).to.contain(`### \`${name}\``);
    }
  });

  it('changes when a description changes', () => {
    const schema = load();
    schema.$defs!.Step.description = 'Something else entirely.';
    expect(renderManifestReference(schema)).to.not.equal(renderManifestReference(load()));
  });
});
