/*
 * Issue 9.5: nothing is sent before every folder a chunk will need is known good. A run whose
 * results folder cannot be made stops before its first job, so no rows load whose results would
 * then have nowhere to go.
 */
import { rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { expect } from 'chai';
import { loadManifestOrThrow } from '../../src/manifest/load.js';
import { MigrationRun } from '../../src/engine/migrationRun.js';
import { createEngineSite, type EngineSite } from './engineSite.js';

describe('the folders of a run', () => {
  let site: EngineSite;
  beforeEach(async () => {
    site = await createEngineSite();
  });
  afterEach(async () => {
    await site.cleanup();
  });

  it('are made before the first job, every step at once', async () => {
    const run = await MigrationRun.start(await loadManifestOrThrow(site.manifestPath), site.options);
    const folders = run.manifest.steps.flatMap((step) => [
      run.folder.resultsDir(step.id),
      run.folder.retryDir(step.id),
      dirname(run.folder.deadLetterPath(step.id)),
    ]);
    const client = site.options.client!;
    const create = client.create.bind(client);
    let missingAtFirstJob: string[] | undefined;
    client.create = (...args: Parameters<typeof create>): ReturnType<typeof create> => {
      missingAtFirstJob ??= folders.filter((folder) => !existsSync(folder));
      return create(...args);
    };
    const outcome = await run.execute();
    expect(outcome.status).to.equal('succeeded');
    expect(missingAtFirstJob).to.deep.equal([]);
  });

  it('stop the run before any job when one cannot be made', async () => {
    const run = await MigrationRun.start(await loadManifestOrThrow(site.manifestPath), site.options);
    // a file where the results folder must go
    await rm(join(run.folder.dir, 'results'), { recursive: true, force: true });
    await writeFile(join(run.folder.dir, 'results'), 'not a folder');
    const error = await run.execute().then(
      () => undefined,
      (caught: NodeJS.ErrnoException) => caught,
    );
    expect(error?.code).to.be.oneOf(['ENOTDIR', 'EEXIST']);
    const routes = Object.keys(site.org.stats().byRoute);
    expect(
      routes.filter((route) => route.includes('jobs/ingest')),
      'no job created',
    ).to.deep.equal([]);
    expect(site.org.store.count('Account')).to.equal(0);
  });
});
