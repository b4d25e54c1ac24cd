/* Flags that several commands share, defined once so they read and behave the same everywhere. */
import { Flags } from '@salesforce/sf-plugins-core';
import { Messages } from '@salesforce/core';
import { Duration } from '@salesforce/kit';

Messages.importMessagesDirectoryFromMetaUrl(import.meta.url);
const messages = Messages.loadMessages('@sf-migrate/plugin-migrate', 'flags');

export const manifestFlag = Flags.file({
  char: 'm',
  summary: messages.getMessage('flags.manifest.summary'),
  exists: true,
});

export const requiredManifestFlag = Flags.file({
  char: 'm',
  summary: messages.getMessage('flags.manifest.summary'),
  exists: true,
  required: true,
});

export const runIdFlag = Flags.string({
  char: 'r',
  summary: messages.getMessage('flags.run-id.summary'),
});

const waitUnits = {
  s: (n: number) => Duration.seconds(n),
  m: (n: number) => Duration.minutes(n),
  h: (n: number) => Duration.hours(n),
} as const;

/**
 * The value of a --wait flag: a bare whole number is minutes, as it always was; "30s", "10m" and
 * "2h" name their unit, as the manifest's durations do. Flags.duration takes one fixed unit and reads
 * "30s" as 30 of it (parseInt), so it cannot offer seconds without changing what `--wait 1` means.
 */
export function parseWait(input: string): Duration {
  const match = /^([1-9][0-9]*)(s|m|h)?$/.exec(input.trim());
  if (!match) throw messages.createError('error.InvalidWait', [input]);
  return waitUnits[(match[2] ?? 'm') as keyof typeof waitUnits](Number(match[1]));
}

/** a --wait flag (-w) whose value is a Duration; see parseWait */
export const waitFlagOf = Flags.custom<Duration>({
  char: 'w',
  helpValue: '<minutes>|<n>s|<n>h',
  // eslint-disable-next-line @typescript-eslint/require-await
  parse: async (input) => parseWait(input),
});

export const waitFlag = waitFlagOf({
  summary: messages.getMessage('flags.wait.summary'),
  description: messages.getMessage('flags.wait.description'),
});

export const keepJobsFlag = Flags.boolean({
  summary: messages.getMessage('flags.keep-jobs.summary'),
});

export const concurrencyFlag = Flags.integer({
  summary: messages.getMessage('flags.concurrency.summary'),
  min: 1,
  max: 50,
});

export const jobIdFlag = Flags.salesforceId({
  char: 'i',
  summary: messages.getMessage('flags.job-id.summary'),
  length: 'both',
  startsWith: '750',
  required: true,
});

/**
 * --target-org for commands that default to the org a run or job belongs to: unlike
 * Flags.optionalOrg it does not fall back to the sf default org, which may be another org.
 */
export const runOrgFlag = Flags.string({
  char: 'o',
  summary: messages.getMessage('flags.run-org.summary'),
});

/**
 * --target-org of `validate`: explicit only, so an offline check never quietly turns into a check
 * against the sf default org.
 */
export const preflightOrgFlag = Flags.string({
  char: 'o',
  summary: messages.getMessage('flags.preflight-org.summary'),
});
