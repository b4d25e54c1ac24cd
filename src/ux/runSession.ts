/*
 * What `run`, `resume` and `retry` share once they hold a MigrationRun: the live display, warnings,
 * the --wait budget, Ctrl-C and SIGTERM, the summary table and the exit code; and, for the whole
 * command, the one place where errors become actionable (errorReport.ts). Errors leave with an
 * action that names the exact resume command, since the journal always allows one.
 */
import { Messages, type Org } from '@salesforce/core';
import { SfCommand } from '@salesforce/sf-plugins-core';
import type { Duration } from '@salesforce/kit';
import type { MigrationRun, RunOptions } from '../engine/migrationRun.js';
import { ExitCode, SignalExitCode, type RunOutcome } from '../engine/outcome.js';
import { attachProgress } from './progress.js';
import { summaryTable } from './summary.js';
import { INTERRUPT_SIGNALS, RunInterrupt } from './interrupt.js';
import { actionableError, resumeCommandOf, type ErrorContext } from './errorReport.js';
import { printable } from './printable.js';

Messages.importMessagesDirectoryFromMetaUrl(import.meta.url);
const messages = Messages.loadMessages('@sf-migrate/plugin-migrate', 'run');

export type RunResult = RunOutcome & {
  exitCode: (typeof ExitCode)[keyof typeof ExitCode] | (typeof SignalExitCode)[keyof typeof SignalExitCode];
};

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

/** a command that drives a MigrationRun: `run`, `resume`, `retry`, `rollback` (whose result wraps the run's) */
export abstract class RunSessionCommand<Result = RunResult> extends SfCommand<Result> {
  /** what an error report can name; a command fills in what it learns before the run exists */
  protected readonly errorContext: ErrorContext = {};
  private readonly interrupt = new RunInterrupt({
    notify: (text): void => {
      process.stderr.write(`${printable(text)}\n`);
    },
    exit: (code): never => process.exit(code),
  });

  // eslint-disable-next-line no-underscore-dangle -- oclif's entry point, where SfCommand adds its signal listeners
  public override async _run<R>(): Promise<R> {
    const before = new Map(INTERRUPT_SIGNALS.map((name) => [name, new Set(process.listeners(name))]));
    // eslint-disable-next-line no-underscore-dangle -- see above
    const running = super._run<R>();
    // SfCommand._run registers, before its first await, listeners that call this.exit(130) for
    // SIGINT and SIGTERM: an ExitError thrown inside a signal listener, i.e. an uncaught exception
    // with a stack trace in the middle of a run, and 130 for SIGTERM too. This command handles both.
    for (const name of INTERRUPT_SIGNALS) {
      for (const listener of process.listeners(name)) {
        if (!before.get(name)?.has(listener)) process.removeListener(name, listener);
      }
    }
    this.interrupt.install();
    return running;
  }

  /** warnings echo data (job errors, file names): never raw control characters */
  public override warn(input: SfCommand.Warning): SfCommand.Warning {
    return super.warn(typeof input === 'string' ? printable(input) : { ...input, message: printable(input.message) });
  }

  public override async catch(error: Error & { exitCode?: number }): Promise<never> {
    return super.catch(actionableError(error, this.errorContext));
  }

  protected override async finally(error: Error | undefined): Promise<unknown> {
    this.interrupt.dispose();
    return super.finally(error);
  }

  /** runs `run` to its end, to the --wait budget, or to a signal; prints its summary */
  protected async drive(run: MigrationRun, wait?: Duration): Promise<RunResult> {
    this.errorContext.manifest = run.manifest;
    this.errorContext.run = {
      manifestPath: run.manifestPath,
      runId: run.runId,
      runDir: run.folder.dir,
      ...(run.state.started?.instanceUrl ? { instanceUrl: run.state.started.instanceUrl } : {}),
    };
    this.interrupt.resumeCommand = resumeCommandOf(this.errorContext.run);
    const stopProgress = attachProgress(run, { jsonEnabled: this.jsonEnabled() });
    run.on('warning', (message) => this.warn(message));
    const stops = [this.interrupt.signal, ...(wait ? [AbortSignal.timeout(wait.milliseconds)] : [])];
    let outcome: RunOutcome;
    try {
      outcome = await run.execute(AbortSignal.any(stops));
    } catch (error) {
      stopProgress('failed');
      throw error;
    }
    stopProgress(outcome.status === 'failed' ? 'failed' : outcome.status === 'waiting' ? 'paused' : 'completed');
    const table = summaryTable(outcome);
    this.table({ data: table.data, columns: table.columns, title: messages.getMessage('summary.title') });
    // a run that reached its end before the signal took effect reports that end, not the signal
    const interrupted = outcome.status === 'waiting' ? this.interrupt.exitCode : undefined;
    const exitCode = interrupted ?? ExitCode[outcome.status];
    const resume = outcome.resumeCommand ?? resumeCommandOf(this.errorContext.run);
    if (interrupted !== undefined) {
      this.warn(messages.getMessage('outcome.interrupted', [this.interrupt.signalName, resume]));
    } else {
      switch (outcome.status) {
        case 'succeeded':
          this.logSuccess(printable(messages.getMessage('outcome.succeeded', [outcome.runDir])));
          break;
        case 'completedWithFailures':
          this.warn(messages.getMessage('outcome.completedWithFailures', [outcome.runDir]));
          break;
        case 'waiting':
          this.warn(messages.getMessage('outcome.waiting', [wait?.toString() ?? '', resume]));
          break;
        case 'failed':
          this.warn(messages.getMessage('outcome.failed', [outcome.reason ?? '', outcome.runDir]));
          break;
      }
    }
    process.exitCode = exitCode;
    return { ...outcome, ...(outcome.status === 'waiting' ? { resumeCommand: resume } : {}), exitCode };
  }
}
