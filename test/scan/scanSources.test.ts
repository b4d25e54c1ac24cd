/*
 * The scan of `validate --scan` over real files: duplicate keys across the files of a step's glob
 * with their file:line, wide rows, and, against the local org's describe (its built-in objects),
 * values too long for a field and dates it refuses. The spill path gives the same result as memory.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { builtInObjects } from '@sf-migrate/local-org';
import { loadManifestOrThrow } from '../../src/manifest/load.js';
import { validateManifest } from '../../src/manifest/validate.js';
import { scanManifest, scanSummaryLines, type ScanDescriber } from '../../src/scan/scanSources.js';
import { isValidDate, isValidDateTime } from '../../src/scan/values.js';
import { assertMatchesSchema } from '../helpers/resultSchema.js';

/** The local org's describes, as the scan reads them from an org. */
const localOrgDescribes: ScanDescriber = {
  describe: (object) => {
    const found = (builtInObjects() as Array<{ name: string; fields: Array<{ name: string }> }>).find(
      (o) => o.name.toLowerCase() === object.toLowerCase(),
    );
    return found
      ? Promise.resolve(found)
      : Promise.reject(Object.assign(new Error(`unknown ${object}`), { errorCode: 'NOT_FOUND' }));
  },
};

describe('validate --scan: the scan of every record', () => {
  let dir: string;
  let temp: string;
  const write = (name: string, content: string): string => {
    const file = join(dir, name);
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(file, content);
    return file;
  };
  const manifest = (steps: unknown[]): string =>
    write(
      'migration.json',
      JSON.stringify({ name: 'm', defaults: { operation: 'upsert', externalIdField: 'Legacy_Id__c' }, steps }, null, 2),
    );

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'scan-'));
    temp = mkdtempSync(join(tmpdir(), 'scan-spill-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(temp, { recursive: true, force: true });
  });

  it('reports duplicate keys across the files of a glob with every file:line, and rows wider than the header', async () => {
    const a = write(
      'data/accounts-1.csv',
      'Legacy_Id__c,Name\nA1,Acme\nA2,"Two\nlines"\nA1,Again\nA3,x,extra\n\n"A4",Ok\n',
    );
    const b = write('data/accounts-2.csv', '\ufeffLegacy_Id__c,Name\nA2,Dup\n"A""5",Q\nA1,Third\nA""5,Q\n');
    const path = manifest([{ id: 'accounts', object: 'Account', source: 'data/accounts-*.csv' }]);
    const { scan, problems } = await scanManifest(await loadManifestOrThrow(path), { tempRoot: temp });
    const [step] = scan.steps;
    expect(step).to.deep.include({ step: 'accounts', key: 'Legacy_Id__c', files: 2, records: 9 });
    expect(step.duplicates.keys).to.equal(2);
    expect(step.duplicates.rows).to.equal(5);
    expect(step.duplicates.shown).to.deep.equal([
      {
        key: 'A1',
        occurrences: 3,
        locations: [
          { file: a, line: 2 },
          { file: a, line: 5 },
          { file: b, line: 4 },
        ],
      },
      {
        key: 'A2',
        occurrences: 2,
        locations: [
          { file: a, line: 3 },
          { file: b, line: 2 },
        ],
      },
    ]);
    // "A""5" is the key A"5; the unquoted A""5 is the key A""5: not the same
    expect(step.wideRows).to.deep.equal({ total: 1, shown: [{ file: a, line: 6, values: 3, columns: 2 }] });
    expect(step.values).to.equal(undefined);
    expect(scan.valuesChecked).to.equal(false);
    expect(problems.map((p) => [p.code, p.pointer, p.line])).to.deep.equal([
      ['DuplicateRecordKey', '/steps/0', 8],
      ['DuplicateRecordKey', '/steps/0', 8],
      ['RowWiderThanHeader', '/steps/0', 8],
    ]);
    expect(problems[0].message).to.contain(
      'the external id Legacy_Id__c "A1" is on 3 rows: data/accounts-1.csv:2, data/accounts-1.csv:5, ' +
        'data/accounts-2.csv:4',
    );
    expect(problems[0].message).to.contain('DUPLICATE_VALUE:Duplicate external id specified: A1');
    expect(problems[2].message).to.contain('the row at data/accounts-1.csv:6 has 3 values, the header 2 columns');
    expect(scanSummaryLines(scan)).to.deep.equal([
      'Scanned step accounts: 9 record(s) in 2 file(s); 2 duplicate key(s) on 5 row(s) in Legacy_Id__c; ' +
        '1 row(s) wider than the header; values not checked (they need --target-org).',
    ]);
  });

  it('finds the same through the disk as in memory, and removes its temporary files', async () => {
    const lines = ['Legacy_Id__c,Name'];
    for (let i = 0; i < 5000; i++) lines.push(`K${i % 4000},"Name ${i}"`);
    write('data/big-1.csv', lines.join('\n') + '\n');
    write('data/big-2.csv', 'Legacy_Id__c,Name\nK17,x\nK4001,y\nK4001,z\n');
    const path = manifest([{ id: 'accounts', object: 'Account', source: 'data/big-*.csv' }]);
    const loaded = await loadManifestOrThrow(path);
    const inMemory = await scanManifest(loaded, { tempRoot: temp });
    const onDisk = await scanManifest(loaded, { tempRoot: temp, memoryBudgetMb: 4 / 1024 });
    expect(inMemory.scan.spilled).to.equal(false);
    expect(onDisk.scan.spilled).to.equal(true);
    expect(onDisk.scan.steps).to.deep.equal(inMemory.scan.steps);
    expect(onDisk.problems).to.deep.equal(inMemory.problems);
    expect(inMemory.scan.steps[0].duplicates.keys).to.equal(1001);
    expect(inMemory.scan.steps[0].duplicates.shown[17]).to.deep.include({ key: 'K17', occurrences: 3 });
    expect(readdirSync(temp)).to.deep.equal([]);
    // 20 problems a kind; the rest is counted
    expect(onDisk.problems).to.have.length(20);
    expect(scanSummaryLines(onDisk.scan)[1]).to.match(/^Not listed above: 981 more duplicate key\(s\)\./);
  });

  it('removes its temporary files when the scan fails half-way', async () => {
    const lines = ['Legacy_Id__c,Name'];
    for (let i = 0; i < 2000; i++) lines.push(`K${i},N`);
    write('data/x-1.csv', lines.join('\n') + '\n');
    const second = write('data/x-2.csv', 'Legacy_Id__c,Name\nK1,N\n');
    const path = manifest([{ id: 'accounts', object: 'Account', source: 'data/x-*.csv' }]);
    const loaded = await loadManifestOrThrow(path);
    unlinkSync(second);
    const error = await scanManifest(loaded, { tempRoot: temp, memoryBudgetMb: 1 / 1024 }).then(
      () => undefined,
      (e: unknown) => e as NodeJS.ErrnoException,
    );
    expect(error?.code).to.equal('ENOENT');
    expect(readdirSync(temp)).to.deep.equal([]);
  });

  it('reads records longer than a read buffer, and reports one longer than a job and an unclosed quote', async () => {
    const long = `"${'a,b\n'.repeat(150_000)}"`; // 600 KB, 150,000 lines, more than two read buffers
    const file = write('data/long.csv', `Legacy_Id__c,Name\nA1,${long}\nA2,x\nA1,${long}\nA2,y\n`);
    const path = manifest([{ id: 'accounts', object: 'Account', source: 'data/long.csv' }]);
    const { scan, problems } = await scanManifest(await loadManifestOrThrow(path), { tempRoot: temp });
    expect(problems.map((p) => p.code)).to.deep.equal(['DuplicateRecordKey', 'DuplicateRecordKey']);
    expect(scan.steps[0].records).to.equal(4);
    expect(scan.steps[0].duplicates.shown.map((d) => d.locations.map((l) => l.line))).to.deep.equal([
      [2, 150_004],
      [150_003, 300_005],
    ]);
    expect(scan.steps[0].duplicates.shown[0].locations[0].file).to.equal(file);

    write('data/short.csv', `Legacy_Id__c,Name\nA1,x\nA2,${long}\n`);
    write('data/open.csv', 'Legacy_Id__c,Name\nA1,x\nA2,"never closed\nA3,y\n');
    const limited = manifest([
      { id: 'short', object: 'Account', source: 'data/short.csv', maxBytesPerJob: 100_000 },
      { id: 'open', object: 'Account', source: 'data/open.csv' },
    ]);
    const stopped = await scanManifest(await loadManifestOrThrow(limited), { tempRoot: temp });
    expect(stopped.problems.map((p) => [p.code, p.pointer])).to.deep.equal([
      ['UnreadableRecord', '/steps/0'],
      ['UnreadableRecord', '/steps/1'],
    ]);
    expect(stopped.problems[0].message).to.contain('The record on line 3 of');
    expect(stopped.problems[1].message).to.contain('ends inside a quoted value that opens on line 3');
  });

  it('compares Ids in their 18-character form for update and delete, and skips empty keys', async () => {
    write(
      'contacts.csv',
      'Id,LastName\r\n003000000000001,x\r\n003000000000001AAA,y\r\n,z\r\n,w\r\n003000000000002,v\r\n',
    );
    write('gone.csv', 'Id\n003000000000002AAA\n003000000000002\n');
    const path = manifest([
      { id: 'contacts', object: 'Contact', operation: 'update', source: 'contacts.csv', lineEnding: 'CRLF' },
      { id: 'gone', object: 'Contact', operation: 'delete', source: 'gone.csv', dependsOn: ['contacts'] },
      {
        id: 'new',
        object: 'Contact',
        operation: 'insert',
        source: 'contacts.csv',
        lineEnding: 'CRLF',
        dependsOn: ['gone'],
      },
    ]);
    const { scan, problems } = await scanManifest(await loadManifestOrThrow(path), { tempRoot: temp });
    expect(scan.steps.map((s) => [s.step, s.key, s.duplicates.keys, s.duplicates.rows])).to.deep.equal([
      ['contacts', 'Id', 1, 2],
      ['gone', 'Id', 1, 2],
      ['new', undefined, 0, 0],
    ]);
    expect(scan.steps[0].duplicates.shown[0]).to.deep.include({ key: '003000000000001AAA' });
    expect(scan.steps[0].duplicates.shown[0].locations.map((l) => l.line)).to.deep.equal([2, 3]);
    expect(problems[0].message).to.contain('DUPLICATE_VALUE:Duplicate Id specified');
  });

  it('finds values too long and dates the org refuses, against the local org describe', async () => {
    const file = write(
      'contacts.csv',
      [
        'Legacy_Id__c,LastName,City,Birthdate,CreatedDate,Account.Legacy_Id__c',
        `C1,${'x'.repeat(80)},Paris,2003-04-28,2024-01-31T10:00:00Z,A1`,
        `C2,${'y'.repeat(81)},Paris,2003-04-98,2024-01-31T10:00:00.123+02:00,${'z'.repeat(300)}`,
        `C3,Smith,${'é'.repeat(41)},2023-02-29,2024-01-31 10:00:00,A1`,
        'C4,Smith,,03/04/2003,2024-02-30T10:00:00+0100,A1',
        'C5,Smith,#N/A,,2024-01-31T24:00:00Z,A1',
      ].join('\n') + '\n',
    );
    const path = manifest([
      {
        id: 'contacts',
        object: 'Contact',
        source: 'contacts.csv',
        mapping: { rename: { City: 'MailingCity' } },
      },
    ]);
    const { scan, problems } = await scanManifest(await loadManifestOrThrow(path), {
      tempRoot: temp,
      describer: localOrgDescribes,
    });
    expect(scan.valuesChecked).to.equal(true);
    const values = scan.steps[0].values!;
    expect(values.shown.map((v) => [v.line, v.column, v.field, v.reason, v.max, v.length])).to.deep.equal([
      [3, 'LastName', 'LastName', 'tooLong', 80, 81],
      [3, 'Birthdate', 'Birthdate', 'date', undefined, undefined],
      [4, 'City', 'MailingCity', 'tooLong', 40, 41],
      [4, 'Birthdate', 'Birthdate', 'date', undefined, undefined],
      [4, 'CreatedDate', 'CreatedDate', 'datetime', undefined, undefined],
      [5, 'Birthdate', 'Birthdate', 'date', undefined, undefined],
      [5, 'CreatedDate', 'CreatedDate', 'datetime', undefined, undefined],
      [6, 'CreatedDate', 'CreatedDate', 'datetime', undefined, undefined],
    ]);
    expect(values.total).to.equal(8);
    expect(values.shown.every((v) => v.file === file)).to.equal(true);
    expect(problems.map((p) => p.code)).to.deep.equal([
      'ValueTooLong',
      'InvalidDateValue',
      'ValueTooLong',
      'InvalidDateValue',
      'InvalidDateValue',
      'InvalidDateValue',
      'InvalidDateValue',
      'InvalidDateValue',
    ]);
    expect(problems[0].message).to.contain('at contacts.csv:3, column LastName holds 81 characters');
    expect(problems[1].message).to.contain('column Birthdate holds "2003-04-98"');
    expect(scanSummaryLines(scan)[0]).to.contain('8 value(s) the org refuses');
  });

  it('reads dates and datetimes as the org does', () => {
    expect(['2024-02-29', '2000-02-29', '1999-12-31'].map(isValidDate)).to.deep.equal([true, true, true]);
    expect(
      ['1900-02-29', '2003-04-98', '2003-13-01', '2003-4-1', '20030401', '2003-04-01Z'].map(isValidDate),
    ).to.deep.equal([false, false, false, false, false, false]);
    expect(
      ['2024-01-31T23:59:59Z', '2024-01-31T00:00:00.1-05:00', '2024-01-31T00:00:00.123+0530'].map(isValidDateTime),
    ).to.deep.equal([true, true, true]);
    expect(
      ['2024-01-31T00:00:00', '2024-01-31 00:00:00Z', '2024-01-31T00:60:00Z', '2024-01-31T00:00:00.1234Z'].map(
        isValidDateTime,
      ),
    ).to.deep.equal([false, false, false, false]);
  });

  it('is part of validate: scan errors make the manifest invalid and the result matches its schema', async () => {
    write('accounts.csv', 'Legacy_Id__c,Name\nA1,Acme\nA1,Acme again\n');
    const path = manifest([{ id: 'accounts', object: 'Account', source: 'accounts.csv' }]);
    const plain = await validateManifest(path);
    expect(plain.valid).to.equal(true);
    expect(plain.scan).to.equal(undefined);
    const scanned = await validateManifest(path, { scan: { tempRoot: temp } });
    expect(scanned.valid).to.equal(false);
    expect(scanned.errors.map((p) => p.code)).to.deep.equal(['DuplicateRecordKey']);
    expect(scanned.scan!.steps[0].duplicates.keys).to.equal(1);
    assertMatchesSchema('schemas/migrate-validate.json', JSON.parse(JSON.stringify(scanned)));
  });
});
