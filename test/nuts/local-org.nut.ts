/*
 * The local org under the real sf CLI: `org login access-token` and `org login jwt` (plugin-auth) log into it, then
 * plugin-data's `data query`, `data import bulk`, `data upsert bulk` and `data export bulk` run against it; and
 * `sf migrate local-org start --json` starts it, registers it and stops cleanly on SIGINT.
 */
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ExecCmdResult } from '@salesforce/cli-plugins-testkit';
import { expect } from 'chai';
import type { LocalOrgStartResult } from '../../src/commands/migrate/local-org/start.js';
import { useNutSession, type CliOptions } from '../helpers/localOrg.js';
import { assertMatchesSchema } from '../helpers/resultSchema.js';

type QueryResult = { totalSize: number; records: Array<Record<string, unknown>> };
type UpsertResult = {
  jobInfo: {
    id: string;
    state: string;
    operation: string;
    externalIdFieldName: string;
    numberRecordsProcessed: number;
    numberRecordsFailed: number;
  };
  records: { successfulResults: Array<Record<string, string>> };
};

describe('local org with the real sf CLI', () => {
  const nut = useNutSession('local-org');
  // plugin-auth and plugin-data are dev plugins of this checkout
  const sf = <T>(command: string, options: Omit<CliOptions, 'devPlugins'> = {}): Promise<ExecCmdResult<T>> =>
    nut.sf<T>(command, { ...options, devPlugins: true });
  it('logs in with `sf org login access-token`', async () => {
    const login = (
      await sf<{ orgId: string; username: string; instanceUrl: string; isDevHub: boolean; orgEdition: string }>(
        `org login access-token --instance-url ${nut.org.instanceUrl} --no-prompt --alias cli --json`,
        { env: { SF_ACCESS_TOKEN: nut.org.accessToken } },
      )
    ).jsonOutput!.result;
    expect(login).to.include({
      orgId: nut.org.orgId,
      username: nut.org.username,
      isDevHub: false,
      orgEdition: 'Developer Edition',
    });
    expect(login.instanceUrl.replace(/\/$/, '')).to.equal(nut.org.instanceUrl);
  });

  it('imports with `sf data import bulk`, upserts with `sf data upsert bulk`, and reads back with `sf data query`', async () => {
    const accounts = join(nut.dir, 'accounts.csv');
    writeFileSync(
      accounts,
      'Name,Legacy_Id__c,Industry\nAlpha,L1,Banking\n"Beta, Inc",L2,Retail\nGamma,L3,Energy\n,L4,Energy\n',
    );
    // plugin-data exits 1 when some records failed, naming the job and how many rows failed
    const imported = (
      await sf(`data import bulk --file ${accounts} --sobject Account --target-org cli --wait 5 --json`, { code: 1 })
    ).jsonOutput as unknown as { name: string; message: string; data: { jobId: string; state: string } };
    expect(imported.name).to.equal('FailedRecordDetailsError');
    expect(imported.message).to.include('failed to process 1 records');
    expect(imported.data.state).to.equal('JobComplete');
    expect(nut.org.store.count('Account')).to.equal(3);
    // `sf data bulk results` saves the org's result files as served
    await sf(`data bulk results --job-id ${imported.data.jobId} --target-org cli --json`);
    expect(readFileSync(join(nut.dir, `${imported.data.jobId}-failed-records.csv`), 'utf8')).to.equal(
      '"sf__Id","sf__Error",Name,Legacy_Id__c,Industry\n"","REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --","","L4","Energy"\n',
    );
    expect(readFileSync(join(nut.dir, `${imported.data.jobId}-success-records.csv`), 'utf8').split('\n')[0]).to.equal(
      '"sf__Id","sf__Created",Name,Legacy_Id__c,Industry',
    );

    const upserts = join(nut.dir, 'upserts.csv');
    writeFileSync(upserts, 'Legacy_Id__c,Name\nL1,Alpha Renamed\nL5,Epsilon\n');
    const upserted = (
      await sf<UpsertResult>(
        `data upsert bulk --file ${upserts} --sobject Account --external-id Legacy_Id__c --target-org cli --wait 5 --json`,
      )
    ).jsonOutput!.result;
    expect(upserted.jobInfo).to.include({
      state: 'JobComplete',
      operation: 'upsert',
      externalIdFieldName: 'Legacy_Id__c',
      numberRecordsProcessed: 2,
      numberRecordsFailed: 0,
    });
    expect(upserted.jobInfo.id).to.match(/^750[A-Za-z0-9]{15}$/);
    expect(upserted.records.successfulResults.map((r) => [r.Legacy_Id__c, r.sf__Created])).to.deep.equal([
      ['L1', 'false'],
      ['L5', 'true'],
    ]);

    const query = (
      await sf<QueryResult>(
        'data query --query "SELECT Name, Legacy_Id__c, Owner.Username FROM Account ORDER BY Legacy_Id__c" --target-org cli --json',
      )
    ).jsonOutput!.result;
    expect(query.totalSize).to.equal(4);
    expect(query.records.map((r) => [r.Legacy_Id__c, r.Name])).to.deep.equal([
      ['L1', 'Alpha Renamed'],
      ['L2', 'Beta, Inc'],
      ['L3', 'Gamma'],
      ['L5', 'Epsilon'],
    ]);
    expect((query.records[0].Owner as Record<string, unknown>).Username).to.equal(nut.org.username);
  });

  it('exports through a Bulk API 2.0 query job with `sf data export bulk`', async () => {
    const file = join(nut.dir, 'export.csv');
    const exported = (
      await sf<{ totalSize: number }>(
        `data export bulk --query "SELECT Legacy_Id__c, Name FROM Account WHERE Legacy_Id__c IN ('L1','L2') ORDER BY Legacy_Id__c" --output-file ${file} --wait 5 --target-org cli --json`,
      )
    ).jsonOutput!.result;
    expect(exported.totalSize).to.equal(2);
    expect(readFileSync(file, 'utf8')).to.equal('"Legacy_Id__c","Name"\n"L1","Alpha Renamed"\n"L2","Beta, Inc"\n');
  });

  it('works under the alias registered by startTestOrg (with its refresh token)', async () => {
    const count = (await sf<QueryResult>('data query --query "SELECT COUNT() FROM Account" --target-org local --json'))
      .jsonOutput!.result;
    expect(count.totalSize).to.equal(4);
  });

  // last of the logins: `org login jwt` deletes and recreates the auth file of the username, dropping its aliases
  it('logs in with `sf org login jwt` (the JWT bearer grant)', async () => {
    const keyFile = join(nut.dir, 'server.key');
    writeFileSync(
      keyFile,
      generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }),
    );
    const login = (
      await sf<{ orgId: string; username: string }>(
        `org login jwt --instance-url ${nut.org.instanceUrl} --client-id ${nut.org.clientId} --jwt-key-file ${keyFile} --username ${nut.org.username} --alias jwt --json`,
      )
    ).jsonOutput!.result;
    expect(login).to.include({ orgId: nut.org.orgId, username: nut.org.username });
    const users = (await sf<QueryResult>('data query --query "SELECT Username FROM User" --target-org jwt --json'))
      .jsonOutput!.result;
    expect(users.records[0].Username).to.equal(nut.org.username);
  });

  it('`sf migrate local-org start --json` prints its result once up, registers the alias, and stops on SIGINT', async () => {
    const seed = join(nut.dir, 'seed.json');
    const gone = { Username: 'gone@example.com', LastName: 'Gone', Email: 'gone@example.com', Alias: 'gone' };
    writeFileSync(seed, JSON.stringify({ User: [{ ...gone, TimeZoneSidKey: 'GMT', IsActive: false }] }));
    const { child } = nut.spawn(['migrate', 'local-org', 'start', '--alias', 'started', '--seed', seed, '--json']);
    let stdout = '';
    const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
    try {
      const started = await new Promise<LocalOrgStartResult>((done, fail) => {
        const timer = setTimeout(() => fail(new Error(`no result printed; stdout so far: ${stdout}`)), 60_000);
        child.stdout!.on('data', (chunk: Buffer) => {
          stdout += chunk.toString('utf8');
          try {
            const parsed = JSON.parse(stdout) as { status: number; result: LocalOrgStartResult };
            clearTimeout(timer);
            done(parsed.result);
          } catch {
            // not a whole document yet
          }
        });
      });
      assertMatchesSchema(resolve('schemas/migrate-local-org-start.json'), started);
      expect(started.alias).to.equal('started');
      const versions = (await (await fetch(`${started.instanceUrl}/services/data`)).json()) as unknown[];
      expect(versions.length).to.be.greaterThan(0);
      const query = (
        await sf<QueryResult>('data query --query "SELECT Username FROM User" --target-org started --json')
      ).jsonOutput!.result;
      expect(query.records[0].Username).to.equal(started.username);
      const inactive = (
        await sf<QueryResult>(
          'data query --query "SELECT Username FROM User WHERE IsActive = false" --target-org started --json',
        )
      ).jsonOutput!.result;
      expect(inactive.records.map((r) => r.Username)).to.deep.equal(['gone@example.com']);
      child.kill('SIGINT');
      expect(await exited).to.equal(0);
      await fetch(`${started.instanceUrl}/services/data`).then(
        () => expect.fail('the org still answers after SIGINT'),
        () => undefined,
      );
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
