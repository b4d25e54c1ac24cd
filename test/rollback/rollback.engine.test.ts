/*
 * Before images and rollback in process against the local org: a run with inserts, upserts (some
 * matching records that existed before), updates and a failed row; then a record changed by hand
 * after the run; then the rollback. The org must end exactly as it was before the run (every field
 * of every record but the ones the org stamps itself), except the hand-changed record, which the
 * rollback reports and leaves alone.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';
import { loadManifestOrThrow } from '../../src/manifest/load.js';
import { MigrationRun } from '../../src/engine/migrationRun.js';
import { replayJournal } from '../../src/journal/state.js';
import { runFolder } from '../../src/journal/runFolder.js';
import { rollbackRun } from '../../src/rollback/rollbackRun.js';
import { resumeRun } from '../../src/engine/resumeRun.js';
import { createScaffold, type Scaffold } from '../engine/runScaffold.js';

/** fields the org stamps on every write: not part of what a rollback restores */
const STAMPED = new Set(['LastModifiedDate', 'LastModifiedById', 'SystemModstamp']);

type Export = Record<string, Record<string, unknown>>;

function exportOrg(scaffold: Scaffold): Record<string, Export> {
  const out: Record<string, Export> = {};
  for (const object of ['Account', 'Contact']) {
    out[object] = Object.fromEntries(
      scaffold.org.store.records(object).map((record) => [
        String(record.Id),
        // a field never set and one set to null read the same through the API (null)
        Object.fromEntries(
          Object.entries(record).filter(
            ([field, value]) => !STAMPED.has(field) && value !== null && value !== undefined,
          ),
        ),
      ]),
    );
  }
  return out;
}

