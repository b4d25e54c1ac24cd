/*
 * The realistic model holds one chunk of a batch's rows in memory at a time (README, "The realistic
 * model"): a worker reads each chunk from the batch file by its byte range, and a batch it abandons is
 * streamed into the unprocessed results. Driven directly (no HTTP), on the system clock.
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { builtInObjects } from '../src/built-in-objects.js';
import { planHeader, type HeaderPlan } from '../src/header-plan.js';
import { makeId } from '../src/ids.js';
import { newIngestJob } from '../src/ingest-job.js';
import { systemClock } from '../src/processing/clock.js';
import { modelSettings } from '../src/processing/model-settings.js';
import { RealisticJobs, type ResultWriters } from '../src/processing/realistic-jobs.js';
import { RecordStore } from '../src/store.js';

describe('realistic model: a batch holds one chunk of rows at a time', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'local-org-batch-memory-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('reads each chunk alone, writes every row once, and answers an abandoned rest as unprocessed', async () => {
    const store = new RecordStore(builtInObjects(), 'Lo0');
    const object = store.object('Account')!;
    const userId = makeId('005', 'Lo0', 1);
    const job = newIngestJob({ object: 'Account', operation: 'insert' }, 62, {
      store,
      hardDeleteEnabled: true,
      userId,
      newJobId: () => makeId('750', 'Lo0', 1),
    });
    job.state = 'InProgress';
    const upload = join(dir, 'upload.csv');
    const rows = Array.from({ length: 2500 }, (_, i) => `"Row ${i}"`);
    await writeFile(upload, `Name\n${rows.join('\n')}\n`);
    const writers = Object.fromEntries(
      ['success', 'failed', 'unprocessed'].map((kind) => [kind, createWriteStream(join(dir, `${kind}.csv`))]),
    ) as ResultWriters;
    // 1,000-row batches in 100-row chunks; the job fails after 2,200 rows: the last batch's rest is abandoned
    let failAfter: number | undefined = 2200;
    const jobs = new RealisticJobs(
      {
        resultOrder: { order: 'upload', seed: 1 },
        fail: (failed, message): Promise<void> => {
          /* eslint-disable no-param-reassign -- the host owns the job record, as ingest.ts does */
          failed.state = 'Failed';
          failed.errorMessage = message;
          /* eslint-enable no-param-reassign */
          failAfter = undefined;
          return Promise.resolve();
        },
        onBatch: (): void => undefined,
        failAfterRecords: (): number | undefined => failAfter,
        save: (): Promise<void> => Promise.resolve(),
      },
      // real time, 1 µs a record: no batch comes near its time-out, so batches run in queue order
      modelSettings({ workers: 1, batchRecords: 1000, chunkRows: 100, msPerRecord: 0.001 }),
      systemClock(1),
    );
    const plan = planHeader(store, object, 'insert', ['Name']) as HeaderPlan;
    await jobs.run({ job, upload, dir, plan, ctx: { store, object, operation: 'insert', userId }, writers });
    await Promise.all(Object.values(writers).map((w) => new Promise((resolve) => w.end(resolve))));

    expect(jobs.stats.peakRowsHeld).to.equal(100);
    const names = [...object.records.values()].map((r) => String(r.Name));
    expect(names).to.have.length(2200);
    expect(new Set(names).size).to.equal(2200);
    const unprocessed = (await readFile(join(dir, 'unprocessed.csv'), 'utf8')).split('\n').filter(Boolean);
    expect(unprocessed).to.have.length(300);
    expect(unprocessed[0]).to.equal('"Row 2200"');
    expect(unprocessed.at(-1)).to.equal('"Row 2499"');
  });
});
