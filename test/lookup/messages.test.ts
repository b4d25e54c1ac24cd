import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { Messages } from '@salesforce/core';

Messages.importMessagesDirectoryFromMetaUrl(import.meta.url);
const messages = Messages.loadMessages('@sf-migrate/plugin-migrate', 'lookup');

describe('lookup messages', () => {
  it('every key the lookup code names exists', () => {
    const dir = fileURLToPath(new URL('../../src/lookup', import.meta.url));
    const sources = readdirSync(dir)
      .filter((name) => name.endsWith('.ts'))
      .map((name) => readFileSync(join(dir, name), 'utf8'))
      .join('\n');
    const keys = [
      ...new Set(
        [...sources.matchAll(/'((?:error|problem|reject|check|snapshot|resolvesTo)\.[A-Za-z_]+)'/g)].map((m) => m[1]),
      ),
    ];
    expect(keys.length).to.be.greaterThan(20);
    for (const key of keys) expect(messages.messages.has(key), key).to.equal(true);
  });
});
