/*
 * The one call the engine's pre-upload pass makes for a step's lookups when the step starts: its
 * snapshots ensured (fetched and journaled once per run, or checked on resume), its indexes built,
 * and its row stages in manifest order. The spill files of the indexes go under lookups/ of the run
 * folder and are removed by `close`, which the pass calls when the step's rows are all through.
 */
import type { RowStage } from '../prepare/stage.js';
import { DEFAULT_LOOKUP_MEMORY_BYTES } from './lookupIndex.js';
import { ensureLookupSnapshots, lookupsDir, type EnsureLookupSnapshotsOptions } from './snapshots.js';
import { lookupStages, openLookups } from './stages.js';

export type StepLookups = { stages: RowStage[]; close(): Promise<void> };

export async function lookupStagesForStep(
  options: EnsureLookupSnapshotsOptions & {
    /** the step's index budget, shared by its lookups */ memoryBytes?: number;
  },
): Promise<StepLookups> {
  if (!options.step.lookups?.length) return { stages: [], close: () => Promise.resolve() };
  const snapshots = await ensureLookupSnapshots(options);
  const opened = await openLookups(options.step, snapshots, {
    spillDir: lookupsDir(options.folder),
    memoryBytes: options.memoryBytes ?? DEFAULT_LOOKUP_MEMORY_BYTES,
  });
  return { stages: lookupStages(opened), close: () => opened.close() };
}
