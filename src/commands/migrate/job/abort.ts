import { Messages } from '@salesforce/core';
import { Flags, SfCommand } from '@salesforce/sf-plugins-core';
import { jobIdFlag, runOrgFlag } from '../../../flags.js';
import { abortJob, type JobAbortResult } from '../../../engine/jobControl.js';
import { cliJobOrgs } from '../../../engine/jobLookup.js';
import { exitCodesSection, plainExitCodes } from '../../../exitCodes.js';

Messages.importMessagesDirectoryFromMetaUrl(import.meta.url);
const messages = Messages.loadMessages('@sf-migrate/plugin-migrate', 'job.abort');

export type { JobAbortResult };

export default class JobAbort extends SfCommand<JobAbortResult> {
  public static override readonly summary = messages.getMessage('summary');
  public static override readonly description = messages.getMessage('description');
  public static override readonly examples = messages.getMessages('examples');
  public static override readonly errorCodes = exitCodesSection(plainExitCodes);

  public static override readonly flags = {
    'target-org': runOrgFlag,
    'api-version': Flags.orgApiVersion(),
    'job-id': jobIdFlag,
  };

  public async run(): Promise<JobAbortResult> {
    const { flags } = await this.parse(JobAbort);
    const result = await abortJob(flags['job-id'], {
      orgs: await cliJobOrgs(flags['target-org'], flags['api-version']),
      onWarning: (message) => this.warn(message),
    });
    this.logSuccess(messages.getMessage('line.aborted', [result.jobId, result.previousState]));
    if (result.journaled !== 'none' && result.run) {
      const effect = messages.getMessage(`line.journaled.${result.journaled}`);
      this.log(messages.getMessage('line.journaled', [result.run.runId, result.journaled, effect]));
    }
    if (result.runLockedBy && result.run) {
      this.log(
        messages.getMessage('line.liveRun', [result.run.runId, result.runLockedBy.pid, result.runLockedBy.host]),
      );
    }
    return result;
  }
}
