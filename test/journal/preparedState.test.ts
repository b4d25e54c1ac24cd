import { expect } from 'chai';
import { applyEvent, emptyRunState, fingerprintOf, type RunState } from '../../src/journal/state.js';
import { rejectedRecords } from '../../src/journal/preparedState.js';
import * as build from '../../src/journal/eventBuilders.js';
import type { JournalEventBody } from '../../src/journal/events.js';

describe('replay of the row pass (source.prepared)', () => {
  let state: RunState;
  let seq: number;
  const apply = (body: JournalEventBody): void => applyEvent(state, { ...body, seq: ++seq, time: 't' });
  const prepared = build.sourcePrepared(
    'Contact',
    '/data/c.csv',
    { file: '/run/prepared/Contact/0/rows.csv', size: 10, mtimeMs: 1, sha256: 'f', records: 7 },
    [
      { file: '/run/prepared/Contact/0/rejected-1.csv', records: 2 },
      { file: '/run/prepared/Contact/0/rejected-2.csv', records: 1 },
    ],
  );
  const begin = (): void => {
    state = emptyRunState();
    seq = 0;
    apply(build.waveStarted(0, ['Contact']));
    apply(build.stepStarted('Contact', 0, { object: 'Contact', operation: 'insert' }));
  };

  beforeEach(begin);

  it('records the prepared file with its fingerprint, and the rejected rows of the step', () => {
    apply(prepared);
    expect(fingerprintOf(state, '/run/prepared/Contact/0/rows.csv')).to.deep.include({ sha256: 'f', size: 10 });
    expect(rejectedRecords(state.steps.get('Contact')!)).to.equal(3);
  });

  it('refuses a source prepared twice, or one whose chunks were cut from the source itself', () => {
    apply(prepared);
    expect(() => apply(prepared)).to.throw(/already prepared/);
    begin();
    const ref = { step: 'Contact', chunk: 0 };
    apply(build.chunkPlanned(ref, { file: '/data/c.csv', byteStart: 0, byteEnd: 9, records: 1, attempt: 0 }));
    expect(() => apply(prepared)).to.throw(/already prepared/);
  });
});
