/*
 * Two steps of one wave that write children of the same parent object (Contact and Opportunity both
 * look up Account), against the local org's realistic model: each step's rows are grouped by parent
 * (lock-aware jobs), so within a step no two batches share an Account, but a Contact batch and an
 * Opportunity batch processed at once do. With `sharedParents: "parallel"` they are in the org
 * together and rows fail UNABLE_TO_LOCK_ROW; by default the Opportunities wait for the Contacts, and
 * none do. A run stopped while the second step waits its turn resumes and loads every row once.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';
import type { LocalOrgOptions } from '@sf-migrate/local-org';
import { loadManifestOrThrow } from '../../src/manifest/load.js';
import { MigrationRun, type RunOptions } from '../../src/engine/migrationRun.js';
import { resumeRun } from '../../src/engine/resumeRun.js';
import type { RunOutcome } from '../../src/engine/outcome.js';
import { replayJournal, type ChunkState } from '../../src/journal/state.js';
import type { SharedParents } from '../../src/manifest/types.js';
import { createScaffold, type Scaffold } from './runScaffold.js';

const BATCH = 50;
const ACCOUNTS = 10;
const CHILDREN_PER_ACCOUNT = 10;

// A batch of 50 rows takes 50 × 40 s of modelled time, 2 s of real time at this scale: long enough that
// two steps whose jobs are in the org together are certainly processed at once, however loaded the
// machine. No assertion depends on how long anything takes.
const realistic: LocalOrgOptions = {
  model: 'realistic',
  modelSettings: {
    timeScale: 0.001,
    workers: 4,
    batchRecords: BATCH,
    msPerRecord: 40_000,
    lockWaitMs: 100,
    batchTimeoutMs: 100_000_000,
    requestLatencyMs: 0,
  },
};

/** children interleaved across the accounts, as an export sorted by its own id is */
function childrenCsv(header: string, row: (name: string, account: string) => string): string {
  const lines = [header];
  for (let round = 0; round < CHILDREN_PER_ACCOUNT; round++)
    for (let k = 0; k < ACCOUNTS; k++) lines.push(row(`${k}-${round}`, `A${k}`));
  return `${lines.join('\n')}\n`;
}

