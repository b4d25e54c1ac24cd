/*
 * `sf migrate run` end to end: the real command (bin/run.js) against a local org started in this
 * process, for every operation, waves with relationship columns, a gate that stops the run, a
 * step cut into several jobs, result files that match the source, and the org's faults.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import type { RunResult } from '../../src/commands/migrate/run.js';
import { useNutSession } from '../helpers/localOrg.js';
import { assertMatchesSchema } from '../helpers/resultSchema.js';

type Row = Record<string, string>;

function csv(rows: Row[], columns: string[]): string {
  const quote = (value: string): string => (/[",\n\r]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value);
  return (
    [columns.join(','), ...rows.map((row) => columns.map((column) => quote(row[column] ?? '')).join(','))].join('\n') +
    '\n'
  );
}

function readCsv(file: string): string[][] {
  // result files are small here; the product streams them
  const text = readFileSync(file, 'utf8');
  const rows: string[][] = [];
  let row: string[] = [];
  let value = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        value += '"';
        i++;
      } else if (c === '"') quoted = false;
      else value += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(value);
      value = '';
    } else if (c === '\n') {
      row.push(value);
      rows.push(row);
      row = [];
      value = '';
    } else if (c !== '\r') value += c;
  }
  if (value || row.length) {
    row.push(value);
    rows.push(row);
  }
  return rows;
}

/** every result file of a step in a run folder */
function resultFiles(runDir: string, step: string, kind: 'success' | 'failed' | 'unprocessed'): string[] {
  const dir = join(runDir, 'results', step);
  return readdirSync(dir)
    .filter((name) => name.endsWith(`-${kind}.csv`))
    .map((name) => join(dir, name));
}

