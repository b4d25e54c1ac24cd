import { Messages } from '@salesforce/core';
import { Flags, SfCommand } from '@salesforce/sf-plugins-core';
import { jobIdFlag, runOrgFlag } from '../../../flags.js';
import { jobStatus, type JobStatusResult } from '../../../engine/jobControl.js';
import { cliJobOrgs } from '../../../engine/jobLookup.js';
import { exitCodesSection, plainExitCodes } from '../../../exitCodes.js';

Messages.importMessagesDirectoryFromMetaUrl(import.meta.url);
const messages = Messages.loadMessages('@sf-migrate/plugin-migrate', 'job.status');

export type { JobStatusResult };

export default class JobStatus extends SfCommand<JobStatusResult> {
  public static override readonly summary = messages.getMessage('summary');
  public static override readonly description = messages.getMessage('description');
  public static override readonly examples = messages.getMessages('examples');
  public static override readonly errorCodes = exitCodesSection(plainExitCodes);

  public static override readonly flags = {
    'target-org': runOrgFlag,
    'api-version': Flags.orgApiVersion(),
    'job-id': jobIdFlag,
  };

  public async run(): Promise<JobStatusResult> {
    const { flags } = await this.parse(JobStatus);
    const result = await jobStatus(flags['job-id'], await cliJobOrgs(flags['target-org'], flags['api-version']));
    this.log(
      messages.getMessage('line.job', [
        result.jobId,
        result.operation,
        result.object,
        result.state,
        result.processed.toLocaleString('en-US'),
        result.failed.toLocaleString('en-US'),
      ]),
    );
    if (result.errorMessage) this.log(messages.getMessage('line.error', [result.errorMessage]));
    if (result.run) {
      const { run } = result;
      this.log(messages.getMessage('line.run', [run.runId, run.step, run.chunk, run.phase ?? '-', run.runDir]));
    }
    return result;
  }
}
