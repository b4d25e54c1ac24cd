/*
 * The one place that decides which row stages a step's rows go through before upload, in order.
 * A step with none is uploaded from its sources as before (no pass, byte copies stay byte copies).
 */
import type { ResolvedStep } from '../manifest/types.js';
import type { RowStage } from './stage.js';
import { valueMapStages } from './valueMaps.js';
import { holdBackStages, type OrphanContext } from './orphans.js';
import { projectionStage } from './selfReferences.js';

export type StageContext = OrphanContext;

export async function stagesFor(step: ResolvedStep, context: StageContext): Promise<RowStage[]> {
  return [
    // the second pass of a self-reference sends the key and the reference only
    ...(step.selfReferenceOf ? [projectionStage(step.selfReferenceOf)] : []),
    // values before the hold-back: a row held back or rejected later is then written to the dead letters with
    // the values it would have been uploaded with
    ...(await valueMapStages(step)),
    // lookups to target Ids (issue 12.1, 12.2) go here, between the values and the hold-back
    ...(await holdBackStages(step, context)),
  ];
}
