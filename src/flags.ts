/* Flags that several commands share, defined once so they read and behave the same everywhere. */
import { Flags } from '@salesforce/sf-plugins-core';
import { Messages } from '@salesforce/core';

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

export const waitFlag = Flags.integer({
  char: 'w',
  summary: messages.getMessage('flags.wait.summary'),
  description: messages.getMessage('flags.wait.description'),
  min: 1,
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
