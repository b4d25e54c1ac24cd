/*
 * The `sf migrate …` command lines printed for the user to run next (in errors' actions, in the
 * outcome of a run that is waiting, in `--json` results), built in one place so every one of them
 * pastes into a POSIX shell as it is shown: a manifest path with a space, a quote or a `$` is
 * quoted, and ids are quoted too if they ever hold anything but their usual characters.
 */

/** characters that mean nothing to a POSIX shell (in any position but the first, `=` included) */
const PLAIN = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** One argument as a POSIX shell reads it back verbatim: bare when plain, else single-quoted. */
export function shellQuote(argument: string): string {
  if (argument.length > 0 && PLAIN.test(argument)) return argument;
  // inside single quotes nothing is special but the quote itself: close, escape it, reopen
  return `'${argument.replace(/'/g, "'\\''")}'`;
}

const line = (...words: Array<string | undefined>): string =>
  ['sf', 'migrate', ...words.filter((word): word is string => word !== undefined)].join(' ');

const option = (name: string, value: string | undefined): string | undefined =>
  value === undefined ? undefined : `--${name} ${shellQuote(value)}`;

/** `sf migrate resume --manifest <m> --run-id <id> [--target-org <org>] [--ignore-job <job id>]…` */
export function resumeCommand(
  manifest: string | undefined,
  runId: string,
  options: { targetOrg?: string; ignoreJobs?: string[] } = {},
): string {
  return line(
    'resume',
    option('manifest', manifest),
    option('run-id', runId),
    option('target-org', options.targetOrg),
    ...(options.ignoreJobs ?? []).map((jobId) => option('ignore-job', jobId)),
  );
}

/** `sf migrate status --manifest <m> --run-id <id>` */
export function statusCommand(manifest: string | undefined, runId: string): string {
  return line('status', option('manifest', manifest), option('run-id', runId));
}

/** `sf migrate retry --manifest <m> [--run-id <id>] [--target-org <org>]` */
export function retryCommand(
  manifest: string | undefined,
  runId?: string,
  options: { targetOrg?: string } = {},
): string {
  return line('retry', option('manifest', manifest), option('run-id', runId), option('target-org', options.targetOrg));
}

/** `sf migrate run --manifest <m> --target-org <org> [--new]` */
export function runCommand(manifest: string, targetOrg: string, options: { new?: boolean } = {}): string {
  return line('run', option('manifest', manifest), option('target-org', targetOrg), options.new ? '--new' : undefined);
}

/** `sf migrate job <action> --job-id <id>` */
export function jobCommand(action: 'status' | 'resume' | 'abort' | 'results', jobId: string): string {
  return line('job', action, option('job-id', jobId));
}
