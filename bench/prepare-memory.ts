/*
 * Peak memory of the pre-upload row pass (src/prepare/rowPass.ts) over one child file, with a value
 * map stage and an orphan hold-back stage whose failed parent keys come from a dead-letter file, for
 * issue 11's memory target. Prints rows, failed keys, budget and peak RSS (VmHWM), and the peak
 * before the pass (the library's start and the failed keys read), so the pass's own growth shows.
 *
 *   node --import tsx bench/prepare-memory.ts <rows> [keysMB] [dir]
 *
 * Writes <dir>/contacts-<rows>.csv (as bench/partition-memory.mjs: rows/4 parents, 5% of them
 * holding half of the rows) in a child process when missing, and a dead-letter file failing every
 * 20th parent; keysMB is the failed keys' memory budget (default: the run's, 256).
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { LoadedManifest, ResolvedStep } from '../src/manifest/types.js';
import type { RunState } from '../src/journal/state.js';
import type { RunFolder } from '../src/journal/runFolder.js';
import { DEFAULT_PARENT_KEYS_BYTES, FailedKeys, holdBackStage } from '../src/prepare/orphans.js';
import { valueMapStage } from '../src/prepare/valueMaps.js';
import { runRowPass } from '../src/prepare/rowPass.js';
import { contactsSource, peakMb } from './memorySource.js';

const rows = Number(process.argv[2] ?? 1_000_000);
const keysBytes = process.argv[3] ? Number(process.argv[3]) * 1024 * 1024 : DEFAULT_PARENT_KEYS_BYTES;
const dir = resolve(process.argv[4] ?? '/tmp');
const source = contactsSource(rows, dir);

const work = join(dir, 'prepare');
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
// the parent step's dead letters: every 20th parent failed
const parents = Math.max(1, Math.floor(rows / 4));
let deadLetters = 'Name,Legacy_Id__c,sf__ErrorCode,sf__ErrorMessage\n';
let failed = 0;
for (let p = 0; p < parents; p += 20, failed++) deadLetters += `Account ${p},A-${p},REQUIRED_FIELD_MISSING,Name\n`;
writeFileSync(join(work, 'dead-letter.csv'), deadLetters);
deadLetters = '';

const step = (id: string): ResolvedStep =>
  ({ id, object: id, columnDelimiter: 'COMMA', mapping: {}, dependsOn: [], files: [] }) as unknown as ResolvedStep;
const parent = step('accounts');
const child = step('contacts');
const context = {
  manifest: { steps: [parent, child] } as unknown as LoadedManifest,
  state: { steps: new Map([['accounts', { finished: { deadLetters: ['dead-letter.csv'] } }]]) } as unknown as RunState,
  folder: { dir: work } as RunFolder,
  memoryBytes: keysBytes,
};
const started = peakMb();
const keys = await FailedKeys.read(child, parent, 'Legacy_Id__c', context);
const withKeys = peakMb();
const time = Date.now();
const result = await runRowPass(
  source,
  [
    valueMapStage('LastName', new Map([['Contact 1', 'Contact One']]), { onUnmapped: 'pass' }),
    holdBackStage('Account.Legacy_Id__c', child, 'accounts', keys, 'parent'),
  ],
  {
    delimiter: 'COMMA',
    mapping: {},
    out: join(work, 'rows.csv'),
    rejectedPathFor: (n) => join(work, `rejected-${n}.csv`),
  },
);
await keys.close();
process.stdout.write(
  `${JSON.stringify({
    rows,
    failedKeys: failed,
    keysBudgetMB: keysBytes / 1024 / 1024,
    keysInMemory: keys.size,
    sent: result.records,
    rejected: result.rejected.reduce((sum, file) => sum + file.records, 0),
    seconds: (Date.now() - time) / 1000,
    startPeakRssMB: started,
    keysReadPeakRssMB: withKeys,
    peakRssMB: peakMb(),
  })}\n`,
);
rmSync(work, { recursive: true, force: true });
