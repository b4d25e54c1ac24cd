import { resolve } from 'node:path';
import { Messages, Org } from '@salesforce/core';
import { Flags, SfCommand } from '@salesforce/sf-plugins-core';
import { manifestFlag, runOrgFlag } from '../../flags.js';
import { runRootOf } from '../../engine/runRoot.js';
import { runStatus, type StatusResult } from '../../engine/runStatus.js';
import { IngestJobClient } from '../../bulk/ingestJobClient.js';
import { exitCodesSection, plainExitCodes } from '../../exitCodes.js';
import { formatThroughput } from '../../ux/estimates.js';

Messages.importMessagesDirectoryFromMetaUrl(import.meta.url);
const messages = Messages.loadMessages('@sf-migrate/plugin-migrate', 'status');

export type { StatusResult };

export default class Status extends SfCommand<StatusResult> {
  public static override readonly summary = messages.getMessage('summary');
  public static override readonly description = messages.getMessage('description');
  public static override readonly examples = messages.getMessages('examples');
  public static override readonly errorCodes = exitCodesSection(plainExitCodes);

  public static override readonly flags = {
    'target-org': runOrgFlag,
    'api-version': Flags.orgApiVersion(),
    manifest: manifestFlag,
    'run-id': Flags.string({ char: 'r', summary: messages.getMessage('flags.run-id.summary') }),
    refresh: Flags.boolean({ summary: messages.getMessage('flags.refresh.summary') }),
  };

  public async run(): Promise<StatusResult> {
    const { flags } = await this.parse(Status);
    const apiVersion = flags['api-version'];
    const result = await runStatus({
      root: await runRootOf(flags.manifest ? resolve(flags.manifest) : undefined),
      ...(flags['run-id'] ? { runId: flags['run-id'] } : {}),
      ...(flags.refresh
        ? {
            refresh: async (run: { username: string }): Promise<{ client: IngestJobClient; orgId: string }> => {
              const org = await Org.create({ aliasOrUsername: flags['target-org'] ?? run.username });
              return { client: new IngestJobClient(org.getConnection(apiVersion)), orgId: org.getOrgId() };
            },
          }
        : {}),
    });
    this.log(headline(result));
    if (result.tornLine) this.warn(messages.getMessage('line.torn'));
    this.table({ data: stepRows(result), title: messages.getMessage('steps.title') });
    this.table({ data: jobRows(result), title: messages.getMessage('jobs.title') });
    return result;
  }
}

function headline(result: StatusResult): string {
  switch (result.activity) {
    case 'finished':
      return messages.getMessage('line.finished', [
        result.runId,
        result.manifest,
        result.status ?? '',
        result.reason ? ` (${result.reason})` : '',
      ]);
    case 'running':
      return messages.getMessage('line.running', [
        result.runId,
        result.manifest,
        result.lock?.pid ?? '',
        result.lock?.host ?? '',
        result.lock?.startedAt ?? '',
      ]);
    case 'interrupted':
      return messages.getMessage('line.interrupted', [result.runId, result.manifest, result.resumeCommand ?? '']);
  }
}

const count = (value: number): string => value.toLocaleString('en-US');

function stepRows(result: StatusResult): Array<Record<string, string | number>> {
  return result.steps.map((step) => ({
    wave: step.wave + 1,
    step: step.step,
    object: step.object,
    operation: step.operation,
    status: step.gate ? `${step.status} (gate ${step.gate})` : step.status,
    records: count(step.records),
    succeeded: count(step.succeeded),
    failed: count(step.failed),
    unprocessed: count(step.unprocessed),
    jobs: step.jobs,
    rate: formatThroughput(step, (duration) => messages.getMessage('left', [duration])) ?? '',
  }));
}

function jobRows(result: StatusResult): Array<Record<string, string | number>> {
  return result.jobs.map((job) => ({
    step: job.step,
    chunk: job.chunk,
    attempt: job.attempt,
    job: job.jobId ?? '',
    phase: job.phase,
    records: count(job.records),
    state: job.state ?? '',
    processed: job.processed === undefined ? '' : count(job.processed),
    failed: job.failed === undefined ? '' : count(job.failed),
    ...(result.refreshed
      ? {
          live: job.live ? job.live.state : '',
          'live processed': job.live ? count(job.live.processed) : '',
          'live failed': job.live ? count(job.live.failed) : '',
        }
      : {}),
  }));
}
