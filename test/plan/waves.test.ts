import { expect } from 'chai';
import { computeWaves, type WaveStep } from '../../src/plan/waves.js';

const step = (id: string, extra: Partial<WaveStep> = {}): WaveStep => ({
  id,
  object: extra.object ?? id,
  dependsOn: [],
  relationshipObjects: [],
  ...extra,
});

const codes = (problems: Array<{ code: string }>): string[] => problems.map((p) => p.code);

describe('computeWaves', () => {
  it('levels independent steps into one wave, keeping manifest order', () => {
    const plan = computeWaves([step('B'), step('A'), step('C')]);
    expect(plan.waves).to.deep.equal([['B', 'A', 'C']]);
    expect(plan.problems).to.deep.equal([]);
  });

  it('puts a step one wave after its deepest dependency', () => {
    const plan = computeWaves([
      step('D', { dependsOn: ['B', 'C'] }),
      step('A'),
      step('B', { dependsOn: ['A'] }),
      step('C', { dependsOn: ['A'] }),
      step('E', { dependsOn: ['A'] }),
    ]);
    expect(plan.waves).to.deep.equal([['A'], ['B', 'C', 'E'], ['D']]);
  });

  describe('cycles', () => {
    it('names a two-step cycle, starting at the earliest step, with the pointer of the closing edge', () => {
      const plan = computeWaves([step('A', { dependsOn: ['B'] }), step('B', { dependsOn: ['A'] }), step('C')]);
      expect(plan.cycle).to.deep.equal(['A', 'B', 'A']);
      const problem = plan.problems.find((p) => p.code === 'DependencyCycle')!;
      expect(problem.pointer).to.equal('/steps/0/dependsOn/0');
      expect(problem.message).to.contain('A → B → A');
      expect(plan.waves).to.deep.equal([['C']]);
    });

    it('finds a three-step cycle and leaves steps outside it alone', () => {
      const plan = computeWaves([
        step('X'),
        step('A', { dependsOn: ['X', 'C'] }),
        step('B', { dependsOn: ['A'] }),
        step('C', { dependsOn: ['B'] }),
      ]);
      expect(plan.cycle).to.deep.equal(['A', 'C', 'B', 'A']);
      expect(codes(plan.problems)).to.deep.equal(['DependencyCycle']);
      expect(plan.problems[0].pointer).to.equal('/steps/1/dependsOn/1');
      expect(plan.waves).to.deep.equal([['X']]);
    });

    it('reports a step that depends on itself', () => {
      const plan = computeWaves([step('A', { dependsOn: ['A'] })]);
      expect(plan.cycle).to.deep.equal(['A', 'A']);
      expect(codes(plan.problems)).to.deep.equal(['DependencyCycle']);
    });

    it('reports each of two separate cycles once', () => {
      const plan = computeWaves([
        step('A', { dependsOn: ['B'] }),
        step('B', { dependsOn: ['A'] }),
        step('C', { dependsOn: ['D'] }),
        step('D', { dependsOn: ['C'] }),
      ]);
      expect(plan.problems.map((p) => p.message.match(/cycle: ([^.(]+)/)![1].trim())).to.deep.equal([
        'A → B → A',
        'C → D → C',
      ]);
    });

    it('names the column when an implied dependency closes the cycle', () => {
      const plan = computeWaves([
        step('Account', { dependsOn: ['Contact'] }),
        step('Contact', { relationships: [{ column: 'Account.Legacy_Id__c', object: 'Account' }] }),
      ]);
      expect(plan.cycle).to.deep.equal(['Account', 'Contact', 'Account']);
      expect(plan.problems[0].message).to.contain('Account.Legacy_Id__c');
    });

    it('has no cycle in a diamond', () => {
      const plan = computeWaves([
        step('A'),
        step('B', { dependsOn: ['A'] }),
        step('C', { dependsOn: ['A'] }),
        step('D', { dependsOn: ['B', 'C'] }),
      ]);
      expect(plan.cycle).to.equal(undefined);
      expect(plan.waves).to.deep.equal([['A'], ['B', 'C'], ['D']]);
    });
  });

  describe('dependencies implied by relationship columns', () => {
    it('makes a step depend on the earlier step loading the parent object', () => {
      const plan = computeWaves([
        step('Account'),
        step('Contact', { relationships: [{ column: 'Account.Legacy_Id__c', object: 'Account' }] }),
      ]);
      expect(plan.implied).to.deep.equal([{ step: 'Contact', dependsOn: 'Account', column: 'Account.Legacy_Id__c' }]);
      expect(plan.waves).to.deep.equal([['Account'], ['Contact']]);
    });

    it('accepts parent objects given as relationshipObjects alone', () => {
      const plan = computeWaves([step('Account'), step('Contact', { relationshipObjects: ['Account'] })]);
      expect(plan.implied).to.deep.equal([{ step: 'Contact', dependsOn: 'Account', column: 'Account' }]);
    });

    it('does not make a self-reference a dependency on itself, but on the earlier load of the same object', () => {
      const plan = computeWaves([
        step('Account', { relationships: [{ column: 'Parent.Legacy_Id__c', object: 'Account' }] }),
        step('account-parents', {
          object: 'Account',
          operation: 'update',
          relationships: [{ column: 'Parent.Legacy_Id__c', object: 'Account' }],
        }),
      ]);
      expect(plan.implied).to.deep.equal([
        { step: 'account-parents', dependsOn: 'Account', column: 'Parent.Legacy_Id__c' },
      ]);
      expect(plan.problems).to.deep.equal([]);
      expect(plan.waves).to.deep.equal([['Account'], ['account-parents']]);
    });

    it('prefers the steps that create the parent records over update steps', () => {
      const plan = computeWaves([
        step('Account', { operation: 'upsert' }),
        step('account-fix', { object: 'Account', operation: 'update' }),
        step('Contact', { relationships: [{ column: 'Account.Legacy_Id__c', object: 'Account' }] }),
      ]);
      expect(plan.implied.map((d) => d.dependsOn)).to.deep.equal(['Account']);
    });

    it('falls back to the non-creating steps when no earlier step creates the parent', () => {
      const plan = computeWaves([
        step('account-fix', { object: 'Account', operation: 'update' }),
        step('Contact', { relationships: [{ column: 'Account.Legacy_Id__c', object: 'Account' }] }),
      ]);
      expect(plan.implied.map((d) => d.dependsOn)).to.deep.equal(['account-fix']);
    });

    it('does not repeat a dependency that dependsOn already states', () => {
      const plan = computeWaves([
        step('Account'),
        step('Contact', {
          dependsOn: ['Account'],
          relationships: [{ column: 'Account.Legacy_Id__c', object: 'Account' }],
        }),
      ]);
      expect(plan.implied).to.deep.equal([]);
    });

    it('warns when no step loads the parent object', () => {
      const plan = computeWaves([
        step('Contact', { relationships: [{ column: 'User:Owner.Username', object: 'User', file: '/d/c.csv' }] }),
      ]);
      expect(plan.problems).to.have.length(1);
      expect(plan.problems[0]).to.include({
        severity: 'warning',
        code: 'ParentWithoutStep',
        pointer: '/steps/0/source',
        file: '/d/c.csv',
      });
      expect(plan.waves).to.deep.equal([['Contact']]);
    });

    it('warns, without a dependency, when the parent is loaded only by a later step', () => {
      const plan = computeWaves([
        step('Contact', { relationships: [{ column: 'Account.Legacy_Id__c', object: 'Account' }] }),
        step('Account'),
      ]);
      expect(codes(plan.problems)).to.deep.equal(['ParentStepLater']);
      expect(plan.implied).to.deep.equal([]);
    });

    it('leaves a polymorphic column without its type to the header check (no wave problem, no dependency)', () => {
      const plan = computeWaves([step('Contact'), step('Task', { relationships: [{ column: 'Who.Email' }] })]);
      expect(plan.problems).to.deep.equal([]);
      expect(plan.implied).to.deep.equal([]);
    });

    it('makes the step loading the type prefix of a polymorphic column a dependency', () => {
      const plan = computeWaves([
        step('Lead'),
        step('User', { operation: 'upsert' }),
        step('Task', { relationships: [{ column: 'Lead:Who.Email', object: 'Lead' }] }),
      ]);
      expect(plan.implied).to.deep.equal([{ step: 'Task', dependsOn: 'Lead', column: 'Lead:Who.Email' }]);
      expect(plan.waves).to.deep.equal([['Lead', 'User'], ['Task']]);
    });
  });

  describe('explicit waves', () => {
    const steps = [step('A'), step('B', { dependsOn: ['A'] }), step('C')];

    it('accepts waves that respect every dependency', () => {
      const plan = computeWaves(steps, [['A', 'C'], ['B']]);
      expect(plan.problems).to.deep.equal([]);
      expect(plan.waves).to.deep.equal([['A', 'C'], ['B']]);
    });

    it('reports a dependency in the same or a later wave', () => {
      const plan = computeWaves(steps, [['A', 'B', 'C']]);
      expect(codes(plan.problems)).to.deep.equal(['WavesBreakDependency']);
      expect(plan.problems[0].pointer).to.equal('/waves/0/1');
    });

    it('reports implied dependencies that the waves break', () => {
      const plan = computeWaves(
        [step('Account'), step('Contact', { relationships: [{ column: 'Account.Legacy_Id__c', object: 'Account' }] })],
        [['Contact', 'Account']],
      );
      expect(codes(plan.problems)).to.deep.equal(['WavesBreakDependency']);
      expect(plan.problems[0].message).to.contain('Account.Legacy_Id__c');
    });

    it('reports missing, repeated and unknown steps', () => {
      const plan = computeWaves(steps, [['A'], ['B', 'A', 'Z']]);
      expect(plan.problems.map((p) => [p.code, p.pointer])).to.deep.equal([
        ['StepInTwoWaves', '/waves/1/1'],
        ['UnknownStepInWaves', '/waves/1/2'],
        ['StepMissingFromWaves', '/waves'],
      ]);
    });
  });

  it('reports a dependency on an unknown step', () => {
    const plan = computeWaves([step('A', { dependsOn: ['Nope'] })]);
    expect(plan.problems.map((p) => [p.code, p.pointer])).to.deep.equal([
      ['UnknownDependency', '/steps/0/dependsOn/0'],
    ]);
    expect(plan.waves).to.deep.equal([['A']]);
  });
});
