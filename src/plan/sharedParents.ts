/*
 * Steps of one wave that write children of the same parent object run one after another. A batch
 * holds every parent its rows write a child of until it ends, and a row whose parent another batch
 * holds waits, then fails UNABLE_TO_LOCK_ROW (Salesforce's "Record Locking Cheat Sheet"). Lock-aware
 * jobs keep one step's batches apart (plan/partitioning.ts), but a Contact batch and an Opportunity
 * batch processed at once both hold Accounts, and no cut of either file can prevent it. So a step
 * waits for the earlier steps of its wave it shares a parent object with; each then has the org's
 * workers to itself, which costs no throughput when one step alone keeps them busy.
 *
 * Shared by `plan`, which shows the order and its reason, and the run, which follows it. Steps whose
 * `sharedParents` is "parallel" are not held back (nor hold others back).
 */
import type { ResolvedStep } from '../manifest/types.js';

export type StepWait = {
  /** ids of earlier steps of the wave this step waits for, in wave order */
  after: string[];
  /** the parent objects it shares with them, sorted */
  objects: string[];
};

/** parent objects compared as Salesforce does: API names are case-insensitive */
const key = (object: string): string => object.toLowerCase();

/**
 * For each step of `wave` (ids in run order) that must wait, the earlier steps it waits for and
 * why. A step waits only for earlier ones, so running the wave's steps in order can never deadlock.
 */
export function sharedParentWaits(wave: readonly ResolvedStep[]): Map<string, StepWait> {
  const waits = new Map<string, StepWait>();
  wave.forEach((step, index) => {
    if (step.sharedParents === 'parallel') return;
    const mine = new Map((step.parentObjects ?? []).map((object) => [key(object), object]));
    const after: string[] = [];
    const objects = new Set<string>();
    for (const earlier of wave.slice(0, index)) {
      if (earlier.sharedParents === 'parallel') continue;
      const shared = (earlier.parentObjects ?? []).filter((object) => mine.has(key(object)));
      if (shared.length === 0) continue;
      after.push(earlier.id);
      for (const object of shared) objects.add(mine.get(key(object))!);
    }
    if (after.length) waits.set(step.id, { after, objects: [...objects].sort() });
  });
  return waits;
}
