/*
 * Ctrl-C and SIGTERM during `sf migrate run`: the command stops at its next safe point, prints the
 * resume command, exits 130 (SIGINT) or 143 (SIGTERM) without a stack trace, and `resume` then
 * loads every record exactly once. A second Ctrl-C exits at once. The signals are sent once the
 * journal shows the run in the middle of its jobs (a journal line, never a timer), against a local
 * org that processes slowly enough for the run to still be busy then.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import { registerLocalOrg, startLocalOrg } from '@sf-migrate/local-org';
import type { ResumeResult } from '../../src/commands/migrate/resume.js';
import { useNutSession } from '../helpers/localOrg.js';
import { assertMatchesSchema } from '../helpers/resultSchema.js';

const RECORDS = 90;
const PER_JOB = 30;
/** a stack frame as node prints it */
const STACK_FRAME = /^\s+at .+(:\d+:\d+\)?|\(native\))$/m;

type Exit = { status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string };
type Cli = { child: ChildProcess; output: () => string; exited: Promise<Exit> };

describe('Ctrl-C and SIGTERM stop a run safely', function () {
  this.timeout(10 * 60_000);
  // 15 records a second: each job of 30 records takes about two seconds, so a run is still busy
  // when its first job is closed
  const nut = useNutSession('signals', [{ alias: 'local', recordsPerSecond: 15 }]);

  afterEach(() => nut.org.faults.clear());

  /** `sf migrate resume` of one run, with its --json result */
  function resumeArgs(manifest: string, runId: string, org = 'local'): string[] {
    return ['migrate', 'resume', '--manifest', manifest, '--run-id', runId, '--target-org', org, '--json'];
  }

  /** the CLI in a child process; never synchronous, since the org answers from this process */
  function cli(args: string[]): Cli {
    const { child, exit } = nut.spawn(args);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (piece: Buffer) => (stdout += piece.toString('utf8')));
    child.stderr?.on('data', (piece: Buffer) => (stderr += piece.toString('utf8')));
    return { child, output: () => stdout + stderr, exited: exit };
  }

  function prepare(prefix: string): { dir: string; manifest: string } {
    const dir = join(nut.dir, prefix);
    mkdirSync(dir, { recursive: true });
    const accounts = ['Name,Legacy_Id__c'];
    const contacts = ['LastName,Legacy_Id__c,Account.Legacy_Id__c'];
    for (let i = 0; i < RECORDS; i++) {
      accounts.push(`${prefix} Account ${i},${prefix}-A-${i}`);
      contacts.push(`${prefix} Contact ${i},${prefix}-C-${i},${prefix}-A-${i}`);
    }
    writeFileSync(join(dir, 'accounts.csv'), accounts.join('\n') + '\n');
    writeFileSync(join(dir, 'contacts.csv'), contacts.join('\n') + '\n');
    const manifest = join(dir, 'migration.json');
    writeFileSync(
      manifest,
      JSON.stringify({
        name: prefix,
        defaults: {
          operation: 'insert',
          maxRecordsPerJob: PER_JOB,
          poll: { initial: '100ms', max: '200ms' },
          parallelism: 1,
        },
        steps: [
          { object: 'Account', source: 'accounts.csv' },
          { object: 'Contact', source: 'contacts.csv' },
        ],
      }),
    );
    return { dir, manifest };
  }

  /** resolves once the run's journal holds a line of `type`; rejects if the process ends first */
  async function journalLine(dir: string, type: string, running: Cli): Promise<string> {
    const runs = join(dir, '.sf-migrate', 'runs');
    let ended = false;
    void running.exited.then(() => (ended = true));
    for (;;) {
      const runId = existsSync(runs) ? readdirSync(runs)[0] : undefined;
      const journal = runId ? join(runs, runId, 'journal.jsonl') : undefined;
      if (runId && journal && existsSync(journal) && readFileSync(journal, 'utf8').includes(`"type":"${type}"`))
        return runId;
      if (ended) throw new Error(`the run ended before journaling ${type}: ${running.output()}`);
      // polling a file for a condition, not a timing assumption
      // eslint-disable-next-line no-await-in-loop
      await sleep(50);
    }
  }

  /** resolves once the process printed `text` */
  async function printed(running: Cli, text: string): Promise<void> {
    let ended = false;
    void running.exited.then(() => (ended = true));
    while (!running.output().includes(text)) {
      if (ended) throw new Error(`the process ended without printing "${text}": ${running.output()}`);
      // eslint-disable-next-line no-await-in-loop
      await sleep(50);
    }
  }

  function assertExactlyOnce(prefix: string): void {
    for (const [object, tag] of [
      ['Account', 'A'],
      ['Contact', 'C'],
    ] as const) {
      const ids = nut.org.store
        .records(object)
        .map((record) => String(record.Legacy_Id__c))
        .filter((id) => id.startsWith(`${prefix}-${tag}-`));
      expect(ids, `${object} records`).to.have.length(RECORDS);
      expect(new Set(ids).size, `${object} distinct`).to.equal(RECORDS);
    }
  }

  async function resumeToTheEnd(manifest: string, runId: string): Promise<void> {
    const resumed = await cli(resumeArgs(manifest, runId)).exited;
    expect(resumed.status, resumed.stdout + resumed.stderr).to.equal(0);
    expect((JSON.parse(resumed.stdout) as { result: { status: string } }).result.status).to.equal('succeeded');
  }

  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    it(`${signal} after the first job closed: exit ${code}, the resume command, no stack trace; resume loads the rest once`, async () => {
      const prefix = `S${code}`;
      const { dir, manifest } = prepare(prefix);
      const running = cli(['migrate', 'run', '--manifest', manifest, '--target-org', 'local']);
      const runId = await journalLine(dir, 'job.closed', running);
      running.child.kill(signal);
      const exit = await running.exited;
      const output = exit.stdout + exit.stderr;
      expect(exit.signal, output).to.equal(null);
      expect(exit.status, output).to.equal(code);
      expect(output).to.include(`${signal} received: stopping at the next safe point`);
      expect(output).to.include(`Stopped by ${signal}`);
      expect(output).to.include(`sf migrate resume --manifest ${manifest} --run-id ${runId}`);
      expect(output).to.not.match(STACK_FRAME);
      // stopped before the end: the run is not finished in its journal
      expect(readFileSync(join(dir, '.sf-migrate', 'runs', runId, 'journal.jsonl'), 'utf8')).to.not.include(
        '"run.finished"',
      );
      await resumeToTheEnd(manifest, runId);
      assertExactlyOnce(prefix);
    });
  }

  it('a second Ctrl-C exits at once, while the first still waits for a safe point', async () => {
    const prefix = 'S2';
    const { dir, manifest } = prepare(prefix);
    const running = cli(['migrate', 'run', '--manifest', manifest, '--target-org', 'local', '--json']);
    await journalLine(dir, 'job.closed', running);
    // every answer of the org now takes 20 s; once a job finished, its results are being
    // downloaded, which a first Ctrl-C lets finish: the safe point is a minute away
    nut.org.faults.set({ latencyMs: 20_000 });
    const runId = await journalLine(dir, 'job.finished', running);
    running.child.kill('SIGINT');
    await printed(running, 'SIGINT received: stopping at the next safe point');
    running.child.kill('SIGINT');
    const exit = await running.exited;
    const output = exit.stdout + exit.stderr;
    expect(exit.status, output).to.equal(130);
    expect(output).to.include('SIGINT received again: exiting now');
    expect(output).to.include(`sf migrate resume --manifest ${manifest} --run-id ${runId}`);
    expect(output).to.not.match(STACK_FRAME);
    nut.org.faults.clear();
    await resumeToTheEnd(manifest, runId);
    assertExactlyOnce(prefix);
  });

  it('a resume stops the same way', async () => {
    const prefix = 'SR';
    const { dir, manifest } = prepare(prefix);
    const first = cli(['migrate', 'run', '--manifest', manifest, '--target-org', 'local']);
    const runId = await journalLine(dir, 'job.closed', first);
    first.child.kill('SIGINT');
    expect((await first.exited).status).to.equal(130);
    const journal = join(dir, '.sf-migrate', 'runs', runId, 'journal.jsonl');
    const linesBefore = readFileSync(journal, 'utf8').split('\n').length;
    const resuming = cli(resumeArgs(manifest, runId));
    // wait until the resume has journaled a job of its own
    let ended = false;
    void resuming.exited.then(() => (ended = true));
    for (;;) {
      if (ended) throw new Error(`the resume ended before closing a job: ${resuming.output()}`);
      const lines = readFileSync(journal, 'utf8').split('\n');
      if (lines.slice(linesBefore - 1).some((line) => line.includes('"type":"job.closed"'))) break;
      // eslint-disable-next-line no-await-in-loop
      await sleep(50);
    }
    resuming.child.kill('SIGINT');
    const exit = await resuming.exited;
    const output = exit.stdout + exit.stderr;
    expect(exit.status, output).to.equal(130);
    const json = JSON.parse(exit.stdout) as { status: number; result: ResumeResult };
    expect(json.status).to.equal(130);
    assertMatchesSchema('schemas/migrate-resume.json', json.result);
    expect(json.result).to.include({ status: 'waiting', exitCode: 130 });
    expect(json.result.resumeCommand).to.equal(`sf migrate resume --manifest ${manifest} --run-id ${runId}`);
    expect(output).to.not.match(STACK_FRAME);
    await resumeToTheEnd(manifest, runId);
    assertExactlyOnce(prefix);
  });

  it('an org that stops answering ends the run with exit 75, naming its URL and the resume command', async () => {
    const prefix = 'SN';
    const { dir, manifest } = prepare(prefix);
    // an org of its own that keeps its records and jobs on disk, so it can come back on its port
    const dataDir = join(nut.dir, 'flaky-org');
    let flaky = await startLocalOrg({ dataDir, recordsPerSecond: 15 });
    const port = flaky.port;
    try {
      await nut.inHome(() => registerLocalOrg(flaky, { alias: 'flaky' }));
      const running = cli(['migrate', 'run', '--manifest', manifest, '--target-org', 'flaky', '--json']);
      const runId = await journalLine(dir, 'job.closed', running);
      await flaky.stop();
      const exit = await running.exited;
      const output = exit.stdout + exit.stderr;
      expect(exit.status, output).to.equal(75);
      const error = JSON.parse(exit.stdout) as { status: number; name: string; message: string; actions: string[] };
      expect(error.status).to.equal(75);
      expect(error.name).to.equal('NetworkFailureError');
      expect(error.message).to.include(`http://127.0.0.1:${port}`);
      expect(error.actions.join('\n')).to.include(`sf migrate resume --manifest ${manifest} --run-id ${runId}`);
      expect(output).to.not.match(STACK_FRAME);
      flaky = await startLocalOrg({ dataDir, port, recordsPerSecond: 15 });
      const resumed = await cli(resumeArgs(manifest, runId, 'flaky')).exited;
      expect(resumed.status, resumed.stdout + resumed.stderr).to.equal(0);
      for (const object of ['Account', 'Contact']) {
        const ids = flaky.store.records(object).map((record) => String(record.Legacy_Id__c));
        expect(ids, object).to.have.length(RECORDS);
        expect(new Set(ids).size, object).to.equal(RECORDS);
      }
    } finally {
      await flaky.stop();
    }
  });
});
