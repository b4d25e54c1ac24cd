/*
 * The partition pass fills a derived file up to the job byte limit as the chunk planner will count
 * its upload, so each derived file is cut into one chunk: a second chunk would be a second job the
 * org may process at once, with the parent at the cut in both (the reviewer's case: a rename mapping
 * re-serialises the upload, which the planner counts with its mapped header and a line ending more
 * a row, where the packer counted the rows' bytes alone).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { planChunks } from '../../src/csv/chunks.js';
import { readCsvHeader } from '../../src/csv/header.js';
import { partitionSource } from '../../src/engine/partitionPass.js';
import { partitionSettingsOf } from '../../src/engine/stepPartitioning.js';
import type { ColumnMapping, ResolvedStep } from '../../src/manifest/types.js';

function contactsStep(file: string, mapping: ResolvedStep['mapping'], maxBytesPerJob: number): ResolvedStep {
  return {
    id: 'contacts',
    object: 'Contact',
    operation: 'insert',
    columnDelimiter: 'COMMA',
    lineEnding: 'LF',
    maxRecordsPerJob: 1_000_000,
    maxBytesPerJob,
    poll: { initialMs: 5000, maxMs: 120_000 },
    failureThreshold: { percent: 0 },
    parallelism: 2,
    retry: { codes: ['UNABLE_TO_LOCK_ROW'], attempts: 3 },
    mapping,
    dependsOn: [],
    sources: [file],
    files: [file],
  };
}

describe('partition pass and chunk planner count a job’s bytes alike', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'partition-bytes-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const mappings: Array<[string, ColumnMapping]> = [
    ['a byte copy', {}],
    ['a rename', { rename: { Surname: 'LastName' } }],
    ['a drop and a constant', { drop: ['Note'], constants: { LeadSource: 'Legacy "CRM"' } }],
  ];
  for (const [name, mapping] of mappings) {
    it(`cuts each derived file into one chunk with ${name}`, async () => {
      const source = join(dir, 'contacts.csv');
      const rows: string[] = [];
      // 40 parents of 1 to 12 children, interleaved; bins of 50 rows, jobs of at most 2,000 bytes
      for (let round = 0; round < 12; round++)
        for (let k = 0; k < 40; k++) if (round <= k % 12) rows.push(`S${k}-${round},A${k},n`);
      await writeFile(source, ['Surname,Account.Legacy_Id__c,Note', ...rows].join('\n') + '\n');
      const step = contactsStep(source, mapping, 2000);
      const header = await readCsvHeader(source, 'COMMA');
      const derived = await partitionSource(
        source,
        join(dir, 'out'),
        partitionSettingsOf(step, 1, { batchRecords: 50 }, header),
      );
      expect(derived.length).to.be.greaterThan(1);
      for (const { file } of derived) {
        const chunks = [];
        // eslint-disable-next-line no-await-in-loop
        for await (const chunk of planChunks(file, {
          delimiter: 'COMMA',
          // eslint-disable-next-line no-await-in-loop
          header: await readCsvHeader(file, 'COMMA'),
          maxRecords: step.maxRecordsPerJob,
          maxBytes: step.maxBytesPerJob,
          mapping: step.mapping,
          lineEnding: step.lineEnding,
        }))
          chunks.push(chunk);
        expect(chunks, file).to.have.lengthOf(1);
      }
    });
  }
});
