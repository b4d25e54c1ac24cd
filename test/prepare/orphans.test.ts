import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { FailedKeys, holdBackStage, type OrphanContext } from '../../src/prepare/orphans.js';
import type { ResolvedStep } from '../../src/manifest/types.js';
import { emptyRunState } from '../../src/journal/state.js';
import type { RunFolder } from '../../src/journal/runFolder.js';
import type { EventOf } from '../../src/journal/state.js';

const step = (id: string, object: string): ResolvedStep =>
  ({ id, object, operation: 'upsert', columnDelimiter: 'COMMA', mapping: {} }) as unknown as ResolvedStep;

describe('failed parent keys', () => {
  let dir: string;
  let context: OrphanContext;
  const accounts = step('accounts', 'Account');
  const contacts = step('contacts', 'Contact');

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sf-migrate-orphans-'));
    await mkdir(join(dir, 'dead-letter'));
    await writeFile(
      join(dir, 'dead-letter', 'accounts.csv'),
      'Name,Legacy_Id__c,sf__ErrorCode,sf__ErrorMessage\n,A2,REQUIRED_FIELD_MISSING,Required fields are missing\n' +
        'X,,DUPLICATE_VALUE,no key\nY,A7,UNPROCESSED,the job failed\n',
    );
    const state = emptyRunState();
    state.steps.set('accounts', {
      id: 'accounts',
      wave: 0,
      status: 'finished',
      chunks: [],
      finished: { deadLetters: ['dead-letter/accounts.csv'] } as EventOf<'step.finished'>,
    });
    context = { manifest: { steps: [accounts, contacts] } as never, state, folder: { dir } as RunFolder };
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('knows each failed key without case, with the code its row failed with', async () => {
    const keys = await FailedKeys.read(contacts, accounts, 'Legacy_Id__c', context);
    expect(keys.size).to.equal(2);
    expect(keys.codeOf('a2')).to.equal('REQUIRED_FIELD_MISSING');
    expect(keys.codeOf('A7')).to.equal('UNPROCESSED');
    expect(keys.codeOf('A1')).to.equal(undefined);
    const stage = holdBackStage('Account.Legacy_Id__c', contacts, 'accounts', keys, 'parent');
    expect(stage.columns(['LastName', 'Account.Legacy_Id__c'])).to.deep.equal(['LastName', 'Account.Legacy_Id__c']);
    expect(stage.apply(['Smith', 'A1'])).to.deep.equal(['Smith', 'A1']);
    expect(stage.apply(['Jones', ''])).to.deep.equal(['Jones', '']);
    expect(stage.apply(['Brown', 'A2'])).to.deep.equal({
      code: 'PARENT_FAILED',
      message: 'parent A2 of step accounts failed (REQUIRED_FIELD_MISSING)',
    });
  });

  it('finds keys of any length and script, one after another (encoded into a reused buffer)', async () => {
    const long = `L${'x'.repeat(400)}`;
    await writeFile(
      join(dir, 'dead-letter', 'accounts.csv'),
      `Name,Legacy_Id__c,sf__ErrorCode,sf__ErrorMessage\na,${long},LONG,m\nb,Ökö-€1,UMLAUT,m\nc,B2,SHORT,m\n`,
    );
    const keys = await FailedKeys.read(contacts, accounts, 'Legacy_Id__c', context);
    expect(keys.codeOf(long.toUpperCase())).to.equal('LONG');
    // a shorter key after a longer one: only the bytes written this time count
    expect(keys.codeOf('b2')).to.equal('SHORT');
    expect(keys.codeOf('B')).to.equal(undefined);
    expect(keys.codeOf('ÖKÖ-€1')).to.equal('UMLAUT');
    expect(keys.codeOf(`${long}x`)).to.equal(undefined);
    expect(keys.codeOf('€'.repeat(300))).to.equal(undefined);
  });

  it('sorts the keys to disk past its memory, and finds the same codes there', async () => {
    const lines = ['Name,Legacy_Id__c,sf__ErrorCode,sf__ErrorMessage'];
    for (let i = 0; i < 3000; i++) lines.push(`N${i},K${i},CODE_${i % 7},m`);
    lines.push('again,k5,OTHER,the first code of a key wins');
    await writeFile(join(dir, 'dead-letter', 'accounts.csv'), `${lines.join('\n')}\n`);
    const keys = await FailedKeys.read(contacts, accounts, 'Legacy_Id__c', { ...context, memoryBytes: 16 * 1024 });
    expect(keys.empty).to.equal(false);
    expect(keys.size, 'nothing kept in memory').to.equal(0);
    for (const i of [0, 1, 5, 63, 64, 65, 1234, 2999]) {
      // eslint-disable-next-line no-await-in-loop
      expect(await keys.codeOf(`k${i}`), `K${i}`).to.equal(`CODE_${i % 7}`);
    }
    expect(await keys.codeOf('K3000')).to.equal(undefined);
    expect(await keys.codeOf('A')).to.equal(undefined);
    const stage = holdBackStage('Account.Legacy_Id__c', contacts, 'accounts', keys, 'parent');
    stage.columns(['LastName', 'Account.Legacy_Id__c']);
    expect(await stage.apply(['Brown', 'K12'])).to.deep.equal({
      code: 'PARENT_FAILED',
      message: 'parent K12 of step accounts failed (CODE_5)',
    });
    expect(await stage.apply(['Smith', 'Z1'])).to.deep.equal(['Smith', 'Z1']);
    await keys.close();
  });
});
