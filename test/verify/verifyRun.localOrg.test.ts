/*
 * `sf migrate verify`'s library against a local org in this process: a real run (upserts with a
 * mapping, children naming their parents, typed values, a row that fails for good) verifies
 * clean; then a record deleted by hand, a field changed by hand and a lookup emptied by hand each
 * make it fail, naming the step, the record, the field, the expected and the actual value.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';
import type { Connection } from '@salesforce/core';
import { loadManifestOrThrow } from '../../src/manifest/load.js';
import { MigrationRun } from '../../src/engine/migrationRun.js';
import { RunVerification, type VerifyOptions, type VerifyResult } from '../../src/verify/verifyRun.js';
import { writeReport } from '../../src/verify/htmlReport.js';
import { assertMatchesSchema } from '../helpers/resultSchema.js';
import { API_VERSION, buildRun, createScaffold, type Scaffold } from '../engine/runScaffold.js';

const SCHEMA = 'schemas/migrate-verify.json';

describe('verify against the local org', function () {
  this.timeout(120_000);
  let scaffold: Scaffold;
  let runId: string;

  const accounts = [
    'Key,AccountName,AnnualRevenue,NumberOfEmployees,Unused',
    'A1,Acme,1000.50,25,x',
    'A2,Globex,2e3,7,y',
    'A3,"Initech, Inc.",0.5,100,z',
  ].join('\n');
  const contacts = [
    'LastName,Birthdate,HasOptedOutOfEmail,Account.Legacy_Id__c,Legacy_Id__c',
    'Smith,1980-01-02,TRUE,A1,C1',
    'Jones,1975-12-31,0,A2,C2',
    'Brown,,false,,C3',
    ',1990-05-05,true,A3,C4',
  ].join('\n');

  beforeEach(async () => {
    scaffold = await createScaffold();
    await writeFile(join(scaffold.dir, 'data', 'va.csv'), `${accounts}\n`);
    await writeFile(join(scaffold.dir, 'data', 'vc.csv'), `${contacts}\n`);
    const path = join(scaffold.dir, 'verify.json');
    await writeFile(
      path,
      JSON.stringify({
        name: 'verify-test',
        defaults: { poll: { initial: '10ms', max: '40ms' }, failureThreshold: { percent: 50 } },
        steps: [
          {
            id: 'accounts',
            object: 'Account',
            operation: 'upsert',
            externalIdField: 'Legacy_Id__c',
            source: join(scaffold.dir, 'data', 'va.csv'),
            mapping: {
              rename: { Key: 'Legacy_Id__c', AccountName: 'Name' },
              drop: ['Unused'],
              constants: { Type: 'Partner' },
            },
          },
          {
            id: 'contacts',
            object: 'Contact',
            operation: 'upsert',
            externalIdField: 'Legacy_Id__c',
            source: join(scaffold.dir, 'data', 'vc.csv'),
          },
        ],
      }),
    );
    const run = await MigrationRun.start(await loadManifestOrThrow(path), {
      connection: scaffold.connection,
      username: scaffold.org.username,
      orgId: scaffold.org.orgId,
    });
    const outcome = await run.execute();
    expect(outcome.status).to.equal('completedWithFailures');
    runId = run.folder.runId;
  });

  afterEach(async () => {
    await scaffold.cleanup();
  });

  async function verify(options: Partial<VerifyOptions> = {}): Promise<VerifyResult> {
    const result = await new RunVerification().verify({
      root: scaffold.root,
      org: () => Promise.resolve({ connection: scaffold.connection, orgId: scaffold.org.orgId }),
      query: { pollInitialMs: 5, pollMaxMs: 20, maxRecordsPerPage: 2 },
      // tiny: the sorted streams spill and merge even for a handful of keys
      sortBudgetBytes: 200,
      ...options,
    });
    assertMatchesSchema(SCHEMA, result);
    return result;
  }

  const idOf = (object: string, legacyId: string): string =>
    String(scaffold.org.store.records(object).find((record) => record.Legacy_Id__c === legacyId)?.Id);

  async function collections(
    connection: Connection,
    method: 'PATCH' | 'DELETE',
    body: unknown,
    query = '',
  ): Promise<void> {
    const results = await connection.request<Array<{ success: boolean }>>({
      method,
      url: `/services/data/v${API_VERSION}/composite/sobjects${query}`,
      ...(body ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}),
    });
    expect(
      results.every((result) => result.success),
      JSON.stringify(results),
    ).to.equal(true);
  }

  it('verifies a clean run: books, records, parents and sampled values all reconcile', async () => {
    const result = await verify();
    expect(result.discrepancies).to.deep.equal([]);
    expect(result.verified).to.equal(true);
    expect(result.runId).to.equal(runId);
    expect(result.runStatus).to.equal('completedWithFailures');
    const [account, contact] = result.steps;
    expect(account).to.deep.include({
      step: 'accounts',
      sourceRecords: 3,
      succeeded: 3,
      deadLetters: 0,
      accounted: true,
      checkedInOrg: 3,
      sampled: 3,
      duplicatesChecked: true,
    });
    expect(contact).to.deep.include({
      step: 'contacts',
      sourceRecords: 4,
      succeeded: 3,
      deadLetters: 1,
      heldBack: 0,
      accounted: true,
      checkedInOrg: 3,
      sampled: 3,
    });
    expect(contact.deadLettersByCode).to.deep.equal({ REQUIRED_FIELD_MISSING: 1 });
    expect(contact.finishedAt).to.be.a('string');
  });

  it('names a record deleted by hand, a field changed by hand and a lookup emptied by hand', async () => {
    const gone = idOf('Contact', 'C2');
    const changed = idOf('Account', 'A1');
    const orphaned = idOf('Contact', 'C1');
    await collections(scaffold.connection, 'DELETE', undefined, `?ids=${gone}`);
    await collections(scaffold.connection, 'PATCH', {
      allOrNone: true,
      records: [
        { attributes: { type: 'Account' }, id: changed, AnnualRevenue: 999 },
        { attributes: { type: 'Contact' }, id: orphaned, AccountId: null },
      ],
    });

    const result = await verify();
    expect(result.verified).to.equal(false);
    expect(result.discrepancies).to.have.deep.members([
      {
        step: 'accounts',
        kind: 'fieldMismatch',
        key: changed,
        field: 'AnnualRevenue',
        expected: '1000.50',
        actual: '999',
      },
      { step: 'contacts', kind: 'missing', key: gone, expected: 'present', actual: 'absent' },
      { step: 'contacts', kind: 'emptyLookup', key: orphaned, field: 'AccountId', expected: 'a parent', actual: '' },
    ]);
    expect(result.steps[1].discrepancies).to.deep.equal({ missing: 1, emptyLookup: 1 });

    const report = join(scaffold.dir, 'verify.html');
    await writeReport(report, result);
    const html = await readFile(report, 'utf8');
    expect(html).to.include(gone).and.to.include('AnnualRevenue').and.to.include('1000.50');
    expect(html).not.to.match(/(src|href)\s*=\s*["']?(https?:)?\/\//i);
  });

  it('samples the same rows for the same seed, and none with a sample size of 0', async () => {
    const none = await verify({ sampleSize: 0 });
    expect(none.steps.map((step) => step.sampled)).to.deep.equal([0, 0]);
    const one = await verify({ sampleSize: 1, seed: 42 });
    const again = await verify({ sampleSize: 1, seed: 42 });
    expect(one.steps.map((step) => step.sampled)).to.deep.equal([1, 1]);
    expect(again).to.deep.equal(one);
  });

  it('refuses an org that is not the run`s', async () => {
    const error = await new RunVerification()
      .verify({
        root: scaffold.root,
        org: () => Promise.resolve({ connection: scaffold.connection, orgId: '00D000000000001AAA' }),
      })
      .then(
        () => undefined,
        (e: unknown) => e as Error,
      );
    expect(error?.name).to.equal('RunOfAnotherOrgError');
  });

  it('refuses a run that has not finished, naming the resume command', async () => {
    const built = await buildRun(scaffold, 'closed');
    await built.journal.close();
    const error = await verify({ runId: built.folder.runId }).then(
      () => undefined,
      (e: unknown) => e as Error & { actions?: string[] },
    );
    expect(error?.name).to.equal('RunNotFinishedError');
    expect(error?.actions?.[0]).to.include(
      `sf migrate resume --manifest ${scaffold.manifestPath} --run-id ${built.folder.runId}`,
    );
  });

  it('finds source records that are neither successes nor dead letters', async () => {
    // a dead letter lost after the run: the step's books no longer add up
    const deadLetter = join(scaffold.root, runId, 'dead-letter', 'contacts.csv');
    const [header] = (await readFile(deadLetter, 'utf8')).split('\n');
    await writeFile(deadLetter, `${header}\n`);
    const result = await verify();
    expect(result.verified).to.equal(false);
    expect(result.discrepancies).to.deep.equal([
      {
        step: 'contacts',
        kind: 'unaccounted',
        expected: '4 source records',
        actual: '3 succeeded + 0 dead letters',
      },
    ]);
    expect(result.steps[1]).to.deep.include({ accounted: false, deadLetters: 0 });
  });

  it('reaches the same verdict through 5xx answers and dropped connections (queries retried)', async () => {
    scaffold.org.faults.set({ seed: 11, serverErrorRate: 0.2, dropConnectionRate: 0.1 });
    const result = await verify({
      query: {
        pollInitialMs: 5,
        pollMaxMs: 20,
        maxRecordsPerPage: 2,
        retry: { attempts: 10, baseDelayMs: 1, maxDelayMs: 5 },
      },
    });
    scaffold.org.faults.clear();
    expect(result.discrepancies).to.deep.equal([]);
    expect(result.steps.map((step) => step.checkedInOrg)).to.deep.equal([3, 3]);
  });
});
