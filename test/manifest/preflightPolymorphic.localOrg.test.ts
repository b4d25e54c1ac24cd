/*
 * The preflight of `validate --target-org` against a running local org, through a Connection as
 * --target-org gives one: polymorphic or not is read from each lookup's describe (referenceTo with
 * more than one object), and every column it refuses is one the org would fail the whole job on,
 * while the columns it accepts load. Real-org evidence: see src/manifest/relationships.ts and the
 * local org's rows.ts.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { startLocalOrg, type LocalOrg } from '@sf-migrate/local-org';
import { loadManifestOrThrow } from '../../src/manifest/load.js';
import { connectionPreflight, preflight } from '../../src/manifest/preflight.js';
import { API_VERSION, connectionTo } from '../engine/runScaffold.js';

describe('preflight of polymorphic relationship columns against the local org', () => {
  let org: LocalOrg;
  let dir: string;

  /** One insert job with this CSV; its final state and errorMessage. */
  async function load(object: string, csv: string): Promise<{ state: string; errorMessage?: string }> {
    const call = (method: string, path: string, body?: string, type = 'application/json'): Promise<Response> =>
      fetch(`${org.instanceUrl}/services/data/v${API_VERSION}/jobs/ingest${path}`, {
        method,
        body,
        headers: { Authorization: `Bearer ${org.accessToken}`, 'Content-Type': type },
      });
    const job = (await (await call('POST', '', JSON.stringify({ object, operation: 'insert' }))).json()) as {
      id: string;
    };
    await call('PUT', `/${job.id}/batches`, csv, 'text/csv');
    await call('PATCH', `/${job.id}`, '{"state":"UploadComplete"}');
    for (;;) {
      // eslint-disable-next-line no-await-in-loop
      const info = (await (await call('GET', `/${job.id}`)).json()) as { state: string; errorMessage?: string };
      if (['JobComplete', 'Failed', 'Aborted'].includes(info.state)) return info;
      // eslint-disable-next-line no-await-in-loop
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  before(async () => {
    org = await startLocalOrg();
    dir = await mkdtemp(join(tmpdir(), 'preflight-polymorphic-'));
  });
  after(async () => {
    await org.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('accepts what the org loads and refuses, with the fix, what the org would fail the job on', async () => {
    const csv = {
      lead: `Legacy_Id__c,LastName,Company,User:Owner.Username\nL1,Lee,Acme,${org.username}\n`,
      task: 'Legacy_Id__c,Subject,Lead:Who.Legacy_Id__c,Owner.Username\nT1,Call,L1,' + org.username + '\n',
      campaign: `Legacy_Id__c,Name,User:Owner.Username\nC1,Spring,${org.username}\n`,
      contact: `Legacy_Id__c,LastName,Owner.Username\nK1,Smith,${org.username}\n`,
    };
    await Promise.all(Object.entries(csv).map(([name, text]) => writeFile(join(dir, `${name}.csv`), text)));
    const manifest = join(dir, 'migration.json');
    await writeFile(
      manifest,
      JSON.stringify({
        name: 'polymorphic',
        defaults: { operation: 'upsert', externalIdField: 'Legacy_Id__c' },
        steps: [
          { id: 'leads', object: 'Lead', source: 'lead.csv' },
          { id: 'tasks', object: 'Task', operation: 'insert', source: 'task.csv' },
          { id: 'campaigns', object: 'Campaign', source: 'campaign.csv' },
          { id: 'contacts', object: 'Contact', source: 'contact.csv' },
        ],
      }),
    );

    const { problems, org: checked } = await preflight(
      await loadManifestOrThrow(manifest),
      connectionPreflight(await connectionTo(org)),
    );
    expect(checked.objects).to.include.members(['Lead', 'Task', 'Campaign', 'Contact', 'User']);
    expect(problems.filter((p) => p.severity === 'error').map((p) => [p.code, p.pointer])).to.deep.equal([
      ['PolymorphicWithoutType', '/steps/1'],
      ['TypeOnNonPolymorphic', '/steps/2'],
    ]);
    const [withoutType, notNeeded] = problems.filter((p) => p.severity === 'error');
    expect(withoutType.message).to.contain('Owner can point to Group, User').and.contain('User:Owner.Username');
    expect(notNeeded.message).to.contain('Rename the column to Owner.Username');

    // The org agrees: the accepted headers load, the refused ones fail the whole job.
    expect(await load('Lead', csv.lead)).to.include({ state: 'JobComplete' });
    expect(await load('Contact', csv.contact)).to.include({ state: 'JobComplete' });
    expect(await load('Task', csv.task)).to.deep.include({
      state: 'Failed',
      errorMessage: 'InvalidBatch : type is needed for polymorphic foreign key references: Owner',
    });
    expect(await load('Campaign', csv.campaign)).to.deep.include({
      state: 'Failed',
      errorMessage: 'InvalidBatch : type is not needed for non polymorphic foreign key references: Owner',
    });
    // With the fixes the preflight spelled out, both load.
    expect(await load('Task', csv.task.replace(',Owner.Username', ',User:Owner.Username'))).to.include({
      state: 'JobComplete',
    });
    expect(await load('Campaign', csv.campaign.replace('User:Owner.', 'Owner.'))).to.include({ state: 'JobComplete' });
  });
});
