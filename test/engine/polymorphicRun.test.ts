/*
 * A run whose headers hold polymorphic relationship columns, `ObjectType:RelationshipName.Field`:
 * Leads owned through `User:Owner.Username`, Tasks whose Who is a Lead (`Lead:Who.Legacy_Id__c`)
 * or a Contact. The type prefix names the parent object, so the steps loading Leads and Contacts
 * run in a wave before the Tasks; the local org resolves each column as a real org does.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';
import { loadManifestOrThrow } from '../../src/manifest/load.js';
import { MigrationRun } from '../../src/engine/migrationRun.js';
import { createScaffold, type Scaffold } from './runScaffold.js';

describe('a run with polymorphic relationship columns', function () {
  this.timeout(60_000);
  let scaffold: Scaffold;

  before(async () => {
    scaffold = await createScaffold();
  });
  after(async () => scaffold.cleanup());

  it('loads Leads owned by User:Owner.Username, then Tasks pointing at them through Lead:Who', async () => {
    const { dir, org } = scaffold;
    const data = (name: string): string => join(dir, 'data', name);
    await writeFile(
      data('leads.csv'),
      `Legacy_Id__c,LastName,Company,User:Owner.Username\nL-1,Lee,Acme,${org.username}\nL-2,Park,Globex,\n`,
    );
    await writeFile(data('people.csv'), 'Legacy_Id__c,LastName,Email\nC-1,Smith,ann@example.com\n');
    await writeFile(
      data('tasks.csv'),
      'Subject,Lead:Who.Legacy_Id__c,Contact:Who.Legacy_Id__c\nCall Lee,L-1,\nMail Smith,,C-1\n',
    );
    const path = join(dir, 'polymorphic.json');
    await writeFile(
      path,
      JSON.stringify({
        name: 'polymorphic-run',
        defaults: { operation: 'upsert', externalIdField: 'Legacy_Id__c', poll: { initial: '10ms', max: '40ms' } },
        steps: [
          { object: 'Lead', source: data('leads.csv') },
          { object: 'Contact', source: data('people.csv') },
          { object: 'Task', operation: 'insert', source: data('tasks.csv') },
        ],
      }),
    );
    const manifest = await loadManifestOrThrow(path);
    expect(manifest.waves).to.deep.equal([['Lead', 'Contact'], ['Task']]);

    const run = await MigrationRun.start(manifest, {
      connection: scaffold.connection,
      username: org.username,
      orgId: org.orgId,
    });
    const outcome = await run.execute();
    expect(outcome.status).to.equal('succeeded');

    const admin = org.store.records('User').find((u) => u.Username === org.username)!;
    const leads = org.store.records('Lead');
    const lee = leads.find((l) => l.Legacy_Id__c === 'L-1')!;
    expect(lee.OwnerId).to.equal(admin.Id);
    const smith = org.store.records('Contact').find((c) => c.Legacy_Id__c === 'C-1')!;
    const tasks = org.store.records('Task');
    expect(tasks.find((t) => t.Subject === 'Call Lee')!.WhoId).to.equal(lee.Id);
    expect(tasks.find((t) => t.Subject === 'Mail Smith')!.WhoId).to.equal(smith.Id);
  });
});
