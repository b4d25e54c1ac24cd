import { expect } from 'chai';
import { DEFAULT_RETRY_POLICY, nextPollDelay, retryDelay, sleep } from '../../src/bulk/backoff.js';

describe('backoff', () => {
  const policy = { attempts: 8, baseDelayMs: 500, maxDelayMs: 4000 };

  it('doubles the retry delay from the base up to the cap, with jitter between half and all of it', () => {
    const ceilings = [500, 1000, 2000, 4000, 4000, 4000];
    ceilings.forEach((ceiling, index) => {
      expect(retryDelay(index + 1, policy, () => 0)).to.equal(ceiling / 2);
      expect(retryDelay(index + 1, policy, () => 1)).to.equal(ceiling);
      const delay = retryDelay(index + 1, policy);
      expect(delay).to.be.within(ceiling / 2, ceiling);
    });
  });

  it('has a default policy of five attempts', () => {
    expect(DEFAULT_RETRY_POLICY.attempts).to.equal(5);
  });

  it('grows the poll interval by half up to the maximum', () => {
    const schedule = [5000];
    for (let i = 0; i < 8; i++) schedule.push(nextPollDelay(schedule.at(-1)!, 30_000));
    expect(schedule).to.deep.equal([5000, 7500, 11_250, 16_875, 25_313, 30_000, 30_000, 30_000, 30_000]);
    expect(nextPollDelay(0, 10)).to.equal(1);
  });

  it('sleep rejects at once when the signal fires', async () => {
    const controller = new AbortController();
    const waiting = sleep(60_000, controller.signal);
    controller.abort();
    const error = (await waiting.catch((e: unknown) => e)) as Error;
    expect(error.name).to.equal('AbortError');
    const already = (await sleep(60_000, controller.signal).catch((e: unknown) => e)) as Error;
    expect(already.name).to.equal('AbortError');
  });
});
