/*
 * What `run` and `resume` share once they hold a MigrationRun: the live display, warnings, the
 * --wait budget, the summary table and the exit code. Errors leave with an action that names the
 * exact resume command, since the journal always allows one.
 */
import { Messages, SfError, type Org } from '@salesforce/core';
import type { SfCommand } from '@salesforce/sf-plugins-core';
import type { MigrationRun, RunOptions } from '../engine/migrationRun.js';
import { ExitCode, type RunOutcome } from '../engine/outcome.js';
import { attachProgress } from './progress.js';
import { summaryTable } from './summary.js';

Messages.importMessagesDirectoryFromMetaUrl(import.meta.url);
const messages = Messages.loadMessages('@sf-migrate/plugin-migrate', 'run');

export type RunResult = RunOutcome & { exitCode: (typeof ExitCode)[keyof typeof ExitCode] };

/** the flags `run`, `resume` and `retry` share, turned into the engine's options */
export function runOptionsOf(flags: {
  'target-org': Org;
  'api-version'?: string;
  'keep-jobs'?: boolean;
  concurrency?: number;
}): RunOptions {
  const org = flags['target-org'];
  return {
    connection: org.getConnection(flags['api-version']),
    username: org.getUsername() ?? '',
    orgId: org.getOrgId(),
    keepJobs: flags['keep-jobs'] ?? false,
    ...(flags.concurrency ? { concurrency: flags.concurrency } : {}),
  };
}

export async function driveRun(command: SfCommand<RunResult>, run: MigrationRun, waitMinutes?: number): Promise<RunResult> {
  const stopProgress = attachProgress(run, { jsonEnabled: command.jsonEnabled() });
  run.on('warning', (message) => command.warn(message));
  const budget = waitMinutes ? AbortSignal.timeout(waitMinutes * 60_000) : undefined;
  let outcome: RunOutcome;
  try {
    outcome = await run.execute(budget);
  } catch (error) {
    stopProgress(true);
    throw withResumeAction(error, run);
  }
  stopProgress(outcome.status === 'failed');
  const table = summaryTable(outcome);
  command.table({ data: table.data, columns: table.columns, title: messages.getMessage('summary.title') });
  const exitCode = ExitCode[outcome.status];
  switch (outcome.status) {
    case 'succeeded':
      command.logSuccess(messages.getMessage('outcome.succeeded', [outcome.runDir]));
      break;
    case 'completedWithFailures':
      command.warn(messages.getMessage('outcome.completedWithFailures', [outcome.runDir]));
      break;
    case 'waiting':
      command.warn(messages.getMessage('outcome.waiting', [waitMinutes ?? 0, outcome.resumeCommand ?? '']));
      break;
    case 'failed':
      command.warn(messages.getMessage('outcome.failed', [outcome.reason ?? '', outcome.runDir]));
      break;
  }
  process.exitCode = exitCode;
  return { ...outcome, exitCode };
}

function withResumeAction(error: unknown, run: MigrationRun): SfError {
  const sfError = SfError.wrap(error as Error);
  const resume = messages.getMessage('action.resume', [run.manifestPath, run.runId]);
  sfError.actions = [...(sfError.actions ?? []), resume];
  sfError.setData({ ...(typeof sfError.data === 'object' && sfError.data ? sfError.data : {}), runId: run.runId, runDir: run.folder.dir });
  return sfError;
}
