import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { manifestDefaults, stepDefaults } from '../../src/manifest/defaults.js';

type Node = { default?: unknown; $ref?: string; properties?: Record<string, Node>; $defs?: Record<string, Node> };

const schema = JSON.parse(readFileSync('schemas/manifest.schema.json', 'utf8')) as Node;
const deref = (node: Node): Node => (node.$ref ? { ...schema.$defs![node.$ref.split('/').pop()!], ...node } : node);

describe('defaults: the schema documents what the loader applies', () => {
  const settings = schema.$defs!.StepSettings.properties!;

  for (const [key, value] of Object.entries(stepDefaults)) {
    it(`step setting ${key}`, () => {
      expect(settings, `StepSettings lacks ${key}`).to.have.property(key);
      expect(deref(settings[key]).default).to.deep.equal(value);
    });
  }

  it('every step setting with a schema default has a loader default', () => {
    const documented = Object.entries(settings)
      .filter(([, node]) => deref(node).default !== undefined)
      .map(([key]) => key);
    expect(documented.sort()).to.deep.equal(Object.keys(stepDefaults).sort());
  });

  for (const [key, value] of Object.entries(manifestDefaults)) {
    it(`manifest property ${key}`, () => {
      expect(schema.properties![key].default).to.deep.equal(value);
    });
  }

  it('poll durations default inside PollSettings too', () => {
    const poll = schema.$defs!.PollSettings.properties!;
    expect({ initial: poll.initial.default, max: poll.max.default }).to.deep.equal(stepDefaults.poll);
  });
});
