import { resolve } from 'node:path';
import { Messages } from '@salesforce/core';
import { Flags } from '@salesforce/sf-plugins-core';
import { concurrencyFlag, keepJobsFlag, manifestFlag, runIdFlag, runOrgFlag, waitFlag } from '../../flags.js';
import { runRootOf } from '../../engine/runRoot.js';
import { locateRunSummary, resumeRun } from '../../engine/resumeRun.js';
import { orgOfRun } from '../../engine/runOrg.js';
import { resumeCommand } from '../../engine/commandLines.js';
import { RunSessionCommand, runOptionsOf, type RunResult } from '../../ux/runSession.js';
import { exitCodesSection, runExitCodes } from '../../exitCodes.js';

Messages.importMessagesDirectoryFromMetaUrl(import.meta.url);
const messages = Messages.loadMessages('@sf-migrate/plugin-migrate', 'resume');

export type ResumeResult = RunResult;

// eslint-disable-next-line sf-plugin/only-extend-SfCommand -- adds no flags: signals and error reports
export default class Resume extends RunSessionCommand {
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
    wait: waitFlag,
    'keep-jobs': keepJobsFlag,
    concurrency: concurrencyFlag,
    'ignore-job': Flags.salesforceId({
      summary: messages.getMessage('flags.ignore-job.summary'),
      description: messages.getMessage('flags.ignore-job.description'),
      length: 'both',
      startsWith: '750',
      multiple: true,
    }),
  };

  public async run(): Promise<ResumeResult> {
    const { flags } = await this.parse(Resume);
    const manifest = flags.manifest ? resolve(flags.manifest) : undefined;
    this.errorContext.runRoot = await runRootOf(manifest);
    // the run first: it names the org it loads into
    const found = await locateRunSummary(this.errorContext.runRoot, flags['run-id'], manifest);
    const org = await orgOfRun(found, {
      ...(flags['target-org'] ? { targetOrg: flags['target-org'] } : {}),
      command: (targetOrg) =>
        resumeCommand(found.manifest ?? manifest, found.runId, {
          ...(targetOrg ? { targetOrg } : {}),
          ...(flags['ignore-job'] ? { ignoreJobs: flags['ignore-job'] } : {}),
        }),
    });
    const run = await resumeRun({
      root: this.errorContext.runRoot,
      runId: found.runId,
      ...(manifest ? { manifest } : {}),
      ...(flags['ignore-job'] ? { ignoreJobs: flags['ignore-job'] } : {}),
      ...runOptionsOf({ ...flags, 'target-org': org }),
      onWarning: (message) => this.warn(message),
    });
    return this.drive(run, flags.wait);
  }
}
