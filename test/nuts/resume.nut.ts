/*
 * `sf migrate resume` and what guards it: the run lock, changed sources, a torn journal line,
 * `run --wait 8s` running out (exit 69 with the exact resume command), and `run` refusing to start a
 * second run beside an unfinished one.
 */
import { appendFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import type { RunResult } from '../../src/commands/migrate/run.js';
import { useNutSession, type LocalOrg } from '../helpers/localOrg.js';
import { assertMatchesSchema } from '../helpers/resultSchema.js';

type ErrorOutput = { name: string; message: string; actions?: string[]; exitCode: number };

describe('migrate resume', () => {
  const nut = useNutSession('resume', [
    { alias: 'local' },
    // 4 records a second: a job of 140 records cannot finish within a --wait of a few seconds
    { alias: 'slow', recordsPerSecond: 4 },
  ]);

  function prepare(prefix: string, records = 60): string {
    const dir = nut.testDir;
    const lines = ['Name,Legacy_Id__c'];
    for (let i = 0; i < records; i++) lines.push(`${prefix} Account ${i},${prefix}-${i}`);
    writeFileSync(join(nut.testDir, 'accounts.csv'), lines.join('\n') + '\n');
    const manifest = join(dir, 'migration.json');
    writeFileSync(
      manifest,
      JSON.stringify({
        name: prefix,
        defaults: { maxRecordsPerJob: 20, poll: { initial: '100ms', max: '1s' } },
        steps: [{ object: 'Account', source: 'accounts.csv' }],
      }),
    );
    return manifest;
  }

  async function cli<T>(
    command: string,
    code: number,
    env?: Record<string, string>,
  ): Promise<{ result?: T; error?: ErrorOutput; stderr: string }> {
    const output = await nut.sf<T>(`${command} --json`, { code, ...(env ? { env } : {}) });
    const json = output.jsonOutput as unknown as { result?: T } & ErrorOutput;
    return {
      result: json?.result,
      error: json?.result === undefined ? json : undefined,
      stderr: output.shellOutput.stderr,
    };
  }

  const crashAt = (point: string): Record<string, string> => ({ SF_MIGRATE_TEST_CRASH: point });

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
    const ids = legacyIds(nut.org, 'R');
    expect(ids).to.have.length(60);
    expect(new Set(ids).size).to.equal(60);

    const fresh = await cli<RunResult>(`migrate run --manifest ${manifest} --target-org local --new`, 1);
    // a second full insert of the same rows collides with the unique external id: proof it ran anew
    expect(fresh.result?.runId).to.not.equal(resumed.result?.runId);
    expect(fresh.result?.steps[0].failuresByCode).to.deep.equal({ DUPLICATE_VALUE: 60 });
  });

  it("resume and retry use the run's own org without --target-org, and refuse another org (issue 10.7)", async () => {
    const manifest = prepare('O');
    await cli(`migrate run --manifest ${manifest} --target-org local`, 137, crashAt('job.created:2'));
    const runId = readdirSync(join(nut.testDir, '.sf-migrate', 'runs'))[0];
    const own = `sf migrate resume --manifest ${manifest} --run-id ${runId}`;

    const refused = await cli(`migrate resume --manifest ${manifest} --target-org slow`, 1);
    expect(refused.error?.name).to.equal('TargetOrgNotRunOrgError');
    expect(refused.error?.message).to.include(nut.org.username).and.include(nut.orgOf('slow').username);
    const action = refused.error?.actions?.[0] ?? '';
    expect(action.endsWith(`: ${own}`), action).to.equal(true);
    expect(legacyIds(nut.orgOf('slow'), 'O')).to.deep.equal([]);

    // the advised command, as printed: no --target-org, and no default org in this HOME
    const resumed = await cli<RunResult>(own.replace(/^sf /, ''), 0);
    expect(resumed.result).to.include({ status: 'succeeded', runId });
    expect(legacyIds(nut.org, 'O')).to.have.length(60);

    const retryRefused = await cli(`migrate retry --manifest ${manifest} --target-org slow`, 1);
    expect(retryRefused.error?.name).to.equal('TargetOrgNotRunOrgError');
    expect(retryRefused.error?.actions?.[0]).to.include(`sf migrate retry --manifest ${manifest} --run-id ${runId}`);
    // into the run's own org it goes as far as the run allows: every record loaded, nothing to resubmit
    const retried = await cli(`migrate retry --manifest ${manifest}`, 1);
    expect(retried.error?.name).to.equal('NothingToRetryError');
  });

  it('refuses a run whose source file changed, and resumes once it is restored', async () => {
    const manifest = prepare('S');
    await cli(`migrate run --manifest ${manifest} --target-org local`, 137, crashAt('job.uploaded:1'));
    const source = join(nut.testDir, 'accounts.csv');
    const original = readFileSync(source);
    appendFileSync(source, 'S Account extra,S-extra\n');
    const refused = await cli(`migrate resume --manifest ${manifest} --target-org local`, 1);
    expect(refused.error?.name).to.equal('SourcesChangedError');
    expect(refused.error?.message).to.include(source);
    writeFileSync(source, original);
    const resumed = await cli<RunResult>(`migrate resume --manifest ${manifest} --target-org local`, 0);
    expect(resumed.result?.status).to.equal('succeeded');
    expect(legacyIds(nut.org, 'S')).to.have.length(60);
  });

  it('drops a torn last journal line with a warning and loads every record once', async () => {
    const manifest = prepare('T');
    await cli(`migrate run --manifest ${manifest} --target-org local`, 137, crashAt('job.closed:1'));
    const journal = join(runFolderOf(nut.testDir), 'journal.jsonl');
    // what a power cut in the middle of a write leaves: half a line, no newline
    appendFileSync(journal, '{"type":"job.finished","step":"Account","chu');
    const resumed = await cli<RunResult>(`migrate resume --manifest ${manifest} --target-org local`, 0);
    expect(resumed.result?.status).to.equal('succeeded');
    expect(readFileSync(journal, 'utf8')).to.not.include('"chu\n');
    const ids = legacyIds(nut.org, 'T');
    expect(ids).to.have.length(60);
    expect(new Set(ids).size).to.equal(60);
  });

  it('stops waiting after --wait with exit 69 and the resume command, while the lock keeps a second process out', async () => {
    const records = 140;
    const manifest = prepare('W', records);
    writeFileSync(
      manifest,
      JSON.stringify({
        name: 'W',
        defaults: { maxRecordsPerJob: records, poll: { initial: '200ms', max: '1s' } },
        steps: [{ object: 'Account', source: 'accounts.csv' }],
      }),
    );
    const slow = nut.orgOf('slow');
    // the slow org needs 35 s for the job: --wait 8s runs out long before the job can finish, and not
    // before a loaded machine has closed the job
    const waiting = nut.spawn([
      'migrate',
      'run',
      '--manifest',
      manifest,
      '--target-org',
      'slow',
      '--wait',
      '8s',
      '--json',
    ]);
    const journal = (): string => {
      try {
        return readFileSync(join(runFolderOf(nut.testDir), 'journal.jsonl'), 'utf8');
      } catch {
        return '';
      }
    };
    for (let i = 0; i < 1200 && !journal().includes('"job.closed"') && waiting.child.exitCode === null; i++) {
      // eslint-disable-next-line no-await-in-loop
      await new Promise((wake) => setTimeout(wake, 100));
    }
    expect(journal(), 'the run closed its job').to.include('"job.closed"');
    // stopped, the process is certainly still there and holds the run's lock: nobody else may drive the run
    waiting.child.kill('SIGSTOP');
    try {
      const locked = await cli(`migrate resume --manifest ${manifest} --target-org slow`, 1);
      expect(locked.error?.name).to.equal('RunLockedError');
    } finally {
      waiting.child.kill('SIGCONT');
    }

    const exit = await waiting.exit;
    expect(exit.status, exit.stdout + exit.stderr).to.equal(69);
    const result = (JSON.parse(exit.stdout) as { result: RunResult }).result;
    assertMatchesSchema('schemas/migrate-run.json', result);
    expect(result.status).to.equal('waiting');
    expect(result.resumeCommand).to.equal(`sf migrate resume --manifest ${manifest} --run-id ${result.runId}`);
    expect(legacyIds(slow, 'W').length).to.be.lessThan(records);

    const resumed = await cli<RunResult>(
      `migrate resume --manifest ${manifest} --run-id ${result.runId} --target-org slow`,
      0,
    );
    expect(resumed.result?.steps[0]).to.include({ records, succeeded: records, jobs: 1 });
    const ids = legacyIds(slow, 'W');
    expect(ids).to.have.length(records);
    expect(new Set(ids).size).to.equal(records);
  });
});