describe('migrate run', () => {
  const nut = useNutSession('case');
  beforeEach(() => nut.org.faults.clear());

  function writeManifest(manifest: Record<string, unknown>): string {
    const file = join(nut.testDir, 'migration.json');
    writeFileSync(file, JSON.stringify(manifest, null, 2));
    return file;
  }

  async function run(manifest: string, code = 0, extra = ''): Promise<RunResult> {
    const command = `migrate run --manifest ${manifest} --target-org local --json ${extra}`;
    const output = (await nut.sf<RunResult>(command, { code })).jsonOutput;
    expect(output, 'json output').to.not.equal(undefined);
    assertMatchesSchema('schemas/migrate-run.json', output!.result);
    return output!.result;
  }

  const accounts = (n: number, prefix: string): Row[] =>
    Array.from({ length: n }, (_, i) => ({
      Name: `${prefix} Account ${i}, Inc.`,
      // eslint-disable-next-line camelcase
      Legacy_Id__c: `${prefix}-A-${i}`,
      Industry: 'Energy',
    }));
  const contacts = (n: number, accountPrefix: string, accountCount: number, prefix: string): Row[] =>
    Array.from({ length: n }, (_, i) => ({
      LastName: `${prefix} Contact ${i}`,
      Email: `c${i}@example.com`,
      // eslint-disable-next-line camelcase
      Legacy_Id__c: `${prefix}-C-${i}`,
      'Account.Legacy_Id__c': `${accountPrefix}-A-${i % accountCount}`,
    }));

  it('loads two waves, resolving relationship columns through external ids, over several jobs per step', async () => {
    writeFileSync(join(nut.testDir, 'accounts.csv'), csv(accounts(250, 'W'), ['Name', 'Legacy_Id__c', 'Industry']));
    writeFileSync(
      join(nut.testDir, 'contacts.csv'),
      csv(contacts(400, 'W', 250, 'W'), ['LastName', 'Email', 'Legacy_Id__c', 'Account.Legacy_Id__c']),
    );
    const manifest = writeManifest({
      name: 'two-waves',
      defaults: { maxRecordsPerJob: 100, poll: { initial: '100ms', max: '500ms' } },
      steps: [
        { object: 'Account', source: 'accounts.csv', operation: 'upsert', externalIdField: 'Legacy_Id__c' },
        { object: 'Contact', source: 'contacts.csv', operation: 'insert' },
      ],
    });
    const result = await run(manifest);
    expect(result.status).to.equal('succeeded');
    expect(result.exitCode).to.equal(0);
    expect(
      result.steps.map((step) => [step.step, step.wave, step.records, step.succeeded, step.failed, step.jobs]),
    ).to.deep.equal([
      ['Account', 0, 250, 250, 0, 3],
      ['Contact', 1, 400, 400, 0, 4],
    ]);

    const accountIds = new Map(
      nut.org.store.records('Account').map((record) => [String(record.Legacy_Id__c), String(record.Id)]),
    );
    const loaded = nut.org.store.records('Contact').filter((record) => String(record.LastName).startsWith('W Contact'));
    expect(loaded).to.have.length(400);
    for (const contact of loaded) {
      const index = Number(String(contact.LastName).split(' ').pop());
      expect(contact.AccountId, String(contact.LastName)).to.equal(accountIds.get(`W-A-${index % 250}`));
    }

    // success results carry every source row once, with the uploaded columns verbatim
    const successRows = resultFiles(result.runDir, 'Contact', 'success').flatMap((file) => readCsv(file).slice(1));
    expect(successRows).to.have.length(400);
    const header = readCsv(resultFiles(result.runDir, 'Contact', 'success')[0])[0];
    expect(header).to.deep.equal([
      'sf__Id',
      'sf__Created',
      'LastName',
      'Email',
      'Legacy_Id__c',
      'Account.Legacy_Id__c',
    ]);
    expect(new Set(successRows.map((row) => row[4])).size).to.equal(400);
    for (const row of successRows) expect(row[1]).to.equal('true');
  });

  it('runs update, delete and hardDelete over ids from an earlier insert', async () => {
    writeFileSync(join(nut.testDir, 'accounts.csv'), csv(accounts(30, 'U'), ['Name', 'Legacy_Id__c', 'Industry']));
    const insert = await run(
      writeManifest({
        name: 'insert',
        steps: [{ object: 'Account', source: 'accounts.csv' }],
        defaults: { poll: { initial: '100ms', max: '200ms' } },
      }),
    );
    expect(insert.steps[0].succeeded).to.equal(30);
    const ids = nut.org.store
      .records('Account')
      .filter((record) => String(record.Legacy_Id__c).startsWith('U-A-'))
      .map((record) => String(record.Id));
    expect(ids).to.have.length(30);

    writeFileSync(
      join(nut.testDir, 'update.csv'),
      csv(
        ids.map((Id) => ({ Id, Industry: 'Banking' })),
        ['Id', 'Industry'],
      ),
    );
    writeFileSync(
      join(nut.testDir, 'delete.csv'),
      csv(
        ids.slice(0, 10).map((Id) => ({ Id })),
        ['Id'],
      ),
    );
    writeFileSync(
      join(nut.testDir, 'hard.csv'),
      csv(
        ids.slice(10, 20).map((Id) => ({ Id })),
        ['Id'],
      ),
    );
    const result = await run(
      writeManifest({
        name: 'change',
        defaults: { poll: { initial: '100ms', max: '200ms' } },
        steps: [
          { id: 'update', object: 'Account', source: 'update.csv', operation: 'update' },
          { id: 'delete', object: 'Account', source: 'delete.csv', operation: 'delete', dependsOn: ['update'] },
          { id: 'hard', object: 'Account', source: 'hard.csv', operation: 'hardDelete', dependsOn: ['update'] },
        ],
      }),
    );
    expect(result.status).to.equal('succeeded');
    expect(result.steps.map((step) => [step.step, step.succeeded])).to.deep.equal([
      ['update', 30],
      ['delete', 10],
      ['hard', 10],
    ]);
    const remaining = nut.org.store
      .records('Account')
      .filter((record) => String(record.Legacy_Id__c).startsWith('U-A-'));
    expect(remaining).to.have.length(10);
    for (const record of remaining) expect(record.Industry).to.equal('Banking');
  });

  it('stops at a wave gate (the children do not load); retry resubmits the fixed dead letters and carries on', async () => {
    const rows = accounts(20, 'G');
    rows[3].Name = '';
    rows[7].Name = '';
    writeFileSync(join(nut.testDir, 'accounts.csv'), csv(rows, ['Name', 'Legacy_Id__c', 'Industry']));
    writeFileSync(
      join(nut.testDir, 'contacts.csv'),
      csv(contacts(5, 'G', 20, 'G'), ['LastName', 'Email', 'Legacy_Id__c', 'Account.Legacy_Id__c']),
    );
    const manifest = writeManifest({
      name: 'gate',
      defaults: { poll: { initial: '100ms', max: '200ms' }, failureThreshold: { records: 1 } },
      steps: [
        { object: 'Account', source: 'accounts.csv' },
        { object: 'Contact', source: 'contacts.csv' },
      ],
    });
    const result = await run(manifest, 1);
    expect(result.status).to.equal('failed');
    expect(result.steps).to.have.length(1);
    expect(result.steps[0]).to.include({ step: 'Account', succeeded: 18, failed: 2, gate: 'failed' });
    expect(result.steps[0].failuresByCode).to.deep.equal({ REQUIRED_FIELD_MISSING: 2 });
    expect(
      nut.org.store.records('Contact').filter((record) => String(record.LastName).startsWith('G Contact')),
    ).to.have.length(0);
    const dead = readCsv(join(result.runDir, 'dead-letter', 'Account.csv'));
    expect(dead[0]).to.deep.equal(['Name', 'Legacy_Id__c', 'Industry', 'sf__ErrorCode', 'sf__ErrorMessage']);
    expect(dead.slice(1).map((row) => [row[1], row[3]])).to.have.deep.members([
      ['G-A-3', 'REQUIRED_FIELD_MISSING'],
      ['G-A-7', 'REQUIRED_FIELD_MISSING'],
    ]);

    // the user fixes the dead letters in place; retry loads them and carries the run on to Contacts
    const fixed = dead.map((row, i) => (i === 0 ? row : [`Fixed ${row[1]}`, ...row.slice(1)]));
    writeFileSync(
      join(result.runDir, 'dead-letter', 'Account.csv'),
      fixed.map((row) => row.join(',')).join('\n') + '\n',
    );
    const retried = (await nut.sf<RunResult>(`migrate retry --manifest ${manifest} --target-org local --json`))
      .jsonOutput!.result;
    assertMatchesSchema('schemas/migrate-retry.json', retried);
    expect(retried.runId).to.not.equal(result.runId);
    expect(retried.steps.map((step) => [step.step, step.records, step.succeeded])).to.deep.equal([
      ['Account', 2, 2],
      ['Contact', 5, 5],
    ]);
    const names = nut.org.store.records('Account').map((record) => String(record.Name));
    expect(names).to.include.members(['Fixed G-A-3', 'Fixed G-A-7']);
    expect(
      nut.org.store.records('Contact').filter((record) => String(record.LastName).startsWith('G Contact')),
    ).to.have.length(5);
  });

  it('finishes within the threshold with exit code 68', async () => {
    const rows = accounts(10, 'T');
    rows[0].Name = '';
    writeFileSync(join(nut.testDir, 'accounts.csv'), csv(rows, ['Name', 'Legacy_Id__c', 'Industry']));
    const result = await run(
      writeManifest({
        name: 'threshold',
        defaults: { poll: { initial: '100ms', max: '200ms' }, failureThreshold: { percent: 20 } },
        steps: [{ object: 'Account', source: 'accounts.csv' }],
      }),
      68,
    );
    expect(result.status).to.equal('completedWithFailures');
    expect(result.steps[0]).to.include({ succeeded: 9, failed: 1, gate: 'passed' });
  });

  it('survives 5% server errors, dropped uploads and an expiring session without losing or duplicating a record', async () => {
    nut.org.faults.set({
      seed: 7,
      serverErrorRate: 0.05,
      dropUploadRate: 0.2,
      sessionExpiry: { afterRequests: 25 },
    });
    writeFileSync(join(nut.testDir, 'accounts.csv'), csv(accounts(300, 'F'), ['Name', 'Legacy_Id__c', 'Industry']));
    writeFileSync(
      join(nut.testDir, 'contacts.csv'),
      csv(contacts(300, 'F', 300, 'F'), ['LastName', 'Email', 'Legacy_Id__c', 'Account.Legacy_Id__c']),
    );
    const result = await run(
      writeManifest({
        name: 'faults',
        defaults: { maxRecordsPerJob: 50, poll: { initial: '100ms', max: '300ms' } },
        steps: [
          { object: 'Account', source: 'accounts.csv' },
          { object: 'Contact', source: 'contacts.csv' },
        ],
      }),
    );
    nut.org.faults.clear();
    expect(result.status).to.equal('succeeded');
    for (const object of ['Account', 'Contact']) {
      const legacy = nut.org.store
        .records(object)
        .map((record) => String(record.Legacy_Id__c))
        .filter((id) => id.startsWith('F-'));
      expect(legacy, object).to.have.length(300);
      expect(new Set(legacy).size, `${object} duplicates`).to.equal(300);
    }
  });

  it('retries rows that failed with UNABLE_TO_LOCK_ROW in new jobs', async () => {
    nut.org.faults.set({ seed: 3, lockRowRate: 0.2 });
    writeFileSync(join(nut.testDir, 'accounts.csv'), csv(accounts(200, 'L'), ['Name', 'Legacy_Id__c', 'Industry']));
    const result = await run(
      writeManifest({
        name: 'locks',
        defaults: { poll: { initial: '100ms', max: '200ms' }, retry: { attempts: 5 } },
        steps: [{ object: 'Account', source: 'accounts.csv' }],
      }),
    );
    nut.org.faults.clear();
    expect(result.status).to.equal('succeeded');
    expect(result.steps[0].retryRounds).to.be.greaterThan(0);
    expect(result.steps[0]).to.include({ records: 200, succeeded: 200, failed: 0 });
    const legacy = nut.org.store
      .records('Account')
      .map((record) => String(record.Legacy_Id__c))
      .filter((id) => id.startsWith('L-'));
    expect(new Set(legacy).size).to.equal(200);
    expect(legacy).to.have.length(200);
  });
});
