import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SfError } from '@salesforce/core';
import { expect } from 'chai';
import { parseDuration } from '../../src/manifest/duration.js';
import { loadManifest, loadManifestOrThrow } from '../../src/manifest/load.js';
import type { Problem } from '../../src/manifest/problems.js';

describe('loadManifest', () => {
  let dir: string;
  const write = (name: string, content: string): string => {
    const file = join(dir, name);
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(file, content);
    return file;
  };
  const manifest = (value: unknown): string => write('migration.json', JSON.stringify(value, null, 2));
  const summary = (problems: Problem[]): string[][] => problems.map((p) => [p.code, p.pointer]);

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'manifest-load-'));
    write('data/accounts.csv', 'Legacy_Id__c,Name\nA1,Acme\n');
    write('data/contacts-1.csv', 'Legacy_Id__c,LastName,Account.Legacy_Id__c\nC1,Smith,A1\n');
    write('data/contacts-2.csv', 'Legacy_Id__c,LastName,Account.Legacy_Id__c\nC2,Jones,A1\n');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('resolves defaults, paths, durations, waves and implied dependencies', async () => {
    const path = manifest({
      name: 'm',
      defaults: {
        operation: 'upsert',
        externalIdField: 'Legacy_Id__c',
        poll: { initial: '2s' },
        retry: { codes: ['UNABLE_TO_LOCK_ROW', 'REQUEST_RUNNING_TOO_LONG'] },
        failureThreshold: { percent: 1 },
      },
      steps: [
        { object: 'Account', source: 'data/accounts.csv', parallelism: 5 },
        {
          object: 'Contact',
          source: 'data/contacts-*.csv',
          poll: { max: '1m' },
          retry: { attempts: 1 },
          failureThreshold: { records: 25 },
        },
      ],
      runFolder: 'runs',
    });
    const { manifest: loaded, problems } = await loadManifest(path);
    expect(problems).to.deep.equal([]);
    expect(loaded!.dir).to.equal(dir);
    expect(loaded!.runFolder).to.equal(join(dir, 'runs'));
    expect(loaded!.concurrency).to.equal(4);
    expect(loaded!.waves).to.deep.equal([['Account'], ['Contact']]);
    expect(loaded!.implied).to.deep.equal([{ step: 'Contact', dependsOn: 'Account', column: 'Account.Legacy_Id__c' }]);
    const [account, contact] = loaded!.steps;
    expect(account).to.deep.include({
      id: 'Account',
      operation: 'upsert',
      externalIdField: 'Legacy_Id__c',
      columnDelimiter: 'COMMA',
      lineEnding: 'LF',
      maxRecordsPerJob: 1_000_000,
      maxBytesPerJob: 100_000_000,
      parallelism: 5,
      failureThreshold: { percent: 1 },
      retry: { codes: ['UNABLE_TO_LOCK_ROW', 'REQUEST_RUNNING_TOO_LONG'], attempts: 3 },
      poll: { initialMs: 2000, maxMs: 120_000 },
      files: [join(dir, 'data/accounts.csv')],
      dependsOn: [],
    });
    expect(contact).to.deep.include({
      poll: { initialMs: 2000, maxMs: 60_000 },
      retry: { codes: ['UNABLE_TO_LOCK_ROW', 'REQUEST_RUNNING_TOO_LONG'], attempts: 1 },
      failureThreshold: { records: 25 },
      sources: ['data/contacts-*.csv'],
      files: [join(dir, 'data/contacts-1.csv'), join(dir, 'data/contacts-2.csv')],
      dependsOn: ['Account'],
    });
  });

  it('reports every problem at once, in file order, with line and column', async () => {
    const path = write(
      'migration.json',
      [
        '{',
        '  "name": "m",',
        '  "steps": [',
        '    { "object": "Account", "source": "data/accounts.csv", "operation": "upsert" },',
        '    { "object": "Account", "source": "data/missing.csv", "dependsOn": ["Nope"] }',
        '  ],',
        '  "colour": 1',
        '}',
      ].join('\n'),
    );
    const { manifest: loaded, problems } = await loadManifest(path);
    expect(loaded).to.equal(undefined);
    expect(problems.map((p) => [p.code, p.pointer, p.line, p.column])).to.deep.equal([
      ['UpsertWithoutExternalId', '/steps/0/operation', 4, 59],
      ['DuplicateStepId', '/steps/1', 5, 5],
      ['SourceNotFound', '/steps/1/source', 5, 28],
      ['UnknownDependency', '/steps/1/dependsOn/0', 5, 72],
      ['SchemaViolation', '/colour', 7, 3],
    ]);
  });

  it('locates a syntax error', async () => {
    const path = write('migration.json', '{\n  "name": "m",\n  "steps": [}\n');
    const { problems } = await loadManifest(path);
    expect(problems).to.have.length(1);
    expect(problems[0]).to.include({ code: 'InvalidJson', line: 3, column: 13, pointer: '' });
  });

  it('reports a key written twice', async () => {
    const path = write(
      'migration.json',
      '{\n  "name": "a",\n  "steps": [{ "object": "Account", "source": "data/accounts.csv" }],\n  "name": "b"\n}',
    );
    const { problems } = await loadManifest(path);
    expect(problems.map((p) => [p.code, p.pointer, p.line])).to.deep.equal([['DuplicateKey', '/name', 4]]);
  });

  it('points a missing required property at the object that lacks it', async () => {
    const path = manifest({ name: 'm', steps: [{ object: 'Account' }] });
    const { problems } = await loadManifest(path);
    expect(summary(problems)).to.deep.equal([['SchemaViolation', '/steps/0/source']]);
    expect(problems[0].line).to.equal(4);
  });

  it('suggests the property a typo meant', async () => {
    const path = manifest({ name: 'm', steps: [{ object: 'Account', source: 'data/accounts.csv', dependOn: [] }] });
    const { problems } = await loadManifest(path);
    expect(problems[0].message).to.contain('Did you mean "dependsOn"?');
  });

  it('checks headers against the mapping and the operation', async () => {
    write('data/del.csv', 'Id,Name\n001,x\n');
    write('data/upd.csv', 'Name\nx\n');
    const path = manifest({
      name: 'm',
      steps: [
        {
          object: 'Account',
          source: 'data/accounts.csv',
          // eslint-disable-next-line camelcase
          mapping: { rename: { Nom: 'Name', Legacy_Id__c: 'Name' }, drop: ['gone'], constants: { Industry: 'Tech' } },
        },
        { id: 'del', object: 'Account', operation: 'hardDelete', source: 'data/del.csv' },
        { id: 'upd', object: 'Account', operation: 'update', source: 'data/upd.csv' },
      ],
    });
    const { problems } = await loadManifest(path);
    expect(summary(problems)).to.deep.equal([
      ['MappingColumnMissing', '/steps/0/mapping/rename/Nom'],
      ['MappingConflict', '/steps/0/mapping/rename/Legacy_Id__c'],
      ['MappingColumnMissing', '/steps/0/mapping/drop/0'],
      ['DeleteNeedsIdOnly', '/steps/1/source'],
      ['MissingIdColumn', '/steps/2/source'],
    ]);
    expect(problems[3].file).to.equal(join(dir, 'data/del.csv'));
  });

  it('checks a partitionBy column against each header, and takes false or a name only', async () => {
    write('data/kids.csv', 'LastName,Account.Legacy_Id__c\nSmith,A1\n');
    const path = manifest({
      name: 'm',
      steps: [
        { id: 'named', object: 'Contact', source: 'data/kids.csv', partitionBy: 'Account.Legacy_Id__c' },
        { id: 'missing', object: 'Contact', source: 'data/kids.csv', partitionBy: 'AccountId' },
        { id: 'off', object: 'Contact', source: 'data/kids.csv', partitionBy: false },
        { id: 'wrong', object: 'Contact', source: 'data/kids.csv', partitionBy: true },
      ],
    });
    const { problems } = await loadManifest(path);
    // no Account step loads the parents: that warning is not what this test is about
    expect(summary(problems.filter((problem) => problem.code !== 'ParentWithoutStep'))).to.deep.equal([
      ['PartitionColumnMissing', '/steps/1/partitionBy'],
      ['SchemaViolation', '/steps/3/partitionBy'],
    ]);
    expect(problems.find((problem) => problem.code === 'SchemaViolation')?.message).to.equal(
      'true is not allowed here.',
    );

    const valid = manifest({
      name: 'm',
      steps: [
        { id: 'named', object: 'Contact', source: 'data/kids.csv', partitionBy: 'Account.Legacy_Id__c' },
        { id: 'off', object: 'Contact', source: 'data/kids.csv', partitionBy: false },
        { id: 'inferred', object: 'Contact', source: 'data/kids.csv' },
      ],
    });
    const loaded = await loadManifest(valid);
    expect(loaded.manifest?.steps.map((step) => step.partitionBy)).to.deep.equal([
      'Account.Legacy_Id__c',
      false,
      undefined,
    ]);
  });

  it('applies the mapping before the upsert and relationship checks', async () => {
    write('data/contacts.csv', 'ext,LastName,acct\nC1,Smith,A1\n');
    const path = manifest({
      name: 'm',
      defaults: { operation: 'upsert', externalIdField: 'Legacy_Id__c' },
      steps: [
        { object: 'Account', source: 'data/accounts.csv' },
        {
          object: 'Contact',
          source: 'data/contacts.csv',
          mapping: { rename: { ext: 'Legacy_Id__c', acct: 'Account.Legacy_Id__c' } },
        },
      ],
    });
    const { manifest: loaded, problems } = await loadManifest(path);
    expect(problems).to.deep.equal([]);
    expect(loaded!.implied).to.have.length(1);
  });

  it("accepts files whose line endings differ from the declared ones: uploads are given the step's", async () => {
    write('data/crlf.csv', 'Name\r\nx\r\n');
    write('data/mixed.csv', 'Name\ny\r\nz\rw\n');
    const path = manifest({ name: 'm', steps: [{ object: 'Account', source: ['data/crlf.csv', 'data/mixed.csv'] }] });
    const { problems } = await loadManifest(path);
    expect(summary(problems)).to.deep.equal([]);
  });

  it('reads headers with the step delimiter', async () => {
    write('data/semi.csv', 'Name;Legacy_Id__c\nx;1\n');
    const path = manifest({
      name: 'm',
      steps: [
        {
          object: 'Account',
          source: ['data/semi.csv'],
          columnDelimiter: 'SEMICOLON',
          operation: 'upsert',
          externalIdField: 'Legacy_Id__c',
        },
      ],
    });
    expect((await loadManifest(path)).problems).to.deep.equal([]);
  });

  it('reports an empty CSV and a blank or duplicate column', async () => {
    write('data/empty.csv', '');
    write('data/dup.csv', 'Name,,name\nx,,y\n');
    const path = manifest({
      name: 'm',
      steps: [{ object: 'Account', source: ['data/empty.csv', 'data/dup.csv'] }],
    });
    const { problems } = await loadManifest(path);
    expect(summary(problems)).to.deep.equal([
      ['EmptyHeader', '/steps/0/source/0'],
      ['BlankColumn', '/steps/0/source/1'],
      ['DuplicateColumn', '/steps/0/source/1'],
    ]);
  });

  it('skips the source files when asked', async () => {
    const path = manifest({ name: 'm', steps: [{ object: 'Account', source: 'data/not-there.csv' }] });
    const { manifest: loaded, problems } = await loadManifest(path, { checkSources: false });
    expect(problems).to.deep.equal([]);
    expect(loaded!.steps[0].files).to.deep.equal([]);
  });

  it('resolves relative paths against another directory when asked (a run folder copy)', async () => {
    const original = manifest({ name: 'm', steps: [{ object: 'Account', source: 'data/accounts.csv' }] });
    const copy = write(
      'runs/r1/manifest.json',
      JSON.stringify({ name: 'm', steps: [{ object: 'Account', source: 'data/accounts.csv' }] }),
    );
    const { manifest: fromCopy, problems } = await loadManifest(copy, { baseDir: dir, path: original });
    expect(problems).to.deep.equal([]);
    expect(fromCopy!.path).to.equal(original);
    expect(fromCopy!.steps[0].files).to.deep.equal([join(dir, 'data/accounts.csv')]);
    expect(fromCopy!.runFolder).to.equal(join(dir, '.sf-migrate/runs'));
    expect((await loadManifest(copy)).problems.map((p) => p.code)).to.deep.equal(['SourceNotFound']);
  });

  it('loadManifestOrThrow throws InvalidManifest naming the problems and the next command', async () => {
    const path = manifest({ name: 'm', steps: [{ object: 'Account', source: 'data/nope.csv' }] });
    try {
      await loadManifestOrThrow(path);
      expect.fail('should have thrown');
    } catch (error) {
      expect(error).to.be.instanceOf(SfError);
      const sfError = error as SfError;
      expect(sfError.name).to.equal('InvalidManifestError');
      expect(sfError.message).to.contain('SourceNotFound');
      expect(sfError.actions?.join(' ')).to.contain(`sf migrate validate --manifest ${path}`);
      expect((sfError.data as { problems: Problem[] }).problems).to.have.length(1);
    }
  });

  it('loadManifestOrThrow returns the manifest when it is valid', async () => {
    const path = manifest({ name: 'm', steps: [{ object: 'Account', source: 'data/accounts.csv' }] });
    expect((await loadManifestOrThrow(path)).steps.map((s) => s.id)).to.deep.equal(['Account']);
  });

  it('throws when the manifest file cannot be read', async () => {
    try {
      await loadManifest(join(dir, 'absent.json'));
      expect.fail('should have thrown');
    } catch (error) {
      expect((error as SfError).name).to.equal('ManifestNotReadableError');
    }
  });
});

describe('parseDuration', () => {
  it('reads every unit', () => {
    expect(['500ms', '5s', '2m', '1h'].map(parseDuration)).to.deep.equal([500, 5000, 120_000, 3_600_000]);
  });
  it('refuses other forms', () => {
    for (const text of ['5', '0s', '1.5s', '5 s', '-1s', '1d']) {
      expect(() => parseDuration(text), text).to.throw(/is not a duration/);
    }
  });
});
