import { expect } from 'chai';
import { sendsTheOrgNothingMore } from '../../src/engine/orgDone.js';
import type { ChunkState, FinishedJob, StepState } from '../../src/journal/state.js';

// When a step's turn behind another is over early (engine/orgDone.ts): only jobs that all ended clean
// mean the step will send the org nothing more.

function chunk(records: number, finished?: FinishedJob): ChunkState {
  const base = { step: 'Contact', chunk: 0, file: 'f.csv', byteStart: 0, byteEnd: 1, records, attempt: 0 };
  if (!finished) return { ...base, abandonedJobIds: [], phase: 'closed', jobId: '750x' } as ChunkState;
  return { ...base, abandonedJobIds: [], phase: 'finished', jobId: '750x', finished } as ChunkState;
}

function step(chunks: ChunkState[]): StepState {
  return { id: 'Contact', wave: 1, status: 'running', chunks };
}

describe('sendsTheOrgNothingMore', () => {
  const clean = (records: number): FinishedJob => ({ state: 'JobComplete', processed: records, failed: 0 });

  it('is true once every job ended JobComplete with every record processed and none failed', () => {
    expect(sendsTheOrgNothingMore(step([chunk(10, clean(10)), chunk(5, clean(5))]))).to.equal(true);
  });

  it('is false while a job is still in the org', () => {
    expect(sendsTheOrgNothingMore(step([chunk(10, clean(10)), chunk(5)]))).to.equal(false);
  });

  it('is false when a job failed rows, left rows unprocessed or did not complete: a retry round may follow', () => {
    expect(sendsTheOrgNothingMore(step([chunk(10, { state: 'JobComplete', processed: 10, failed: 1 })]))).to.equal(
      false,
    );
    expect(sendsTheOrgNothingMore(step([chunk(10, { state: 'JobComplete', processed: 9, failed: 0 })]))).to.equal(
      false,
    );
    expect(sendsTheOrgNothingMore(step([chunk(10, { state: 'Failed', processed: 0, failed: 0 })]))).to.equal(false);
  });
});
