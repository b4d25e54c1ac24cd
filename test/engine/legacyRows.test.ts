/*
 * The pre-upload row pass in a run against the local org (issue 12.3, 12.6): Account types mapped
 * from old codes (an unmapped code is not sent), one Account failing in the org, the Contacts of
 * both held back and never sent, every record accounted for once; then `retry` of the fixed dead
 * letters loads the parents and their held children in one run. And the crash window of the pass:
 * its files durable, its journal line not written.
 */
import { cp, readdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { expect } from 'chai';
import { loadManifestOrThrow } from '../../src/manifest/load.js';
import { MigrationRun, type RunOptions } from '../../src/engine/migrationRun.js';
import { retryDeadLetters } from '../../src/engine/retryRun.js';
import { RunVerification } from '../../src/verify/verifyRun.js';
import { StepPreparation } from '../../src/prepare/stepPreparation.js';
import { applyEvent, emptyRunState, replayJournal, type RunState } from '../../src/journal/state.js';
import type { JournalEventBody } from '../../src/journal/events.js';
import * as build from '../../src/journal/eventBuilders.js';
import { runFolder } from '../../src/journal/runFolder.js';
import { fingerprintFile } from '../../src/journal/fingerprint.js';
import { createScaffold, type Scaffold } from './runScaffold.js';

/** every result file of a step's jobs, concatenated: what the org was sent, row by row */
async function resultsOf(runDir: string, step: string): Promise<string> {
  const dir = join(runDir, 'results', step);
  const names = await readdir(dir);
  const texts = await Promise.all(names.map((name) => readFile(join(dir, name), 'utf8')));
  return texts.join('\n');
}

describe('the row pass in a run: value maps and orphan hold-back', function () {
  this.timeout(120_000);
  let scaffold: Scaffold;
  let manifestPath: string;

  beforeEach(async () => {
    scaffold = await createScaffold();
    const data = join(scaffold.dir, 'data');
    await writeFile(
      join(data, 'types.csv'),
      // the map file: old code, Account type
      'code,type\nP,Prospect\nC,Customer - Direct\n',
    );
    await writeFile(join(data, 'a.csv'), 'Name,Legacy_Id__c,Type\nAcme,A1,P\n,A2,C\nInitech,A3,X\nHooli,A4,\n');
    await writeFile(
      join(data, 'c.csv'),
      'LastName,Legacy_Id__c,Account.Legacy_Id__c\nSmith,C1,A1\nJones,C2,a2\nBrown,C3,A3\nGreen,C4,\nWhite,C5,A4\n',
    );
    manifestPath = join(scaffold.dir, 'legacy.json');
    await writeFile(
      manifestPath,
      JSON.stringify({
        name: 'legacy',
        defaults: {
          operation: 'upsert',
          externalIdField: 'Legacy_Id__c',
          poll: { initial: '10ms', max: '40ms' },
          failureThreshold: { percent: 100 },
        },
        steps: [
          {
            id: 'accounts',
            object: 'Account',
            source: join(data, 'a.csv'),
            valueMaps: { Type: { file: 'data/types.csv' } },
          },
          { id: 'contacts', object: 'Contact', source: join(data, 'c.csv') },
        ],
      }),
    );
  });
  afterEach(() => scaffold.cleanup());

  const options = (): RunOptions => ({
    connection: scaffold.connection,
    username: scaffold.org.username,
    orgId: scaffold.org.orgId,
  });

  it('sends no orphan and no unmapped row, accounts for each; retry loads them once the parent is fixed', async () => {
    const run = await MigrationRun.start(await loadManifestOrThrow(manifestPath), options());
    const outcome = await run.execute();
    const accounts = outcome.steps.find((step) => step.step === 'accounts')!;
    const contacts = outcome.steps.find((step) => step.step === 'contacts')!;
    expect(accounts).to.include({ records: 4, succeeded: 2, failed: 2, unprocessed: 0 });
    expect(accounts.failuresByCode).to.deep.equal({ VALUE_NOT_MAPPED: 1, REQUIRED_FIELD_MISSING: 1 });
    expect(contacts).to.include({ records: 5, succeeded: 3, failed: 2, unprocessed: 0 });
    expect(contacts.failuresByCode).to.deep.equal({ PARENT_FAILED: 2 });

    // the org never saw the unmapped account nor the two orphans: a job's results list every row it got
    expect(await resultsOf(run.folder.dir, 'accounts')).to.not.include('Initech');
    const sentContacts = await resultsOf(run.folder.dir, 'contacts');
    for (const name of ['Jones', 'Brown']) expect(sentContacts).to.not.include(name);
    const types: Record<string, unknown> = Object.fromEntries(
      scaffold.org.store.records('Account').map((r) => [String(r.Legacy_Id__c), r.Type ?? null]),
    );
    expect(types).to.deep.equal({ A1: 'Prospect', A4: null });

    const accountLetters = await readFile(join(run.folder.dir, 'dead-letter', 'accounts.csv'), 'utf8');
    expect(accountLetters).to.include('Initech,A3,X,VALUE_NOT_MAPPED,"value ""X"" of column Type has no mapping"\n');
    const contactLetters = await readFile(join(run.folder.dir, 'dead-letter', 'contacts.csv'), 'utf8');
    expect(contactLetters).to.equal(
      'LastName,Legacy_Id__c,Account.Legacy_Id__c,sf__ErrorCode,sf__ErrorMessage\n' +
        'Jones,C2,a2,PARENT_FAILED,parent a2 of step accounts failed (REQUIRED_FIELD_MISSING)\n' +
        'Brown,C3,A3,PARENT_FAILED,parent A3 of step accounts failed (VALUE_NOT_MAPPED)\n',
    );
    const journal = await replayJournal(run.folder.journalPath);
    expect(journal.steps.get('accounts')!.prepared).to.have.lengthOf(1);
    expect(journal.steps.get('contacts')!.prepared![0].rejected[0].records).to.equal(2);

    // verify (issue 13) counts the rows never sent as held back, and the run reconciles: every source
    // record succeeded or is a dead letter, and every record written is in the org
    const verified = await new RunVerification().verify({
      root: scaffold.root,
      runId: run.runId,
      org: () => Promise.resolve({ connection: scaffold.connection, orgId: scaffold.org.orgId }),
      query: { pollInitialMs: 5, pollMaxMs: 20 },
    });
    expect(verified.discrepancies).to.deep.equal([]);
    expect(verified.verified).to.equal(true);
    expect(verified.steps.map((step) => [step.step, step.sourceRecords, step.heldBack])).to.deep.equal([
      ['accounts', 4, 1],
      ['contacts', 5, 2],
    ]);

    // the user fixes the parents in their dead letters: a name, and a type as the org knows it
    const fixed = accountLetters
      .replace(',A2,Customer - Direct,', 'Globex,A2,Customer - Direct,')
      .replace(',A3,X,', ',A3,Partner,');
    await writeFile(join(run.folder.dir, 'dead-letter', 'accounts.csv'), fixed);
    const retry = await retryDeadLetters({ ...options(), root: scaffold.root, runId: run.runId });
    const retried = await retry.execute();
    expect(retried.status).to.equal('succeeded');
    expect(retried.steps.map((step) => [step.step, step.succeeded, step.failed])).to.deep.equal([
      ['accounts', 2, 0],
      ['contacts', 2, 0],
    ]);
    const accountIds = new Map(scaffold.org.store.records('Account').map((r) => [r.Legacy_Id__c, r.Id]));
    const parentOf: Record<string, unknown> = Object.fromEntries(
      scaffold.org.store.records('Contact').map((r) => [String(r.Legacy_Id__c), r.AccountId ?? null]),
    );
    expect(parentOf).to.deep.equal({
      C1: accountIds.get('A1'),
      C2: accountIds.get('A2'),
      C3: accountIds.get('A3'),
      C4: null,
      C5: accountIds.get('A4'),
    });
  });

  it('holds the orphans back again when the retried parent fails again', async () => {
    const run = await MigrationRun.start(await loadManifestOrThrow(manifestPath), options());
    await run.execute();
    // nothing fixed: A2 fails again in the org; A3 is sent with its old code this time (no value
    // map runs on dead letters) and loads, so only A2's child is held again
    const retry = await retryDeadLetters({ ...options(), root: scaffold.root, runId: run.runId });
    const retried = await retry.execute();
    const contacts = retried.steps.find((step) => step.step === 'contacts')!;
    expect(contacts).to.include({ records: 2, succeeded: 1, failed: 1 });
    expect(contacts.failuresByCode).to.deep.equal({ PARENT_FAILED: 1 });
    const letters = await readFile(join(retry.folder.dir, 'dead-letter', 'contacts.csv'), 'utf8');
    expect(letters).to.include('Jones,C2,a2,PARENT_FAILED,parent a2 of step accounts failed (REQUIRED_FIELD_MISSING)');
  });

  it('runs the pass again when it crashed before its journal line, and never after it', async () => {
    const manifest = await loadManifestOrThrow(manifestPath);
    const step = manifest.steps.find((candidate) => candidate.id === 'accounts')!;
    const folder = runFolder(join(scaffold.dir, 'runs'), 'run-1');
    const state: RunState = emptyRunState();
    let seq = 0;
    const lines: JournalEventBody[] = [];
    const record = (body: JournalEventBody): Promise<void> => {
      lines.push(body);
      applyEvent(state, { ...body, seq: ++seq, time: new Date().toISOString() });
      return Promise.resolve();
    };
    await record(
      build.runStarted({
        runId: 'run-1',
        manifest: manifestPath,
        manifestSha256: 'x',
        username: 'u',
        orgId: '00D000000000001AAA',
        instanceUrl: 'http://127.0.0.1',
        apiVersion: '62.0',
        sources: [await fingerprintFile(step.files[0])],
      }),
    );
    await record(build.waveStarted(0, ['accounts']));
    await record(build.stepStarted('accounts', 0, step));

    const crashed = new StepPreparation(manifest, state, folder, () => Promise.reject(new Error('killed')));
    await crashed.filesOf(step).then(
      () => expect.fail('the crash should have stopped the pass'),
      (error: Error) => expect(error.message).to.equal('killed'),
    );
    const outDir = join(folder.dir, 'prepared', 'accounts', '0');
    expect((await readdir(outDir)).sort()).to.deep.equal(['rejected-1.csv', 'rows.csv']);
    expect(state.steps.get('accounts')!.prepared).to.equal(undefined);
    // a torn leftover must not be used: the pass starts again from the source
    await writeFile(join(outDir, 'rows.csv'), 'garbage\n');

    const files = await new StepPreparation(manifest, state, folder, record).filesOf(step);
    expect(files).to.deep.equal([join(outDir, 'rows.csv')]);
    expect(await readFile(files[0], 'utf8')).to.equal(
      'Name,Legacy_Id__c,Type\nAcme,A1,Prospect\n,A2,Customer - Direct\nHooli,A4,\n',
    );
    const prepared = lines.filter((line) => line.type === 'source.prepared');
    expect(prepared).to.have.lengthOf(1);
    expect(prepared[0]).to.deep.include({ rejected: [{ file: join(outDir, 'rejected-1.csv'), records: 1 }] });

    // a resume uses the journaled file; the pass never runs again
    const again = await new StepPreparation(manifest, state, folder, record).filesOf(step);
    expect(again).to.deep.equal(files);
    expect(lines.filter((line) => line.type === 'source.prepared')).to.have.lengthOf(1);
  });

  it('leaves a step without stages to its sources, with no pass and no journal line', async () => {
    const manifest = await loadManifestOrThrow(manifestPath);
    const step = manifest.steps.find((candidate) => candidate.id === 'contacts')!;
    const state = emptyRunState();
    const lines: JournalEventBody[] = [];
    const folder = runFolder(join(scaffold.dir, 'runs'), 'run-2');
    // the parent step has not failed anything (not even started): no hold-back, no pass
    const files = await new StepPreparation(manifest, state, folder, (body) => {
      lines.push(body);
      return Promise.resolve();
    }).filesOf(step);
    expect(files).to.deep.equal(step.files);
    expect(lines).to.deep.equal([]);
  });
});

describe('the legacy-data example', function () {
  this.timeout(120_000);
  let scaffold: Scaffold;
  // the users and record types its lookups resolve against, as `sf migrate local-org start --seed` gives them
  beforeEach(async () => {
    scaffold = await createScaffold({ seed: resolve('examples', 'legacy-data', 'seed.json') });
  });
  afterEach(() => scaffold.cleanup());

  it('loads the legacy-data example as its README says', async () => {
    const example = join(scaffold.dir, 'example');
    await cp(resolve('examples', 'legacy-data'), example, { recursive: true });
    const run = await MigrationRun.start(await loadManifestOrThrow(join(example, 'migration.json')), {
      connection: scaffold.connection,
      username: scaffold.org.username,
      orgId: scaffold.org.orgId,
    });
    const outcome = await run.execute();
    expect(outcome.status).to.equal('completedWithFailures');
    const books = Object.fromEntries(outcome.steps.map((step) => [step.step, [step.succeeded, step.failed]]));
    expect(books).to.deep.equal({
      accounts: [5, 1],
      contacts: [5, 1],
      'accounts.self': [3, 0],
      'contacts.self': [3, 0],
    });
    const recordTypes = new Map(scaffold.org.store.records('RecordType').map((r) => [r.Id, r.DeveloperName]));
    const accounts = scaffold.org.store.records('Account');
    const keyOf = new Map(accounts.map((record) => [record.Id, record.Legacy_Id__c]));
    const shape = Object.fromEntries(
      accounts.map((r) => [
        String(r.Legacy_Id__c),
        [r.Type, r.Industry ?? null, keyOf.get(r.ParentId) ?? null, recordTypes.get(r.RecordTypeId)],
      ]),
    );
    expect(shape).to.deep.equal({
      'LG-A1': ['Customer - Direct', 'Finance', null, 'Customer_Account'],
      'LG-A2': ['Customer - Direct', 'Retail', 'LG-A1', 'Customer_Account'],
      'LG-A3': ['Partner', 'Retail', 'LG-A2', 'Partner_Account'],
      'LG-A4': ['Prospect', 'Technology', null, 'Customer_Account'],
      'LG-A5': ['Prospect', null, 'LG-A4', 'Partner_Account'],
    });
    // owners by e-mail: the inactive Erik Lund's contact and the unknown address go to the default owner
    const emails = new Map(scaffold.org.store.records('User').map((r) => [r.Id, r.Email]));
    const owners = Object.fromEntries(
      scaffold.org.store.records('Contact').map((r) => [String(r.Legacy_Id__c), emails.get(r.OwnerId)]),
    );
    expect(owners).to.deep.equal({
      'LG-C1': 'anna.holm@northwind.example',
      'LG-C2': 'ops@northwind.example',
      'LG-C3': 'claire.dubois@northwind.example',
      'LG-C4': 'ops@northwind.example',
      'LG-C5': 'anna.holm@northwind.example',
    });

    // as the README says: Fabrikam's type fixed in its dead letter (which still holds its record type's
    // name), then retry; Novak's dead letter holds the OwnerId its lookup resolved, which passes through
    const letters = join(run.folder.dir, 'dead-letter', 'accounts.csv');
    await writeFile(letters, (await readFile(letters, 'utf8')).replace(',OLD,', ',Customer - Direct,'));
    const retry = await retryDeadLetters({
      connection: scaffold.connection,
      username: scaffold.org.username,
      orgId: scaffold.org.orgId,
      root: join(example, '.sf-migrate', 'runs'),
      runId: run.runId,
    });
    const retried = await retry.execute();
    expect(retried.status).to.equal('succeeded');
    const fabrikam = scaffold.org.store.records('Account').find((r) => r.Legacy_Id__c === 'LG-A6')!;
    expect([fabrikam.Type, recordTypes.get(fabrikam.RecordTypeId)]).to.deep.equal([
      'Customer - Direct',
      'Customer_Account',
    ]);
    const novak = scaffold.org.store.records('Contact').find((r) => r.Legacy_Id__c === 'LG-C6')!;
    expect([novak.AccountId, emails.get(novak.OwnerId)]).to.deep.equal([
      fabrikam.Id,
      'claire.dubois@northwind.example',
    ]);
  });
});
