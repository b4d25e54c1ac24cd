import { spawn } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { setImmediate as tick } from 'node:timers/promises';
import { expect } from 'chai';
import { manifestLockPath, withManifestLock } from '../../src/journal/manifestLock.js';
import { listRuns } from '../../src/journal/runFolder.js';
import { scratch } from './journalFixtures.js';

async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => child.on('exit', resolve));
  return child.pid!;
}

describe('manifest lock', () => {
  const tmp = scratch('manifest-lock-');
  after(() => tmp.remove());

  it('runs the critical sections of one manifest one at a time', async () => {
    const root = tmp.path('runs-a');
    let inside = 0;
    let most = 0;
    const order: string[] = [];
    const critical = (name: string) => async (): Promise<string> => {
      inside++;
      most = Math.max(most, inside);
      // yield a few times, so overlapping sections would show
      for (let i = 0; i < 5; i++) await tick(); // eslint-disable-line no-await-in-loop
      order.push(name);
      inside--;
      return name;
    };
    const names = Array.from({ length: 6 }, (_, n) => `start-${n}`);
    const results = await Promise.all(names.map((name) => withManifestLock(root, '/w/m.json', critical(name))));
    expect(results).to.deep.equal(names);
    expect(most).to.equal(1);
    expect(order).to.have.members(names);
    // released: no lock file left, and the runs root lists no run
    expect(readdirSync(root)).to.deep.equal([]);
    expect(await listRuns(root)).to.deep.equal([]);
  });

  it('is released when the critical section fails', async () => {
    const root = tmp.path('runs-b');
    const failure = await withManifestLock(root, '/w/m.json', () => Promise.reject(new Error('refused'))).catch(
      (error: Error) => error,
    );
    expect(failure.message).to.equal('refused');
    expect(existsSync(manifestLockPath(root, '/w/m.json'))).to.equal(false);
    expect(await withManifestLock(root, '/w/m.json', () => Promise.resolve('again'))).to.equal('again');
  });

  it('takes over a lock left by a process that is gone', async () => {
    const root = tmp.path('runs-c');
    await mkdir(root, { recursive: true });
    const stale = { pid: await deadPid(), host: hostname(), startedAt: '2026-11-29T02:30:00.000Z', nonce: 'x' };
    writeFileSync(manifestLockPath(root, '/w/m.json'), `${JSON.stringify(stale)}\n`);
    expect(await withManifestLock(root, '/w/m.json', () => Promise.resolve('went ahead'))).to.equal('went ahead');
  });

  it('names its lock file after the manifest, hidden from the run listing', () => {
    const a = manifestLockPath('/r', '/w/a.json');
    expect(a).to.match(/^\/r\/\.manifest-[0-9a-f]{16}\.lock$/);
    expect(manifestLockPath('/r', '/w/b.json')).to.not.equal(a);
  });
});
