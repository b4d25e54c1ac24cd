/*
 * The one place that decides which row stages a step's rows go through before upload, in order.
 * A step with none is uploaded from its sources as before (no pass, byte copies stay byte copies).
 */
import type { ResolvedStep } from '../manifest/types.js';
import type { JournalEventBody } from '../journal/events.js';
import type { SnapshotQueries } from '../lookup/snapshots.js';
import { lookupStagesForStep } from '../lookup/forStep.js';
import type { RowStage } from './stage.js';
import { valueMapStages } from './valueMaps.js';
import { holdBackStages, releaseStages, type OrphanContext } from './orphans.js';
import { projectionStage } from './selfReferences.js';

export type StageContext = OrphanContext & {
  /** appends a journal event (a lookup's snapshot) and applies it to the run's state */
  record: (body: JournalEventBody) => Promise<void>;
  /** the target org's query jobs, for lookup snapshots; made only when a step has lookups */
  queries?: () => SnapshotQueries;
  signal?: AbortSignal;
};

/** a step's stages, and what frees what they hold (spilled key indexes) once its rows are through */
export type PreparedStages = { stages: RowStage[]; release(): Promise<void> };

export async function stagesFor(step: ResolvedStep, context: StageContext): Promise<PreparedStages> {
  // the second pass of a self-reference sends the key and the reference only: its first pass
  // resolved the lookups of the same rows already
  const lookups =
    step.lookups?.length && !step.selfReferenceOf && context.queries
      ? await lookupStagesForStep({
          step,
          state: context.state,
          folder: context.folder,
          record: context.record,
          queries: context.queries(),
          ...(context.signal ? { signal: context.signal } : {}),
        })
      : undefined;
  const stages = [
    ...(step.selfReferenceOf ? [projectionStage(step.selfReferenceOf)] : []),
    // values before the hold-back: a row held back or rejected later is then written to the dead letters with
    // the values it would have been uploaded with
    ...(await valueMapStages(step)),
    // lookups to target Ids (issue 12.1, 12.2), between the values and the hold-back: a held row's dead
    // letter carries the Ids already, and a retry of it passes them through (src/lookup/stages.ts)
    ...(lookups?.stages ?? []),
    ...(await holdBackStages(step, context)),
  ];
  return {
    stages,
    release: async (): Promise<void> => {
      await releaseStages(stages);
      await lookups?.close();
    },
  };
}
