/*
 * Lookup resolution cost (issue 12), not part of CI's pass/fail: N Contact rows (default 1,000,000)
 * streamed through the lookup row stages (src/lookup/stages.ts) into an output CSV, resolving
 * OwnerEmail against U users (default 50,000; 1 in 50 inactive) and AccountCode against a K-key
 * lookup table (default 1,000,000 Accounts), against the same rows passed through untouched. Each
 * mode runs in a child process of its own, so its peak RSS is its own.
 *
 * What it measures: the index builds from snapshot files and the per-row stages, reading and writing
 * CSV as the pre-upload pass would. What it does not: the query jobs that fetch the snapshots, and
 * the upload to an org: bench/lookups-run.ts measures lookups in a real `sf migrate run`.
 *
 *   node --import tsx bench/lookups.ts (Node 22: node_modules/.bin/node) [--rows N] [--users U] [--keys K] [--memory-mb M]
 */
import { spawnSync } from 'node:child_process';
import { createReadStream, createWriteStream, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parse } from 'csv-parse';
import { stringify } from 'csv-stringify';
import { isReject, type RowStage } from '../src/prepare/stage.js';
import { lookupSpecs } from '../src/lookup/spec.js';
import type { LookupSnapshot } from '../src/lookup/snapshots.js';
import { lookupStages, openLookups } from '../src/lookup/stages.js';
import type { Lookup } from '../src/manifest/types.js';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    users: { type: 'string', default: '50000' },
    keys: { type: 'string', default: '1000000' },
    'memory-mb': { type: 'string', default: '64' },
    mode: { type: 'string' },
    work: { type: 'string' },
  },
});
const rows = Number(values.rows);
const users = Number(values.users);
const keys = Number(values.keys);
const memoryBytes = Number(values['memory-mb']) * 1024 * 1024;

const LOOKUPS: Lookup[] = [
  { column: 'OwnerEmail', user: 'Email', default: 'user0@acme.com', inactive: 'default' },
  { column: 'AccountCode', field: 'AccountId', object: 'Account', matchOn: 'Legacy_Id__c' },
];
const step = { id: 'Contact', object: 'Contact', lookups: LOOKUPS };

const id = (prefix: string, n: number): string => `${prefix}${n.toString(36).padStart(12, '0')}AAA`;

function writeLines(file: string, lines: (n: number) => string, count: number, header: string): void {
  const parts: string[] = [header];
  const out: string[] = [];
  for (let n = 0; n < count; n++) {
    parts.push(lines(n));
    if (parts.length === 10_000) {
      out.push(parts.join('\n'));
      parts.length = 0;
    }
  }
  out.push(parts.join('\n'));
  writeFileSync(file, out.join('\n') + '\n');
}

function generate(work: string): void {
  mkdirSync(work, { recursive: true });
  const [userSpec, accountSpec] = lookupSpecs(step);
  writeLines(
    join(work, `${userSpec.snapshotKey}.csv`),
    (n) => `"${id('005', n)}","user${n}@acme.com","${n % 50 === 49 ? 'false' : 'true'}"`,
    users,
    '"Id","Email","IsActive"',
  );
  writeLines(
    join(work, `${accountSpec.snapshotKey}.csv`),
    (n) => `"${id('001', n)}","A-${n}"`,
    keys,
    '"Id","Legacy_Id__c"',
  );
  // 1 row in 1,000 has an unknown owner, 1 in 1,000 an unknown account
  writeLines(
    join(work, 'contacts.csv'),
    (n) =>
      `C-${n},Last ${n},${n % 1000 === 7 ? 'nobody' : `user${(n * 7919) % users}`}@acme.com,` +
      `A-${n % 1000 === 3 ? 'missing' : (n * 104_729) % keys}`,
    rows,
    'Legacy_Id__c,LastName,OwnerEmail,AccountCode',
  );
}

async function runMode(mode: 'with' | 'without', work: string): Promise<void> {
  const started = process.hrtime.bigint();
  let stages: RowStage[] = [];
  let close = (): Promise<void> => Promise.resolve();
  let buildMs = 0;
  let spilled: boolean[] = [];
  if (mode === 'with') {
    const snapshots = new Map<string, LookupSnapshot>(
      lookupSpecs(step).map((spec) => [
        spec.snapshotKey,
        {
          lookup: spec.snapshotKey,
          object: spec.object,
          query: spec.query,
          records: spec.kind === 'user' ? users : keys,
          file: join(work, `${spec.snapshotKey}.csv`),
          size: 0,
          mtimeMs: 0,
          sha256: '',
        },
      ]),
    );
    const opened = await openLookups(step, snapshots, { spillDir: work, memoryBytes });
    spilled = opened.lookups.map((lookup) => lookup.index.spilled);
    stages = lookupStages(opened);
    close = (): Promise<void> => opened.close();
    buildMs = Number(process.hrtime.bigint() - started) / 1e6;
  }
  const parser = createReadStream(join(work, 'contacts.csv')).pipe(parse());
  const writer = stringify();
  const out = writer.pipe(createWriteStream(join(work, `out-${mode}.csv`)));
  let header = true;
  let sent = 0;
  let rejected = 0;
  for await (const record of parser as AsyncIterable<string[]>) {
    let row: string[] = record;
    if (header) {
      header = false;
      for (const stage of stages) row = stage.columns(row);
      writer.write(row);
      continue;
    }
    let rejectedHere = false;
    for (const stage of stages) {
      // eslint-disable-next-line no-await-in-loop -- the stages resolve synchronously; await keeps the seam's contract
      const next = await stage.apply(row);
      if (isReject(next)) {
        rejectedHere = true;
        break;
      }
      row = next;
    }
    if (rejectedHere) {
      rejected++;
      continue;
    }
    sent++;
    // eslint-disable-next-line no-await-in-loop -- back-pressure of the output file
    if (!writer.write(row)) await new Promise<void>((resolve) => writer.once('drain', () => resolve()));
  }
  writer.end();
  await new Promise<void>((resolve) => out.on('finish', () => resolve()));
  await close();
  const totalMs = Number(process.hrtime.bigint() - started) / 1e6;
  process.stdout.write(
    JSON.stringify({
      mode,
      rows,
      sent,
      rejected,
      buildMs: Math.round(buildMs),
      totalMs: Math.round(totalMs),
      peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
      spilled,
    }) + '\n',
  );
}

if (values.mode === 'with' || values.mode === 'without') {
  await runMode(values.mode, values.work!);
} else {
  const work = join(tmpdir(), `sf-migrate-bench-lookups-${rows}`);
  rmSync(work, { recursive: true, force: true });
  generate(work);
  for (const mode of ['without', 'with']) {
    const child = spawnSync(
      process.execPath,
      [...process.execArgv, import.meta.filename, ...process.argv.slice(2), '--mode', mode, '--work', work],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
    );
    process.stdout.write(child.stdout);
  }
  rmSync(work, { recursive: true, force: true });
}