describe('rollback against the local org', function () {
  this.timeout(120_000);
  let scaffold: Scaffold;

  beforeEach(async () => {
    scaffold = await createScaffold();
  });
  afterEach(() => scaffold.cleanup());

  const options = (): { connection: Scaffold['connection']; username: string; orgId: string } => ({
    connection: scaffold.connection,
    username: scaffold.org.username,
    orgId: scaffold.org.orgId,
  });

  async function runManifest(name: string, manifest: object): Promise<MigrationRun> {
    const path = join(scaffold.dir, `${name}.json`);
    await writeFile(path, JSON.stringify(manifest, null, 2));
    const run = await MigrationRun.start(await loadManifestOrThrow(path), options());
    const outcome = await run.execute();
    expect(outcome.status, JSON.stringify(outcome)).to.not.equal('failed');
    return run;
  }

  async function data(file: string, text: string): Promise<string> {
    const path = join(scaffold.dir, 'data', file);
    await writeFile(path, text);
    return path;
  }

  /** the records that exist before the migration, loaded by a first run of their own */
  async function seed(): Promise<Map<string, string>> {
    await runManifest('seed', {
      name: 'seed',
      runFolder: join(scaffold.dir, 'seed-runs'),
      defaults: { poll: { initial: '10ms', max: '40ms' } },
      steps: [
        {
          object: 'Account',
          source: await data('seed.csv', 'Name,Legacy_Id__c,Phone\nOld One,E-1,111\nOld Two,E-2,222\nOld Three,E-3,\n'),
        },
      ],
    });
    return new Map(
      scaffold.org.store.records('Account').map((record) => [String(record.Legacy_Id__c), String(record.Id)]),
    );
  }

  async function migration(ids: Map<string, string>): Promise<MigrationRun> {
    return runManifest('migration', {
      name: 'migration',
      defaults: { poll: { initial: '10ms', max: '40ms' }, maxRecordsPerJob: 2, retry: { attempts: 10 } },
      steps: [
        {
          object: 'Account',
          operation: 'upsert',
          externalIdField: 'Legacy_Id__c',
          source: await data(
            'accounts.csv',
            'Name,Legacy_Id__c,Phone\nNew One,E-1,#N/A\nNew Two,E-2,999\nBrand A,N-1,5\nBrand B,N-2,6\n',
          ),
        },
        {
          object: 'Contact',
          source: await data(
            'contacts.csv',
            'LastName,Legacy_Id__c,Account.Legacy_Id__c\nSmith,C-1,N-1\n,C-2,E-1\nJones,C-3,E-2\n',
          ),
          dependsOn: ['Account'],
          failureThreshold: { percent: 50 },
        },
        {
          id: 'account-update',
          object: 'Account',
          operation: 'update',
          source: await data(
            'update.csv',
            `Id,Phone,Name\n${ids.get('E-3')},333,Renamed Three\n${ids.get('E-1')},444,\n`,
          ),
          dependsOn: ['Account'],
        },
      ],
    });
  }

  it('takes before images, then rolls the run back to the org as it was, except a record changed by hand', async () => {
    const ids = await seed();
    const before = exportOrg(scaffold);
    const run = await migration(ids);

    // before images: upsert chunks by external id, update chunks by Id, journaled with their fingerprints
    const state = await replayJournal(run.folder.journalPath);
    const images = [...state.steps.values()].flatMap((step) =>
      step.chunks.filter((chunk) => chunk.beforeImage).map((chunk) => ({ step: step.id, ...chunk.beforeImage! })),
    );
    expect(images.map((image) => image.step)).to.deep.equal(['Account', 'Account', 'account-update']);
    const upsertImage = await readFile(join(run.folder.dir, images[0].file), 'utf8');
    expect(upsertImage.split('\n')[0]).to.equal(
      '"Id","LastModifiedDate","LastModifiedById","Legacy_Id__c","Name","Phone"',
    );
    expect(upsertImage).to.include('"E-1","Old One","111"').and.include('"E-2","Old Two","222"');
    expect(images[0].records).to.equal(2);
    expect(images[1].records, 'the new records had no before image').to.equal(0);
    const updateImage = await readFile(join(run.folder.dir, images[2].file), 'utf8');
    expect(updateImage).to.include('"Old Three"').and.include('"New One"');

    // the run did what it says: a created contact, a failed one, updated and created accounts
    expect(scaffold.org.store.records('Contact')).to.have.length(2);
    const byLegacy = (legacy: string): Record<string, unknown> =>
      scaffold.org.store.records('Account').find((record) => record.Legacy_Id__c === legacy)!;
    expect(byLegacy('E-3').Name).to.equal('Renamed Three');
    expect(byLegacy('E-1').Phone).to.equal('444');

    // changed by hand after the run (same user, later LastModifiedDate)
    const writesEnded = Math.max(
      ...[...state.steps.values()].flatMap((step) => step.chunks.map((chunk) => Date.parse(chunk.finishedAt ?? '0'))),
    );
    while (Date.now() <= writesEnded + 1) {
      // the org's clock must be past the run's last write: a millisecond at most
    }
    await scaffold.connection.request({
      method: 'PATCH',
      url: '/services/data/v62.0/composite/sobjects',
      body: JSON.stringify({
        allOrNone: true,
        records: [{ attributes: { type: 'Account' }, Id: ids.get('E-2'), Name: 'By Hand' }],
      }),
      headers: { 'content-type': 'application/json' },
    });
    expect(byLegacy('E-2').Name).to.equal('By Hand');

    // a dry run says what would happen and writes nothing
    const ingestCalls = (): number => scaffold.org.stats().byRoute['POST jobs/ingest'] ?? 0;
    const callsBefore = ingestCalls();
    const dry = await rollbackRun({ ...options(), root: scaffold.root, runId: run.runId, dryRun: true });
    expect(dry.run).to.equal(undefined);
    expect(ingestCalls(), 'no ingest job').to.equal(callsBefore);
    const planned = Object.fromEntries(dry.plan.steps.map((step) => [step.step, step]));
    expect(Object.keys(planned)).to.deep.equal(['Contact', 'account-update', 'Account']);
    expect(planned.Contact).to.include({ toDelete: 2, toRestore: 0, changedAfterRun: 0 });
    expect(planned['account-update']).to.include({ toDelete: 0, toRestore: 2, changedAfterRun: 0 });
    expect(planned.Account).to.include({ toDelete: 2, toRestore: 1, changedAfterRun: 1 });
    expect(dry.plan.conflicts).to.equal(1);

    // the rollback: a run of its own, whose journal names the run it undoes
    const rollback = await rollbackRun({ ...options(), root: scaffold.root, runId: run.runId });
    const outcome = await rollback.run!.execute();
    expect(outcome.status, JSON.stringify(outcome)).to.equal('succeeded');
    const rollbackState = await replayJournal(rollback.run!.folder.journalPath);
    expect(rollbackState.started?.rollbackOf).to.equal(run.runId);
    expect(await readFile(rollback.plan.conflictsFile, 'utf8')).to.include(`Account,Account,${ids.get('E-2')},restore`);

    const after = exportOrg(scaffold);
    const expected = before;
    expected.Account[ids.get('E-2')!] = { ...before.Account[ids.get('E-2')!], Name: 'By Hand', Phone: '999' };
    expect(after.Contact).to.deep.equal(expected.Contact);
    expect(after.Account).to.deep.equal(expected.Account);

    // once undone, never twice
    const again = await rollbackRun({ ...options(), root: scaffold.root, runId: run.runId }).catch(
      (error: Error) => error,
    );
    expect((again as Error).name).to.equal('AlreadyRolledBackError');
  });

  it('keeps every createable field of the rows a delete step removes, and says the rollback cannot bring them back', async () => {
    const ids = await seed();
    const run = await runManifest('deletion', {
      name: 'deletion',
      defaults: { poll: { initial: '10ms', max: '40ms' } },
      steps: [{ object: 'Account', operation: 'delete', source: await data('delete.csv', `Id\n${ids.get('E-1')}\n`) }],
    });
    const state = await replayJournal(run.folder.journalPath);
    const image = state.steps.get('Account')!.chunks[0].beforeImage!;
    const text = await readFile(join(run.folder.dir, image.file), 'utf8');
    const header = text
      .split('\n')[0]
      .split(',')
      .map((column) => column.slice(1, -1));
    expect(header.slice(0, 3)).to.deep.equal(['Id', 'LastModifiedDate', 'LastModifiedById']);
    expect(header).to.include.members(['Name', 'Phone', 'Legacy_Id__c', 'OwnerId']);
    expect(header).to.not.include('CreatedDate');
    expect(text).to.include('"E-1"').and.include('"Old One"').and.include('"111"');
    expect(image.records).to.equal(1);

    const dry = await rollbackRun({ ...options(), root: scaffold.root, runId: run.runId, dryRun: true });
    expect(dry.plan.steps).to.have.length(1);
    expect(dry.plan.steps[0]).to.include({ deletedByRun: 1, toDelete: 0, toRestore: 0 });
    expect(dry.plan.steps[0].deletedRowImages).to.deep.equal([join(run.folder.dir, image.file)]);
    const real = await rollbackRun({ ...options(), root: scaffold.root, runId: run.runId });
    expect(real.run, 'nothing the API can undo: no rollback run').to.equal(undefined);
  });

  it('undoes rows that loaded only in retry rounds (UNABLE_TO_LOCK_ROW), whose rollback rows are retried too', async () => {
    const ids = await seed();
    const before = exportOrg(scaffold);
    scaffold.org.faults.set({ seed: 7, lockRowRate: 0.3 });
    const run = await migration(ids);
    const state = await replayJournal(run.folder.journalPath);
    const retried = [...state.steps.values()].flatMap((step) => step.chunks.filter((chunk) => chunk.attempt > 0));
    expect(retried.length, 'some rows went in retry rounds').to.be.greaterThan(0);
    expect(
      retried.every((chunk) => chunk.beforeImage === undefined),
      'retry rounds take no image',
    ).to.equal(true);
    const rollback = await rollbackRun({ ...options(), root: scaffold.root, runId: run.runId });
    expect((await rollback.run!.execute()).status).to.equal('succeeded');
    scaffold.org.faults.clear();
    const after = exportOrg(scaffold);
    expect(after.Contact).to.deep.equal(before.Contact);
    expect(after.Account).to.deep.equal(before.Account);
  });

  it('resumes a rollback stopped before its jobs to the same end', async () => {
    const ids = await seed();
    const before = exportOrg(scaffold);
    const run = await migration(ids);
    const rollback = await rollbackRun({ ...options(), root: scaffold.root, runId: run.runId });
    // stopped at once: nothing of it ran; resume finishes it from its journal
    const stop = new AbortController();
    stop.abort();
    const stopped = await rollback.run!.execute(stop.signal);
    expect(stopped.status).to.equal('waiting');
    const resumed = await resumeRun({ ...options(), root: scaffold.root, runId: rollback.run!.runId });
    expect((await resumed.execute()).status).to.equal('succeeded');
    const after = exportOrg(scaffold);
    expect(after.Contact).to.deep.equal(before.Contact);
    expect(after.Account).to.deep.equal(before.Account);
    expect(runFolder(scaffold.root, rollback.run!.runId).dir).to.include(rollback.run!.runId);
  });
});
