/*
 * A serial-lane chain in the engine: its jobs share parents, so a chunk a resumed run finds already
 * in the org (closed, holding no slot) ends before any other chunk of the chain goes on; otherwise
 * the chain's next job uploads while one is processed. A fake drive, settled by hand: no org, no timer.
 */
import { expect } from 'chai';
import type { ChunkState } from '../../src/journal/state.js';
import type { SlotSource } from '../../src/engine/concurrency.js';
import { driveChain } from '../../src/engine/stepLanes.js';

type Driven = { chunk: string; inOrg: SlotSource; done: () => void };

/** a chain of chunks named by their phases, and a drive that records each call and waits to be settled */
function chainOf(phases: Array<ChunkState['phase']>): {
  chain: ChunkState[];
  driven: Driven[];
  drive: (chunk: ChunkState, inOrg: SlotSource) => Promise<void>;
} {
  const chain = phases.map((phase, k) => ({ phase, chunk: k }) as unknown as ChunkState);
  const driven: Driven[] = [];
  const drive = (chunk: ChunkState, inOrg: SlotSource): Promise<void> =>
    new Promise((done) => driven.push({ chunk: `${chunk.chunk}:${chunk.phase}`, inOrg, done: () => done() }));
  return { chain, driven, drive };
}

/** lets every promise that can settle settle */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('driveChain', () => {
  it('lets a chunk found closed end before the chain goes on, then drives the rest two at a time', async () => {
    const { chain, driven, drive } = chainOf(['closed', 'uploaded', 'planned', 'planned']);
    const all = driveChain(chain, drive);
    await settle();
    expect(driven.map((call) => call.chunk)).to.deep.equal(['0:closed']);
    driven[0].done();
    await settle();
    expect(driven.map((call) => call.chunk)).to.deep.equal(['0:closed', '1:uploaded', '2:planned']);
    driven[1].done();
    await settle();
    expect(driven.map((call) => call.chunk)).to.deep.equal(['0:closed', '1:uploaded', '2:planned', '3:planned']);
    driven[2].done();
    driven[3].done();
    await all;
  });

  it('hands the chain’s jobs to the org in chain order, whichever finishes its upload first', async () => {
    const { chain, driven, drive } = chainOf(['planned', 'planned', 'planned']);
    const all = driveChain(chain, drive);
    await settle();
    const took: number[] = [];
    const take = (k: number): Promise<(() => void) | undefined> =>
      driven[k].inOrg.acquire().then((release) => {
        took.push(k);
        return release;
      });
    // chunk 1's upload ends first: it waits for chunk 0 to take the slot, and then for the slot
    const second = take(1);
    await settle();
    expect(took).to.deep.equal([]);
    const first = await take(0);
    await settle();
    expect(took).to.deep.equal([0]);
    first?.();
    (await second)?.();
    expect(took).to.deep.equal([0, 1]);
    // the chain's third job asks once the first two have ended
    driven[0].done();
    driven[1].done();
    await settle();
    (await take(2))?.();
    expect(took).to.deep.equal([0, 1, 2]);
    driven[2].done();
    await all;
  });

  it('lets the next chunk ask once one ended without taking the slot', async () => {
    const { chain, driven, drive } = chainOf(['planned', 'planned']);
    const all = driveChain(chain, drive);
    await settle();
    let second = false;
    void driven[1].inOrg.acquire().then((release) => {
      second = true;
      release?.();
    });
    await settle();
    expect(second).to.equal(false);
    driven[0].done();
    await settle();
    expect(second).to.equal(true);
    driven[1].done();
    await all;
  });

  it('drives a fresh chain two at a time, the next uploading while one is in the org', async () => {
    const { chain, driven, drive } = chainOf(['planned', 'planned', 'planned']);
    const all = driveChain(chain, drive);
    await settle();
    expect(driven.map((call) => call.chunk)).to.deep.equal(['0:planned', '1:planned']);
    const release = await driven[0].inOrg.acquire();
    // the chain's slot is one: while a job holds it, the next waits
    let second = false;
    void driven[1].inOrg.acquire().then((free) => {
      second = true;
      free?.();
    });
    await settle();
    expect(second).to.equal(false);
    release?.();
    await settle();
    expect(second).to.equal(true);
    for (const call of driven) call.done();
    await settle();
    driven[2].done();
    await all;
    expect(driven.map((call) => call.chunk)).to.deep.equal(['0:planned', '1:planned', '2:planned']);
  });
});
