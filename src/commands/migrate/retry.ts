import { resolve } from 'node:path';
import { Messages } from '@salesforce/core';
import { Flags } from '@salesforce/sf-plugins-core';
import { concurrencyFlag, keepJobsFlag, manifestFlag, runIdFlag, runOrgFlag, waitFlag } from '../../flags.js';
import { runRootOf } from '../../engine/runRoot.js';
import { locateRetriedRun, retryDeadLetters } from '../../engine/retryRun.js';
import { orgOfRun } from '../../engine/runOrg.js';
import { retryCommand } from '../../engine/commandLines.js';
import { RunSessionCommand, runOptionsOf, type RunResult } from '../../ux/runSession.js';
import { exitCodesSection, runExitCodes } from '../../exitCodes.js';

Messages.importMessagesDirectoryFromMetaUrl(import.meta.url);
const messages = Messages.loadMessages('@sf-migrate/plugin-migrate', 'retry');

export type RetryResult = RunResult;

// eslint-disable-next-line sf-plugin/only-extend-SfCommand -- adds no flags: signals and error reports
export default class Retry extends RunSessionCommand {
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
    step: Flags.string({ char: 's', summary: messages.getMessage('flags.step.summary'), multiple: true }),
    wait: waitFlag,
    'keep-jobs': keepJobsFlag,
    concurrency: concurrencyFlag,
  };

  public async run(): Promise<RetryResult> {
    const { flags } = await this.parse(Retry);
    const manifest = flags.manifest ? resolve(flags.manifest) : undefined;
    this.errorContext.runRoot = await runRootOf(manifest);
    // the run first: a retry loads into the org its run loaded into
    const found = await locateRetriedRun(this.errorContext.runRoot, flags['run-id'], manifest);
    const org = await orgOfRun(found, {
      ...(flags['target-org'] ? { targetOrg: flags['target-org'] } : {}),
      command: (targetOrg) => retryCommand(found.manifest ?? manifest, found.runId, targetOrg ? { targetOrg } : {}),
    });
    const run = await retryDeadLetters({
      root: this.errorContext.runRoot,
      runId: found.runId,
      ...(manifest ? { manifest } : {}),
      ...(flags.step ? { steps: flags.step } : {}),
      ...runOptionsOf({ ...flags, 'target-org': org }),
    });
    return this.drive(run, flags.wait);
  }
}
