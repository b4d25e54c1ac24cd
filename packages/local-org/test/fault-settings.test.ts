import { expect } from 'chai';
import { Faults, faultSettingsProblems } from '../src/faults.js';

describe('local org: fault settings', () => {
  it('accepts every documented setting', () => {
    expect(
      faultSettingsProblems({
        seed: 1,
        serverErrorRate: 0.05,
        dropConnectionRate: 0.01,
        dropUploadRate: 0.1,
        latencyMs: 20,
        apiLimitExhausted: false,
        lockRowRate: 0.02,
        failJobAfterRecords: 100,
        parentLockContention: true,
        sessionExpiry: { afterRequests: 50, afterSeconds: 30 },
      }),
    ).to.deep.equal([]);
  });

  it('names every problem', () => {
    expect(faultSettingsProblems([])).to.deep.equal(['fault settings must be a JSON object']);
    expect(
      faultSettingsProblems({
        serverErrorRate: 1.5,
        latencyMs: 'slow',
        nope: 1,
        sessionExpiry: { afterMinutes: 1, afterRequests: 0 },
      }),
    ).to.deep.equal([
      '"serverErrorRate" must be between 0 and 1',
      '"latencyMs" must be a number',
      'unknown fault "nope" (known: seed, serverErrorRate, dropConnectionRate, dropUploadRate, latencyMs, apiLimitExhausted, concurrentLimitRate, lockRowRate, failJobAfterRecords, parentLockContention, sessionExpiry)',
      'unknown sessionExpiry setting "afterMinutes"',
      '"sessionExpiry.afterRequests" must be a positive number',
    ]);
  });

  it('draws the same sequence for the same seed, and none for a zero rate', () => {
    const draws = (seed: number): boolean[] => {
      const faults = new Faults({ seed });
      return Array.from({ length: 50 }, () => faults.chance(0.3));
    };
    expect(draws(9)).to.deep.equal(draws(9));
    expect(draws(9)).to.not.deep.equal(draws(10));
    const faults = new Faults({ seed: 4 });
    const first = new Faults({ seed: 4 }).draw();
    expect(faults.chance(0)).to.equal(false);
    expect(faults.draw()).to.equal(first);
  });
});
