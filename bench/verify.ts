/*
 * `sf migrate verify` of a large run — not part of CI. Generates N records (default 1,000,000:
 * 30% Accounts upserted by Legacy_Id__c, 40% Contacts upserted by Legacy_Id__c naming their Account
 * through Account.Legacy_Id__c, 30% Opportunities inserted), loads them into a local org (in this
 * process) with the real `sf migrate run`, then runs the real `sf migrate verify --report` under
 * /usr/bin/time -v and reports its wall time and peak RSS (the verify process alone: the org's
 * memory is this process's).
 *
 *   node --import tsx bench/verify.ts [--records N] [--sample-size N] [--keep] [--verify-node-options=--max-old-space-size=96]
 */
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { registerLocalOrg, startLocalOrg } from '@sf-migrate/local-org';

const root = resolve(import.meta.dirname, '..');
const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '1000000' },
    'sample-size': { type: 'string', default: '100' },
    keep: { type: 'boolean', default: false },
    /** e.g. --max-old-space-size=96: shows the verification fits a fixed heap, whatever V8's GC lets RSS grow to */
    'verify-node-options': { type: 'string', default: '' },
  },
});
const total = Number(values.records);
const work = join(tmpdir(), `sf-migrate-bench-verify-${total}`);
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });

async function write(name: string, header: string, n: number, row: (i: number) => string): Promise<void> {
  const out = createWriteStream(join(work, name));
  out.write(`${header}\n`);
  for (let i = 0; i < n; i++) {
    // eslint-disable-next-line no-await-in-loop -- back-pressure
    if (!out.write(`${row(i)}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

const accounts = Math.floor(total * 0.3);
const contacts = Math.floor(total * 0.4);
const opportunities = total - accounts - contacts;
await write(
  'accounts.csv',
  'Name,Legacy_Id__c,Industry,AnnualRevenue',
  accounts,
  (i) => `"Verify Account ${i}, Inc.",VA-${i},Energy,${i * 10}.5`,
);
await write(
  'contacts.csv',
  'LastName,FirstName,Email,Birthdate,HasOptedOutOfEmail,Legacy_Id__c,Account.Legacy_Id__c',
  contacts,
  (i) =>
    `Contact${i},Verify,c${i}@example.com,1980-01-${String((i % 28) + 1).padStart(2, '0')},${i % 2 === 0 ? 'TRUE' : 'false'},VC-${i},VA-${i % accounts}`,
);
await write(
  'opportunities.csv',
  'Name,StageName,CloseDate,Amount,Account.Legacy_Id__c',
  opportunities,
  (i) => `Verify Opp ${i},Prospecting,2027-01-15,${i},VA-${i % accounts}`,
);
const manifest = join(work, 'migration.json');
await writeFile(
  manifest,
  JSON.stringify({
    name: 'bench-verify',
    defaults: { poll: { initial: '200ms', max: '2s' } },
    steps: [
      { object: 'Account', operation: 'upsert', externalIdField: 'Legacy_Id__c', source: 'accounts.csv' },
      { object: 'Contact', operation: 'upsert', externalIdField: 'Legacy_Id__c', source: 'contacts.csv' },
      { object: 'Opportunity', source: 'opportunities.csv' },
    ],
  }),
);

const home = join(work, 'home');
mkdirSync(home, { recursive: true });
process.env.HOME = home;
const env = { ...process.env, HOME: home, NODE_ENV: 'production', SF_DISABLE_TELEMETRY: 'true' };

/** a child process; resolves its exit code and its stderr (where /usr/bin/time -v reports) */
function run(command: string, args: string[]): Promise<{ code: number; ms: number; stderr: string }> {
  return new Promise((done) => {
    const started = Date.now();
    const child = spawn(command, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (piece: string) => (stderr += piece));
    child.on('exit', (code) => done({ code: code ?? 1, ms: Date.now() - started, stderr }));
  });
}

const org = await startLocalOrg({});
try {
  await registerLocalOrg(org, { alias: 'bench-verify' });
  const bin = join(root, 'bin', 'run.js');
  const loaded = await run(process.execPath, [
    bin,
    'migrate',
    'run',
    '--manifest',
    manifest,
    '--target-org',
    'bench-verify',
    '--json',
  ]);
  if (loaded.code !== 0) throw new Error(`sf migrate run exited with ${loaded.code}: ${loaded.stderr.slice(-2000)}`);
  const report = join(work, 'verify.html');
  const nodeOptions = values['verify-node-options'] ? values['verify-node-options'].split(' ') : [];
  const verified = await run('/usr/bin/time', [
    '-v',
    process.execPath,
    ...nodeOptions,
    bin,
    'migrate',
    'verify',
    '--manifest',
    manifest,
    '--sample-size',
    String(values['sample-size']),
    '--report',
    report,
    '--json',
  ]);
  const rssKb = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(verified.stderr)?.[1] ?? NaN);
  const wall = /Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)/.exec(verified.stderr)?.[1] ?? '?';
  const cpu = ['User time (seconds)', 'System time (seconds)'].map((label) =>
    Number(new RegExp(`${label.replace(/[()]/g, '\\$&')}: ([\\d.]+)`).exec(verified.stderr)?.[1] ?? NaN),
  );
  process.stdout.write(
    [
      `records: ${total.toLocaleString('en-US')} (${accounts} Accounts, ${contacts} Contacts, ${opportunities} Opportunities)`,
      `sf migrate run: ${(loaded.ms / 1000).toFixed(1)} s`,
      `sf migrate verify${nodeOptions.length ? ` (node ${nodeOptions.join(' ')})` : ''}: exit ${verified.code}, wall ${wall}, user ${cpu[0]} s, system ${cpu[1]} s, peak RSS ${(rssKb / 1024).toFixed(0)} MB`,
      `report: ${report}`,
      '',
    ].join('\n'),
  );
  if (verified.code !== 0) process.stdout.write(verified.stderr.slice(-3000));
} finally {
  await org.stop();
  if (!values.keep) rmSync(work, { recursive: true, force: true });
}
