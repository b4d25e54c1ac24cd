import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { expect } from 'chai';
import { loadManifest, loadManifestOrThrow } from '../../src/manifest/load.js';
import { buildPlan } from '../../src/plan/plan.js';
import { countRecords } from '../../src/csv/records.js';
import { exampleManifest, generateExampleData } from '../../scripts/generate-example-data.js';
import { scratchFolder } from '../csv/csvFixtures.js';

const exampleDir = resolve(import.meta.dirname, '..', '..', 'examples', 'legacy-crm');
const exampleFile = join(exampleDir, 'migration.json');
/** the sizes the committed data was generated with (see examples/legacy-crm/README.md) */
const committed = { accounts: 200, contacts: 400, opportunities: 300, seed: 20_240_229, contactsPerFile: 50_000 };

describe('the example migration (examples/legacy-crm)', () => {
  const folder = scratchFolder();
  after(() => folder.remove());

  it('is a valid manifest whose waves put parents before children', async () => {
    const { manifest, problems } = await loadManifest(exampleFile);
    expect(
      problems.filter((p) => p.severity === 'error'),
      JSON.stringify(problems),
    ).to.deep.equal([]);
    expect(manifest!.waves).to.deep.equal([['accounts'], ['contacts', 'opportunities'], ['account-parents']]);
    expect(manifest!.implied).to.deep.include.members([
      { step: 'contacts', dependsOn: 'accounts', column: 'Account.Legacy_Id__c' },
      { step: 'opportunities', dependsOn: 'accounts', column: 'Account.Legacy_Id__c' },
      { step: 'account-parents', dependsOn: 'accounts', column: 'Parent.Legacy_Id__c' },
    ]);
  });

  it('is the manifest the generator describes (the two cannot drift)', () => {
    const onDisk = JSON.parse(readFileSync(exampleFile, 'utf8')) as unknown;
    expect(onDisk).to.deep.equal(exampleManifest(exampleDir, 'data', 150));
  });

  it('ships exactly the CSVs the seeded generator writes', async () => {
    const out = folder.path('regenerated');
    await generateExampleData({ out, ...committed, manifest: false });
    const names = readdirSync(join(exampleDir, 'data')).sort();
    expect(readdirSync(out).sort()).to.deep.equal(names);
    for (const name of names) {
      expect(readFileSync(join(out, name)).equals(readFileSync(join(exampleDir, 'data', name))), name).to.equal(true);
    }
  });

  it('plans every generated record, with quoted line breaks counted right', async () => {
    const plan = await buildPlan(await loadManifestOrThrow(exampleFile));
    const byStep = Object.fromEntries(plan.waves.flatMap((w) => w.steps).map((s) => [s.id, s]));
    expect(byStep.accounts.records).to.equal(committed.accounts);
    expect(byStep.contacts.records).to.equal(committed.contacts);
    expect(byStep.opportunities.records).to.equal(committed.opportunities);
    // maxRecordsPerJob 150 cuts 400 contacts into 3 jobs
    expect(byStep.contacts.jobs).to.equal(3);
    const parents =
      readFileSync(join(exampleDir, 'data', 'account-parents.csv'), 'utf8')
        .trim()
        .split('\n').length - 1;
    expect(byStep['account-parents'].records).to.equal(parents);
    // the data really has quoted line breaks, or the count above would prove nothing
    expect(readFileSync(join(exampleDir, 'data', 'accounts.csv'), 'utf8').split('\n').length - 2).to.be.greaterThan(
      committed.accounts,
    );
  });

  it('generates a larger variant with its own manifest, contacts split across files', async () => {
    const out = folder.path('generated');
    const result = await generateExampleData({
      out,
      accounts: 1000,
      contacts: 2500,
      opportunities: 1500,
      seed: 7,
      contactsPerFile: 1000,
      manifest: true,
    });
    expect(result.manifest).to.equal(join(out, 'migration.json'));
    expect(
      readdirSync(out)
        .filter((name) => name.startsWith('contacts-'))
        .sort(),
    ).to.deep.equal(['contacts-001.csv', 'contacts-002.csv', 'contacts-003.csv']);
    for (const { file, records } of result.files) {
      // eslint-disable-next-line no-await-in-loop
      expect((await countRecords(file, 'COMMA')).records, file).to.equal(records);
    }
    const plan = await buildPlan(await loadManifestOrThrow(result.manifest!));
    expect(plan.totals.records).to.equal(result.records);
    expect(plan.waves.map((w) => w.steps.map((s) => s.id))).to.deep.equal([
      ['accounts'],
      ['contacts', 'opportunities'],
      ['account-parents'],
    ]);
  });
});
