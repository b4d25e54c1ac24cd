import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { expect } from 'chai';
import { Messages } from '@salesforce/core';

Messages.importMessagesDirectoryFromMetaUrl(import.meta.url);
const messages = Messages.loadMessages('@sf-migrate/plugin-migrate', 'journal');

describe('journal messages', () => {
  const sourceDir = fileURLToPath(new URL('../../src/journal', import.meta.url));
  const sources = readdirSync(sourceDir)
    .filter((name) => name.endsWith('.ts'))
    .map((name) => readFileSync(join(sourceDir, name), 'utf8'))
    .join('\n');

  it('every key the journal code uses exists', () => {
    const literal = [...sources.matchAll(/'((?:error|warning)\.[A-Za-z]+)'/g)].map((m) => m[1]);
    const transitions = [...sources.matchAll(/impossible\(event, '([A-Za-z]+)'/g)].map((m) => `transition.${m[1]}`);
    const sourceChanges = ['missing', 'size', 'content'].map((reason) => `sourceChange.${reason}`);
    const keys = [...new Set([...literal, ...transitions, ...sourceChanges])];
    expect(keys.length).to.be.greaterThan(25);
    for (const key of keys) expect(messages.messages.has(key), key).to.equal(true);
  });

  it('every error that tells the user to act has actions', () => {
    for (const key of [
      'error.JournalDiskFull',
      'error.RunLocked',
      'error.SourcesChanged',
      'error.JournalCorruptLine',
    ]) {
      expect(messages.messages.has(`${key}.actions`), key).to.equal(true);
    }
  });
});
