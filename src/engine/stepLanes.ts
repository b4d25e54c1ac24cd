/*
 * The two lanes one round of a step's chunks runs in (lock-aware jobs). The grouped lane: the
 * step's `parallelism` jobs in the org at once, and one more that is created and uploaded meanwhile,
 * closed as soon as one of them ends (ChunkLifecycle.drive). The serial lane: parents too big for
 * one internal batch share a chain of jobs, each parent in one batch of a job (serialLane.ts), and
 * a chain's jobs are in the org one at a time, so no two batches holding one of those parents are
 * processed at once. No other job holds them, so a chain runs beside the grouped lane, outside
 * `parallelism`: it is the step's longest path. A job is in the org from its close to its end and
 * holds its chain's one slot meanwhile; the chain's next job is created and uploaded beside it and
 * closed once it has ended.
 */
import type { ChunkState } from '../journal/state.js';
import { forEachConcurrent, InOrder, Slots, type SlotSource } from './concurrency.js';

/**
 * Serial-lane chains of one step in the org at once. A pass makes one chain (its big parents share
 * its jobs), so a step has one per group of source files partitioned together; a run journaled by
 * an earlier version has one per big parent, a single batch each, and runs up to this many of them
 * side by side: the most jobs `parallelism` allows a step (the schema's maximum).
 */
const SERIAL_CHAINS_AT_ONCE = 10;

export type RoundLanes = {
  parallelism: number;
  /** the grouped lane's slots: `parallelism` of them, opening at the step's turn */
  processing: Slots;
  /** the step's turn (Slots' opensAfter), for the serial chains' slots */
  turn?: Promise<unknown>;
  /** the serial lane's files and the chain each is in (StepPartitioning.serialChains) */
  serialChains: ReadonlyMap<string, string>;
  drive: (chunk: ChunkState, inOrg: SlotSource) => Promise<void>;
  /** called at a lane's first failure: lets the run tell its other chunks to wind down */
  onFailure: () => void;
};

/**
 * Drives one round's chunks through both lanes. Both settle before a failure is rethrown: a
 * running chunk's journal lines must be written.
 */
export async function driveRound(round: readonly ChunkState[], lanes: RoundLanes): Promise<void> {
  const chains = new Map<string, ChunkState[]>();
  for (const chunk of round) {
    const chain = lanes.serialChains.get(chunk.file);
    if (chain !== undefined) chains.set(chain, [...(chains.get(chain) ?? []), chunk]);
  }
  const grouped = round.filter((chunk) => !lanes.serialChains.has(chunk.file));
  const settled = await Promise.allSettled([
    forEachConcurrent(grouped, lanes.parallelism + 1, (chunk) => lanes.drive(chunk, lanes.processing), lanes.onFailure),
    forEachConcurrent(
      [...chains.values()],
      Math.max(lanes.parallelism, SERIAL_CHAINS_AT_ONCE),
      (chain) => driveChain(chain, lanes.drive, lanes.turn),
      lanes.onFailure,
    ),
  ]);
  const failure = settled.find((lane): lane is PromiseRejectedResult => lane.status === 'rejected');
  if (failure) throw failure.reason;
}

/**
 * Drives `chain`'s chunks in order, one in the org at a time. A chunk a resumed run finds closed was
 * handed to the org by an earlier process and holds no slot (drive takes one only to close), so the
 * chain's other chunks wait until it is done: otherwise the next one, uploaded before the run
 * stopped, would be closed at once beside it. `opensAfter`: the step's turn (Slots).
 */
export async function driveChain(
  chain: readonly ChunkState[],
  drive: (chunk: ChunkState, inOrg: SlotSource) => Promise<void>,
  opensAfter?: Promise<unknown>,
): Promise<void> {
  const inOrg = new Slots(1, opensAfter);
  const closed = chain.filter((chunk) => chunk.phase === 'closed');
  // already in the org (an earlier process closed it; a stop leaves only jobs it had closed there)
  await forEachConcurrent(closed, closed.length, (chunk) => drive(chunk, inOrg));
  // the rest hand their jobs to the org in chain order (InOrder), whichever finishes its upload first
  const rest = chain.filter((chunk) => chunk.phase !== 'closed');
  const order = new InOrder(inOrg, rest.length);
  await forEachConcurrent([...rest.keys()], 2, (k) => drive(rest[k], order.turn(k)).finally(() => order.passed(k)));
}
