/*
 * `sf migrate verify` end to end (bin/run.js) against a local org: a run with inserts, upserts (one
 * matching a record the org already had), an update and a row that fails for good verifies clean
 * (exit 0); a record deleted by hand and a field changed by hand each make it exit 1 naming them,
 * in --json, in the human output and in the HTML report.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import type { Connection } from '@salesforce/core';
import type { VerifyResult } from '../../src/commands/migrate/verify.js';
import type { RunResult } from '../../src/commands/migrate/run.js';
import { useNutSession } from '../helpers/localOrg.js';
import { assertMatchesSchema } from '../helpers/resultSchema.js';
import { API_VERSION, connectionTo } from '../engine/runScaffold.js';

const SCHEMA = 'schemas/migrate-verify.json';
const LEGACY_ID = 'Legacy_Id__c';

type SaveResult = { id: string; success: boolean };

describe('migrate verify', () => {
  const nut = useNutSession('verify');

  async function collections(connection: Connection, method: string, body?: unknown, query = ''): Promise<string[]> {
    const results = await connection.request<SaveResult[]>({
      method: method as 'POST',
      url: `/services/data/v${API_VERSION}/composite/sobjects${query}`,
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
    expect(
      results.every((result) => result.success),
      JSON.stringify(results),
    ).to.equal(true);
    return results.map((result) => result.id);
  }

  async function verify(flags: string, code: number): Promise<VerifyResult> {
    const output = (await nut.sf<VerifyResult>(`migrate verify ${flags} --json`, { code })).jsonOutput;
    expect(output, 'json output').to.not.equal(undefined);
    assertMatchesSchema(SCHEMA, output!.result);
    return output!.result;
  }

  it('passes a run that landed, and names a record deleted and a field changed by hand', async () => {
    const connection = await connectionTo(nut.org);
    const [existingA1, existingX1] = await collections(connection, 'POST', {
      allOrNone: true,
      records: [
        { attributes: { type: 'Account' }, Name: 'Old A1', [LEGACY_ID]: 'A1' },
        { attributes: { type: 'Account' }, Name: 'Existing X1', [LEGACY_ID]: 'X1' },
      ],
    });
    const dir = nut.testDir;
    writeFileSync(join(dir, 'accounts.csv'), 'Legacy_Id__c,Name,AnnualRevenue\nA1,Acme,1000.50\nA2,Globex,2000\n');
    writeFileSync(
      join(dir, 'contacts.csv'),
      'LastName,Birthdate,Account.Legacy_Id__c\nSmith,1980-01-02,A1\nJones,1975-12-31,A2\n,1990-01-01,A1\n',
    );
    writeFileSync(join(dir, 'existing.csv'), `Id,Description\n${existingX1},updated by the run\n`);
    const manifest = join(dir, 'migration.json');
    writeFileSync(
      manifest,
      JSON.stringify({
        name: 'verify-nut',
        defaults: { poll: { initial: '100ms', max: '200ms' }, failureThreshold: { percent: 50 } },
        steps: [
          {
            id: 'accounts',
            object: 'Account',
            operation: 'upsert',
            externalIdField: 'Legacy_Id__c',
            source: 'accounts.csv',
          },
          { id: 'contacts', object: 'Contact', operation: 'insert', source: 'contacts.csv' },
          { id: 'existing', object: 'Account', operation: 'update', source: 'existing.csv', dependsOn: ['accounts'] },
        ],
      }),
    );
    const run = (await nut.sf<RunResult>(`migrate run --manifest ${manifest} --target-org local --json`, { code: 68 }))
      .jsonOutput!.result;

    const clean = await verify(`--manifest ${manifest}`, 0);
    expect(clean).to.deep.include({ runId: run.runId, verified: true, runStatus: 'completedWithFailures' });
    expect(clean.discrepancies).to.deep.equal([]);
    expect(
      clean.steps.map((step) => [step.step, step.sourceRecords, step.succeeded, step.deadLetters, step.accounted]),
    ).to.deep.equal([
      ['accounts', 2, 2, 0, true],
      ['contacts', 3, 2, 1, true],
      ['existing', 1, 1, 0, true],
    ]);

    const contact = nut.org.store.records('Contact').find((record) => record.LastName === 'Jones')!;
    const globex = nut.org.store.records('Account').find((record) => record.Legacy_Id__c === 'A2')!;
    await collections(connection, 'DELETE', undefined, `?ids=${String(contact.Id)}`);
    await collections(connection, 'PATCH', {
      allOrNone: true,
      records: [{ attributes: { type: 'Account' }, id: globex.Id, AnnualRevenue: 1 }],
    });
    // the upsert matched the record that was there: updating it is not a duplicate
    expect(nut.org.store.records('Account').filter((record) => record.Legacy_Id__c === 'A1')).to.have.length(1);
    expect(existingA1).to.be.a('string');

    const report = join(dir, 'verify.html');
    const failed = await verify(`--manifest ${manifest} --run-id ${run.runId} --report ${report}`, 1);
    expect(failed.verified).to.equal(false);
    expect(failed.report).to.equal(report);
    expect(failed.discrepancies).to.have.deep.members([
      {
        step: 'accounts',
        kind: 'fieldMismatch',
        key: globex.Id,
        field: 'AnnualRevenue',
        expected: '2000',
        actual: '1',
      },
      { step: 'contacts', kind: 'missing', key: contact.Id, expected: 'present', actual: 'absent' },
    ]);
    expect(existsSync(report)).to.equal(true);
    const html = readFileSync(report, 'utf8');
    expect(html).to.include(String(contact.Id)).and.to.include('AnnualRevenue').and.to.include('Does not reconcile');

    // the testkit keeps only stderr of a command that exits non-zero: spawned, both are kept
    const { status, stdout, stderr } = await nut.spawn([
      'migrate',
      'verify',
      '--manifest',
      manifest,
      '--sample-size',
      '5',
      '--seed',
      '3',
    ]).exit;
    expect(status).to.equal(1);
    expect(stdout, stderr)
      .to.include(`Run ${run.runId}`)
      .and.include('does not reconcile')
      .and.include(String(contact.Id))
      .and.include('record not in the org')
      .and.include('AnnualRevenue');
  });

  it('refuses a run that has not finished, and says when there is none', async () => {
    const empty = join(nut.testDir, 'empty.json');
    writeFileSync(empty, JSON.stringify({ name: 'empty', steps: [{ object: 'Account', source: 'none.csv' }] }));
    const none = (await nut.sf(`migrate verify --manifest ${empty} --json`, { code: 1 })).jsonOutput as unknown as {
      name: string;
      actions: string[];
    };
    expect(none.name).to.equal('NoFinishedRunError');
    expect(none.actions.join('\n')).to.include('sf migrate status');
  });
});
