import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';
import { abortJob, jobResults, jobStatus, resumeJob } from '../../src/engine/jobControl.js';
import type { JobOrgs } from '../../src/engine/jobLookup.js';
import { replayJournal, findChunk, type ChunkState } from '../../src/journal/state.js';
import { acquireRunLock } from '../../src/journal/lock.js';
import { JobIndex } from '../../src/journal/jobIndex.js';
import type { RunFolder } from '../../src/journal/runFolder.js';
import type { IngestJobClient } from '../../src/bulk/ingestJobClient.js';
import { buildRun, createScaffold, type Scaffold } from './runScaffold.js';

async function chunkOf(folder: RunFolder): Promise<ChunkState> {
  const state = await replayJournal(folder.journalPath);
  return findChunk(state, { step: 'Account', chunk: 0 })!;
}

async function failure(promise: Promise<unknown>): Promise<Error & { actions?: string[]; data?: unknown }> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a failure');
}

describe('jobControl', () => {
  let scaffold: Scaffold;
  let orgs: JobOrgs;
  const connected: string[] = [];

  const start = async (options: Parameters<typeof createScaffold>[0] = {}): Promise<void> => {
    scaffold = await createScaffold(options);
    connected.length = 0;
    orgs = {
      connect: (username: string): Promise<IngestJobClient> => {
        connected.push(username);
        return Promise.resolve(scaffold.client);
      },
    };
  };

  afterEach(async () => {
    await scaffold.cleanup();
  });

  describe('jobStatus', () => {
    beforeEach(() => start());

    it('finds a job by its 15-character id in the index, asks its org and reads its run', async () => {
      const run = await buildRun(scaffold, 'uploaded');
      await run.journal.close();
      const status = await jobStatus(run.jobId!.slice(0, 15), orgs);
      expect(connected).to.deep.equal([scaffold.org.username]);
      expect(status).to.deep.include({ jobId: run.jobId, object: 'Account', operation: 'insert', state: 'Open' });
      expect(status.run).to.deep.include({
        runId: run.folder.runId,
        step: 'Account',
        chunk: 0,
        phase: 'uploaded',
        attempt: 0,
      });
    });

    it('refuses a job that no run indexed, and a job of another org than --target-org', async () => {
      const notIndexed = await failure(jobStatus('750000000000001AAA', orgs));
      expect(notIndexed.name).to.equal('JobNotIndexedError');

      const run = await buildRun(scaffold, 'created');
      await run.journal.close();
      const other = await failure(
        jobStatus(run.jobId!, {
          ...orgs,
          target: { orgId: '00D000000000001AAA', username: 'other@example.com', client: scaffold.client },
        }),
      );
      expect(other.name).to.equal('JobOfAnotherOrgError');
      expect(other.message).to.include(scaffold.org.username).and.include('other@example.com');
    });

    it('with --target-org, shows a job no run indexed straight from the org', async () => {
      const info = await scaffold.client.create({ object: 'Account', operation: 'insert' });
      const status = await jobStatus(info.id, {
        ...orgs,
        target: { orgId: scaffold.org.orgId, username: scaffold.org.username, client: scaffold.client },
      });
      expect(status).to.deep.include({ jobId: info.id, state: 'Open' });
      expect(status.run).to.equal(undefined);
      expect(connected).to.deep.equal([]);
    });
  });

  describe('resumeJob', () => {
    beforeEach(() => start());

    it('polls a closed job to the end and saves its results into the run, journaled as the engine does', async () => {
      const run = await buildRun(scaffold, 'closed');
      await run.journal.close();
      const result = await resumeJob(run.jobId!, { orgs });
      expect(result).to.deep.include({ status: 'finished', state: 'JobComplete', processed: 3, failed: 0 });
      expect(result.results?.counts).to.deep.equal({ success: 3, failed: 0, unprocessed: 0 });
      expect(result.results?.files.success).to.equal(run.folder.resultFile('Account', run.jobId!, 'success'));
      expect(result.nextCommand).to.equal(
        `sf migrate resume --manifest ${scaffold.manifestPath} --run-id ${run.folder.runId}`,
      );
      const success = await readFile(result.results!.files.success, 'utf8');
      expect(success.trim().split('\n')).to.have.length(4);

      const chunk = await chunkOf(run.folder);
      expect(chunk.phase).to.equal('saved');
      expect(chunk.results?.files.success).to.equal(join('results', 'Account', `${run.jobId!}-success.csv`));
      // the lock was released: the run can be taken again
      const lock = await acquireRunLock(run.folder);
      await lock.release();
    });

    it('closes a job whose close was announced but not confirmed, then finishes it', async () => {
      const run = await buildRun(scaffold, 'closing');
      await run.journal.close();
      const result = await resumeJob(run.jobId!, { orgs });
      expect(result.status).to.equal('finished');
      const lines = (await readFile(run.folder.journalPath, 'utf8')).trim().split('\n');
      const types = lines.map((line) => (JSON.parse(line) as { type: string }).type);
      expect(types.slice(-4)).to.deep.equal(['job.closing', 'job.closed', 'job.finished', 'results.saved']);
    });

    it('journals a job found aborted before its announced close as abandoned, and says the chunk moved on', async () => {
      const run = await buildRun(scaffold, 'closing');
      await run.journal.close();
      // aborted in Setup while still Open: nothing was processed, so the chunk must go again
      await scaffold.client.abort(run.jobId!);
      const replaced = await failure(resumeJob(run.jobId!, { orgs }));
      expect(replaced.name).to.equal('JobReplacedError');
      const chunk = await chunkOf(run.folder);
      expect(chunk).to.deep.include({ phase: 'planned', abandonedJobIds: [run.jobId] });
    });

    it('refuses a job its run never closed, a job already saved, and a run another process holds', async () => {
      const uploaded = await buildRun(scaffold, 'uploaded');
      await uploaded.journal.close();
      const notClosed = await failure(resumeJob(uploaded.jobId!, { orgs }));
      expect(notClosed.name).to.equal('JobNotClosedError');
      expect(notClosed.actions?.[0]).to.include('sf migrate resume');
      expect((await chunkOf(uploaded.folder)).phase).to.equal('uploaded');

      const saved = await buildRun(scaffold, 'saved');
      await saved.journal.close();
      expect((await failure(resumeJob(saved.jobId!, { orgs }))).name).to.equal('JobAlreadySavedError');

      const closed = await buildRun(scaffold, 'closed');
      await closed.journal.close();
      const lock = await acquireRunLock(closed.folder);
      try {
        expect((await failure(resumeJob(closed.jobId!, { orgs }))).name).to.equal('RunLockedError');
      } finally {
        await lock.release();
      }
      expect((await chunkOf(closed.folder)).phase).to.equal('closed');
    });

    it('refuses a job that no run indexed', async () => {
      const info = await scaffold.client.create({ object: 'Account', operation: 'insert' });
      const error = await failure(
        resumeJob(info.id, {
          orgs: {
            ...orgs,
            target: { orgId: scaffold.org.orgId, username: scaffold.org.username, client: scaffold.client },
          },
        }),
      );
      expect(error.name).to.equal('JobNotInRunError');
    });
  });

  describe('resumeJob on a slow org', () => {
    beforeEach(() => start({ recordsPerSecond: 1 }));

    it('returns waiting when the wait budget runs out, leaving the job closed in the journal', async () => {
      const run = await buildRun(scaffold, 'closed');
      await run.journal.close();
      const result = await resumeJob(run.jobId!, { orgs, signal: AbortSignal.abort() });
      expect(result.status).to.equal('waiting');
      expect(result.nextCommand).to.equal(`sf migrate job resume --job-id ${run.jobId!}`);
      expect((await chunkOf(run.folder)).phase).to.equal('closed');
    });

    it('aborts a closed job and journals it finished as Aborted (its unprocessed rows stay accounted for)', async () => {
      const run = await buildRun(scaffold, 'closed');
      await run.journal.close();
      const result = await abortJob(run.jobId!, { orgs });
      expect(result).to.deep.include({ state: 'Aborted', journaled: 'job.finished' });
      expect(result.previousState).to.be.oneOf(['UploadComplete', 'InProgress']);
      const chunk = await chunkOf(run.folder);
      expect(chunk.phase).to.equal('finished');
      expect(chunk.finished?.state).to.equal('Aborted');
      expect(chunk.jobId).to.equal(run.jobId);
    });
  });

  describe('abortJob', () => {
    beforeEach(() => start());

    it('aborts a job that was never closed and journals job.aborted: the chunk starts again', async () => {
      const run = await buildRun(scaffold, 'uploaded');
      await run.journal.close();
      const result = await abortJob(run.jobId!, { orgs });
      expect(result).to.deep.include({ previousState: 'Open', state: 'Aborted', journaled: 'job.aborted' });
      const chunk = await chunkOf(run.folder);
      expect(chunk.phase).to.equal('planned');
      expect(chunk.jobId).to.equal(undefined);
      expect(chunk.abandonedJobIds).to.deep.equal([run.jobId]);
      expect((await scaffold.client.info(run.jobId!)).state).to.equal('Aborted');
    });

    it('only aborts in the org while the run`s process holds the run', async () => {
      const run = await buildRun(scaffold, 'uploaded');
      await run.journal.close();
      const lock = await acquireRunLock(run.folder);
      try {
        const result = await abortJob(run.jobId!, { orgs });
        expect(result).to.deep.include({ state: 'Aborted', journaled: 'none' });
        expect(result.runLockedBy?.pid).to.equal(process.pid);
      } finally {
        await lock.release();
      }
      expect((await chunkOf(run.folder)).phase).to.equal('uploaded');
    });

    it('refuses a job that has already finished', async () => {
      const run = await buildRun(scaffold, 'finished');
      await run.journal.close();
      const error = await failure(abortJob(run.jobId!, { orgs }));
      expect(error.name).to.equal('JobAlreadyFinishedError');
      expect(error.actions?.[0]).to.include(`sf migrate job results --job-id ${run.jobId!}`);
    });
  });

  describe('jobResults', () => {
    beforeEach(() => start());

    it('saves the results of a finished chunk into its run and journals results.saved', async () => {
      const run = await buildRun(scaffold, 'finished');
      await run.journal.close();
      const result = await jobResults(run.jobId!, { orgs });
      expect(result.journaled).to.equal(true);
      expect(result.outputDir).to.equal(run.folder.resultsDir('Account'));
      expect(result.counts).to.deep.equal({ success: 3, failed: 0, unprocessed: 0 });
      expect((await chunkOf(run.folder)).phase).to.equal('saved');
    });

    it('downloads into --output-dir without touching the journal', async () => {
      const run = await buildRun(scaffold, 'finished');
      await run.journal.close();
      const out = join(scaffold.dir, 'out');
      const result = await jobResults(run.jobId!, { orgs, outputDir: out });
      expect(result).to.deep.include({ journaled: false, outputDir: out });
      expect(result.files.failed).to.equal(join(out, `${run.jobId!}-failed.csv`));
      expect(result.counts).to.deep.equal({ success: 3, failed: 0, unprocessed: 0 });
      expect((await readFile(result.files.failed, 'utf8')).split('\n')[0]).to.include('sf__Error');
      expect((await chunkOf(run.folder)).phase).to.equal('finished');
    });

    it('asks a clean job outside a run for no failed results: its counts prove the file empty', async () => {
      const run = await buildRun(scaffold, 'finished');
      await run.journal.close();
      const downloads = (): number[] =>
        ['successfulResults', 'failedResults', 'unprocessedrecords'].map(
          (kind) => scaffold.org.stats().byRoute[`GET jobs/ingest/:id/${kind}`] ?? 0,
        );
      const before = downloads();
      const out = join(scaffold.dir, 'out');
      const result = await jobResults(run.jobId!, { orgs, outputDir: out });
      expect(result.counts).to.deep.equal({ success: 3, failed: 0, unprocessed: 0 });
      // the records uploaded are not known outside the run's journal: the unprocessed file is still asked for
      expect(downloads().map((after, k) => after - before[k])).to.deep.equal([1, 0, 1]);
      // the file written here is the org's own, byte for byte
      const fromOrg = join(scaffold.dir, 'from-org-failed.csv');
      await scaffold.client.saveResults(run.jobId!, 'failed', fromOrg);
      expect(await readFile(result.files.failed, 'utf8')).to.equal(await readFile(fromOrg, 'utf8'));
    });

    it('refuses a job that has not finished', async () => {
      const run = await buildRun(scaffold, 'uploaded');
      await run.journal.close();
      const error = await failure(jobResults(run.jobId!, { orgs }));
      expect(error.name).to.equal('JobNotFinishedError');
    });

    it('reports a job the org no longer has, pointing at the run folder', async () => {
      const run = await buildRun(scaffold, 'finished');
      await run.journal.close();
      await scaffold.client.delete(run.jobId!);
      const error = await failure(jobResults(run.jobId!, { orgs }));
      expect(error.name).to.equal('JobNotInOrgError');
      expect(error.actions?.[0]).to.include(run.folder.resultsDir('Account'));
      expect(await JobIndex.find(run.jobId!)).to.include({ runId: run.folder.runId });
    });
  });
});
