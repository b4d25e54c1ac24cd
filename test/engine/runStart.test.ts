/*
 * One run per manifest, atomically (issue 9.1): however many starts of one manifest race, in one
 * process or in several, exactly one goes ahead and the others get "unfinished run", and the org
 * holds each record once.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { SfError } from '@salesforce/core';
import { loadManifestOrThrow } from '../../src/manifest/load.js';
import { MigrationRun } from '../../src/engine/migrationRun.js';
import { findRun, listRuns } from '../../src/journal/runFolder.js';
import { writeManifestFixture } from './runScaffold.js';
import { countsBy, createEngineSite, type EngineSite } from './engineSite.js';

const STARTS = 8;
const TRIALS = 4;

function expectLoadedOnce(site: EngineSite): void {
  expect([...countsBy(site.org, 'Account', 'Name').entries()]).to.have.deep.members([
    ['Acme', 1],
    ['Globex', 1],
    ['Initech', 1],
  ]);
  expect(site.org.store.count('Contact')).to.equal(1);
}

describe('starting a run', () => {
  let site: EngineSite;
  beforeEach(async () => {
    site = await createEngineSite();
  });
  afterEach(async () => {
    await site.cleanup();
  });

  for (let trial = 1; trial <= TRIALS; trial++) {
    it(`lets exactly one of ${STARTS} simultaneous starts of a manifest go ahead (trial ${trial})`, async () => {
      const manifest = await loadManifestOrThrow(site.manifestPath);
      const settled = await Promise.allSettled(
        Array.from({ length: STARTS }, () => MigrationRun.start(manifest, site.options)),
      );
      const started = settled.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
      const refused = settled.flatMap((result) => (result.status === 'rejected' ? [result.reason as Error] : []));
      expect(started).to.have.length(1);
      expect(refused).to.have.length(STARTS - 1);
      for (const error of refused) {
        expect(error).to.be.instanceOf(SfError).with.property('name', 'UnfinishedRunError');
        expect(error.message).to.include(started[0].runId);
      }
      expect(await listRuns(site.root)).to.have.length(1);
      const outcome = await started[0].execute();
      expect(outcome.status).to.equal('succeeded');
      expectLoadedOnce(site);
    });
  }

  it('starts beside an unfinished run only when asked to (--new)', async () => {
    const manifest = await loadManifestOrThrow(site.manifestPath);
    const first = await MigrationRun.start(manifest, site.options);
    const error = await MigrationRun.start(manifest, site.options).then(
      () => undefined,
      (failure: unknown) => failure as SfError,
    );
    expect(error?.name).to.equal('UnfinishedRunError');
    // the actions paste into a shell: the manifest path is printed as one word
    expect(error?.actions?.join('\n')).to.include(
      `sf migrate resume --manifest ${site.manifestPath} --run-id ${first.runId}`,
    );
    const second = await MigrationRun.start(manifest, site.options, { beside: true });
    expect(second.runId).to.not.equal(first.runId);
    await first.execute();
    await second.execute();
  });

  it('lets exactly one of several processes starting the same manifest go ahead', async function () {
    // each process loads the TypeScript sources through tsx: slow on a busy machine, never timed
    this.timeout(300_000);
    const dir = await mkdtemp(join(tmpdir(), 'sf-migrate-starts-'));
    try {
      const manifestPath = await writeManifestFixture(dir);
      const child = join(import.meta.dirname, 'fixtures', 'startRun.ts');
      const children = Array.from({ length: 4 }, () => runChild(child, manifestPath, site));
      await Promise.all(children.map((started) => started.ready));
      for (const started of children) started.go();
      const outputs = await Promise.all(children.map((started) => started.output));
      const lines = outputs.map((text) => JSON.parse(text.trim().split('\n').pop()!) as Record<string, string>);
      const started = lines.filter((line) => line.started);
      expect(started, JSON.stringify(lines)).to.have.length(1);
      expect(started[0].status).to.equal('succeeded');
      for (const line of lines.filter((candidate) => !candidate.started)) {
        expect(line.refused, JSON.stringify(line)).to.equal('UnfinishedRunError');
      }
      expectLoadedOnce(site);
      expect((await findRun(join(dir, '.sf-migrate', 'runs'), started[0].started))?.finished).to.equal(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

/** runs the child script and resolves its stdout; the org answers from this process meanwhile */
/** a child that prints `ready` once loaded and starts its run when `go` is called */
function runChild(
  script: string,
  manifestPath: string,
  site: EngineSite,
): { ready: Promise<void>; go: () => void; output: Promise<string> } {
  const child = spawn(process.execPath, ['--import', 'tsx', script, manifestPath], {
    env: {
      ...process.env,
      HOME: site.home,
      LOCAL_ORG_URL: site.org.instanceUrl,
      LOCAL_ORG_TOKEN: site.org.accessToken,
      LOCAL_ORG_USERNAME: site.org.username,
      LOCAL_ORG_ID: site.org.orgId,
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  child.stdout.on('data', (data: Buffer) => {
    out += data.toString();
    if (out.startsWith('ready\n')) markReady();
  });
  child.stderr.on('data', (data: Buffer) => (err += data.toString()));
  const output = new Promise<string>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`exit ${String(code)}: ${err}`))));
  });
  // a child that dies before it is ready must fail the test, not hang it
  void output.then(markReady, markReady);
  return { ready, go: () => child.stdin.end('go\n'), output };
}
