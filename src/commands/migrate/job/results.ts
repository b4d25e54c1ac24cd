import { Messages } from '@salesforce/core';
import { Flags, SfCommand } from '@salesforce/sf-plugins-core';
import { jobIdFlag, runOrgFlag } from '../../../flags.js';
import { jobResults, type JobResultsResult } from '../../../engine/jobControl.js';
import { cliJobOrgs } from '../../../engine/jobLookup.js';
import { exitCodesSection, plainExitCodes } from '../../../exitCodes.js';

Messages.importMessagesDirectoryFromMetaUrl(import.meta.url);
const messages = Messages.loadMessages('@sf-migrate/plugin-migrate', 'job.results');

export type { JobResultsResult };

export default class JobResults extends SfCommand<JobResultsResult> {
  public static override readonly summary = messages.getMessage('summary');
  public static override readonly description = messages.getMessage('description');
  public static override readonly examples = messages.getMessages('examples');
  public static override readonly errorCodes = exitCodesSection(plainExitCodes);

  public static override readonly flags = {
    'target-org': runOrgFlag,
    'api-version': Flags.orgApiVersion(),
    'job-id': jobIdFlag,
    'output-dir': Flags.directory({ char: 'd', summary: messages.getMessage('flags.output-dir.summary') }),
  };

  public async run(): Promise<JobResultsResult> {
    const { flags } = await this.parse(JobResults);
    const result = await jobResults(flags['job-id'], {
      orgs: await cliJobOrgs(flags['target-org'], flags['api-version']),
      ...(flags['output-dir'] ? { outputDir: flags['output-dir'] } : {}),
      onWarning: (message) => this.warn(message),
    });
    this.log(messages.getMessage('line.saved', [result.jobId, result.state]));
    this.table({
      data: (['success', 'failed', 'unprocessed'] as const).map((kind) => ({
        file: result.files[kind],
        records: result.counts[kind].toLocaleString('en-US'),
      })),
    });
    if (result.journaled && result.run) this.log(messages.getMessage('line.journaled', [result.run.runId]));
    return result;
  }
}
