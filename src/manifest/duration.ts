import { Messages } from '@salesforce/core';

Messages.importMessagesDirectoryFromMetaUrl(import.meta.url);
const messages = Messages.loadMessages('@sf-migrate/plugin-migrate', 'manifest');

const unitMs = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/** Milliseconds of a manifest duration ("500ms", "5s", "2m", "1h"); the schema admits no other form. */
export function parseDuration(text: string): number {
  const match = /^([1-9][0-9]*)(ms|s|m|h)$/.exec(text);
  if (!match) throw messages.createError('error.InvalidDuration', [text]);
  return Number(match[1]) * unitMs[match[2] as keyof typeof unitMs];
}
