/*
 * The exactly-once promise under SIGKILL. A two-wave insert migration (with rows failing
 * UNABLE_TO_LOCK_ROW, so retry rounds happen too) is killed at a chosen point of the journal
 * protocol — right after each kind of journal line, in the middle of an upload, after a poll, in
 * the middle of saving results, between waves — then resumed (sometimes killed again), and
 * resumed to the end. The org must then hold every source record exactly once, and the run's
 * result files must account for every record.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { TestSession } from '@salesforce/cli-plugins-testkit';
import { expect } from 'chai';
import type { LocalOrg } from '@sf-migrate/local-org';
import { startTestOrg } from '../helpers/localOrg.js';

const RECORDS = 120;
const PER_JOB = 40;

/** [point, nth] for the first run, and optionally for the first resume */
const scenarios: Array<[[string, number], [string, number]?]> = [
  [['run.started', 1]],
  [['wave.started', 1]],
  [['step.started', 1]],
  [['chunk.planned', 1]],
  [['chunk.planned', 3]],
  [['job.creating', 1]],
  [['job.creating', 3], ['job.created', 1]],
  [['job.created', 1]],
  [['job.created', 2], ['upload.middle', 1]],
  [['upload.middle', 1]],
  [['upload.middle', 3], ['job.uploaded', 1]],
  [['job.uploaded', 1]],
  [['job.uploaded', 3]],
  [['job.closing', 1]],
  [['job.closing', 2], ['job.closed', 1]],
  [['job.closed', 1]],
  [['job.closed', 3]],
  [['poll', 1]],
  [['poll', 4], ['poll', 2]],
  [['job.finished', 1]],
  [['job.finished', 3], ['results.middle', 1]],
  [['results.middle', 1]],
  [['results.middle', 3]],
  [['results.saved', 1]],
  [['results.saved', 3], ['job.deleted', 1]],
  [['job.deleted', 1]],
  [['job.deleted', 3]],
  [['step.finished', 1]],
  [['wave.finished', 1]],
  [['wave.started', 2], ['step.started', 1]],
  [['step.started', 2], ['job.created', 2]],
  [['step.finished', 2]],
  [['run.finished', 1]],
];

