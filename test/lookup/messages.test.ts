import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { Messages, SfError } from '@salesforce/core';
import { refuseUnappliedLookups } from '../../src/lookup/runGuard.js';
import type { LoadedManifest, ResolvedStep } from '../../src/manifest/types.js';

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

  it('run refuses a manifest with lookups while they are not applied, naming the steps', () => {
    const step = (id: string, lookups?: ResolvedStep['lookups']): ResolvedStep =>
      ({ id, ...(lookups ? { lookups } : {}) }) as ResolvedStep;
    const manifest = (steps: ResolvedStep[]): LoadedManifest => ({ path: '/m.json', steps }) as LoadedManifest;
    expect(() => refuseUnappliedLookups(manifest([step('Account')]))).to.not.throw();
    try {
      refuseUnappliedLookups(manifest([step('Account'), step('Contact', [{ column: 'OwnerEmail', user: 'Email' }])]));
      expect.fail('lookups are not applied yet');
    } catch (error) {
      expect(error).to.be.instanceOf(SfError);
      expect((error as SfError).name).to.equal('LookupsNotAppliedError');
      expect((error as SfError).message).to.include('Contact');
      expect((error as SfError).actions?.join('\n')).to.include('sf migrate validate --manifest /m.json');
    }
  });
});