describe('steps of a wave sharing a parent object, against the realistic model', function () {
  this.timeout(180_000);
  let scaffold: Scaffold | undefined;

  afterEach(async () => {
    await scaffold?.cleanup();
    scaffold = undefined;
  });

  async function prepare(sharedParents?: SharedParents): Promise<{ path: string; options: RunOptions }> {
    scaffold = await createScaffold(realistic);
    const data = join(scaffold.dir, 'data');
    const accounts = Array.from({ length: ACCOUNTS }, (_, k) => `Account${k},A${k}`).join('\n');
    await writeFile(join(data, 'a.csv'), `Name,Legacy_Id__c\n${accounts}\n`);
    const contacts = childrenCsv('LastName,Account.Legacy_Id__c', (name, account) => `C${name},${account}`);
    await writeFile(join(data, 'c.csv'), contacts);
    const opportunities = childrenCsv(
      'Name,StageName,CloseDate,Account.Legacy_Id__c',
      (name, account) => `O${name},Prospecting,2027-01-15,${account}`,
    );
    await writeFile(join(data, 'o.csv'), opportunities);
    const path = join(scaffold.dir, 'engine.json');
    const child = {
      maxRecordsPerJob: 2 * BATCH,
      parallelism: 2,
      // no retry round and no gate: every lock failure stays visible in the steps' books
      retry: { attempts: 0 },
      failureThreshold: { percent: 100 },
    };
    const manifest = {
      name: 'shared-parents',
      defaults: {
        operation: 'insert',
        poll: { initial: '10ms', max: '40ms' },
        ...(sharedParents ? { sharedParents } : {}),
      },
      steps: [
        { id: 'accounts', object: 'Account', source: join(data, 'a.csv') },
        { id: 'contacts', object: 'Contact', source: join(data, 'c.csv'), ...child },
        { id: 'opportunities', object: 'Opportunity', source: join(data, 'o.csv'), ...child },
      ],
    };
    await writeFile(path, JSON.stringify(manifest, null, 2));
    const options: RunOptions = {
      connection: scaffold.connection,
      username: scaffold.org.username,
      orgId: scaffold.org.orgId,
      orgBatchRecords: BATCH,
    };
    return { path, options };
  }

  function lockFailures(outcome: RunOutcome): number {
    return outcome.steps.reduce((sum, step) => sum + (step.failuresByCode.UNABLE_TO_LOCK_ROW ?? 0), 0);
  }

  /** every child row is in the org once, or (when it failed) not at all */
  function expectNothingTwice(): void {
    for (const [object, field] of [
      ['Contact', 'LastName'],
      ['Opportunity', 'Name'],
    ]) {
      const names = scaffold!.org.store.records(object).map((record) => String(record[field]));
      expect(new Set(names).size, object).to.equal(names.length);
    }
  }

  it('runs them one after another by default: no UNABLE_TO_LOCK_ROW, where running them at once has some', async () => {
    const serial = await prepare();
    const manifest = await loadManifestOrThrow(serial.path);
    expect(manifest.waves).to.deep.equal([['accounts'], ['contacts', 'opportunities']]);
    const run = await MigrationRun.start(manifest, serial.options);
    const outcome = await run.execute();
    expect(outcome.status).to.equal('succeeded');
    expect(lockFailures(outcome)).to.equal(0);
    expect(scaffold!.org.store.count('Contact')).to.equal(ACCOUNTS * CHILDREN_PER_ACCOUNT);
    expect(scaffold!.org.store.count('Opportunity')).to.equal(ACCOUNTS * CHILDREN_PER_ACCOUNT);
    // the order is the journal's: no Opportunity job was handed to the org before every Contact job ended
    // (with none to retry, it need not wait for the Contacts' results and accounting: engine/orgDone.ts)
    const events = (await readFile(run.folder.journalPath, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { type: string; step?: string });
    const contactJobsEnd = events.findLastIndex((e) => e.type === 'job.finished' && e.step === 'contacts');
    const firstOpportunityClose = events.findIndex((e) => e.type === 'job.closing' && e.step === 'opportunities');
    expect(contactJobsEnd).to.be.greaterThan(0);
    expect(firstOpportunityClose).to.be.greaterThan(contactJobsEnd);
    await scaffold?.cleanup();
    scaffold = undefined;

    const parallel = await prepare('parallel');
    const atOnce = await MigrationRun.start(await loadManifestOrThrow(parallel.path), parallel.options);
    const contended = await atOnce.execute();
    expect(lockFailures(contended)).to.be.greaterThan(0);
    expectNothingTwice();
  });

  it('resumes a wave stopped while its second step waits its turn, loading every row once', async () => {
    const site = await prepare();
    const manifest = await loadManifestOrThrow(site.path);
    const first = await MigrationRun.start(manifest, site.options);
    const stop = new AbortController();
    const uploaded = (): ChunkState[] =>
      (first.state.steps.get('opportunities')?.chunks ?? []).filter((chunk) => chunk.phase === 'uploaded');
    // stopped while the Contacts are processed and an Opportunity job, uploaded, waits its turn
    first.on('job.progress', (progress) => {
      if (progress.step === 'contacts' && progress.state === 'InProgress' && uploaded().length > 0) stop.abort();
    });
    expect((await first.execute(stop.signal)).status).to.equal('waiting');
    const stopped = await replayJournal(first.folder.journalPath);
    expect(stopped.steps.get('contacts')?.status).to.equal('running');
    // the waiting jobs were not handed to the org by the stop: they are Open, for the resume to close
    const waiting = stopped.steps.get('opportunities')?.chunks ?? [];
    expect(waiting.filter((chunk) => !['planned', 'created', 'uploaded'].includes(chunk.phase))).to.deep.equal([]);
    const open = waiting.filter((chunk) => chunk.phase === 'uploaded');
    expect(open.length).to.be.greaterThan(0);
    for (const chunk of open) {
      // eslint-disable-next-line no-await-in-loop
      expect((await scaffold!.client.info(chunk.jobId)).state).to.equal('Open');
    }

    const resumed = await resumeRun({ ...site.options, root: scaffold!.root, manifest: site.path });
    const outcome = await resumed.execute();
    expect(outcome.steps.map((step) => step.succeeded + step.failed + step.unprocessed)).to.deep.equal([
      ACCOUNTS,
      ACCOUNTS * CHILDREN_PER_ACCOUNT,
      ACCOUNTS * CHILDREN_PER_ACCOUNT,
    ]);
    expectNothingTwice();
    const contacts = outcome.steps.find((step) => step.step === 'contacts')!;
    expect(scaffold!.org.store.count('Contact')).to.equal(contacts.succeeded);
    const opportunities = outcome.steps.find((step) => step.step === 'opportunities')!;
    expect(scaffold!.org.store.count('Opportunity')).to.equal(opportunities.succeeded);
  });
});
