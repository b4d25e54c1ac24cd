/*
 * Which result files a run asks the org for (issue 11: fewer calls per job). The successful results
 * always; the failed and unprocessed results only when the job's journaled end does not prove them
 * empty, the others written locally, header only, as the org would have sent them. Counted from the
 * local org's request log, and checked against the org's own files, the run's accounting and a
 * resume from a journal cut where a crash would leave it.
 */
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { loadManifestOrThrow } from '../../src/manifest/load.js';
import { MigrationRun, type RunOptions } from '../../src/engine/migrationRun.js';
import { resumeRun } from '../../src/engine/resumeRun.js';
import { readJournal } from '../../src/journal/journal.js';
import type { JournalEvent } from '../../src/journal/events.js';
import { IngestJobClient } from '../../src/bulk/ingestJobClient.js';
import { emptyResultHeaders, type EmptyResultHeaders } from '../../src/engine/resultFiles.js';
import { createScaffold, type Scaffold } from './runScaffold.js';

const SUCCESS = 'GET jobs/ingest/:id/successfulResults';
const FAILED = 'GET jobs/ingest/:id/failedResults';
const UNPROCESSED = 'GET jobs/ingest/:id/unprocessedrecords';

describe('result downloads of a run', function () {
  this.timeout(60_000);
  let scaffold: Scaffold | undefined;

  afterEach(async () => {
    await scaffold?.cleanup();
    scaffold = undefined;
  });

  /** a one-step Account insert of `csv`, cut into jobs of `perJob` records */
  async function site(csv: string, perJob: number): Promise<{ path: string; runOptions: RunOptions }> {
    scaffold = await createScaffold();
    await writeFile(join(scaffold.dir, 'data', 'a.csv'), csv);
    const path = join(scaffold.dir, 'results.json');
    const manifest = {
      name: 'results-test',
      defaults: {
        operation: 'insert',
        poll: { initial: '10ms', max: '40ms' },
        failureThreshold: { percent: 100 },
        retry: { attempts: 0 },
      },
      steps: [{ object: 'Account', source: join(scaffold.dir, 'data', 'a.csv'), maxRecordsPerJob: perJob }],
    };
    await writeFile(path, JSON.stringify(manifest, null, 2));
    return {
      path,
      runOptions: { connection: scaffold.connection, username: scaffold.org.username, orgId: scaffold.org.orgId },
    };
  }

  async function events(run: { folder: { journalPath: string } }): Promise<JournalEvent[]> {
    const all: JournalEvent[] = [];
    for await (const event of readJournal(run.folder.journalPath)) all.push(event);
    return all;
  }

  const calls = (route: string): number => scaffold!.org.stats().byRoute[route] ?? 0;

  const resultFiles = async (run: MigrationRun, suffix: string): Promise<string[]> => {
    const dir = join(run.folder.dir, 'results', 'Account');
    return (await readdir(dir)).filter((name) => name.endsWith(suffix)).map((name) => join(dir, name));
  };

  it('asks a clean job for its successful results only, and writes the other two as the org would', async () => {
    const csv = 'Name,Description\n"Acme, Inc.",a\nGlobex,"b ""c"""\nInitech,y\nUmbrella,z\n';
    const { path, runOptions } = await site(csv, 2);
    const run = await MigrationRun.start(await loadManifestOrThrow(path), { ...runOptions, keepJobs: true });
    const outcome = await run.execute();
    expect(outcome.status).to.equal('succeeded');
    expect(calls(SUCCESS)).to.equal(2);
    expect(calls(FAILED)).to.equal(0);
    expect(calls(UNPROCESSED)).to.equal(0);
    const saved = (await events(run)).filter((event) => event.type === 'results.saved');
    expect(saved.map((event) => event.type === 'results.saved' && event.counts)).to.deep.equal([
      { success: 2, failed: 0, unprocessed: 0 },
      { success: 2, failed: 0, unprocessed: 0 },
    ]);
    // the files written here are the org's own, byte for byte (the jobs were kept to compare)
    const client = new IngestJobClient(scaffold!.connection);
    for (const [suffix, kind] of [
      ['-failed.csv', 'failed'],
      ['-unprocessed.csv', 'unprocessed'],
    ] as const) {
      // eslint-disable-next-line no-await-in-loop
      for (const file of await resultFiles(run, suffix)) {
        const jobId = file.split('/').pop()!.slice(0, 18);
        const fromOrg = join(scaffold!.dir, `${jobId}${suffix}`);
        // eslint-disable-next-line no-await-in-loop
        await client.saveResults(jobId, kind, fromOrg);
        // eslint-disable-next-line no-await-in-loop
        expect(await readFile(file, 'utf8')).to.equal(await readFile(fromOrg, 'utf8'));
      }
    }
    expect((await resultFiles(run, '-failed.csv')).length).to.equal(2);
  });

  it('downloads failed results of a job with failed rows, no unprocessed ones when all were processed', async () => {
    const { path, runOptions } = await site('Name\nAcme\n""\nGlobex\n', 10);
    const outcome = await (await MigrationRun.start(await loadManifestOrThrow(path), runOptions)).execute();
    expect(outcome.status).to.equal('completedWithFailures');
    expect(calls(SUCCESS)).to.equal(1);
    expect(calls(FAILED)).to.equal(1);
    expect(calls(UNPROCESSED)).to.equal(0);
    const step = outcome.steps.find((s) => s.step === 'Account')!;
    expect([step.succeeded, step.failed, step.unprocessed]).to.deep.equal([2, 1, 0]);
  });

  it('downloads all three result files of a Failed job', async () => {
    const { path, runOptions } = await site('Name,Nope__c\nAcme,1\nGlobex,2\n', 10);
    const outcome = await (await MigrationRun.start(await loadManifestOrThrow(path), runOptions)).execute();
    expect(calls(SUCCESS)).to.equal(1);
    expect(calls(FAILED)).to.equal(1);
    expect(calls(UNPROCESSED)).to.equal(1);
    const step = outcome.steps.find((s) => s.step === 'Account')!;
    expect(step.succeeded).to.equal(0);
    expect(step.failed + step.unprocessed).to.equal(2);
  });

  /**
   * A run whose journal is cut back to right after its last `job.finished` (the jobs kept), as a
   * crash before `results.saved` leaves it, with `edit` applied to that line; then resumed.
   */
  async function resumeAfterCut(edit: (finished: Record<string, unknown>) => unknown): Promise<{
    run: MigrationRun;
    resumed: JournalEvent[];
    before: Record<string, number>;
  }> {
    const { path, runOptions } = await site('Name\nAcme\nGlobex\nInitech\n', 10);
    const run = await MigrationRun.start(await loadManifestOrThrow(path), { ...runOptions, keepJobs: true });
    expect((await run.execute()).status).to.equal('succeeded');
    const lines = (await readFile(run.folder.journalPath, 'utf8')).split('\n').filter((line) => line.length > 0);
    const at = lines.findIndex((line) => (JSON.parse(line) as JournalEvent).type === 'job.finished');
    const finished = JSON.parse(lines[at]) as Record<string, unknown>;
    edit(finished);
    lines[at] = JSON.stringify(finished);
    await writeFile(
      run.folder.journalPath,
      lines
        .slice(0, at + 1)
        .map((line) => `${line}\n`)
        .join(''),
    );
    const before = { ...scaffold!.org.stats().byRoute };
    const root = join(scaffold!.dir, '.sf-migrate', 'runs');
    const again = await resumeRun({ ...runOptions, root, runId: run.runId });
    expect((await again.execute()).status).to.equal('succeeded');
    return { run, resumed: (await events(run)).slice(at + 1), before };
  }

  it('saves the results exactly once when resumed after the files were written but not journaled', async () => {
    const { run, resumed, before } = await resumeAfterCut(() => undefined);
    const since = (route: string): number => calls(route) - (before[route] ?? 0);
    expect(since(SUCCESS)).to.equal(1);
    expect(since(FAILED)).to.equal(0);
    expect(since(UNPROCESSED)).to.equal(0);
    expect(resumed.filter((event) => event.type === 'results.saved')).to.have.length(1);
    expect(resumed.find((event) => event.type === 'run.finished')).to.include({ status: 'succeeded' });
    expect(scaffold!.org.store.records('Account')).to.have.length(3);
    const [failed] = await resultFiles(run, '-failed.csv');
    expect(await readFile(failed, 'utf8')).to.equal('"sf__Id","sf__Error",Name\n');
  });

  it('downloads every result file when the journaled counts disagree with the successful results', async () => {
    // one record fewer processed than the success file holds: the counts cannot be trusted
    const { resumed, before } = await resumeAfterCut((finished) => Object.assign(finished, { processed: 2 }));
    const since = (route: string): number => calls(route) - (before[route] ?? 0);
    expect(since(SUCCESS)).to.equal(1);
    expect(since(FAILED)).to.equal(1);
    expect(since(UNPROCESSED)).to.equal(1);
    expect(resumed.filter((event) => event.type === 'results.saved')).to.have.length(1);
  });
});

