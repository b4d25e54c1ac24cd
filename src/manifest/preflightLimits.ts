/*
 * The preflight's limits check: the plan's API calls and internal batches against what the org has
 * left today of DailyApiRequests and DailyBulkApiBatches (GET /limits). Separate from the describe
 * checks of preflight.ts because it reads the whole plan, not a step against its object: it asks the
 * org nothing itself and reports against the manifest as a whole.
 */
import { CALLS_PER_JOB_BESIDES_POLLS } from '../plan/budget.js';
import { buildPlan } from '../plan/plan.js';
import type { OrgCheck, Report } from './preflight.js';
import type { LoadedManifest } from './types.js';

/** Salesforce processes every ingest job in internal batches of this many records. */
const RECORDS_PER_INTERNAL_BATCH = 10_000;

/** Above this share of what remains today, the budget is worth a warning. */
const BUDGET_WARNING_SHARE = 0.5;

export type Limits = Record<string, { Max?: number; Remaining?: number } | undefined>;

/** The plan's API calls and internal batches against what the org has left today. */
export async function checkBudget(
  manifest: LoadedManifest,
  limits: Limits,
  report: Report,
): Promise<OrgCheck['limits'] | undefined> {
  let batches = 0;
  const plan = await buildPlan(manifest, {
    onJob: (_step, records) => {
      batches += Math.max(1, Math.ceil(records / RECORDS_PER_INTERNAL_BATCH));
    },
  });
  const firmCalls = plan.totals.jobs * CALLS_PER_JOB_BESIDES_POLLS;
  const result: NonNullable<OrgCheck['limits']> = {};
  const check = (
    limitName: string,
    estimated: number,
    firm: number,
    key: 'dailyApiRequests' | 'dailyBulkApiBatches',
  ): void => {
    const limit = limits[limitName];
    if (typeof limit?.Max !== 'number' || typeof limit.Remaining !== 'number') return;
    result[key] = { max: limit.Max, remaining: limit.Remaining, estimated };
    const tokens = [limitName, estimated, limit.Remaining, limit.Max];
    if (firm > limit.Remaining) {
      report('error', 'ApiBudget', { pointer: '' }, [limitName, firm, limit.Remaining, limit.Max], {
        message: 'problem.ApiBudget.exceeded',
      });
    } else if (estimated > limit.Remaining) {
      report('warning', 'ApiBudget', { pointer: '' }, tokens, {
        message: 'problem.ApiBudget.likely',
      });
    } else if (estimated > limit.Remaining * BUDGET_WARNING_SHARE) {
      report('warning', 'ApiBudget', { pointer: '' }, tokens);
    }
  };
  check('DailyApiRequests', plan.totals.apiCalls, firmCalls, 'dailyApiRequests');
  check('DailyBulkApiBatches', batches, batches, 'dailyBulkApiBatches');
  return Object.keys(result).length ? result : undefined;
}