describe('crash and resume: every record lands exactly once', function () {
  this.timeout(30 * 60_000);
  let session: TestSession;
  let org: LocalOrg;
  const bin = resolve('bin', 'run.js');

  before(async () => {
    session = await TestSession.create({ devhubAuthStrategy: 'NONE' });
    org = await startTestOrg({ alias: 'local' });
    org.faults.set({ seed: 11, lockRowRate: 0.05 });
  });

  after(async () => {
    await org?.stop();
    await session?.clean();
  });

  type Exit = { status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string };

  /** runs the CLI in a child process; never synchronously, since the org answers from this process */
  function cli(args: string[], crash?: [string, number]): Promise<Exit> {
    const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'production', SF_DISABLE_TELEMETRY: 'true' };
    delete env.SF_MIGRATE_TEST_CRASH;
    if (crash) env.SF_MIGRATE_TEST_CRASH = `${crash[0]}:${crash[1]}`;
    return new Promise((done) => {
      const child = spawn(process.execPath, [bin, ...args, '--json'], { env, cwd: session.dir });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (piece: string) => (stdout += piece));
      child.stderr.setEncoding('utf8').on('data', (piece: string) => (stderr += piece));
      child.on('close', (status, signal) => done({ status, signal, stdout, stderr }));
    });
  }

  function prepare(prefix: string): string {
    const dir = join(session.dir, prefix);
    mkdirSync(dir, { recursive: true });
    const accounts = ['Name,Legacy_Id__c'];
    const contacts = ['LastName,Legacy_Id__c,Account.Legacy_Id__c'];
    for (let i = 0; i < RECORDS; i++) {
      accounts.push(`"${prefix} Account ${i}, Ltd.",${prefix}-A-${i}`);
      contacts.push(`${prefix} Contact ${i},${prefix}-C-${i},${prefix}-A-${i}`);
    }
    writeFileSync(join(dir, 'accounts.csv'), accounts.join('\n') + '\n');
    writeFileSync(join(dir, 'contacts.csv'), contacts.join('\r\n') + '\r\n');
    const manifest = join(dir, 'migration.json');
    writeFileSync(
      manifest,
      JSON.stringify({
        name: prefix,
        defaults: { maxRecordsPerJob: PER_JOB, poll: { initial: '50ms', max: '100ms' }, parallelism: 2, retry: { attempts: 6 } },
        steps: [
          { object: 'Account', source: 'accounts.csv' },
          { object: 'Contact', source: 'contacts.csv', lineEnding: 'CRLF' },
        ],
      })
    );
    return manifest;
  }

  function assertExactlyOnce(prefix: string, runDir: string): void {
    for (const [object, tag] of [
      ['Account', 'A'],
      ['Contact', 'C'],
    ] as const) {
      const ids = org.store
        .records(object)
        .map((record) => String(record.Legacy_Id__c))
        .filter((id) => id.startsWith(`${prefix}-${tag}-`));
      expect(ids, `${object} records`).to.have.length(RECORDS);
      expect(new Set(ids).size, `${object} distinct`).to.equal(RECORDS);
      // the saved success results name every record exactly once too
      const dir = join(runDir, 'results', object);
      const succeeded = readdirSync(dir)
        .filter((name) => name.endsWith('-success.csv'))
        .flatMap((name) => readFileSync(join(dir, name), 'utf8').split(/\r?\n/).slice(1))
        .filter((line) => line.length > 0)
        .map((line) => new RegExp(`${prefix}-${tag}-\\d+`).exec(line)?.[0]);
      expect(succeeded, `${object} success rows`).to.have.length(RECORDS);
      expect(new Set(succeeded).size, `${object} success rows distinct`).to.equal(RECORDS);
    }
  }

  for (const [index, [first, second]] of scenarios.entries()) {
    const label = [first, second].filter(Boolean).map((point) => `${point![0]}#${point![1]}`).join(' then ');
    it(`killed at ${label}`, async () => {
      const prefix = `K${index}`;
      const manifest = prepare(prefix);
      const killed = await cli(['migrate', 'run', '--manifest', manifest, '--target-org', 'local'], first);
      expect(killed.signal, `first run should be killed at ${first[0]}#${first[1]}: ${killed.stdout}${killed.stderr}`).to.equal('SIGKILL');
      if (second) {
        const again = await cli(['migrate', 'resume', '--manifest', manifest, '--target-org', 'local'], second);
        expect(again.signal, `resume should be killed at ${second[0]}#${second[1]}: ${again.stdout}${again.stderr}`).to.equal('SIGKILL');
      }
      const resumed = await cli(['migrate', 'resume', '--manifest', manifest, '--target-org', 'local']);
      let runDir: string;
      if (first[0] === 'run.finished') {
        // nothing left to do: no unfinished run, and resuming the run by id says it is finished
        expect(resumed.status, resumed.stdout + resumed.stderr).to.equal(1);
        expect((JSON.parse(resumed.stdout) as { name: string }).name).to.equal('NoUnfinishedRunError');
        const runs = join(session.dir, prefix, '.sf-migrate', 'runs');
        runDir = join(runs, readdirSync(runs)[0]);
        const byId = await cli(['migrate', 'resume', '--manifest', manifest, '--target-org', 'local', '--run-id', readdirSync(runs)[0]]);
        expect((JSON.parse(byId.stdout) as { name: string }).name).to.equal('RunAlreadyFinishedError');
      } else {
        expect(resumed.status, resumed.stdout + resumed.stderr).to.equal(0);
        const result = JSON.parse(resumed.stdout) as { result: { status: string; runDir: string } };
        expect(result.result.status).to.equal('succeeded');
        runDir = result.result.runDir;
      }
      assertExactlyOnce(prefix, runDir);
    });
  }
});
