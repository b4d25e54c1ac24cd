/*
 * A run folder is never forgotten, and resume checks the journal against the job index and the
 * org (issue 9.2 and 9.3). A finished run's journal loses its last N lines — every N from one line
 * to all of them, i.e. cut at each line boundary in turn down to empty — as a disk that lied about
 * an fsync would leave it. Then, as the tool advises: `run` refuses to start beside the run, and
 * `resume` either finishes it or refuses naming the jobs it cannot account for. In every case the
 * org holds each record at most once, and exactly once when the resume finished the run.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { expect } from 'chai';
import { SfError } from '@salesforce/core';
import { loadManifestOrThrow } from '../../src/manifest/load.js';
import { MigrationRun } from '../../src/engine/migrationRun.js';
import { resumeRun } from '../../src/engine/resumeRun.js';
import { runFolder } from '../../src/journal/runFolder.js';
import { countsBy, createEngineSite, type EngineSite } from './engineSite.js';

const NAMES = ['Acme', 'Globex', 'Initech'];

function expectAtMostOnce(site: EngineSite, finished: boolean): void {
  const counts = countsBy(site.org, 'Account', 'Name');
  for (const name of NAMES) {
    expect(counts.get(name) ?? 0, name).to.be.at.most(1);
    if (finished) expect(counts.get(name), name).to.equal(1);
  }
  expect(site.org.store.count('Contact')).to.be.at.most(1);
  if (finished) expect(site.org.store.count('Contact')).to.equal(1);
}

/** runs the manifest fixture to its end; resolves the journal's lines and the run id */
async function finishedRun(site: EngineSite, keepJobs: boolean): Promise<{ runId: string; lines: string[] }> {
  const manifest = await loadManifestOrThrow(site.manifestPath);
  const run = await MigrationRun.start(manifest, { ...site.options, keepJobs });
  expect((await run.execute()).status).to.equal('succeeded');
  const text = await readFile(run.folder.journalPath, 'utf8');
  return { runId: run.runId, lines: text.split('\n').filter((line) => line.length > 0) };
}

/** how many lines the finished run's journal has (the same for every run of the fixture) */
async function journalLength(keepJobs: boolean): Promise<number> {
  const site = await createEngineSite();
  try {
    return (await finishedRun(site, keepJobs)).lines.length;
  } finally {
    await site.cleanup();
  }
}

type Ending = 'finished' | 'refused';

/**
 * What resume can do after losing `lost`: a job whose `job.created` line was lost is adopted when
 * the org still has it and its chunk's `chunk.planned` line survived; a job deleted after its
 * results were saved cannot be accounted for once `results.saved` is lost.
 */
function expectedEnding(lines: string[], kept: number, keepJobs: boolean): Ending {
  const events = lines.map((line) => JSON.parse(line) as { type: string; step?: string; chunk?: number });
  const planned = new Set(
    events.slice(0, kept).flatMap((event) => (event.type === 'chunk.planned' ? [`${event.step}/${event.chunk}`] : [])),
  );
  const lostEvents = events.slice(kept);
  if (!keepJobs) return lostEvents.some((event) => event.type === 'results.saved') ? 'refused' : 'finished';
  const orphaned = lostEvents.some(
    (event) => event.type === 'job.created' && !planned.has(`${event.step}/${event.chunk}`),
  );
  return orphaned ? 'refused' : 'finished';
}

async function loseTailThenResume(keepJobs: boolean, lost: number): Promise<{ ending: Ending; expected: Ending }> {
  const site = await createEngineSite();
  try {
    const { runId, lines } = await finishedRun(site, keepJobs);
    const folder = runFolder(site.root, runId);
    const kept = lines.slice(0, lines.length - lost);
    await writeFile(folder.journalPath, kept.map((line) => `${line}\n`).join(''));

    // `run` without --new: the folder still belongs to the manifest, whatever its journal says
    const manifest = await loadManifestOrThrow(site.manifestPath);
    const beside = await MigrationRun.start(manifest, site.options).then(
      (run) => run,
      (error: unknown) => error as SfError,
    );
    expect(beside).to.be.instanceOf(SfError).with.property('name', 'UnfinishedRunError');
    expect((beside as SfError).actions?.join('\n')).to.include(`sf migrate resume --manifest ${site.manifestPath}`);

    // `resume`, as that error advises
    const warnings: string[] = [];
    let ending: Ending;
    try {
      const run = await resumeRun({
        ...site.options,
        keepJobs,
        root: site.root,
        manifest: site.manifestPath,
        onWarning: (message) => warnings.push(message),
      });
      expect(run.runId).to.equal(runId);
      expect((await run.execute()).status).to.equal('succeeded');
      ending = 'finished';
    } catch (error) {
      expect(error, String(error)).to.be.instanceOf(SfError).with.property('name', 'UnknownJobsError');
      expect((error as SfError).message).to.match(/750\w{12,15}/);
      expect((error as SfError).actions?.join('\n')).to.include('sf migrate job results --job-id 750');
      ending = 'refused';
    }
    expectAtMostOnce(site, ending === 'finished');
    return { ending, expected: expectedEnding(lines, kept.length, keepJobs) };
  } finally {
    await site.cleanup();
  }
}

for (const keepJobs of [false, true]) {
  describe(`resume after the journal lost its tail (${keepJobs ? 'jobs kept in the org' : 'jobs deleted'})`, function () {
    // every trial runs the migration once against a fresh local org: no timing is asserted
    this.timeout(600_000);
    it('never loads a record twice, whichever line boundary the journal was cut at', async () => {
      const total = await journalLength(keepJobs);
      expect(total).to.be.greaterThan(20);
      for (let lost = 1; lost <= total; lost++) {
        // eslint-disable-next-line no-await-in-loop -- one org per trial, one after the other
        const { ending, expected } = await loseTailThenResume(keepJobs, lost);
        expect(ending, `${lost} lines lost`).to.equal(expected);
      }
    });
  });
}
