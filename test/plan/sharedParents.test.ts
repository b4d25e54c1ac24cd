import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import type { ResolvedStep, SharedParents } from '../../src/manifest/types.js';
import { loadManifestOrThrow } from '../../src/manifest/load.js';
import { buildPlan } from '../../src/plan/plan.js';
import { sharedParentWaits } from '../../src/plan/sharedParents.js';
import { scratchFolder } from '../csv/csvFixtures.js';

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

  describe('in plan, from the manifest and its headers', () => {
    const folder = scratchFolder();
    after(() => folder.remove());
    const dir = folder.path('m');
    mkdirSync(dir, { recursive: true });
    const write = (name: string, content: string): string => {
      writeFileSync(join(dir, name), content);
      return name;
    };
    const steps = [
      { object: 'Account', source: write('a.csv', 'Name,Legacy_Id__c\nAcme,A1\n') },
      { object: 'Contact', source: write('c.csv', 'LastName,Account.Legacy_Id__c\nSmith,A1\n') },
      {
        object: 'Opportunity',
        source: write('o.csv', 'Name,StageName,CloseDate,Account.Legacy_Id__c\nBig,New,2027-01-01,A1\n'),
      },
    ];

    async function planOf(manifest: object): Promise<Map<string, unknown>> {
      const path = join(dir, 'migration.json');
      writeFileSync(path, JSON.stringify(manifest));
      const plan = await buildPlan(await loadManifestOrThrow(path));
      return new Map(plan.waves.flatMap((wave) => wave.steps).map((planned) => [planned.id, planned.waitsFor]));
    }

    it('shows which step waits for which, and the parent they share', async () => {
      const waits = await planOf({ name: 'p', steps });
      expect(Object.fromEntries(waits)).to.deep.equal({
        Account: undefined,
        Contact: undefined,
        Opportunity: { steps: ['Contact'], objects: ['Account'] },
      });
    });

    it('shows none when the defaults say parallel', async () => {
      const waits = await planOf({ name: 'p', defaults: { sharedParents: 'parallel' }, steps });
      expect([...waits.values()].every((wait) => wait === undefined)).to.equal(true);
    });
  });
});
