import { expect } from 'chai';
import type { ResolvedStep, SharedParents } from '../../src/manifest/types.js';
import { sharedParentWaits } from '../../src/plan/sharedParents.js';

function step(id: string, parentObjects: string[], sharedParents?: SharedParents): ResolvedStep {
  return {
    id,
    object: id,
    operation: 'insert',
    columnDelimiter: 'COMMA',
    lineEnding: 'LF',
    maxRecordsPerJob: 1000,
    maxBytesPerJob: 1000,
    poll: { initialMs: 10, maxMs: 10 },
    failureThreshold: {},
    parallelism: 1,
    retry: { codes: [], attempts: 0 },
    mapping: {},
    dependsOn: [],
    sources: [],
    files: [],
    parentObjects,
    ...(sharedParents ? { sharedParents } : {}),
  };
}

describe('sharedParentWaits', () => {
  it('holds a step back behind the earlier steps of its wave that write children of one of its parents', () => {
    const waits = sharedParentWaits([
      step('Contact', ['Account']),
      step('Opportunity', ['account']),
      step('Case', ['Contact', 'Account']),
      step('Task', ['User']),
      step('Note', []),
    ]);
    expect(Object.fromEntries(waits)).to.deep.equal({
      Opportunity: { after: ['Contact'], objects: ['account'] },
      Case: { after: ['Contact', 'Opportunity'], objects: ['Account'] },
    });
  });

  it('waits only for earlier steps, so steps that share nothing with each other both run first', () => {
    const waits = sharedParentWaits([step('A', ['Account']), step('B', ['User']), step('C', ['Account', 'User'])]);
    expect([...waits.keys()]).to.deep.equal(['C']);
    expect(waits.get('C')).to.deep.equal({ after: ['A', 'B'], objects: ['Account', 'User'] });
  });

  it('leaves a step marked parallel out on both sides', () => {
    const waits = sharedParentWaits([
      step('Contact', ['Account'], 'parallel'),
      step('Opportunity', ['Account']),
      step('Contract', ['Account'], 'parallel'),
      step('Case', ['Account'], 'serialize'),
    ]);
    expect(Object.fromEntries(waits)).to.deep.equal({ Case: { after: ['Opportunity'], objects: ['Account'] } });
  });

  it('holds nothing back when no step names its parents (steps built without headers)', () => {
    const bare = step('A', []);
    delete bare.parentObjects;
    expect(sharedParentWaits([bare, { ...bare, id: 'B' }]).size).to.equal(0);
  });
});
