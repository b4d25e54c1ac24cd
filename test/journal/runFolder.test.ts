import { existsSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';
import { SfError } from '@salesforce/core';
import type { JournalEventBody } from '../../src/journal/events.js';
import { Journal } from '../../src/journal/journal.js';
import {
  createRunFolder,
  ensurePrivateDir,
  findRun,
  readRunOwner,
  listRuns,
  newRunId,
  runFolder,
} from '../../src/journal/runFolder.js';
import { finishedRun, runStarted, scratch } from './journalFixtures.js';

async function expectRejection(promise: Promise<unknown>): Promise<SfError> {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(SfError);
    return error as SfError;
  }
  expect.fail('expected a rejection');
}

describe('run folder', () => {
  const tmp = scratch('runfolder-');
  after(() => tmp.remove());

  describe('newRunId', () => {
    it('is the UTC start time and a random suffix', () => {
      const id = newRunId(new Date(Date.UTC(2026, 10, 29, 2, 30, 5)));
      expect(id).to.match(/^20261129-023005-[0-9a-f]{4}$/);
    });

    it('sorts by time and differs within one second', () => {
      const early = newRunId(new Date(Date.UTC(2026, 0, 9, 23, 59, 59)));
      const late = newRunId(new Date(Date.UTC(2026, 0, 10, 0, 0, 0)));
      expect(early < late).to.equal(true);
      const now = new Date();
      const ids = new Set(Array.from({ length: 50 }, () => newRunId(now)));
      expect(ids.size).to.be.greaterThan(45);
    });
  });

  describe('runFolder', () => {
    it('lays out the run folder', () => {
      const folder = runFolder('/runs', '20261129-023000-4f2a');
      const dir = join('/runs', '20261129-023000-4f2a');
      expect(folder).to.deep.include({
        runId: '20261129-023000-4f2a',
        dir,
        journalPath: join(dir, 'journal.jsonl'),
        manifestCopyPath: join(dir, 'manifest.json'),
        lockPath: join(dir, 'lock'),
      });
      expect(folder.resultsDir('account-parents')).to.equal(join(dir, 'results', 'account-parents'));
      expect(folder.resultFile('Account', '7505g000000AbCdEAA', 'failed')).to.equal(
        join(dir, 'results', 'Account', '7505g000000AbCdEAA-failed.csv'),
      );
      expect(folder.deadLetterPath('Contact')).to.equal(join(dir, 'dead-letter', 'Contact.csv'));
      expect(folder.retryDir('Contact')).to.equal(join(dir, 'retry', 'Contact'));
    });

    it('refuses names that would leave the run folder', () => {
      expect(() => runFolder('/runs', '..'))
        .to.throw(SfError)
        .with.property('name', 'InvalidPathSegmentError');
      expect(() => runFolder('/runs', 'a/b')).to.throw(/cannot name a folder/);
      const folder = runFolder('/runs', 'r1');
      expect(() => folder.resultsDir('..')).to.throw(SfError);
      expect(() => folder.deadLetterPath('../../etc/passwd')).to.throw(SfError);
      expect(() => folder.resultFile('Account', '../x', 'success')).to.throw(SfError);
    });
  });

  describe('createRunFolder', () => {
    const manifest = tmp.path('migration.json');
    // a BOM, CRLF and non-ASCII bytes: the copy must be exact
    const manifestBytes = Buffer.from('\uFEFF{\r\n  "name": "cutover-é"\r\n}\r\n', 'utf8');
    before(() => writeFileSync(manifest, manifestBytes));

    it('creates owner-only folders and an exact owner-only copy of the manifest', async () => {
      const root = tmp.path('a', '.sf-migrate', 'runs');
      const folder = await createRunFolder(root, manifest);
      expect(folder.runId).to.match(/^\d{8}-\d{6}-[0-9a-f]{4}$/);
      expect(statSync(root).mode & 0o777).to.equal(0o700);
      expect(statSync(folder.dir).mode & 0o777).to.equal(0o700);
      expect(statSync(folder.manifestCopyPath).mode & 0o777).to.equal(0o600);
      expect(readFileSync(folder.manifestCopyPath).equals(manifestBytes)).to.equal(true);
    });

    it('writes an owner file naming the manifest before anything else', async () => {
      const root = tmp.path('owner', 'runs');
      const folder = await createRunFolder(root, manifest, undefined, '/srv/cutover/migration.json');
      expect(statSync(folder.ownerPath).mode & 0o777).to.equal(0o600);
      const owner = await readRunOwner(folder);
      expect(owner).to.deep.include({
        manifest: '/srv/cutover/migration.json',
        runId: folder.runId,
        copyOf: manifest,
      });
      expect(Number.isNaN(Date.parse(owner!.createdAt))).to.equal(false);
      // the owner file and the copy only: no temporary file left behind
      expect(readdirSync(folder.dir).sort()).to.deep.equal(['manifest.json', 'owner.json']);
    });

    it('uses a given run id once', async () => {
      const root = tmp.path('b');
      const folder = await createRunFolder(root, manifest, 'my-run');
      expect(folder.dir).to.equal(join(root, 'my-run'));
      const error = await expectRejection(createRunFolder(root, manifest, 'my-run'));
      expect(error.name).to.equal('RunExistsError');
      expect(error.actions?.join(' ')).to.include('sf migrate resume --run-id my-run');
    });

    it('leaves no folder behind when the manifest cannot be copied', async () => {
      const root = tmp.path('c');
      try {
        await createRunFolder(root, tmp.path('missing.json'), 'r1');
        expect.fail('expected a rejection');
      } catch (error) {
        expect((error as NodeJS.ErrnoException).code).to.equal('ENOENT');
      }
      expect(readdirSync(root)).to.deep.equal([]);
    });

    it('ensurePrivateDir makes owner-only folders', async () => {
      const folder = runFolder(tmp.path('d'), 'r1');
      await ensurePrivateDir(folder.resultsDir('Account'));
      expect(statSync(folder.resultsDir('Account')).mode & 0o777).to.equal(0o700);
      expect(statSync(join(folder.dir, 'results')).mode & 0o777).to.equal(0o700);
    });
  });

  describe('listRuns and findRun', () => {
    const root = tmp.path('runs');

    async function run(
      runId: string,
      startedAt: string | undefined,
      bodies: JournalEventBody[],
      manifestPath?: string,
    ): Promise<void> {
      const folder = runFolder(root, runId);
      await mkdir(folder.dir, { recursive: true });
      if (startedAt === undefined && bodies.length === 0) return;
      const journal = await Journal.create(folder.journalPath);
      for (const body of bodies) {
        // eslint-disable-next-line no-await-in-loop
        await journal.append(body.type === 'run.started' && manifestPath ? runStarted(runId, manifestPath) : body);
      }
      await journal.close();
      if (startedAt !== undefined) {
        // the start time is the first event's time: rewrite it so the order does not depend on the clock
        const text = readFileSync(folder.journalPath, 'utf8');
        const firstTime = (JSON.parse(text.slice(0, text.indexOf('\n'))) as { time: string }).time;
        writeFileSync(folder.journalPath, text.replace(firstTime, startedAt));
      }
    }

    before(async () => {
      await run('old-finished', '2026-11-20T10:00:00.000Z', finishedRun(1));
      await run('old-unfinished', '2026-11-21T10:00:00.000Z', finishedRun(1).slice(0, 8));
      await run('other-manifest', '2026-11-22T10:00:00.000Z', finishedRun(1).slice(0, 5), '/elsewhere/other.json');
      await run('newest-finished', '2026-11-23T10:00:00.000Z', finishedRun(2));
      await run('never-started', undefined, []);
      // a torn last line: still unfinished, and listed as torn
      await run('torn', '2026-11-19T10:00:00.000Z', finishedRun(1).slice(0, 4));
      writeFileSync(runFolder(root, 'torn').journalPath, '{"seq":5,"ti', { flag: 'a' });
      utimesSync(runFolder(root, 'never-started').dir, new Date('2026-11-01'), new Date('2026-11-01'));
    });

    it('lists runs newest first from the ends of their journals', async () => {
      const runs = await listRuns(root);
      expect(runs.map((r) => r.runId)).to.deep.equal([
        'newest-finished',
        'other-manifest',
        'old-unfinished',
        'old-finished',
        'torn',
        'never-started',
      ]);
      const [newest, other, oldUnfinished] = runs;
      expect(newest).to.deep.include({
        finished: true,
        status: 'completedWithFailures',
        startedAt: '2026-11-23T10:00:00.000Z',
      });
      expect(newest.manifest).to.equal('/srv/cutover/migration.json');
      expect(other).to.deep.include({ finished: false, manifest: '/elsewhere/other.json', lastSeq: 5 });
      expect(oldUnfinished).to.deep.include({ finished: false, lastSeq: 8, username: 'admin@acme.example' });
      expect(oldUnfinished.status).to.equal(undefined);
      expect(runs[4]).to.deep.include({ torn: true, finished: false, lastSeq: 4 });
      expect(runs[5]).to.deep.equal({ runId: 'never-started', dir: join(root, 'never-started'), finished: false });
    });

    it('does not read the middle of a journal', async () => {
      const folder = runFolder(root, 'old-finished');
      const lines = readFileSync(folder.journalPath, 'utf8').split('\n');
      const saved = lines[5];
      lines[5] = 'damaged';
      writeFileSync(folder.journalPath, lines.join('\n'));
      try {
        const runs = await listRuns(root);
        expect(runs.find((r) => r.runId === 'old-finished')).to.deep.include({ finished: true });
      } finally {
        lines[5] = saved;
        writeFileSync(folder.journalPath, lines.join('\n'));
      }
    });

    it('finds the newest unfinished run, optionally of one manifest', async () => {
      expect((await findRun(root))?.runId).to.equal('other-manifest');
      expect((await findRun(root, undefined, { manifest: '/srv/cutover/migration.json' }))?.runId).to.equal(
        'old-unfinished',
      );
      expect(await findRun(root, undefined, { manifest: '/nowhere.json' })).to.equal(undefined);
    });

    it('finds a run by id, finished or not', async () => {
      expect(await findRun(root, 'newest-finished')).to.deep.include({ runId: 'newest-finished', finished: true });
      expect(await findRun(root, 'no-such-run')).to.equal(undefined);
    });

    it('reports an unreadable journal rather than skipping to an older run', async () => {
      const other = tmp.path('runs2');
      const folder = runFolder(other, 'damaged');
      await mkdir(folder.dir, { recursive: true });
      writeFileSync(folder.journalPath, 'not json\n{"seq":2}\n');
      const found = await findRun(other);
      expect(found?.runId).to.equal('damaged');
      expect(found?.unreadable).to.match(/line 1/);
    });

    for (const damage of ['missing', 'empty', 'cut inside its first line'] as const) {
      it(`keeps a run whose journal is ${damage} with its manifest (owner file)`, async () => {
        const other = tmp.path(`runs-${damage.replace(/ /g, '-')}`);
        const manifestCopy = tmp.path('owner-manifest.json');
        writeFileSync(manifestCopy, '{}');
        // an older finished run of the same manifest, which must not be picked instead
        const older = runFolder(other, 'older');
        await mkdir(older.dir, { recursive: true });
        const journal = await Journal.create(older.journalPath);
        for (const body of finishedRun(1)) {
          // eslint-disable-next-line no-await-in-loop
          await journal.append(body.type === 'run.started' ? runStarted(undefined, '/srv/m.json') : body);
        }
        await journal.close();
        const folder = await createRunFolder(other, manifestCopy, 'damaged', '/srv/m.json');
        if (damage === 'empty') writeFileSync(folder.journalPath, '');
        if (damage === 'cut inside its first line') writeFileSync(folder.journalPath, '{"seq":1,"time":"20');
        const found = await findRun(other, undefined, { manifest: '/srv/m.json' });
        expect(found).to.deep.include({
          runId: 'damaged',
          finished: false,
          manifest: '/srv/m.json',
          journal: damage === 'missing' ? 'missing' : 'empty',
        });
        expect(await findRun(other, undefined, { manifest: '/srv/other.json' })).to.equal(undefined);
      });
    }

    it('lists nothing under a missing root', async () => {
      expect(await listRuns(tmp.path('nowhere'))).to.deep.equal([]);
      expect(existsSync(tmp.path('nowhere'))).to.equal(false);
    });
  });
});
