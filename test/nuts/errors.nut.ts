/*
 * Errors a person can act on, through the real commands: a run folder that cannot be created
 * names the file and the manifest key, data with terminal escapes is never echoed raw, and
 * `retry --step` with a typo lists the run's step ids instead of advising a new run.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import type { RunResult } from '../../src/commands/migrate/run.js';
import { useNutSession } from '../helpers/localOrg.js';

const STACK_FRAME = /^\s+at .+(:\d+:\d+\)?|\(native\))$/m;
// eslint-disable-next-line no-control-regex
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

describe('errors a person can act on', () => {
  const nut = useNutSession('errors');

  function writeManifest(manifest: Record<string, unknown>): string {
    const file = join(nut.testDir, 'migration.json');
    writeFileSync(file, JSON.stringify(manifest, null, 2));
    return file;
  }

  it('a run folder that is blocked by a file names the path and runFolder, without a stack trace', async () => {
    writeFileSync(join(nut.testDir, 'accounts.csv'), 'Name\nAcme\n');
    writeFileSync(join(nut.testDir, 'blocker'), 'a file where a folder should be');
    const manifest = writeManifest({
      name: 'blocked',
      runFolder: 'blocker/runs',
      steps: [{ object: 'Account', operation: 'insert', source: 'accounts.csv' }],
    });
    const result = await nut.sf(`migrate run --manifest ${manifest} --target-org local`, { code: 1 });
    const output = result.shellOutput.stdout + result.shellOutput.stderr;
    expect(output)
      .to.include(join(nut.testDir, 'blocker', 'runs'))
      .and.include('(runFolder in the manifest)');
    expect(output).to.include('a part of the path is a file where a folder is expected (ENOTDIR)');
    expect(output).to.not.match(STACK_FRAME);
  });

  it('never echoes control characters from a CSV header', async () => {
    writeFileSync(
      join(nut.testDir, 'accounts.csv'),
      'Name,Sneaky\x1b[2J\x1b[31mColumn,Sneaky\x1b[2J\x1b[31mColumn\nAcme,1,2\n',
    );
    const manifest = writeManifest({
      name: 'escapes',
      steps: [{ object: 'Account', operation: 'insert', source: 'accounts.csv' }],
    });
    const result = await nut.spawn(['migrate', 'run', '--manifest', manifest, '--target-org', 'local']).exit;
    const output = result.stdout + result.stderr;
    expect(result.status, output).to.not.equal(0);
    expect(output, 'the column is named').to.include('Sneaky\\u001b[2J\\u001b[31mColumn');
    expect(output).to.not.match(RAW_CONTROL);
  });

  it('retry --step with an unknown id lists the run`s step ids and never advises --new', async () => {
    writeFileSync(join(nut.testDir, 'accounts.csv'), 'Name\nAcme\nGlobex\n');
    const manifest = writeManifest({
      name: 'retry-typo',
      steps: [{ id: 'accounts', object: 'Account', operation: 'insert', source: 'accounts.csv' }],
    });
    const run = await nut.sf<RunResult>(`migrate run --manifest ${manifest} --target-org local --json`);
    const runId = run.jsonOutput!.result.runId;
    const retry = await nut.sf(
      `migrate retry --manifest ${manifest} --run-id ${runId} --step acounts --target-org local`,
      {
        code: 1,
      },
    );
    const output = retry.shellOutput.stdout + retry.shellOutput.stderr;
    expect(output).to.include(`Run ${runId} has no step "acounts". Its steps: accounts.`);
    expect(output).to.include(`--run-id ${runId} --step accounts`);
    expect(output).to.not.include('--new');
  });
});
