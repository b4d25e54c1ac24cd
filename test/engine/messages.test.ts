import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { expect } from 'chai';
import { Messages } from '@salesforce/core';

Messages.importMessagesDirectoryFromMetaUrl(import.meta.url);
const messages = Messages.loadMessages('@sf-migrate/plugin-migrate', 'engine');

describe('engine messages', () => {
  const sourceDir = fileURLToPath(new URL('../../src/engine', import.meta.url));
  // the modules that speak through the engine bundle
  const sources = readdirSync(sourceDir)
    .filter((name) => name.endsWith('.ts'))
    .map((name) => readFileSync(join(sourceDir, name), 'utf8'))
    .filter((text) => text.includes("'@sf-migrate/plugin-migrate', 'engine'"))
    .join('\n');

  it('every key the engine code uses exists, and every error it raises has actions', () => {
    const used = [...sources.matchAll(/'((?:error|warning|reason|strayJob)\.[A-Za-z]+)'/g)].map((m) => m[1]);
    const keys = [...new Set(used)];
    expect(keys).to.include.members(['error.UnknownJobs', 'error.UnfinishedRun', 'warning.manifestChanged']);
    for (const key of keys) expect(messages.messages.has(key), key).to.equal(true);
    for (const key of ['error.UnknownJobs', 'error.UnfinishedRun', 'error.RunFolderIncomplete']) {
      expect(messages.messages.has(`${key}.actions`), key).to.equal(true);
    }
  });
});
