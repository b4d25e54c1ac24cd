/*
 * `sf migrate validate --scan` through the compiled plugin (bin/run.js): duplicate keys with their
 * file:line in the printed problems and the --json result (against schemas/migrate-validate.json),
 * wide rows, values checked against a local org's describe with --target-org, a scan that spills to
 * disk leaving no temporary file, and a scan stopped by Ctrl-C removing its temporary files.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { expect } from 'chai';
import type { ValidateResult } from '../../src/commands/migrate/validate.js';
import { useNutSession } from '../helpers/localOrg.js';
import { assertMatchesSchema } from '../helpers/resultSchema.js';

const resultSchema = resolve('schemas/migrate-validate.json');

describe('sf migrate validate --scan', () => {
  const nut = useNutSession('validate-scan');

  function writeMigration(dir: string, steps: unknown[]): string {
    const manifest = join(dir, 'migration.json');
    writeFileSync(
      manifest,
      JSON.stringify(
        { name: 'scan', defaults: { operation: 'upsert', externalIdField: 'Legacy_Id__c' }, steps },
        null,
        2,
      ),
    );
    return manifest;
  }

  it('prints duplicate keys with every file:line, wide rows, and exits 1; --json carries them', async () => {
    const dir = nut.testDir;
    mkdirSync(join(dir, 'data'));
    writeFileSync(join(dir, 'data', 'accounts-1.csv'), 'Legacy_Id__c,Name\nA1,Acme\nA2,"Two\nlines"\nA1,Again\n');
    writeFileSync(join(dir, 'data', 'accounts-2.csv'), 'Legacy_Id__c,Name\nA3,x,extra\nA1,Third\n');
    const manifest = writeMigration(dir, [{ id: 'accounts', object: 'Account', source: 'data/accounts-*.csv' }]);

    // without --scan, validate reads headers only: the manifest is valid
    const plain = (await nut.sf<ValidateResult>(`migrate validate --manifest ${manifest} --json`)).jsonOutput!;
    expect(plain.result.valid).to.equal(true);
    expect(plain.result.scan).to.equal(undefined);

    const human = await nut.spawn(['migrate', 'validate', '--manifest', manifest, '--scan']).exit;
    expect(human.status).to.equal(1);
    expect(human.stdout).to.contain(
      `${manifest}:8:5  error  DuplicateRecordKey  Step "accounts": the external id Legacy_Id__c "A1" is on 3 rows: ` +
        'data/accounts-1.csv:2, data/accounts-1.csv:5, data/accounts-2.csv:3.',
    );
    expect(human.stdout).to.contain(
      `${manifest}:8:5  error  RowWiderThanHeader  Step "accounts": the row at data/accounts-2.csv:2 has 3 values`,
    );
    expect(human.stdout).to.contain(
      'Scanned step accounts: 5 record(s) in 2 file(s); 1 duplicate key(s) on 3 row(s) in Legacy_Id__c; ' +
        '1 row(s) wider than the header; values not checked (they need --target-org).',
    );
    expect(human.stdout).to.contain('is not valid: 2 error(s)');

    const json = (await nut.sf<ValidateResult>(`migrate validate --manifest ${manifest} --scan --json`, { code: 1 }))
      .jsonOutput!;
    expect(json.status).to.equal(1);
    assertMatchesSchema(resultSchema, json.result);
    const step = json.result.scan!.steps[0];
    expect(step.duplicates.shown).to.deep.equal([
      {
        key: 'A1',
        occurrences: 3,
        locations: [
          { file: join(dir, 'data', 'accounts-1.csv'), line: 2 },
          { file: join(dir, 'data', 'accounts-1.csv'), line: 5 },
          { file: join(dir, 'data', 'accounts-2.csv'), line: 3 },
        ],
      },
    ]);
    expect(step.wideRows.total).to.equal(1);
    expect(json.result.errors.map((p) => p.code)).to.deep.equal(['DuplicateRecordKey', 'RowWiderThanHeader']);
  });

  it('with --target-org checks values against the describe; spilled keys leave no temporary file', async () => {
    const dir = nut.testDir;
    const temp = join(dir, 'tmp');
    mkdirSync(temp);
    const rows = ['Legacy_Id__c,LastName,Birthdate'];
    for (let i = 0; i < 30_000; i++) rows.push(`C${i},Smith,2001-01-01`);
    rows.push(`C7,${'x'.repeat(81)},2003-04-98`);
    writeFileSync(join(dir, 'contacts.csv'), rows.join('\n') + '\n');
    const manifest = writeMigration(dir, [{ id: 'contacts', object: 'Contact', source: 'contacts.csv' }]);
    const json = (
      await nut.sf<ValidateResult>(
        `migrate validate --manifest ${manifest} --scan --scan-memory 1 --target-org local --json`,
        { code: 1, env: { TMPDIR: temp } },
      )
    ).jsonOutput!;
    assertMatchesSchema(resultSchema, json.result);
    const scan = json.result.scan!;
    expect(scan).to.deep.include({ memoryBudgetMb: 1, spilled: true, valuesChecked: true });
    expect(scan.steps[0].records).to.equal(30_001);
    expect(scan.steps[0].duplicates.shown).to.deep.equal([
      {
        key: 'C7',
        occurrences: 2,
        locations: [
          { file: join(dir, 'contacts.csv'), line: 9 },
          { file: join(dir, 'contacts.csv'), line: 30_002 },
        ],
      },
    ]);
    expect(scan.steps[0].values!.shown.map((v) => [v.line, v.field, v.reason])).to.deep.equal([
      [30_002, 'LastName', 'tooLong'],
      [30_002, 'Birthdate', 'date'],
    ]);
    expect(json.result.errors.map((p) => p.code)).to.deep.equal([
      'DuplicateRecordKey',
      'ValueTooLong',
      'InvalidDateValue',
    ]);
    expect(readdirSync(temp)).to.deep.equal([]);
  });

  it('removes its temporary files when Ctrl-C stops a scan that spilled to disk', async () => {
    const dir = nut.testDir;
    const temp = join(dir, 'tmp');
    mkdirSync(temp);
    const rows = ['Legacy_Id__c,Name'];
    for (let i = 0; i < 3_000_000; i++) rows.push(`K${i},N`);
    writeFileSync(join(dir, 'accounts.csv'), rows.join('\n') + '\n');
    const manifest = writeMigration(dir, [{ id: 'accounts', object: 'Account', source: 'accounts.csv' }]);
    const { child, exit } = nut.spawn(['migrate', 'validate', '--manifest', manifest, '--scan', '--scan-memory', '1'], {
      env: { TMPDIR: temp },
    });
    let finished = false;
    void exit.then(() => (finished = true));
    // wait for the spill folder (no timing assumption: the scan spills after its first ~10,000 keys
    // and reads 3 million rows after that)
    while (!finished && readdirSync(temp).length === 0) {
      // eslint-disable-next-line no-await-in-loop
      await new Promise((done) => setTimeout(done, 20));
    }
    expect(finished, 'the scan ended before it spilled').to.equal(false);
    const folder = join(temp, readdirSync(temp)[0]);
    expect(folder).to.match(/sf-migrate-scan-/);
    child.kill('SIGINT');
    const ended = await exit;
    expect(ended.status === 130 || ended.signal === 'SIGINT', JSON.stringify(ended)).to.equal(true);
    expect(existsSync(folder)).to.equal(false);
    expect(readdirSync(temp)).to.deep.equal([]);
  });
});
