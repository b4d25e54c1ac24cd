/*
 * Peak memory of the partition pass (lock-aware jobs) on a large child file, for issue 11's memory
 * target: run it under `/usr/bin/time -v` and read "Maximum resident set size".
 *
 *   node bench/partition-memory.mjs (after tsc -p .) <rows> [memoryMB] [dir] [--write-only]
 *
 * Writes <dir>/contacts-<rows>.csv once, in a child process so writing it does not count (children
 * of rows/4 parents, 5% of the parents holding half of the rows), then partitions it into <dir>/out
 * with a budget of memoryMB (default 16). Prints the peak RSS (VmHWM) before the pass (the
 * library's start) and after it, beside the figure /usr/bin/time -v gives.
 */
import { spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

async function writeSource(file, rows) {
  const out = createWriteStream(file);
  const parents = Math.max(1, Math.floor(rows / 4));
  const heavy = Math.max(1, Math.floor(parents / 20));
  let seed = 7;
  const random = () => {
    seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0;
    return seed / 2 ** 32;
  };
  out.write('LastName,Email,Legacy_Id__c,Account.Legacy_Id__c\n');
  let text = '';
  for (let i = 0; i < rows; i++) {
    const parent = random() < 0.5 ? Math.floor(random() * heavy) : heavy + Math.floor(random() * (parents - heavy));
    text += `Contact ${i},c${i}@example.com,C-${i},A-${parent}\n`;
    if (text.length > 1 << 20) {
      // eslint-disable-next-line no-await-in-loop
      if (!out.write(text)) await once(out, 'drain');
      text = '';
    }
  }
  out.end(text);
  await once(out, 'finish');
}

const rows = Number(process.argv[2] ?? 1_000_000);
const memoryBytes = Number(process.argv[3] ?? 16) * 1024 * 1024;
const dir = process.argv[4] ?? '/tmp';
const source = join(dir, `contacts-${rows}.csv`);
if (process.argv.includes('--write-only')) {
  if (!existsSync(source)) await writeSource(source, rows);
  process.exit(0);
}
if (!existsSync(source)) {
  const made = spawnSync(process.execPath, [fileURLToPath(import.meta.url), ...process.argv.slice(2), '--write-only'], {
    stdio: 'inherit',
  });
  if (made.status !== 0) throw new Error('could not write the source');
}
const peakMb = () => Math.round(Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) / 1024);
const { partitionSource, ORG_BATCH_RECORDS } = await import('../lib/engine/partitionPass.js');
const startPeakRssMB = peakMb();
const started = Date.now();
const files = await partitionSource(source, join(dir, 'out'), {
  delimiter: 'COMMA',
  lineEnding: 'LF',
  column: 3,
  binRecords: ORG_BATCH_RECORDS,
  maxRecordsPerJob: 150_000,
  maxBytesPerJob: 100_000_000,
  memoryBytes,
  maxRecordBytes: 32 * 1024 * 1024,
});
const usage = process.memoryUsage();
console.log(
  JSON.stringify({
    rows,
    memoryMB: memoryBytes / 1024 / 1024,
    files: files.length,
    seconds: (Date.now() - started) / 1000,
    heapUsedMB: Math.round(usage.heapUsed / 1024 / 1024),
    rssMB: Math.round(usage.rss / 1024 / 1024),
    startPeakRssMB,
    peakRssMB: peakMb(),
  }),
);
