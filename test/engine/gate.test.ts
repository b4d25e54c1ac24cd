import { expect } from 'chai';
import { evaluateGate, fitToHeader } from '../../src/engine/stepAccounting.js';
import { errorCodeOf, errorMessageOf } from '../../src/engine/resultFiles.js';
import { forEachConcurrent } from '../../src/engine/concurrency.js';
import type { ResolvedStep } from '../../src/manifest/types.js';

const step = (failureThreshold: ResolvedStep['failureThreshold']): ResolvedStep =>
  ({ id: 'Account', failureThreshold }) as ResolvedStep;

describe('evaluateGate', () => {
  it('fails a step whose results do not account for every source record', () => {
    const gate = evaluateGate(step({ percent: 100 }), { records: 10, succeeded: 8, failed: 1, unprocessed: 0 });
    expect(gate.passed).to.equal(false);
    expect(gate.reason).to.match(/10 source records, but only 9/);
  });

  it('fails on any failure with the default threshold of 0%', () => {
    expect(
      evaluateGate(step({ percent: 0 }), { records: 1000, succeeded: 999, failed: 1, unprocessed: 0 }).passed,
    ).to.equal(false);
    expect(
      evaluateGate(step({ percent: 0 }), { records: 1000, succeeded: 1000, failed: 0, unprocessed: 0 }).passed,
    ).to.equal(true);
  });

  it('counts unprocessed records as failures and applies both bounds', () => {
    const counts = { records: 100, succeeded: 95, failed: 2, unprocessed: 3 };
    expect(evaluateGate(step({ percent: 5 }), counts).passed).to.equal(true);
    expect(evaluateGate(step({ percent: 4.9 }), counts).passed).to.equal(false);
    expect(evaluateGate(step({ records: 5 }), counts).passed).to.equal(true);
    expect(evaluateGate(step({ records: 4 }), counts).reason).to.match(/5 records failed, more than .* 4/);
    expect(evaluateGate(step({ percent: 50, records: 4 }), counts).passed).to.equal(false);
  });

  it('passes an empty step', () => {
    expect(evaluateGate(step({ percent: 0 }), { records: 0, succeeded: 0, failed: 0, unprocessed: 0 }).passed).to.equal(
      true,
    );
  });
});

describe('sf__Error parsing', () => {
  it('splits the status code from the message and drops the trailing field marker', () => {
    const error = 'REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --';
    expect(errorCodeOf(error)).to.equal('REQUIRED_FIELD_MISSING');
    expect(errorMessageOf(error)).to.equal('Required fields are missing: [Name]:Name');
    expect(errorCodeOf('UNABLE_TO_LOCK_ROW:unable to obtain exclusive access to this record:--')).to.equal(
      'UNABLE_TO_LOCK_ROW',
    );
    expect(errorMessageOf('UNABLE_TO_LOCK_ROW:unable to obtain exclusive access to this record:--')).to.equal(
      'unable to obtain exclusive access to this record',
    );
  });

  it('does not invent a code from free text', () => {
    expect(errorCodeOf('something went wrong: badly')).to.equal('UNKNOWN_ERROR');
  });
});

describe('forEachConcurrent', () => {
  it('never runs more than the limit at once and runs every item', async () => {
    let running = 0;
    let peak = 0;
    const done: number[] = [];
    await forEachConcurrent([1, 2, 3, 4, 5, 6, 7], 3, async (item) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((wake) => setTimeout(wake, 5));
      running--;
      done.push(item);
    });
    expect(peak).to.equal(3);
    expect(done.sort()).to.deep.equal([1, 2, 3, 4, 5, 6, 7]);
  });

  it('stops starting items after a failure but lets running ones settle before rethrowing', async () => {
    const started: number[] = [];
    const settled: number[] = [];
    let caught: unknown;
    try {
      await forEachConcurrent([1, 2, 3, 4, 5], 2, async (item) => {
        started.push(item);
        if (item === 1) throw new Error('boom');
        await new Promise((wake) => setTimeout(wake, 20));
        settled.push(item);
      });
    } catch (error) {
      caught = error;
    }
    expect((caught as Error).message).to.equal('boom');
    expect(started).to.deep.equal([1, 2]);
    expect(settled).to.deep.equal([2]);
  });

  it('tells the caller about the first failure at once, while the others still run', async () => {
    const events: string[] = [];
    await forEachConcurrent(
      [1, 2],
      2,
      async (item) => {
        if (item === 1) throw new Error('first');
        await new Promise((wake) => setTimeout(wake, 20));
        events.push('2 settled');
      },
      (error) => events.push(`failed: ${(error as Error).message}`),
    ).catch(() => undefined);
    expect(events).to.deep.equal(['failed: first', '2 settled']);
  });
});

describe('fitToHeader', () => {
  it('folds the cells beyond the header into the last column and pads short rows', () => {
    expect(fitToHeader(['a', 'b', 'c', 'd'], 2, ';')).to.deep.equal(['a', 'b;c;d']);
    expect(fitToHeader(['a'], 3, ',')).to.deep.equal(['a', '', '']);
    expect(fitToHeader(['a', 'b'], 2, ',')).to.deep.equal(['a', 'b']);
  });
});
