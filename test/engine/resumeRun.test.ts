/*
 * Resume against a local org in this process: a run folder whose journal never got going, a job
 * the journal lost while it was still Open, a closed job only the org's list knows of, and a
 * manifest edited since the run began. Retry shares start's one-run-per-manifest rule.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { expect } from 'chai';
import { SfError } from '@salesforce/core';
import { loadManifestOrThrow } from '../../src/manifest/load.js';
import { MigrationRun } from '../../src/engine/migrationRun.js';
import { resumeRun } from '../../src/engine/resumeRun.js';
import { retryDeadLetters } from '../../src/engine/retryRun.js';
import { createRunFolder, runFolder } from '../../src/journal/runFolder.js';
import { JobIndex } from '../../src/journal/jobIndex.js';
import { buildRun } from './runScaffold.js';
import { countsBy, createEngineSite, type EngineSite } from './engineSite.js';

function expectLoadedOnce(site: EngineSite, others: string[] = []): void {
  expect([...countsBy(site.org, 'Account', 'Name').entries()]).to.have.deep.members([
    ['Acme', 1],
    ['Globex', 1],
    ['Initech', 1],
    ...others.map((name): [string, number] => [name, 1]),
  ]);
  expect(site.org.store.count('Contact')).to.equal(1);
}

async function rejection(promise: Promise<unknown>): Promise<SfError> {
  try {
    await promise;
  } catch (error) {
    return error as SfError;
  }
  expect.fail('expected a rejection');
}

describe('resumeRun', () => {
  let site: EngineSite;
  let warnings: string[];
  beforeEach(async () => {
    site = await createEngineSite();
    warnings = [];
  });
  afterEach(async () => {
    await site.cleanup();
  });

  const resume = (over: { keepJobs?: boolean; ignoreJobs?: string[] } = {}): Promise<MigrationRun> =>
    resumeRun({
      ...site.options,
      ...over,
      root: site.root,
      manifest: site.manifestPath,
      onWarning: (message) => warnings.push(message),
    });

  for (const journal of ['missing', 'empty'] as const) {
    it(`starts a run whose journal is ${journal} in its own folder, once nothing of it is in the org`, async () => {
      const folder = await createRunFolder(site.root, site.manifestPath);
      if (journal === 'empty') await writeFile(folder.journalPath, '');
      const manifest = await loadManifestOrThrow(site.manifestPath);
      expect((await rejection(MigrationRun.start(manifest, site.options))).name).to.equal('UnfinishedRunError');

      const run = await resume();
      expect(run.runId).to.equal(folder.runId);
      expect((await run.execute()).status).to.equal('succeeded');
      expect(warnings.join('\n')).to.include(`Run ${folder.runId} had no event in its journal`);
      expectLoadedOnce(site);
    });
  }

  it('says what is wrong with a folder that has neither a journal nor a manifest copy', async () => {
    const folder = runFolder(site.root, '20261129-000000-0000');
    await mkdir(folder.dir, { recursive: true });
    await writeFile(
      folder.ownerPath,
      JSON.stringify({ manifest: site.manifestPath, runId: folder.runId, createdAt: new Date().toISOString() }),
    );
    const error = await rejection(resume());
    expect(error.name).to.equal('RunFolderIncompleteError');
    expect(error.actions?.join('\n')).to.include(folder.dir);
    expect(error.message).to.not.match(/no unfinished run/i);
  });

  it('aborts an Open job the journal lost, journals it abandoned, and loads its chunk once in a fresh job', async () => {
    const built = await buildRun(site, 'created');
    await built.journal.close();
    // the disk kept everything but the job.created line
    const lines = (await readFile(built.folder.journalPath, 'utf8')).split('\n').filter(Boolean);
    expect(JSON.parse(lines.at(-1)!)).to.include({ type: 'job.created' });
    await writeFile(
      built.folder.journalPath,
      lines
        .slice(0, -1)
        .map((line) => `${line}\n`)
        .join(''),
    );

    const run = await resume();
    const chunk = run.state.steps.get('Account')!.chunks[0];
    expect(chunk.abandonedJobIds).to.deep.equal([built.jobId]);
    expect(chunk.phase).to.equal('planned');
    expect((await site.client.info(built.jobId!)).state).to.equal('Aborted');
    expect((await run.execute()).status).to.equal('succeeded');
    expectLoadedOnce(site);
  });

  it('refuses a closed job only the org list knows, naming it', async () => {
    const manifest = await loadManifestOrThrow(site.manifestPath);
    const first = await MigrationRun.start(manifest, { ...site.options, keepJobs: true });
    expect((await first.execute()).status).to.equal('succeeded');
    const lines = (await readFile(first.folder.journalPath, 'utf8')).split('\n').filter(Boolean);
    // cut before the Contact step planned its chunk, and lose the job index too
    const cut = lines.findIndex((line) => line.includes('"step.started"') && line.includes('"Contact"'));
    await writeFile(
      first.folder.journalPath,
      lines
        .slice(0, cut)
        .map((line) => `${line}\n`)
        .join(''),
    );
    await rm(JobIndex.path());

    const error = await rejection(resume({ keepJobs: true }));
    expect(error.name).to.equal('UnknownJobsError');
    const contactJob = first.state.steps.get('Contact')!.chunks[0].jobId!;
    expect(error.message).to.include(contactJob).and.to.include('JobComplete').and.to.include('Contact');
    expect(error.actions?.join('\n')).to.include(`sf migrate job results --job-id ${contactJob}`);
    expect(site.org.store.count('Contact')).to.equal(1);
  });

  it('lets exactly one of several simultaneous resumes of a run go ahead', async () => {
    const manifest = await loadManifestOrThrow(site.manifestPath);
    const first = await MigrationRun.start(manifest, site.options);
    expect((await first.execute(AbortSignal.abort())).status).to.equal('waiting');
    const settled = await Promise.allSettled(Array.from({ length: 6 }, () => resume()));
    const resumed = settled.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    expect(resumed).to.have.length(1);
    for (const result of settled) {
      if (result.status === 'rejected') expect((result.reason as SfError).name).to.equal('RunLockedError');
    }
    expect((await resumed[0].execute()).status).to.equal('succeeded');
    expectLoadedOnce(site);
  });

  it('warns which parts of the manifest changed since the run began, and goes on from its copy', async () => {
    const manifest = await loadManifestOrThrow(site.manifestPath);
    const first = await MigrationRun.start(manifest, site.options);
    expect((await first.execute(AbortSignal.abort())).status).to.equal('waiting');

    const edited = JSON.parse(await readFile(site.manifestPath, 'utf8')) as {
      defaults: Record<string, unknown>;
      steps: Array<Record<string, unknown>>;
    };
    edited.defaults.maxRecordsPerJob = 1;
    edited.steps[1].dependsOn = [];
    await writeFile(site.manifestPath, JSON.stringify(edited, null, 2));

    const run = await resume();
    const warning = warnings.find((message) => message.includes('changed since run'));
    expect(warning).to.include('defaults').and.to.include('steps[Contact]').and.not.include('steps[Account]');
    expect((await run.execute()).status).to.equal('succeeded');
    // the copy's settings: one job for the three accounts, not three
    expect(run.state.steps.get('Account')!.chunks).to.have.length(1);
    expectLoadedOnce(site);
  });

  describe('--ignore-job (issue 9.3: a job of another tool under the same user)', () => {
    /** a run stopped before its first job, then an Account insert loaded beside it by another tool */
    async function interruptedRunBesideForeignJob(): Promise<{ runId: string; foreign: string }> {
      const manifest = await loadManifestOrThrow(site.manifestPath);
      const first = await MigrationRun.start(manifest, site.options);
      expect((await first.execute(AbortSignal.abort())).status).to.equal('waiting');
      const job = await site.client.create({ object: 'Account', operation: 'insert', lineEnding: 'LF' });
      await site.client.upload(job.id, () => Readable.from(['Name\nForeign Ltd\n']));
      await site.client.close(job.id);
      await site.client.poll(job.id, { initialMs: 10, maxMs: 20 });
      return { runId: first.runId, foreign: job.id };
    }

    it('refuses the job, naming the command that ignores it; once told, journals it and never asks again', async () => {
      const { runId, foreign } = await interruptedRunBesideForeignJob();
      const refused = await rejection(resume());
      expect(refused.name).to.equal('UnknownJobsError');
      const advice = `sf migrate resume --manifest ${site.manifestPath} --run-id ${runId} --ignore-job ${foreign}`;
      expect(refused.actions?.[0]).to.include(advice);

      // as advised: the job is journaled as not this run's; the run is stopped again before its end
      const told = await resume({ ignoreJobs: [foreign] });
      expect((await told.execute(AbortSignal.abort())).status).to.equal('waiting');
      const lines = (await readFile(told.folder.journalPath, 'utf8')).split('\n').filter(Boolean);
      const ignored = lines.map((line) => JSON.parse(line) as { type: string; jobId?: string });
      expect(ignored.filter((event) => event.type === 'job.ignored').map((event) => event.jobId)).to.deep.equal([
        foreign,
      ]);
      expect(told.state.ignoredJobs).to.deep.equal([foreign]);

      // a later resume, without the flag, does not ask again and loads the run's records once
      const later = await resume();
      expect((await later.execute()).status).to.equal('succeeded');
      expectLoadedOnce(site, ['Foreign Ltd']);
      expect(warnings.join('\n')).to.not.include('--ignore-job');
    });

    it('refuses to ignore a job the job index gives to this run', async () => {
      const built = await buildRun(site, 'created');
      await built.journal.close();
      // the journal lost the job.created line; the job index still names the chunk
      const lines = (await readFile(built.folder.journalPath, 'utf8')).split('\n').filter(Boolean);
      await writeFile(
        built.folder.journalPath,
        lines
          .slice(0, -1)
          .map((line) => `${line}\n`)
          .join(''),
      );
      const error = await rejection(resume({ ignoreJobs: [built.jobId!] }));
      expect(error.name).to.equal('IgnoredJobOfThisRunError');
      expect(error.message).to.include(built.jobId!);
      expect((await readFile(built.folder.journalPath, 'utf8')).includes('job.ignored')).to.equal(false);
    });

    it('refuses to ignore a job the journal gives to this run', async () => {
      const built = await buildRun(site, 'created');
      await built.journal.close();
      const error = await rejection(resume({ ignoreJobs: [built.jobId!] }));
      expect(error.name).to.equal('IgnoredJobOfThisRunError');
    });

    it('warns about an --ignore-job that names no job resume asked about', async () => {
      const manifest = await loadManifestOrThrow(site.manifestPath);
      const first = await MigrationRun.start(manifest, site.options);
      expect((await first.execute(AbortSignal.abort())).status).to.equal('waiting');
      const run = await resume({ ignoreJobs: ['750000000000001AAA'] });
      expect(warnings.join('\n')).to.include('750000000000001AAA');
      expect(run.state.ignoredJobs).to.deep.equal([]);
      expect((await run.execute()).status).to.equal('succeeded');
      expectLoadedOnce(site);
    });
  });

  describe('retryDeadLetters', () => {
    it('lets exactly one of several simultaneous retries of a finished run go ahead', async () => {
      // every account fails (an unknown column), so the gate stops the run before Contact
      await writeFile(
        site.manifestPath.replace(/migration\.json$/, 'data/accounts.csv'),
        'Name,Nope__c\nAcme,1\nGlobex,2\n',
      );
      const manifest = await loadManifestOrThrow(site.manifestPath);
      const first = await MigrationRun.start(manifest, site.options);
      expect((await first.execute()).status).to.equal('failed');

      const settled = await Promise.allSettled(
        Array.from({ length: 6 }, () =>
          retryDeadLetters({ ...site.options, root: site.root, runId: first.runId, manifest: site.manifestPath }),
        ),
      );
      const started = settled.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
      expect(started).to.have.length(1);
      for (const result of settled) {
        if (result.status === 'rejected') expect((result.reason as SfError).name).to.equal('UnfinishedRunError');
      }
      await started[0].execute(AbortSignal.abort());
    });
  });
});
