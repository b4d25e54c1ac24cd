/*
 * Driving one chain of the serial lane (lock-aware jobs, serialLane.ts): its jobs share parents, so
 * at most one of them is in the org at a time. A job is in the org from its close to its end, and
 * holds the chain's one slot meanwhile (ChunkLifecycle.drive); the next job is created and
 * uploaded beside it and closed once it has ended.
 */
import type { ChunkState } from '../journal/state.js';
import { forEachConcurrent, Slots } from './concurrency.js';

/**
 * Drives `chain`'s chunks in order, one in the org at a time. A chunk a resumed run finds closed was
 * handed to the org by an earlier process and holds no slot (drive takes one only to close), so the
 * chain's other chunks wait until it is done: otherwise the next one, uploaded before the run
 * stopped, would be closed at once beside it. `opensAfter`: the step's turn (Slots).
 */
export async function driveChain(
  chain: readonly ChunkState[],
  drive: (chunk: ChunkState, inOrg: Slots) => Promise<void>,
  opensAfter?: Promise<unknown>,
): Promise<void> {
  const inOrg = new Slots(1, opensAfter);
  const closed = chain.filter((chunk) => chunk.phase === 'closed');
  // already in the org side by side (a stop closes an uploaded job): nothing left to keep apart
  await forEachConcurrent(closed, closed.length, (chunk) => drive(chunk, inOrg));
  await forEachConcurrent(
    chain.filter((chunk) => chunk.phase !== 'closed'),
    2,
    (chunk) => drive(chunk, inOrg),
  );
}
