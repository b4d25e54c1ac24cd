import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { runRowPass } from '../../src/prepare/rowPass.js';
import { valueMapStage } from '../../src/prepare/valueMaps.js';
import type { RowStage } from '../../src/prepare/stage.js';

/** adds a column Code__c, and rejects the rows whose Name is "bad" */
const addCode: RowStage = {
  columns: (input) => [...input, 'Code__c'],
  apply: (row) => (row[0] === 'bad' ? { code: 'BAD_NAME', message: `name ${row[0]}` } : [...row, `${row[1]}!`]),
};

describe('the row pass over one source', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sf-migrate-rowpass-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const pass = (
    source: string,
    stages: RowStage[],
    keep?: Parameters<typeof runRowPass>[2]['keep'],
  ): ReturnType<typeof runRowPass> =>
    runRowPass(source, stages, {
      delimiter: 'COMMA',
      // eslint-disable-next-line camelcase -- a field name
      mapping: { rename: { Stage: 'StageName' }, constants: { Origin__c: 'legacy' } },
      out: join(dir, 'out', 'rows.csv'),
      rejectedPathFor: (n) => join(dir, 'out', `rejected-${n}.csv`),
      ...(keep ? { keep } : {}),
    });

  it('writes sent rows under the source names, and each stage’s rejects as they would be uploaded', async () => {
    const source = join(dir, 'a.csv');
    await writeFile(source, '\ufeffName,Stage\r\nAcme,O1\r\n"Multi\nline",O2\r\nbad,O1\r\nGlobex,O9\r\n\r\n');
    const entries = new Map([
      ['O1', 'Open'],
      ['O2', 'Won'],
    ]);
    const noAcme: RowStage = {
      columns: (input) => [...input],
      apply: (row) => (row[0] === 'Acme' ? { code: 'NO_ACME', message: 'not Acme' } : [...row]),
    };
    const result = await pass(source, [valueMapStage('Stage', entries, { onUnmapped: 'fail' }), addCode, noAcme]);
    expect(result.records).to.equal(1);
    expect(await readFile(result.file, 'utf8')).to.equal('Name,Stage,Code__c\n"Multi\nline",Won,Won!\n');
    // rejects under one uploaded header share a file, in source order; a stage after one that
    // added a column rejects into a file of its own
    expect(result.rejected.map((file) => file.records)).to.deep.equal([1, 2]);
    expect(await readFile(result.rejected[0].file, 'utf8')).to.equal(
      'Name,StageName,Code__c,Origin__c,sf__ErrorCode,sf__ErrorMessage\nAcme,Open,Open!,legacy,NO_ACME,not Acme\n',
    );
    expect(await readFile(result.rejected[1].file, 'utf8')).to.equal(
      'Name,StageName,Origin__c,sf__ErrorCode,sf__ErrorMessage\n' +
        'bad,Open,legacy,BAD_NAME,name bad\n' +
        'Globex,O9,legacy,VALUE_NOT_MAPPED,"value ""O9"" of column Stage has no mapping"\n',
    );
  });

  it('leaves out the rows `keep` does not want, and counts them nowhere', async () => {
    const source = join(dir, 'a.csv');
    await writeFile(source, 'Name,Stage\nAcme,\nGlobex,O1\n');
    const result = await pass(source, [addCode], (header): ((row: readonly string[]) => boolean) => {
      const at = header.indexOf('Stage');
      return (row) => row[at] !== '';
    });
    expect(result.records).to.equal(1);
    expect(result.rejected).to.deep.equal([]);
    expect(await readFile(result.file, 'utf8')).to.equal('Name,Stage,Code__c\nGlobex,O1,O1!\n');
  });

  it('passes unmapped values through or replaces them, and keeps empty values', async () => {
    const source = join(dir, 'a.csv');
    await writeFile(source, 'Name,Stage\nA,O1\nB,O7\nC,\n');
    const entries = new Map([['O1', 'Open']]);
    const passed = await pass(source, [valueMapStage('Stage', entries, { onUnmapped: 'pass' })]);
    expect(await readFile(passed.file, 'utf8')).to.equal('Name,Stage\nA,Open\nB,O7\nC,\n');
    const defaulted = await pass(source, [valueMapStage('Stage', entries, { onUnmapped: 'default', default: 'X' })]);
    expect(await readFile(defaulted.file, 'utf8')).to.equal('Name,Stage\nA,Open\nB,X\nC,\n');
  });

  it('leaves nothing under a final name when the source cannot be read', async () => {
    const error = await pass(join(dir, 'missing.csv'), [addCode]).then(
      () => undefined,
      (failure: Error) => failure,
    );
    expect(error?.message).to.include('ENOENT');
    const left = await readdir(join(dir, 'out')).catch(() => []);
    expect(left.filter((name) => name.endsWith('.csv'))).to.deep.equal([]);
  });
});
