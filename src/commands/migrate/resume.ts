import { resolve } from 'node:path';
import { Messages } from '@salesforce/core';
import { Flags, SfCommand } from '@salesforce/sf-plugins-core';
import { concurrencyFlag, keepJobsFlag, manifestFlag, runIdFlag, waitFlag } from '../../flags.js';
import { runRootOf } from '../../engine/runRoot.js';
import { resumeRun } from '../../engine/resumeRun.js';
import { driveRun, runOptionsOf, type RunResult } from '../../ux/runSession.js';
import { exitCodesSection, runExitCodes } from '../../exitCodes.js';

Messages.importMessagesDirectoryFromMetaUrl(import.meta.url);
const messages = Messages.loadMessages('@sf-migrate/plugin-migrate', 'resume');

export type ResumeResult = RunResult;

export default class Resume extends SfCommand<ResumeResult> {
  public static override readonly summary = messages.getMessage('summary');
  public static override readonly description = messages.getMessage('description');
  public static override readonly examples = messages.getMessages('examples');
  public static override readonly errorCodes = exitCodesSection(runExitCodes);

  public static override readonly flags = {
    'target-org': Flags.requiredOrg(),
    'api-version': Flags.orgApiVersion(),
    manifest: manifestFlag,
    'run-id': runIdFlag,
    wait: waitFlag,
    'keep-jobs': keepJobsFlag,
    concurrency: concurrencyFlag,
  };

  public async run(): Promise<ResumeResult> {
    const { flags } = await this.parse(Resume);
    const run = await resumeRun({
      root: await runRootOf(flags.manifest ? resolve(flags.manifest) : undefined),
      ...(flags['run-id'] ? { runId: flags['run-id'] } : {}),
      ...(flags.manifest ? { manifest: resolve(flags.manifest) } : {}),
      ...runOptionsOf(flags),
      onWarning: (message) => this.warn(message),
    });
    return driveRun(this, run, flags.wait);
  }
}
