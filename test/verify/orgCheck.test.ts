/*
 * One step's org check over hand-written success results and a stand-in for the query job (its
 * pages written as the org writes them), for what the local org cannot produce: an external id
 * held by two records (its external ids are unique), and a delete step whose record is still there.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { expect } from 'chai';
import type { ResolvedStep } from '../../src/manifest/types.js';
import type { ChunkState } from '../../src/journal/state.js';
import {
  checkStepInOrg,
  type DescribedField,
  type OrgCheckCounts,
  type QueryToFile,
} from '../../src/verify/orgCheck.js';
import type { Discrepancy } from '../../src/verify/types.js';

const FIELDS: DescribedField[] = [
  { name: 'Id', type: 'id' },
  { name: 'LastName', type: 'string' },
  { name: 'Legacy_Id__c', type: 'string' },
  { name: 'AccountId', type: 'reference', relationshipName: 'Account' },
];

const ID1 = '003000000000001AAA';
const ID2 = '003000000000002AAA';
const ID3 = '003000000000003AAA';

function step(operation: ResolvedStep['operation']): ResolvedStep {
  return {
    id: 'contacts',
    object: 'Contact',
    operation,
    externalIdField: 'Legacy_Id__c',
    columnDelimiter: 'COMMA',
    lineEnding: 'LF',
    maxRecordsPerJob: 10_000,
    maxBytesPerJob: 100_000_000,
    poll: { initialMs: 10, maxMs: 10 },
    failureThreshold: {},
    parallelism: 1,
    retry: { codes: [], attempts: 0 },
    mapping: {},
    dependsOn: [],
    sources: [],
    files: [],
  };
}

function savedChunk(file: string, success: number): ChunkState {
  return {
    step: 'contacts',
    chunk: 0,
    file: 'x.csv',
    byteStart: 0,
    byteEnd: 1,
    records: success,
    attempt: 0,
    abandonedJobIds: [],
    phase: 'saved',
    jobId: '750000000000001AAA',
    finished: { state: 'JobComplete', processed: success, failed: 0 },
    results: {
      files: { success: file, failed: 'f.csv', unprocessed: 'u.csv' },
      counts: { success, failed: 0, unprocessed: 0 },
    },
  };
}

/**
 * answers every query with `pages` (full-object scan) or, for WHERE Id IN, with `sample`, joined
 * into one file the way the query job client saves them: the header once
 */
function fakeQuery(pages: string[], sample: string): { query: QueryToFile; soql: string[] } {
  const soql: string[] = [];
  const query: QueryToFile = async (text, file) => {
    soql.push(text);
    const bodies = text.includes(' WHERE Id IN ') ? [sample] : pages;
    const joined = bodies.map((body, i) => (i === 0 ? body : body.slice(body.indexOf('\n') + 1))).join('');
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, joined);
  };
  return { query, soql };
}

describe('checkStepInOrg', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'verify-org-'));
    await mkdir(join(dir, 'results'), { recursive: true });
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function check(
    operation: ResolvedStep['operation'],
    success: string,
    pages: string[],
    sample: string,
  ): Promise<{ found: Discrepancy[]; counts: OrgCheckCounts; soql: string[] }> {
    await writeFile(join(dir, 'results', 's.csv'), success);
    const found: Discrepancy[] = [];
    const { query, soql } = fakeQuery(pages, sample);
    const counts = await checkStepInOrg({
      step: step(operation),
      chunks: [savedChunk('results/s.csv', success.trim().split('\n').length - 1)],
      runDir: dir,
      fields: FIELDS,
      writtenLater: new Set(),
      query,
      sampleSize: 10,
      seed: 1,
      scratch: join(dir, 'scratch'),
      sortBudgetBytes: 100,
      report: (d) => found.push(d),
    });
    return { found, counts, soql };
  }

  it('finds an external id the run wrote that two records hold, across result pages', async () => {
    const { found, counts, soql } = await check(
      'upsert',
      `sf__Id,sf__Created,LastName,Legacy_Id__c,Account.Legacy_Id__c\n${ID1},true,Smith,C1,A1\n${ID2},true,Jones,C2,\n`,
      [
        `"Id","Legacy_Id__c","AccountId"\n"${ID1}","C1","001000000000001AAA"\n"${ID2}","C2",""\n`,
        `"Id","Legacy_Id__c","AccountId"\n"${ID3}","C1",""\n`,
      ],
      `"Id","LastName","Legacy_Id__c"\n"${ID1}","Smith","C1"\n"${ID2}","Jones","C2"\n`,
    );
    expect(found).to.deep.equal([
      {
        step: 'contacts',
        kind: 'duplicate',
        key: 'C1',
        field: 'Legacy_Id__c',
        expected: '1 record',
        actual: `2 records: ${[ID1, ID3].sort().join(', ')}`,
      },
    ]);
    expect(counts).to.deep.equal({ checkedInOrg: 2, sampled: 2, duplicatesChecked: true });
    expect(soql[0]).to.equal('SELECT Id, Legacy_Id__c, AccountId FROM Contact');
    expect(soql[1]).to.match(/^SELECT Id, LastName, Legacy_Id__c FROM Contact WHERE Id IN \('003/);
  });

  it('names a record a delete step deleted that is still in the org', async () => {
    const { found } = await check(
      'delete',
      `sf__Id,sf__Created,Id\n${ID1},false,${ID1}\n${ID2},false,${ID2}\n`,
      [`"Id"\n"${ID2}"\n"${ID3}"\n`],
      '',
    );
    expect(found).to.deep.equal([
      { step: 'contacts', kind: 'stillPresent', key: ID2, expected: 'deleted', actual: 'present' },
    ]);
  });

  it('reads a 15-character sf__Id as its 18-character form', async () => {
    const { found } = await check(
      'update',
      `sf__Id,sf__Created,Id,LastName\n${ID1.slice(0, 15)},false,${ID1.slice(0, 15)},Smith\n`,
      [`"Id"\n"${ID1}"\n`],
      `"Id","LastName"\n"${ID1}","Smyth"\n`,
    );
    expect(found).to.deep.equal([
      { step: 'contacts', kind: 'fieldMismatch', key: ID1, field: 'LastName', expected: 'Smith', actual: 'Smyth' },
    ]);
  });
});
