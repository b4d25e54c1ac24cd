import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { expect } from 'chai';
import { Messages } from '@salesforce/core';
import type { DiscrepancyKind } from '../../src/verify/types.js';

Messages.importMessagesDirectoryFromMetaUrl(import.meta.url);
const messages = Messages.loadMessages('@sf-migrate/plugin-migrate', 'verify');

describe('verify messages', () => {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const sources = [
    ...readdirSync(join(root, 'src', 'verify')).map((name) => join(root, 'src', 'verify', name)),
    join(root, 'src', 'commands', 'migrate', 'verify.ts'),
  ]
    .map((file) => readFileSync(file, 'utf8'))
    .join('\n');

  it('every key verify uses exists, and every error it raises has actions', () => {
    const used = [
      ...new Set([...sources.matchAll(/'((?:error|line|flags|kind|report)\.[A-Za-z.-]+)'/g)].map((m) => m[1])),
    ];
    expect(used).to.include.members(['error.RunNotFinished', 'error.NoFinishedRun', 'line.verified']);
    for (const key of used) expect(messages.messages.has(key), key).to.equal(true);
    for (const key of used.filter((k) => k.startsWith('error.'))) {
      expect(messages.messages.has(`${key}.actions`), `${key}.actions`).to.equal(true);
    }
  });

  it('names every kind of discrepancy for people', () => {
    const kinds: DiscrepancyKind[] = [
      'unaccounted',
      'notRun',
      'missing',
      'stillPresent',
      'duplicate',
      'emptyLookup',
      'fieldMismatch',
    ];
    for (const kind of kinds)
      expect(messages.getMessage(`kind.${kind}`))
        .to.be.a('string')
        .and.not.equal('');
  });
});
