import { Messages } from '@salesforce/core';
import { Flags, SfCommand } from '@salesforce/sf-plugins-core';
import { jobIdFlag, runOrgFlag, waitFlagOf } from '../../../flags.js';
import { resumeJob, type JobResumeResult } from '../../../engine/jobControl.js';
import { cliJobOrgs } from '../../../engine/jobLookup.js';
import { ExitCode } from '../../../engine/outcome.js';
import { exitCodesSection, plainExitCodes } from '../../../exitCodes.js';

Messages.importMessagesDirectoryFromMetaUrl(import.meta.url);
const messages = Messages.loadMessages('@sf-migrate/plugin-migrate', 'job.resume');

export type JobResumeCommandResult = JobResumeResult & { exitCode: 0 | typeof ExitCode.waiting };

export default class JobResume extends SfCommand<JobResumeCommandResult> {
  public static override readonly summary = messages.getMessage('summary');
  public static override readonly description = messages.getMessage('description');
  public static override readonly examples = messages.getMessages('examples');
  public static override readonly errorCodes = exitCodesSection({ ...plainExitCodes, 69: 'job.waiting' });

  public static override readonly flags = {
    'target-org': runOrgFlag,
    'api-version': Flags.orgApiVersion(),
    'job-id': jobIdFlag,
    wait: waitFlagOf({ summary: messages.getMessage('flags.wait.summary') }),
  };

  public async run(): Promise<JobResumeCommandResult> {
    const { flags } = await this.parse(JobResume);
    const jobId = flags['job-id'];
    // started by the first poll: a refused job prints nothing but its error
    let polling = false;
    let result: JobResumeResult;
    try {
      result = await resumeJob(jobId, {
        orgs: await cliJobOrgs(flags['target-org'], flags['api-version']),
        ...(flags.wait ? { signal: AbortSignal.timeout(flags.wait.milliseconds) } : {}),
        onPoll: (info) => {
          if (!polling) this.spinner.start(messages.getMessage('spinner.polling', [jobId]));
          polling = true;
          this.spinner.status = messages.getMessage('spinner.state', [
            info.state,
            info.numberRecordsProcessed ?? 0,
            info.numberRecordsFailed ?? 0,
          ]);
        },
        onWarning: (message) => this.warn(message),
      });
    } finally {
      if (polling) this.spinner.stop();
    }
    if (result.status === 'waiting') {
      this.warn(messages.getMessage('line.waiting', [result.jobId, flags.wait?.toString() ?? '', result.nextCommand]));
      process.exitCode = ExitCode.waiting;
      return { ...result, exitCode: ExitCode.waiting };
    }
    this.logSuccess(
      messages.getMessage('line.finished', [
        result.jobId,
        result.state ?? '',
        result.processed ?? 0,
        result.failed ?? 0,
        result.runDir,
      ]),
    );
    const counts = result.results?.counts;
    if (counts) this.log(messages.getMessage('line.counts', [counts.success, counts.failed, counts.unprocessed]));
    this.log(messages.getMessage('line.next', [result.nextCommand]));
    return { ...result, exitCode: 0 };
  }
}
