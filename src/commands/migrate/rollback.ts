import { resolve } from 'node:path';
import { Messages } from '@salesforce/core';
import { Flags } from '@salesforce/sf-plugins-core';
import { concurrencyFlag, keepJobsFlag, manifestFlag, runIdFlag, runOrgFlag, waitFlag } from '../../flags.js';
import { runRootOf } from '../../engine/runRoot.js';
import { orgOfRun } from '../../engine/runOrg.js';
import { locateRolledBackRun, rollbackCommand, rollbackRun } from '../../rollback/rollbackRun.js';
import type { RollbackStepPlan } from '../../rollback/rollbackPlan.js';
import { RunSessionCommand, runOptionsOf, type RunResult } from '../../ux/runSession.js';
import { exitCodesSection, runExitCodes } from '../../exitCodes.js';

Messages.importMessagesDirectoryFromMetaUrl(import.meta.url);
const messages = Messages.loadMessages('@sf-migrate/plugin-migrate', 'rollback');

export type RollbackResult = {
  /** the run undone */
  rollbackOf: string;
  dryRun: boolean;
  /** per step of the undone run, in rollback order */
  steps: RollbackStepPlan[];
  /** records changed in the org after the run */
  conflicts: number;
  /** where they are listed (absent for a dry run, which keeps no file) */
  conflictsFile?: string;
  /** the rollback run (absent for a dry run, or when there was nothing to undo) */
  run?: RunResult;
};

// eslint-disable-next-line sf-plugin/only-extend-SfCommand -- signals and error reports of a run
export default class Rollback extends RunSessionCommand<RollbackResult> {
  public static override readonly summary = messages.getMessage('summary');
  public static override readonly description = messages.getMessage('description');
  public static override readonly examples = messages.getMessages('examples');
  public static override readonly errorCodes = exitCodesSection(runExitCodes);

  // eslint-disable-next-line sf-plugin/spread-base-flags -- RunSessionCommand declares no flags
  public static override readonly flags = {
    'target-org': runOrgFlag,
    'api-version': Flags.orgApiVersion(),
    manifest: manifestFlag,
    'run-id': runIdFlag,
    'dry-run': Flags.boolean({ summary: messages.getMessage('flags.dry-run.summary') }),
    'hard-delete': Flags.boolean({ summary: messages.getMessage('flags.hard-delete.summary') }),
    force: Flags.boolean({ summary: messages.getMessage('flags.force.summary') }),
    wait: waitFlag,
    'keep-jobs': keepJobsFlag,
    concurrency: concurrencyFlag,
  };

  public async run(): Promise<RollbackResult> {
    const { flags } = await this.parse(Rollback);
    const manifest = flags.manifest ? resolve(flags.manifest) : undefined;
    this.errorContext.runRoot = await runRootOf(manifest);
    // the run first: a rollback acts on the org its run loaded into
    const found = await locateRolledBackRun(this.errorContext.runRoot, flags['run-id'], manifest);
    const org = await orgOfRun(found, {
      ...(flags['target-org'] ? { targetOrg: flags['target-org'] } : {}),
      command: (targetOrg) => rollbackCommand(found.manifest ?? manifest, found.runId, targetOrg),
    });
    const { plan, run } = await rollbackRun({
      root: this.errorContext.runRoot,
      runId: found.runId,
      ...(manifest ? { manifest } : {}),
      dryRun: flags['dry-run'],
      hardDelete: flags['hard-delete'],
      force: flags.force,
      ...runOptionsOf({ ...flags, 'target-org': org }),
    });
    this.log(messages.getMessage('plan.title', [plan.runId]));
    for (const step of plan.steps) this.log(`  ${stepLine(step, plan.forced)}`);
    if (plan.conflicts > 0 && !plan.forced) {
      this.warn(messages.getMessage('plan.conflicts', [plan.conflicts, plan.conflictsFile || '-']));
    }
    const result: RollbackResult = {
      rollbackOf: plan.runId,
      dryRun: flags['dry-run'],
      steps: plan.steps,
      conflicts: plan.conflicts,
      ...(plan.conflictsFile ? { conflictsFile: plan.conflictsFile } : {}),
    };
    if (flags['dry-run']) {
      this.log(messages.getMessage('plan.dryRun'));
      return result;
    }
    if (!run) {
      this.log(messages.getMessage('plan.nothing', [plan.runId]));
      return result;
    }
    return { ...result, run: await this.drive(run, flags.wait) };
  }
}

function stepLine(step: RollbackStepPlan, forced: boolean): string {
  return messages.getMessage('step.line', [
    step.step,
    step.object,
    step.operation,
    step.toDelete,
    step.toRestore,
    step.changedAfterRun,
    forced && step.changedAfterRun > 0 ? messages.getMessage('step.forced') : '',
    step.missing,
    step.withoutBeforeImage > 0 ? messages.getMessage('step.noImage', [step.withoutBeforeImage]) : '',
    step.deletedByRun > 0
      ? messages.getMessage('step.deleted', [step.deletedByRun, step.deletedRowImages.join(', ') || '-'])
      : '',
  ]);
}
