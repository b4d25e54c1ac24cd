/*
 * MigrationRun in process against a local org started in this process: the behaviours the NUTs
 * cover only through the CLI — retry rounds, dead letters, job-level failures, fail-fast across
 * steps, --wait running out and the resume that follows — asserted on the org's records, the
 * journal and the files of the run folder.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';
import type { LocalOrgOptions } from '@sf-migrate/local-org';
import { loadManifestOrThrow } from '../../src/manifest/load.js';
import { MigrationRun, exitCodeOf, type RunOptions } from '../../src/engine/migrationRun.js';
import { resumeRun } from '../../src/engine/resumeRun.js';
import type { RunOutcome } from '../../src/engine/outcome.js';
import { replayJournal, type RunState } from '../../src/journal/state.js';
import { readJournal } from '../../src/journal/journal.js';
import type { JournalEvent } from '../../src/journal/events.js';
import { summaryTable } from '../../src/ux/summary.js';
import { BulkApiError } from '../../src/bulk/errors.js';
import { IngestJobClient, type BulkRetryEvent } from '../../src/bulk/ingestJobClient.js';
import { buildRun, createScaffold, type Scaffold } from './runScaffold.js';

type StepSpec = Record<string, unknown> & { object: string; source: string };

describe('MigrationRun against the local org', function () {
  this.timeout(60_000);
  let scaffold: Scaffold | undefined;

  afterEach(async () => {
    await scaffold?.cleanup();
    scaffold = undefined;
  });

  /** an org, a manifest of `steps` (sources given as file → CSV text) and the run's options */
  async function site(
    steps: StepSpec[],
    files: Record<string, string>,
    options: { org?: LocalOrgOptions; defaults?: Record<string, unknown> } = {},
  ): Promise<{ path: string; runOptions: RunOptions }> {
    scaffold = await createScaffold(options.org ?? {});
    for (const [name, text] of Object.entries(files)) {
      // eslint-disable-next-line no-await-in-loop
      await writeFile(join(scaffold.dir, 'data', name), text);
    }
    const path = join(scaffold.dir, 'engine.json');
    const manifest = {
      name: 'engine-test',
      defaults: { operation: 'insert', poll: { initial: '10ms', max: '40ms' }, ...options.defaults },
      steps: steps.map((step) => ({ ...step, source: join(scaffold!.dir, 'data', step.source) })),
    };
    await writeFile(path, JSON.stringify(manifest, null, 2));
    const runOptions: RunOptions = {
      connection: scaffold.connection,
      username: scaffold.org.username,
      orgId: scaffold.org.orgId,
    };
    return { path, runOptions };
  }

  async function startRun(path: string, runOptions: RunOptions): Promise<MigrationRun> {
    return MigrationRun.start(await loadManifestOrThrow(path), runOptions);
  }

  async function events(run: { folder: { journalPath: string } }): Promise<JournalEvent[]> {
    const all: JournalEvent[] = [];
    for await (const event of readJournal(run.folder.journalPath)) all.push(event);
    return all;
  }

  const names = (object: string): string[] =>
    scaffold!.org.store
      .records(object)
      .map((record) => String(record.LastName ?? record.Name))
      .sort();

  const rows = (n: number, prefix: string): string => Array.from({ length: n }, (_, i) => `${prefix}${i}`).join('\n');

  it('loads every record once, deletes its jobs and journals a succeeded run', async () => {
    const { path, runOptions } = await site([{ object: 'Account', source: 'a.csv', maxRecordsPerJob: 2 }], {
      'a.csv': `Name\n${rows(5, 'Acme')}\n`,
    });
    const run = await startRun(path, runOptions);
    const outcome = await run.execute();

    expect(outcome.status).to.equal('succeeded');
    expect(exitCodeOf(outcome)).to.equal(0);
    expect(names('Account')).to.deep.equal(['Acme0', 'Acme1', 'Acme2', 'Acme3', 'Acme4']);
    const state = await replayJournal(run.folder.journalPath);
    const chunks = state.steps.get('Account')!.chunks;
    expect(chunks.map((chunk) => chunk.phase)).to.deep.equal(['deleted', 'deleted', 'deleted']);
    expect(state.finished?.status).to.equal('succeeded');
    expect(outcome.steps[0]).to.deep.include({ records: 5, succeeded: 5, failed: 0, jobs: 3, gate: 'passed' });
  });

  it('retries rows that failed with a retryable code in new rounds until they load', async () => {
    const { path, runOptions } = await site(
      [{ object: 'Account', source: 'a.csv', retry: { attempts: 10, codes: ['UNABLE_TO_LOCK_ROW'] } }],
      { 'a.csv': `Name\n${rows(20, 'Lock')}\n` },
      { org: { faults: { seed: 7, lockRowRate: 0.5 } } },
    );
    const run = await startRun(path, runOptions);
    const outcome = await run.execute();

    expect(outcome.status).to.equal('succeeded');
    expect(names('Account')).to.deep.equal(
      Array.from({ length: 20 }, (_, i) => `Lock${i}`).sort(),
      'each record exactly once',
    );
    const state = await replayJournal(run.folder.journalPath);
    const chunks = state.steps.get('Account')!.chunks;
    const rounds = Math.max(...chunks.map((chunk) => chunk.attempt));
    expect(rounds).to.be.greaterThan(0);
    expect(outcome.steps[0]).to.deep.include({ records: 20, succeeded: 20, failed: 0, retryRounds: rounds });
    // round n reads the rows round n - 1 saved as failed: one retry file per round
    const retryFiles = await readdir(run.folder.retryDir('Account'));
    expect(retryFiles.sort()).to.deep.equal(Array.from({ length: rounds }, (_, i) => `attempt-${i + 1}-1.csv`).sort());
    expect(await readdir(join(run.folder.dir, 'dead-letter')).catch(() => [])).to.deep.equal([]);
  });

  it('loads a source whose lines end in LF, CRLF and lone CRs, into LF and CRLF jobs alike', async () => {
    // a real org fails a job whose record terminators differ from its lineEnding, and so does the
    // local org (ClientInputError : LineEnding is invalid on user data): every upload is normalised
    const source =
      'Name,Description\r\n' +
      'Mixed0,plain\n' +
      'Mixed1,"kept\r\nas is"\r' +
      'Mixed2,"lone\rcr and\nlf"\r\n' +
      '\r\n' +
      'Mixed3,x\r' +
      'Mixed4,"last"';
    const { path, runOptions } = await site(
      [
        { id: 'lf', object: 'Account', source: 'm.csv', lineEnding: 'LF', maxRecordsPerJob: 2 },
        { id: 'crlf', object: 'Contact', source: 'c.csv', lineEnding: 'CRLF', maxRecordsPerJob: 2 },
        {
          id: 'mapped',
          object: 'Contact',
          source: 'd.csv',
          lineEnding: 'CRLF',
          mapping: { rename: { N: 'LastName' } },
        },
      ],
      {
        'm.csv': source,
        'c.csv': source.replace('Name,Description', 'LastName,Description'),
        'd.csv': source.replace('Name,Description', 'N,Description').replaceAll('Mixed', 'Mapped'),
      },
    );
    const run = await startRun(path, runOptions);
    const outcome = await run.execute();

    expect(outcome.status, JSON.stringify(outcome, null, 1)).to.equal('succeeded');
    expect(outcome.steps.map((step) => [step.records, step.succeeded, step.failed])).to.deep.equal([
      [5, 5, 0],
      [5, 5, 0],
      [5, 5, 0],
    ]);
    const descriptions = (object: string, prefix: string): Array<[string, unknown]> =>
      scaffold!.org.store
        .records(object)
        .map((record): [string, unknown] => [String(record.Name ?? record.LastName), record.Description])
        .filter(([name]) => name.startsWith(prefix))
        .sort(([a], [b]) => a.localeCompare(b));
    const expected = [
      ['0', 'plain'],
      ['1', 'kept\r\nas is'],
      ['2', 'lone\rcr and\nlf'],
      ['3', 'x'],
      ['4', 'last'],
    ];
    expect(descriptions('Account', 'Mixed')).to.deep.equal(expected.map(([k, d]) => [`Mixed${k}`, d]));
    expect(descriptions('Contact', 'Mixed')).to.deep.equal(expected.map(([k, d]) => [`Mixed${k}`, d]));
    expect(descriptions('Contact', 'Mapped')).to.deep.equal(expected.map(([k, d]) => [`Mapped${k}`, d]));
  });

  it('loads through the realistic model: lock failures of concurrent batches are retried until every row is in once', async () => {
    // one job of 100 Contacts of one Account, cut into two batches of 50 processed at once: the batch
    // that does not hold the parent fails UNABLE_TO_LOCK_ROW, and the retry round loads its rows
    const realistic: LocalOrgOptions = {
      model: 'realistic',
      modelSettings: {
        timeScale: 0.001,
        workers: 2,
        batchRecords: 50,
        msPerRecord: 1000,
        lockWaitMs: 100,
        requestLatencyMs: 0,
      },
    };
    const { path, runOptions } = await site(
      [
        { id: 'accounts', object: 'Account', source: 'a.csv' },
        {
          id: 'contacts',
          object: 'Contact',
          source: 'c.csv',
          dependsOn: ['accounts'],
          retry: { attempts: 5, codes: ['UNABLE_TO_LOCK_ROW'] },
        },
      ],
      {
        'a.csv': 'Name,Legacy_Id__c\nParent,P1\n',
        'c.csv': `LastName,Account.Legacy_Id__c\n${rows(100, 'Child').replaceAll('\n', ',P1\n')},P1\n`,
      },
      { org: realistic },
    );
    const run = await startRun(path, runOptions);
    const outcome = await run.execute();

    expect(outcome.status).to.equal('succeeded');
    expect(names('Contact')).to.deep.equal(Array.from({ length: 100 }, (_, i) => `Child${i}`).sort(), 'each once');
    const contacts = outcome.steps.find((step) => step.step === 'contacts')!;
    expect(contacts).to.deep.include({ records: 100, succeeded: 100, failed: 0 });
    expect(contacts.retryRounds).to.be.greaterThan(0);
  });

  it('writes the rows that failed for good to the dead letters with their code and message', async () => {
    const { path, runOptions } = await site(
      [{ object: 'Contact', source: 'c.csv', failureThreshold: { records: 5 } }],
      // the second row has no LastName (required), the fourth has one cell more than the header
      { 'c.csv': 'LastName,FirstName\nSmith,Ann\n,Bob\nJones,Cy\n,Dee,extra\n' },
    );
    const run = await startRun(path, runOptions);
    const outcome = await run.execute();

    expect(outcome.status).to.equal('completedWithFailures');
    expect(exitCodeOf(outcome)).to.equal(68);
    expect(names('Contact')).to.deep.equal(['Jones', 'Smith']);
    expect(outcome.steps[0]).to.deep.include({ records: 4, succeeded: 2, failed: 2, gate: 'passed' });
    expect(outcome.steps[0].deadLetter).to.equal(join('dead-letter', 'Contact.csv'));
    const text = await readFile(run.folder.deadLetterPath('Contact'), 'utf8');
    const lines = text.trim().split('\n');
    expect(lines[0]).to.equal('LastName,FirstName,sf__ErrorCode,sf__ErrorMessage');
    expect(lines).to.have.length(3);
    // result rows come in no guaranteed order (the local org shuffles them, as a real org may)
    const [bob, dee] = [lines.find((l) => l.includes('Bob')), lines.find((l) => l.includes('Dee'))];
    expect(bob).to.match(/^,Bob,REQUIRED_FIELD_MISSING,/);
    // the org's failed row keeps the header's width (as a real org's): the extra cell is not echoed
    expect(dee).to.match(/^,Dee,INVALID_FIELD,/);
    const state = await replayJournal(run.folder.journalPath);
    expect(state.steps.get('Contact')!.finished).to.deep.include({
      failed: 2,
      deadLetters: [join('dead-letter', 'Contact.csv')],
    });
  });

  it('shows a job that failed as a whole and dead-letters all its rows with the job error', async () => {
    const { path, runOptions } = await site(
      [{ object: 'Account', source: 'a.csv', failureThreshold: { records: 10 } }],
      // a quote inside an unquoted field: the org refuses the whole upload before any row
      { 'a.csv': 'Name,Description\nAcme,plain\nGlobex,says"hi"\nInitech,plain\n' },
    );
    const run = await startRun(path, runOptions);
    const outcome = await run.execute();

    expect(names('Account')).to.deep.equal([]);
    const summary = outcome.steps[0];
    expect(summary).to.deep.include({ records: 3, succeeded: 0, unprocessed: 3, gate: 'passed' });
    expect(summary.jobErrors).to.have.length(1);
    expect(summary.jobErrors![0]).to.deep.include({ state: 'Failed' });
    expect(summary.jobErrors![0].errorMessage).to.match(/^InvalidBatch : /);
    const lines = (await readFile(run.folder.deadLetterPath('Account'), 'utf8')).trim().split('\n');
    expect(lines).to.have.length(4);
    expect(lines[0]).to.equal('Name,Description,sf__ErrorCode,sf__ErrorMessage');
    expect(lines[1]).to.match(/^Acme,plain,UNPROCESSED,InvalidBatch : /);
    expect(lines[3]).to.match(/^Initech,plain,UNPROCESSED,InvalidBatch : /);
    // InvalidBatch would fail again: no retry round
    expect(summary.retryRounds).to.equal(0);
    // the summary table says why the job failed, once
    const [row] = summaryTable(outcome).data;
    expect(row.errors).to.equal(`job ${summary.jobErrors![0].jobId} Failed: ${summary.jobErrors![0].errorMessage}`);
  });

  it('stops the other steps of a wave when one step fails, and starts no later wave', async () => {
    const { path, runOptions } = await site(
      [
        // slow: 2000 records at 5 a second cannot finish before the other step fails
        { id: 'slow', object: 'Account', source: 'slow.csv' },
        // fails at once: the org refuses to create an upsert job on a field that is no external id
        {
          id: 'broken',
          object: 'Account',
          source: 'broken.csv',
          operation: 'upsert',
          externalIdField: 'NoSuchField__c',
        },
        { id: 'later', object: 'Contact', source: 'later.csv', dependsOn: ['slow'] },
      ],
      {
        'slow.csv': `Name\n${rows(2000, 'Slow')}\n`,
        'broken.csv': 'Name,NoSuchField__c\nX,1\n',
        'later.csv': 'LastName\nSmith\n',
      },
      { org: { recordsPerSecond: 5 } },
    );
    const run = await startRun(path, runOptions);
    let failure: Error | undefined;
    await run.execute().catch((error: Error) => {
      failure = error;
    });

    expect(failure?.message).to.include('NoSuchField__c');
    const state: RunState = await replayJournal(run.folder.journalPath);
    expect(state.steps.get('slow')!.status).to.equal('running');
    expect(state.steps.get('slow')!.finished).to.equal(undefined);
    // stopped at its next safe point: before its job was created or uploaded (the chunk goes again
    // on resume), or once the job was closed (it keeps running in the org); nothing waited for it
    const [slow] = state.steps.get('slow')!.chunks;
    expect(['planned', 'closed']).to.include(slow.phase);
    expect(state.steps.has('later')).to.equal(false);
    expect(state.finished).to.equal(undefined);
    expect(names('Contact')).to.deep.equal([]);
  });

  it('returns waiting with a resume command when --wait runs out, and the resume finishes the run', async () => {
    const { path, runOptions } = await site(
      [{ object: 'Account', source: 'a.csv', maxRecordsPerJob: 10 }],
      { 'a.csv': `Name\n${rows(20, 'Wait')}\n` },
      { org: { recordsPerSecond: 4 } },
    );
    const run = await startRun(path, runOptions);
    const wait = new AbortController();
    // the budget runs out as soon as a job is seen processing (each takes the slow org 2.5 s)
    run.on('job.progress', (progress) => {
      if (progress.state === 'InProgress' || progress.state === 'UploadComplete') wait.abort();
    });
    const waiting: RunOutcome = await run.execute(wait.signal);

    expect(waiting.status).to.equal('waiting');
    expect(exitCodeOf(waiting)).to.equal(69);
    expect(waiting.resumeCommand).to.equal(`sf migrate resume --manifest ${path} --run-id ${run.runId}`);
    const journal = await events(run);
    expect(journal.map((event) => event.type)).to.not.include('run.finished');
    expect(journal.map((event) => event.type)).to.not.include('step.finished');

    const resumed = await resumeRun({
      ...runOptions,
      root: join(scaffold!.dir, '.sf-migrate', 'runs'),
      runId: run.runId,
    });
    expect(resumed.resumed).to.equal(true);
    const outcome = await resumed.execute();

    expect(outcome.status).to.equal('succeeded');
    expect(names('Account')).to.deep.equal(Array.from({ length: 20 }, (_, i) => `Wait${i}`).sort());
    const types = (await events(run)).map((event) => event.type);
    expect(types.filter((type) => type === 'run.resumed')).to.have.length(1);
    // no chunk was ever closed in two jobs
    const closed = (await events(run)).filter((event) => event.type === 'job.closed');
    expect(closed.map((event) => 'chunk' in event && event.chunk).sort()).to.deep.equal([0, 1]);
  });

  it('a run stopped between chunks resumes where it stopped, sending no chunk twice', async () => {
    const { path, runOptions } = await site(
      [{ object: 'Account', source: 'a.csv', maxRecordsPerJob: 1, parallelism: 1 }],
      { 'a.csv': 'Name\nOne\nTwo\nThree\n' },
    );
    const run = await startRun(path, runOptions);
    // one job processed at a time (the next one uploaded meanwhile); stop once the first job ended:
    // its lane still saves its results and deletes it, the others stop at their next safe point
    const stop = new AbortController();
    run.on('job.progress', (progress) => {
      if (progress.state === 'JobComplete') stop.abort();
    });
    await run.execute(stop.signal);
    const before = await replayJournal(run.folder.journalPath);
    const phases = before.steps.get('Account')!.chunks.map((chunk) => chunk.phase);
    expect(phases.filter((phase) => phase === 'deleted')).to.have.length(1);
    expect(before.finished).to.equal(undefined);

    const outcome = await (
      await resumeRun({ ...runOptions, root: join(scaffold!.dir, '.sf-migrate', 'runs'), runId: run.runId })
    ).execute();
    expect(outcome.status).to.equal('succeeded');
    expect(names('Account')).to.deep.equal(['One', 'Three', 'Two']);
    // every chunk closed in exactly one job (a job of chunk 2 created before the stop is aborted, never closed)
    const closed = (await events(run)).filter((event) => event.type === 'job.closed');
    expect(closed.map((event) => 'chunk' in event && event.chunk).sort()).to.deep.equal([0, 1, 2]);
  });

  it('uploads the next job while the org processes the last, and closes it only when that one ends', async () => {
    const { path, runOptions } = await site(
      [{ object: 'Account', source: 'a.csv', maxRecordsPerJob: 4, parallelism: 1 }],
      { 'a.csv': `Name\n${rows(12, 'Lane')}\n` },
      // each job of 4 takes the org about 1 s: far longer than uploading the next one
      { org: { recordsPerSecond: 4 } },
    );
    const run = await startRun(path, runOptions);
    expect((await run.execute()).status).to.equal('succeeded');
    const journal = (await events(run)).filter((event) => 'chunk' in event);
    const at = (type: string, chunk: number): number =>
      journal.findIndex((event) => event.type === type && 'chunk' in event && event.chunk === chunk);
    // the chunks in the order they were handed to the org (lanes race, so not necessarily 0, 1, 2)
    const order = journal
      .filter((event) => event.type === 'job.closing')
      .map((event) => ('chunk' in event ? event.chunk : -1));
    expect([...order].sort()).to.deep.equal([0, 1, 2]);
    for (let k = 1; k < order.length; k++) {
      const [previous, next] = [order[k - 1], order[k]];
      // uploaded ahead, while the previous job was still being processed
      expect(at('job.uploaded', next), `chunk ${next} uploaded`).to.be.lessThan(at('job.finished', previous));
      // but handed to the org only once the previous job ended: one job in processing at a time
      expect(at('job.closing', next), `chunk ${next} closed`).to.be.greaterThan(at('job.finished', previous));
    }
    expect(names('Account')).to.have.length(12);
  });

  it('stops cleanly when the org answers TotalRequests Limit exceeded, and a resume loads the rest once', async () => {
    const { path, runOptions } = await site(
      [{ object: 'Account', source: 'a.csv', maxRecordsPerJob: 1, parallelism: 1 }],
      { 'a.csv': 'Name\nOne\nTwo\nThree\n' },
    );
    const run = await startRun(path, runOptions);
    // the daily allowance runs out once the first job has ended (the next one is uploaded or being
    // uploaded meanwhile, one job processed at a time)
    run.on('job.progress', (progress) => {
      if (progress.state === 'JobComplete') scaffold!.org.faults.set({ apiLimitExhausted: true });
    });
    const failure = await run.execute().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).to.be.instanceOf(BulkApiError);
    expect((failure as BulkApiError).errorCode).to.equal('REQUEST_LIMIT_EXCEEDED');
    expect((failure as BulkApiError).attempts).to.equal(1);
    // never retried: one refused call per lane of the step (the ended job's results, the close of the
    // job uploaded ahead); a close refused at the limits is not followed by a look at the job
    expect(scaffold!.org.stats().byRoute['limit exceeded']).to.be.within(1, 2);
    const stopped = await replayJournal(run.folder.journalPath);
    expect(stopped.finished).to.equal(undefined);
    expect(stopped.steps.get('Account')!.chunks.some((chunk) => chunk.phase !== 'planned')).to.equal(true);

    scaffold!.org.faults.clear();
    const outcome = await (
      await resumeRun({ ...runOptions, root: join(scaffold!.dir, '.sf-migrate', 'runs'), runId: run.runId })
    ).execute();
    expect(outcome.status).to.equal('succeeded');
    expect(names('Account')).to.deep.equal(['One', 'Three', 'Two']);
  });

  it('waits out ConcurrentPerOrgLongTxn refusals and loads every record once', async () => {
    const { path, runOptions } = await site([{ object: 'Account', source: 'a.csv', maxRecordsPerJob: 2 }], {
      'a.csv': `Name\n${rows(12, 'Busy')}\n`,
    });
    scaffold!.org.faults.set({ seed: 4, concurrentLimitRate: 0.3 });
    // the waits for this limit are seconds long: here they pass at once
    const client = new IngestJobClient(runOptions.connection, {
      retry: { attempts: 10 },
      sleep: async (): Promise<void> => new Promise((resolve) => setImmediate(resolve)),
    });
    const retries: BulkRetryEvent[] = [];
    client.on('retry', (event: BulkRetryEvent) => retries.push(event));
    const outcome = await (await startRun(path, { ...runOptions, client })).execute();
    expect(outcome.status).to.equal('succeeded');
    expect(retries.filter((r) => r.reason === '403 REQUEST_LIMIT_EXCEEDED').length).to.be.greaterThan(0);
    expect(names('Account')).to.deep.equal(Array.from({ length: 12 }, (_, i) => `Busy${i}`).sort());
  });

  describe('MigrationRun.continue from a replayed journal', () => {
    async function resumeBuilt(
      stop: 'created' | 'uploaded',
    ): Promise<{ jobId: string; outcome: RunOutcome; state: RunState }> {
      scaffold = await createScaffold();
      const built = await buildRun(scaffold, stop);
      await built.journal.close();
      const run = await resumeRun({
        connection: scaffold.connection,
        username: scaffold.org.username,
        orgId: scaffold.org.orgId,
        root: scaffold.root,
        runId: built.folder.runId,
      });
      const outcome = await run.execute();
      return { jobId: built.jobId!, outcome, state: await replayJournal(built.folder.journalPath) };
    }

    it('aborts a job whose upload was never journaled and loads the chunk in a fresh job', async () => {
      const { jobId, outcome, state } = await resumeBuilt('created');
      expect(outcome.status).to.equal('succeeded');
      const [chunk] = state.steps.get('Account')!.chunks;
      expect(chunk.abandonedJobIds).to.deep.equal([jobId]);
      expect(chunk.jobId).to.not.equal(jobId);
      expect((await scaffold!.client.info(jobId)).state).to.equal('Aborted');
      expect(names('Account')).to.deep.equal(['Acme', 'Globex', 'Initech']);
      expect(names('Contact')).to.deep.equal(['Smith']);
    });

    it('closes a job whose upload was journaled: the same job, never a second one', async () => {
      const { jobId, outcome, state } = await resumeBuilt('uploaded');
      expect(outcome.status).to.equal('succeeded');
      const [chunk] = state.steps.get('Account')!.chunks;
      expect(chunk).to.deep.include({ jobId, phase: 'deleted', abandonedJobIds: [] });
      expect(names('Account')).to.deep.equal(['Acme', 'Globex', 'Initech']);
    });
  });
});
