import { expect } from 'chai';
import { journaledThroughput, throughputOf, waveThroughput } from '../../src/engine/throughput.js';
import { formatDuration, formatRate, formatThroughput } from '../../src/ux/estimates.js';

describe('throughput estimates', () => {
  it('says nothing until a record was processed', () => {
    expect(throughputOf(1000, 0, 5000)).to.deep.equal({});
    expect(throughputOf(1000, 10, 0)).to.deep.equal({});
  });

  it('estimates the rate and the time the rest needs at it', () => {
    expect(throughputOf(10_000, 2500, 10_000)).to.deep.equal({ recordsPerSecond: 250, etaSeconds: 30 });
    expect(throughputOf(100, 150, 1000)).to.deep.equal({ recordsPerSecond: 150, etaSeconds: 0 });
  });

  it('adds a wave`s rates and waits for its slowest step, ignoring steps without an estimate', () => {
    expect(
      waveThroughput([{ recordsPerSecond: 100, etaSeconds: 20 }, { recordsPerSecond: 300, etaSeconds: 50 }, {}]),
    ).to.deep.equal({ recordsPerSecond: 400, etaSeconds: 50 });
    expect(waveThroughput([{}, {}])).to.deep.equal({});
  });

  it('reads a step`s rate from its journaled jobs: first close to last finish', () => {
    const at = (seconds: number): string => new Date(Date.UTC(2026, 10, 29, 12, 0, seconds)).toISOString();
    const jobs = [
      { records: 1000, closedAt: at(0), finishedAt: at(10), processed: 1000 },
      { records: 1000, closedAt: at(5), finishedAt: at(20), processed: 1000 },
      // still running: counts toward what is left
      { records: 3000, closedAt: at(15) },
      // not closed yet
      { records: 1000 },
    ];
    // 2,000 records in 20 s → 100/s; 4,000 left → 40 s
    expect(journaledThroughput(jobs)).to.deep.equal({ recordsPerSecond: 100, etaSeconds: 40 });
    expect(journaledThroughput([{ records: 5, closedAt: at(0) }])).to.deep.equal({});
    expect(journaledThroughput([])).to.deep.equal({});
  });

  it('prints short rates and durations', () => {
    expect(formatRate(1234.4)).to.equal('1,234/s');
    expect(formatDuration(45.4)).to.equal('45s');
    expect(formatDuration(125)).to.equal('2m 05s');
    expect(formatDuration(3725)).to.equal('1h 02m');
    const left = (d: string): string => `${d} left`;
    expect(formatThroughput({}, left)).to.equal(undefined);
    expect(formatThroughput({ recordsPerSecond: 10 }, left)).to.equal('10/s');
    expect(formatThroughput({ recordsPerSecond: 10, etaSeconds: 70 }, left)).to.equal('10/s, 1m 10s left');
  });
});