describe('emptyResultHeaders', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'result-headers-'));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  const headersOf = async (success: string): Promise<EmptyResultHeaders | undefined> => {
    const file = join(dir, 'success.csv');
    await writeFile(file, success);
    return emptyResultHeaders(file);
  };

  it("derives the failed and unprocessed headers from the successful file's, delimiter and ending kept", async () => {
    expect(await headersOf('"sf__Id","sf__Created",Name,"Site"\n"001","true","A","B"\n')).to.deep.equal({
      failed: '"sf__Id","sf__Error",Name,"Site"\n',
      unprocessed: 'Name,"Site"\n',
    });
    expect(await headersOf('"sf__Id"\t"sf__Created"\tName\tSite\r\n')).to.deep.equal({
      failed: '"sf__Id"\t"sf__Error"\tName\tSite\r\n',
      unprocessed: 'Name\tSite\r\n',
    });
    expect(await headersOf('sf__Id;sf__Created;Name')).to.deep.equal({
      failed: '"sf__Id";"sf__Error";Name',
      unprocessed: 'Name',
    });
  });

  it('gives nothing for a file not in the org’s shape, so the files are downloaded instead', async () => {
    expect(await headersOf('')).to.equal(undefined);
    expect(await headersOf('"sf__Id","sf__Created"\n')).to.equal(undefined);
    expect(await headersOf('"sf__Id","sf__Error",Name\n')).to.equal(undefined);
    expect(await headersOf('Name,sf__Id,sf__Created\n')).to.equal(undefined);
    expect(await emptyResultHeaders(join(dir, 'missing.csv'))).to.equal(undefined);
  });
});
