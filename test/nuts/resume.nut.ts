/*
 * `sf migrate resume` and what guards it: the run lock, changed sources, a torn journal line,
 * `run --wait` running out (exit 69 with the exact resume command), and `run` refusing to start a
 * second run beside an unfinished one.
 */
import { appendFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execCmd, TestSession } from '@salesforce/cli-plugins-testkit';
import { expect } from 'chai';
import type { LocalOrg } from '@sf-migrate/local-org';
import type { RunResult } from '../../src/commands/migrate/run.js';
import { startTestOrg } from '../helpers/localOrg.js';
import { assertMatchesSchema } from '../helpers/resultSchema.js';

type ErrorOutput = { name: string; message: string; actions?: string[]; exitCode: number };

describe('migrate resume', () => {
  let session: TestSession;
  let org: LocalOrg;
  let slow: LocalOrg;
  let dir: string;
  let counter = 0;

  before(async () => {
    session = await TestSession.create({ devhubAuthStrategy: 'NONE' });
    org = await startTestOrg({ alias: 'local' });
    // processes a job's 300 records in ~75 s: long enough for --wait 1 to run out
    slow = await startTestOrg({ alias: 'slow', recordsPerSecond: 4 });
  });

  after(async () => {
    await org?.stop();
    await slow?.stop();
    await session?.clean();
  });

  function prepare(prefix: string, records = 60): string {
    dir = join(session.dir, `${prefix}-${++counter}`);
    mkdirSync(dir, { recursive: true });
    const lines = ['Name,Legacy_Id__c'];
    for (let i = 0; i < records; i++) lines.push(`${prefix} Account ${i},${prefix}-${i}`);
    writeFileSync(join(dir, 'accounts.csv'), lines.join('\n') + '\n');
    const manifest = join(dir, 'migration.json');
    writeFileSync(
      manifest,
      JSON.stringify({
        name: prefix,
        defaults: { maxRecordsPerJob: 20, poll: { initial: '100ms', max: '1s' } },
        steps: [{ object: 'Account', source: 'accounts.csv' }],
      })
    );
    return manifest;
  }

  async function cli<T>(command: string, code: number, env?: Record<string, string>): Promise<{ result?: T; error?: ErrorOutput; stderr: string }> {
    const output = await execCmd<T>(`${command} --json`, {
      ensureExitCode: code,
      async: true,
      ...(env ? { env: { ...process.env, ...env } } : {}),
    });
    const json = output.jsonOutput as unknown as { result?: T } & ErrorOutput;
    return { result: json?.result, error: json?.result === undefined ? json : undefined, stderr: output.shellOutput.stderr };
  }

  const crashAt = (point: string): Record<string, string> => ({ SF_MIGRATE_TEST_CRASH: point, NODE_ENV: 'production' });

  function legacyIds(target: LocalOrg, prefix: string): string[] {
    return target.store
      .records('Account')
      .map((record) => String(record.Legacy_Id__c))
      .filter((id) => id.startsWith(`${prefix}-`));
  }

  function runFolderOf(manifestDir: string): string {
    const runs = join(manifestDir, '.sf-migrate', 'runs');
    return join(runs, readdirSync(runs)[0]);
  }

  it('continues an interrupted run; `run` refuses a second run beside it unless --new', async () => {
    const manifest = prepare('R');
    // SIGKILL right after the second job was created: the shell reports 137
    await cli(`migrate run --manifest ${manifest} --target-org local`, 137, crashAt('job.created:2'));
    const refused = await cli(`migrate run --manifest ${manifest} --target-org local`, 1);
    expect(refused.error?.name).to.equal('UnfinishedRunError');
    expect(refused.error?.actions?.join('\n')).to.include(`sf migrate resume --manifest ${manifest} --run-id`);

    const resumed = await cli<RunResult>(`migrate resume --manifest ${manifest} --target-org local`, 0);
    assertMatchesSchema('schemas/migrate-resume.json', resumed.result);
    expect(resumed.result).to.include({ status: 'succeeded', exitCode: 0 });
    expect(resumed.result?.steps[0]).to.include({ records: 60, succeeded: 60, failed: 0, jobs: 3 });
    const ids = legacyIds(org, 'R');
    expect(ids).to.have.length(60);
    expect(new Set(ids).size).to.equal(60);

    const fresh = await cli<RunResult>(`migrate run --manifest ${manifest} --target-org local --new`, 1);
    // a second full insert of the same rows collides with the unique external id: proof it ran anew
    expect(fresh.result?.runId).to.not.equal(resumed.result?.runId);
    expect(fresh.result?.steps[0].failuresByCode).to.deep.equal({ DUPLICATE_VALUE: 60 });
  });

  it('refuses a run whose source file changed, and resumes once it is restored', async () => {
    const manifest = prepare('S');
    await cli(`migrate run --manifest ${manifest} --target-org local`, 137, crashAt('job.uploaded:1'));
    const source = join(dir, 'accounts.csv');
    const original = readFileSync(source);
    appendFileSync(source, 'S Account extra,S-extra\n');
    const refused = await cli(`migrate resume --manifest ${manifest} --target-org local`, 1);
    expect(refused.error?.name).to.equal('SourcesChangedError');
    expect(refused.error?.message).to.include(source);
    writeFileSync(source, original);
    const resumed = await cli<RunResult>(`migrate resume --manifest ${manifest} --target-org local`, 0);
    expect(resumed.result?.status).to.equal('succeeded');
    expect(legacyIds(org, 'S')).to.have.length(60);
  });

  it('drops a torn last journal line with a warning and loads every record once', async () => {
    const manifest = prepare('T');
    await cli(`migrate run --manifest ${manifest} --target-org local`, 137, crashAt('job.closed:1'));
    const journal = join(runFolderOf(dir), 'journal.jsonl');
    // what a power cut in the middle of a write leaves: half a line, no newline
    appendFileSync(journal, '{"type":"job.finished","step":"Account","chu');
    const resumed = await cli<RunResult>(`migrate resume --manifest ${manifest} --target-org local`, 0);
    expect(resumed.result?.status).to.equal('succeeded');
    expect(readFileSync(journal, 'utf8')).to.not.include('"chu\n');
    const ids = legacyIds(org, 'T');
    expect(ids).to.have.length(60);
    expect(new Set(ids).size).to.equal(60);
  });

  it('stops waiting after --wait with exit 69 and the resume command, while the lock keeps a second process out', async () => {
    const manifest = prepare('W', 300);
    writeFileSync(
      manifest,
      JSON.stringify({
        name: 'W',
        defaults: { maxRecordsPerJob: 300, poll: { initial: '200ms', max: '2s' } },
        steps: [{ object: 'Account', source: 'accounts.csv' }],
      })
    );
    const waiting = cli<RunResult>(`migrate run --manifest ${manifest} --target-org slow --wait 1`, 69);
    // while that process drives the run, nobody else may
    const journal = (): string => {
      try {
        return readFileSync(join(runFolderOf(dir), 'journal.jsonl'), 'utf8');
      } catch {
        return '';
      }
    };
    for (let i = 0; i < 300 && !journal().includes('"job.closed"'); i++) {
      // eslint-disable-next-line no-await-in-loop
      await new Promise((wake) => setTimeout(wake, 100));
    }
    const locked = await cli(`migrate resume --manifest ${manifest} --target-org slow`, 1);
    expect(locked.error?.name).to.equal('RunLockedError');

    const { result } = await waiting;
    assertMatchesSchema('schemas/migrate-run.json', result);
    expect(result?.status).to.equal('waiting');
    expect(result?.resumeCommand).to.equal(`sf migrate resume --manifest ${manifest} --run-id ${result?.runId}`);
    expect(legacyIds(slow, 'W').length).to.be.lessThan(300);

    const resumed = await cli<RunResult>(`migrate resume --manifest ${manifest} --run-id ${result?.runId} --target-org slow`, 0);
    expect(resumed.result?.steps[0]).to.include({ records: 300, succeeded: 300, jobs: 1 });
    const ids = legacyIds(slow, 'W');
    expect(ids).to.have.length(300);
    expect(new Set(ids).size).to.equal(300);
  });
});
