import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { SfError } from '@salesforce/core';
import { acquireRunLock, isProcessAlive, takeoverWarning } from '../../src/journal/lock.js';
import { runFolder, type RunFolder } from '../../src/journal/runFolder.js';
import { scratch } from './journalFixtures.js';

/** the pid of a process that has exited: certainly not alive */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => child.on('exit', resolve));
  return child.pid!;
}

async function expectLocked(promise: Promise<unknown>, name = 'RunLockedError'): Promise<SfError> {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(SfError);
    expect((error as SfError).name).to.equal(name);
    return error as SfError;
  }
  expect.fail(`expected ${name}`);
}

describe('run lock', () => {
  const tmp = scratch('lock-');
  after(() => tmp.remove());
  let n = 0;
  async function folder(): Promise<RunFolder> {
    const f = runFolder(tmp.dir, `run-${++n}`);
    await mkdir(f.dir);
    return f;
  }
  const lockFile = (owner: object): string => `${JSON.stringify(owner)}\n`;

  it('creates an owner-only lock naming this process, and release deletes it', async () => {
    const f = await folder();
    const lock = await acquireRunLock(f);
    expect(lock.tookOver).to.equal(undefined);
    const content = JSON.parse(readFileSync(f.lockPath, 'utf8')) as { pid: number; host: string; startedAt: string };
    expect(content).to.deep.include({ pid: process.pid, host: hostname() });
    expect(new Date(content.startedAt).toISOString()).to.equal(content.startedAt);
    expect(statSync(f.lockPath).mode & 0o777).to.equal(0o600);
    await lock.release();
    await lock.release();
    expect(existsSync(f.lockPath)).to.equal(false);
    // no temp or marker files left behind
    expect(readdirSync(f.dir)).to.deep.equal([]);
  });

  it('refuses a second acquisition of a run this process drives', async () => {
    const f = await folder();
    const lock = await acquireRunLock(f);
    await expectLocked(acquireRunLock(f));
    await lock.release();
    const again = await acquireRunLock(f);
    await again.release();
  });

  it('refuses a lock held by a live process, naming it and what to do', async () => {
    const f = await folder();
    const owner = { pid: process.ppid, host: hostname(), startedAt: '2026-11-29T02:30:00.000Z' };
    writeFileSync(f.lockPath, lockFile(owner));
    expect(isProcessAlive(process.ppid)).to.equal(true);
    const error = await expectLocked(acquireRunLock(f));
    expect(error.message).to.include(`pid ${process.ppid}`);
    expect(error.data).to.deep.include({ ...owner, runId: f.runId, lockPath: f.lockPath });
    expect(error.actions?.join('\n')).to.include(f.lockPath);
    expect(error.actions?.join('\n')).to.include(`sf migrate resume --run-id ${f.runId}`);
    expect(readFileSync(f.lockPath, 'utf8')).to.equal(lockFile(owner));
    expect(readdirSync(f.dir)).to.deep.equal(['lock']);
  });

  it('refuses a lock held on another host: its process cannot be checked from here', async () => {
    const f = await folder();
    writeFileSync(
      f.lockPath,
      lockFile({ pid: await deadPid(), host: 'build-agent-7', startedAt: '2026-11-29T02:30:00.000Z' }),
    );
    const error = await expectLocked(acquireRunLock(f));
    expect(error.message).to.include('build-agent-7');
  });

  it('takes over a lock whose process is gone, and reports it', async () => {
    const f = await folder();
    const pid = await deadPid();
    expect(isProcessAlive(pid)).to.equal(false);
    const stale = { pid, host: hostname(), startedAt: '2026-11-28T23:00:00.000Z' };
    writeFileSync(f.lockPath, lockFile(stale));
    const lock = await acquireRunLock(f);
    expect(lock.tookOver).to.deep.equal(stale);
    expect(JSON.parse(readFileSync(f.lockPath, 'utf8'))).to.deep.include({ pid: process.pid });
    expect(takeoverWarning(f, lock.tookOver!)).to.include(`pid ${pid} on host ${hostname()}`);
    expect(readdirSync(f.dir)).to.deep.equal(['lock']);
    await lock.release();
    expect(existsSync(f.lockPath)).to.equal(false);
  });

  for (const [what, content] of [
    ['empty', ''],
    ['not JSON', '{"pid": 12'],
    ['a pid that is no process id', lockFile({ pid: 0, host: hostname(), startedAt: 'x' })],
  ]) {
    it(`takes over a lock file that is ${what}`, async () => {
      const f = await folder();
      writeFileSync(f.lockPath, content);
      const lock = await acquireRunLock(f);
      expect(lock.tookOver).to.deep.equal({ pid: 0, host: '', startedAt: '', corrupt: true });
      expect(takeoverWarning(f, lock.tookOver!)).to.include('empty or unreadable');
      await lock.release();
    });
  }

  it('release leaves a lock that is no longer ours', async () => {
    const f = await folder();
    const lock = await acquireRunLock(f);
    const other = lockFile({ pid: process.ppid, host: hostname(), startedAt: '2026-11-29T02:30:00.000Z' });
    writeFileSync(f.lockPath, other);
    await lock.release();
    expect(readFileSync(f.lockPath, 'utf8')).to.equal(other);
  });

  it('lets exactly one of several concurrent acquirers in this process take a free lock', async () => {
    // repeated: the window (a lock just linked by one, read by another) is narrow
    for (let trial = 0; trial < 20; trial++) {
      // eslint-disable-next-line no-await-in-loop
      const f = await folder();
      // eslint-disable-next-line no-await-in-loop
      const outcomes = await Promise.allSettled(Array.from({ length: 8 }, () => acquireRunLock(f)));
      const won = outcomes.filter((o) => o.status === 'fulfilled');
      expect(won, `trial ${trial}`).to.have.length(1);
      expect(won[0]).not.to.have.nested.property('value.tookOver');
      // eslint-disable-next-line no-await-in-loop
      await (won[0] as PromiseFulfilledResult<{ release(): Promise<void> }>).value.release();
    }
  });

  it('lets exactly one of several concurrent acquirers in this process take over a stale lock', async () => {
    const f = await folder();
    const stale = { pid: await deadPid(), host: hostname(), startedAt: '2026-11-28T23:00:00.000Z' };
    writeFileSync(f.lockPath, lockFile(stale));
    const outcomes = await Promise.allSettled(Array.from({ length: 8 }, () => acquireRunLock(f)));
    const won = outcomes.filter((o) => o.status === 'fulfilled');
    expect(won).to.have.length(1);
    expect((won[0] as PromiseFulfilledResult<{ tookOver?: object }>).value.tookOver).to.deep.equal(stale);
    for (const lost of outcomes.filter((o) => o.status === 'rejected')) {
      expect((lost.reason as Error).name).to.match(/^RunLock(ed|Contended)Error$/);
    }
    expect(readdirSync(f.dir)).to.deep.equal(['lock']);
    await (won[0] as PromiseFulfilledResult<{ release(): Promise<void> }>).value.release();
  });

  it('lets exactly one of two processes take over a stale lock', async function () {
    this.timeout(60_000);
    const f = await folder();
    writeFileSync(
      f.lockPath,
      lockFile({ pid: await deadPid(), host: hostname(), startedAt: '2026-11-28T23:00:00.000Z' }),
    );
    const lockModule = fileURLToPath(new URL('../../src/journal/lock.ts', import.meta.url));
    const folderModule = fileURLToPath(new URL('../../src/journal/runFolder.ts', import.meta.url));
    // each contender waits for "go" so they all race at once, then holds what it got until stdin ends
    const script = `
      import { acquireRunLock } from ${JSON.stringify(lockModule)};
      import { runFolder } from ${JSON.stringify(folderModule)};
      import { createInterface } from 'node:readline';
      const lines = createInterface({ input: process.stdin });
      console.log('ready');
      for await (const line of lines) {
        if (line !== 'go') continue;
        try {
          const lock = await acquireRunLock(runFolder(${JSON.stringify(tmp.dir)}, ${JSON.stringify(f.runId)}));
          console.log(JSON.stringify({ ok: true, tookOver: lock.tookOver !== undefined }));
        } catch (error) {
          console.log(JSON.stringify({ ok: false, name: error.name }));
        }
      }`;
    const children: ChildProcessWithoutNullStreams[] = [];
    try {
      const results = await Promise.all(
        Array.from({ length: 2 }, async () => {
          const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
            cwd: process.cwd(),
          });
          children.push(child);
          const out = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
          expect((await out.next()).value).to.equal('ready');
          return { child, out };
        }),
      ).then(async (started) => {
        for (const { child } of started) child.stdin.write('go\n');
        return Promise.all(
          started.map(
            async ({ out }) => JSON.parse((await out.next()).value as string) as { ok: boolean; name?: string },
          ),
        );
      });
      expect(results.filter((r) => r.ok)).to.have.length(1);
      for (const loser of results.filter((r) => !r.ok)) expect(loser.name).to.match(/^RunLock(ed|Contended)Error$/);
      const winner = JSON.parse(readFileSync(f.lockPath, 'utf8')) as { pid: number };
      expect(children.map((c) => c.pid)).to.include(winner.pid);
    } finally {
      for (const child of children) child.stdin.end();
      await Promise.all(
        children.map((child) =>
          child.exitCode === null ? new Promise((resolve) => child.on('exit', resolve)) : undefined,
        ),
      );
    }
  });
});
