import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { expect } from 'chai';
import { Faults } from '../src/faults.js';
import { IngestJobs } from '../src/ingest.js';
import { ManualClock } from '../src/processing/clock.js';
import { modelSettings } from '../src/processing/model-settings.js';
import { loadObjects } from '../src/schema.js';
import { RecordStore } from '../src/store.js';

describe('realistic model: upload bandwidth on a manual clock', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'local-org-bandwidth-'));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it('answers an upload once the bytes would have arrived at uploadBytesPerSecond', async () => {
    const clock = new ManualClock();
    const jobs = new IngestJobs({
      store: new RecordStore(await loadObjects(undefined), 'Lo0'),
      faults: new Faults(),
      userId: '005Lo0000000001AAA',
      dir,
      persistent: false,
      hardDeleteEnabled: true,
      maxUploadBytes: 1 << 20,
      newJobId: (): string => '750Lo0000000001AAA',
      onBatch: (): void => undefined,
      realistic: { settings: modelSettings({ uploadBytesPerSecond: 1000 }), clock },
    });
    const job = jobs.create({ object: 'Account', operation: 'insert' }, 62);
    jobs.markUploading(job, true);
    await mkdir(dirname(jobs.uploadFile(job)), { recursive: true });
    await writeFile(jobs.uploadFile(job), 'Name\n' + 'x'.repeat(4995)); // 5,000 bytes: 5 s at 1,000 B/s
    await clock.advance(1000); // the body itself took 1 s to stream in
    jobs.markUploading(job, false);
    let answered = false;
    const finishing = jobs.finishUpload(job).then(() => {
      answered = true;
    });
    await clock.advance(3999);
    expect(answered).to.equal(false);
    await clock.advance(1);
    await finishing;
    expect(answered).to.equal(true);
    expect(job.uploaded).to.equal(true);
  });
});
