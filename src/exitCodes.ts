/*
 * The EXIT CODES section of each command's help (sf-plugins-core's `errorCodes`), with every text
 * in messages/exit-codes.md, so a CI script's author reads what each code means in --help.
 */
import { Messages } from '@salesforce/core';
import { toHelpSection } from '@salesforce/sf-plugins-core';
import type { HelpSection } from '@oclif/core';

Messages.importMessagesDirectoryFromMetaUrl(import.meta.url);
const messages = Messages.loadMessages('@sf-migrate/plugin-migrate', 'exit-codes');

/** code → key of its text in messages/exit-codes.md */
export function exitCodesSection(codes: Record<number, string>): HelpSection {
  return toHelpSection(
    messages.getMessage('header'),
    Object.fromEntries(Object.entries(codes).map(([code, key]) => [code, messages.getMessage(key)])),
  );
}

/** what a command that succeeds or fails with an error exits with */
export const plainExitCodes = { 0: 'success', 1: 'error', 2: 'usage' } as const;

/** what `run`, `resume` and `retry` exit with (the codes of ExitCode in engine/outcome.ts) */
export const runExitCodes = {
  0: 'run.succeeded',
  1: 'run.failed',
  2: 'usage',
  68: 'run.completedWithFailures',
  69: 'run.waiting',
  75: 'run.network',
  130: 'interrupted',
  143: 'terminated',
} as const;
